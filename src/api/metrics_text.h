// Renders the Prometheus text exposition of the gateway's and the store's counters for the
// admin listener's /metrics. Reads atomics only; callable from any thread.
#pragma once

#include <string>
#include <vector>

#include "gateway/gateway_metrics.h"
#include "store/archive/archiver.h"
#include "store/store.h"
#include "witness/witness_publisher.h"

namespace apitrail {

std::string RenderMetrics(const std::vector<const GatewayMetrics*>& workers, const StoreStats& store);
// apitrail_witness_* with a `witness` label per configured witness.
std::string RenderWitnessMetrics(const std::vector<WitnessStats>& witnesses);
// apitrail_archive_* and apitrail_retention_* (audit.archive, audit.retention).
std::string RenderArchiveMetrics(const archive::ArchiverStats& stats);

}  // namespace apitrail
