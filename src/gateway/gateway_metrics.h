// GatewayMetrics: counters of one worker. Each worker owns one instance and is its only
// writer (relaxed atomics, no shared cache lines between workers); the admin API sums all
// workers when /metrics is scraped.
#pragma once

#include <atomic>
#include <cstdint>

#include "core/latency_histogram.h"

namespace apitrail {

struct GatewayMetrics {
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> allowed{0};
  std::atomic<uint64_t> denied{0};
  std::atomic<uint64_t> status_2xx{0}, status_3xx{0}, status_4xx{0}, status_5xx{0};
  std::atomic<uint64_t> bad_requests{0};
  std::atomic<uint64_t> upstream_errors{0};    // 502
  std::atomic<uint64_t> upstream_timeouts{0};  // 504
  std::atomic<uint64_t> upstream_retries{0};   // sent again: a reused connection closed unanswered
  std::atomic<uint64_t> store_unavailable{0};  // 503: fail closed
  std::atomic<uint64_t> unrecorded_fail_open{0};  // forwarded although not recorded
  std::atomic<uint64_t> client_timeouts{0};
  std::atomic<uint64_t> auth_rate_limited{0};  // 429: too many failed authentications
  std::atomic<uint64_t> auth_blocks{0};        // blocks started by auth.failure_limit
  std::atomic<uint64_t> connections_accepted{0};
  std::atomic<uint64_t> connections_active{0};
  std::atomic<uint64_t> connections_rejected{0};  // over max_connections
  std::atomic<uint64_t> tls_handshakes{0};          // completed on the listener
  std::atomic<uint64_t> tls_handshake_failures{0};  // refused, failed or timed out (not audited)
  std::atomic<uint64_t> upstream_tls_failures{0};   // handshake or verification with an upstream (502)
  std::atomic<uint64_t> session_errors{0};          // connections ended by an exception (logged)
  std::atomic<uint64_t> bytes_in{0}, bytes_out{0};
  // From a request's first byte to its response going out, the audit record's wait included;
  // every request answered (allowed, denied, failed).
  LatencyHistogram request_duration;
  // What recording costs a response: from handing its event to the store until the store
  // reports it durable (or refused), one per event recorded.
  LatencyHistogram audit_wait;

  void Inc(std::atomic<uint64_t>& c, uint64_t n = 1) { c.fetch_add(n, std::memory_order_relaxed); }
  void CountStatus(int status) {
    if (status >= 500) Inc(status_5xx);
    else if (status >= 400) Inc(status_4xx);
    else if (status >= 300) Inc(status_3xx);
    else Inc(status_2xx);
  }
};

}  // namespace apitrail
