#include "api/metrics_text.h"

namespace apitrail {

namespace {

void MetricHead(std::string& out, const char* name, const char* type, const char* help) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

void Metric(std::string& out, const char* name, const char* type, const char* help,
            const std::string& labels, uint64_t value) {
  MetricHead(out, name, type, help);
  out.append(name).append(labels).append(" ").append(std::to_string(value)).append("\n");
}

// A millisecond count as seconds with three decimals ("1.234"), which Prometheus reads as a
// float: exact, where passing ms / 1000.0 to Metric() truncated it to whole seconds.
void MetricMillisAsSeconds(std::string& out, const char* name, const char* type, const char* help,
                           uint64_t ms) {
  MetricHead(out, name, type, help);
  const std::string frac = std::to_string(1000 + ms % 1000);  // "1ddd": keeps leading zeros
  out.append(name).append(" ").append(std::to_string(ms / 1000)).append(".").append(frac, 1, 3).append("\n");
}

// Microseconds as decimal seconds, without trailing zeros: 50 -> "0.00005", 2500000 -> "2.5".
std::string MicrosAsSeconds(uint64_t us) {
  std::string out = std::to_string(us / 1000000);
  std::string frac = std::to_string(1000000 + us % 1000000).substr(1);  // six digits
  while (!frac.empty() && frac.back() == '0') frac.pop_back();
  if (!frac.empty()) out.append(".").append(frac);
  return out;
}

void Histogram(std::string& out, const char* name, const char* help, const LatencyHistogram::Snapshot& h) {
  MetricHead(out, name, "histogram", help);
  uint64_t cumulative = 0;
  for (size_t i = 0; i < h.counts.size(); ++i) {
    cumulative += h.counts[i];
    const std::string le = i < LatencyHistogram::kBoundsUs.size() ? MicrosAsSeconds(LatencyHistogram::kBoundsUs[i]) : "+Inf";
    out.append(name).append("_bucket{le=\"").append(le).append("\"} ").append(std::to_string(cumulative)).append("\n");
  }
  out.append(name).append("_sum ").append(MicrosAsSeconds(h.sum_us)).append("\n");
  out.append(name).append("_count ").append(std::to_string(h.count)).append("\n");
}

}  // namespace

std::string RenderMetrics(const std::vector<const GatewayMetrics*>& workers, const StoreStats& store) {
  auto sum = [&](auto member) {
    uint64_t v = 0;
    for (const auto* w : workers) v += (w->*member).load(std::memory_order_relaxed);
    return v;
  };
  std::string out;
  Metric(out, "apitrail_requests_total", "counter", "Requests received by the gateway.", "", sum(&GatewayMetrics::requests));
  Metric(out, "apitrail_requests_allowed_total", "counter", "Requests forwarded upstream.", "", sum(&GatewayMetrics::allowed));
  Metric(out, "apitrail_requests_denied_total", "counter", "Requests refused by the gateway.", "", sum(&GatewayMetrics::denied));
  out.append("# HELP apitrail_responses_total Responses by status class.\n# TYPE apitrail_responses_total counter\n");
  out.append("apitrail_responses_total{class=\"2xx\"} ").append(std::to_string(sum(&GatewayMetrics::status_2xx))).append("\n");
  out.append("apitrail_responses_total{class=\"3xx\"} ").append(std::to_string(sum(&GatewayMetrics::status_3xx))).append("\n");
  out.append("apitrail_responses_total{class=\"4xx\"} ").append(std::to_string(sum(&GatewayMetrics::status_4xx))).append("\n");
  out.append("apitrail_responses_total{class=\"5xx\"} ").append(std::to_string(sum(&GatewayMetrics::status_5xx))).append("\n");
  Metric(out, "apitrail_bad_requests_total", "counter", "Malformed requests answered 4xx before routing.", "", sum(&GatewayMetrics::bad_requests));
  Metric(out, "apitrail_upstream_errors_total", "counter", "Upstream refused or broken (502).", "", sum(&GatewayMetrics::upstream_errors));
  Metric(out, "apitrail_upstream_timeouts_total", "counter", "Upstream too slow (504).", "", sum(&GatewayMetrics::upstream_timeouts));
  Metric(out, "apitrail_upstream_retries_total", "counter", "Requests sent again on a fresh connection: a reused one closed unanswered.", "", sum(&GatewayMetrics::upstream_retries));
  Metric(out, "apitrail_audit_unavailable_total", "counter", "Requests the audit store could not record.", "", sum(&GatewayMetrics::store_unavailable));
  Metric(out, "apitrail_unrecorded_fail_open_total", "counter", "Requests forwarded under fail_open without a record.", "", sum(&GatewayMetrics::unrecorded_fail_open));
  Metric(out, "apitrail_client_timeouts_total", "counter", "Client connections closed for a timeout.", "", sum(&GatewayMetrics::client_timeouts));
  Metric(out, "apitrail_auth_rate_limited_total", "counter", "Requests refused (429) after too many failed authentications from their client address.", "", sum(&GatewayMetrics::auth_rate_limited));
  Metric(out, "apitrail_auth_blocks_total", "counter", "Client addresses blocked by auth.failure_limit.", "", sum(&GatewayMetrics::auth_blocks));
  Metric(out, "apitrail_connections_active", "gauge", "Open client connections.", "", sum(&GatewayMetrics::connections_active));
  Metric(out, "apitrail_connections_rejected_total", "counter", "Connections refused over max_connections.", "", sum(&GatewayMetrics::connections_rejected));
  Metric(out, "apitrail_tls_handshakes_total", "counter", "TLS handshakes completed on the gateway listener.", "", sum(&GatewayMetrics::tls_handshakes));
  Metric(out, "apitrail_tls_handshake_failures_total", "counter", "TLS handshakes on the gateway listener that failed or were refused (not audited).", "", sum(&GatewayMetrics::tls_handshake_failures));
  Metric(out, "apitrail_upstream_tls_failures_total", "counter", "TLS handshakes with an upstream that failed, including certificate verification (502).", "", sum(&GatewayMetrics::upstream_tls_failures));
  Metric(out, "apitrail_session_errors_total", "counter", "Client connections ended by an internal error (an exception, logged); the request in progress is recorded with status 500 and the error in its message.", "", sum(&GatewayMetrics::session_errors));
  Metric(out, "apitrail_client_bytes_received_total", "counter", "Bytes read from clients (heads and bodies).", "", sum(&GatewayMetrics::bytes_in));
  Metric(out, "apitrail_client_bytes_sent_total", "counter", "Bytes written to clients (heads and bodies).", "", sum(&GatewayMetrics::bytes_out));
  LatencyHistogram::Snapshot duration, audit_wait;
  for (const auto* w : workers) {
    duration.Add(w->request_duration.Read());
    audit_wait.Add(w->audit_wait.Read());
  }
  Histogram(out, "apitrail_request_duration_seconds", "From a request's first byte to its response going out, the wait for its audit record included.", duration);
  Histogram(out, "apitrail_audit_wait_seconds", "From handing an event to the store to its record being durable (or refused): what auditing adds to a response.", audit_wait);
  Metric(out, "apitrail_store_records", "gauge", "Records in the audit log.", "", store.size);
  Metric(out, "apitrail_store_syncs_total", "counter", "Group commits (fdatasync).", "", store.syncs);
  Histogram(out, "apitrail_store_commit_seconds", "Group commits' sync (with direct I/O, the O_DSYNC write), from submission to durable.", store.commit_latency);
  Metric(out, "apitrail_store_rejected_queue_full_total", "counter", "Appends refused because the queue was full.", "", store.rejected_queue_full);
  Metric(out, "apitrail_store_write_errors_total", "counter", "Store write or sync failures.", "", store.write_errors);
  Metric(out, "apitrail_store_reserve_failures_total", "counter", "Zero reserves ahead of the active segment that could not be written (syncs then also write metadata).", "", store.reserve_failures);
  Metric(out, "apitrail_store_events_at_risk", "gauge", "durability batch: acknowledged events not yet synced (the loss window now).", "", store.at_risk);
  Metric(out, "apitrail_store_acknowledged_before_sync_total", "counter", "durability batch: events acknowledged before their fdatasync.", "", store.acked_before_sync);
  Metric(out, "apitrail_store_at_risk_when_failed_total", "counter", "durability batch: acknowledged events whose sync failed (possibly lost).", "", store.at_risk_when_failed);
  Metric(out, "apitrail_store_parts", "gauge", "Sealed parts the store reads from (docs/FORMAT.md §16).", "", store.parts);
  Metric(out, "apitrail_store_parts_sealed_total", "counter", "Rotated segments sealed into parts since start.", "", store.parts_sealed);
  Metric(out, "apitrail_store_seal_pending", "gauge", "Rotated segments waiting to be sealed.", "", store.seal_pending);
  Metric(out, "apitrail_store_block_cache_hits_total", "counter", "Queries' reads of sealed-part blocks and segment chunks answered from the block cache.", "", store.block_cache_hits);
  Metric(out, "apitrail_store_block_cache_misses_total", "counter", "Queries' reads of sealed-part blocks and segment chunks that went to the file.", "", store.block_cache_misses);
  Metric(out, "apitrail_store_block_cache_bytes", "gauge", "Memory held by the block cache (decoded sealed-part blocks, segment chunks).", "", store.block_cache_bytes);
  MetricMillisAsSeconds(out, "apitrail_store_seal_deferred_seconds_total", "counter", "Time rotated segments waited to be sealed because the request path was saturating the CPUs.", store.seal_deferred_ms);
  Metric(out, "apitrail_store_seal_errors_total", "counter", "Sealings that failed since start (the segment is kept; sealing resumes after a restart).", "", store.seal_errors);
  Metric(out, "apitrail_store_failed", "gauge", "1 when the store stopped acknowledging after a failure.", "", store.failed ? 1 : 0);
  Metric(out, "apitrail_rollup_events_total", "counter", "Events counted in the per-minute rollups (including replay at start).", "", store.rollups.events);
  Metric(out, "apitrail_rollup_dropped_total", "counter", "Events left out of the rollups: older than the retention window or more than a day in the future.", "", store.rollups.dropped);
  Metric(out, "apitrail_rollup_corrupt_files_total", "counter", "Damaged rollup files set aside at start and rebuilt from the log.", "", store.rollups.corrupt_files);
  Metric(out, "apitrail_rollup_write_errors_total", "counter", "Rollup files that could not be written (retried).", "", store.rollups.write_errors);
  Metric(out, "apitrail_rollup_hours", "gauge", "UTC hours of rollups held in memory.", "", store.rollups.hours_in_memory);
  Metric(out, "apitrail_checkpoints_total", "counter", "Signed checkpoints written to checkpoints.log since start.", "", store.checkpoints);
  Metric(out, "apitrail_checkpoint_tree_size", "gauge", "Tree size of the newest signed checkpoint.", "", store.checkpoint_size);
  return out;
}

std::string RenderWitnessMetrics(const std::vector<WitnessStats>& witnesses) {
  std::string out;
  struct Family {
    const char* name;
    const char* type;
    const char* help;
    uint64_t (*value)(const WitnessStats&);
  };
  static const Family kFamilies[] = {
      {"apitrail_witness_published_total", "counter", "Checkpoints a witness accepted.",
       [](const WitnessStats& w) { return w.published; }},
      {"apitrail_witness_failures_total", "counter", "Failed attempts to publish to a witness (each retry counts).",
       [](const WitnessStats& w) { return w.failures; }},
      {"apitrail_witness_dropped_total", "counter", "Checkpoints dropped from a witness's full queue.",
       [](const WitnessStats& w) { return w.dropped; }},
      {"apitrail_witness_rejected_total", "counter", "Checkpoints a witness refused for good (another of that size).",
       [](const WitnessStats& w) { return w.rejected; }},
      {"apitrail_witness_queue_length", "gauge", "Checkpoints waiting for a witness.",
       [](const WitnessStats& w) { return w.queued; }},
      {"apitrail_witness_up", "gauge", "0 while the last attempt to publish to a witness failed.",
       [](const WitnessStats& w) { return uint64_t{w.up ? 1u : 0u}; }},
      {"apitrail_witness_published_tree_size", "gauge", "Tree size of the newest checkpoint a witness accepted.",
       [](const WitnessStats& w) { return w.published_size; }},
  };
  for (const Family& f : kFamilies) {
    if (witnesses.empty()) break;
    out.append("# HELP ").append(f.name).append(" ").append(f.help).append("\n");
    out.append("# TYPE ").append(f.name).append(" ").append(f.type).append("\n");
    for (const WitnessStats& w : witnesses) {
      // Witness names are [A-Za-z0-9._-] (validated), so they need no escaping.
      out.append(f.name).append("{witness=\"").append(w.name).append("\"} ");
      out.append(std::to_string(f.value(w))).append("\n");
    }
  }
  return out;
}

std::string RenderArchiveMetrics(const archive::ArchiverStats& a) {
  std::string out;
  Metric(out, "apitrail_archive_enabled", "gauge", "1 when audit.archive.command is set.", "", a.enabled ? 1 : 0);
  Metric(out, "apitrail_archive_archived_total", "counter", "Files (parts, checkpoint slices, the verifier key) the archive command copied.", "", a.archived);
  Metric(out, "apitrail_archive_failures_total", "counter", "Failed runs of the archive command (each retry counts; timeouts included).", "", a.failures);
  Metric(out, "apitrail_archive_timeouts_total", "counter", "Runs of the archive command killed at audit.archive.timeout_ms.", "", a.timeouts);
  Metric(out, "apitrail_archive_pending", "gauge", "Files waiting to be archived.", "", a.pending);
  Metric(out, "apitrail_archive_oldest_pending_age_seconds", "gauge", "Age of the oldest file waiting to be archived (0: none).", "", a.oldest_pending_age_s);
  Metric(out, "apitrail_archive_last_success_timestamp_seconds", "gauge", "Unix time of the last successful archive (0: none since start).", "", static_cast<uint64_t>(a.last_success_unix_s));
  Metric(out, "apitrail_archive_checkpoint_slices_total", "counter", "Checkpoint slices cut from checkpoints.log for archiving.", "", a.slices);
  Metric(out, "apitrail_archive_checkpoint_slice_errors_total", "counter", "Failures to cut a checkpoint slice (retried).", "", a.slice_errors);
  Metric(out, "apitrail_retention_deleted_parts_total", "counter", "Sealed parts deleted by audit.retention.", "", a.retention_deleted);
  Metric(out, "apitrail_retention_deleted_bytes_total", "counter", "Bytes of sealed parts deleted by audit.retention.", "", a.retention_deleted_bytes);
  Metric(out, "apitrail_retention_waiting_parts", "gauge", "Parts past audit.retention.days kept because they are not archived yet.", "", a.retention_waiting);
  Metric(out, "apitrail_retention_errors_total", "counter", "Failures to delete an expired part (retried).", "", a.retention_errors);
  return out;
}

}  // namespace apitrail
