// Rollup value types: what the rollups keep per event, per key and per minute (issue #3
// item 7, docs/FORMAT.md §14). Plain values; RollupEvent is built on the appending thread
// (it takes the strings the event no longer needs), the rest is owned by Rollups.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/event.h"
#include "core/string_hash.h"
#include "core/time_util.h"  // FloorDiv

namespace apitrail {

// The dimensions rollups count by key. The order is the on-disk order (FORMAT.md §14).
enum class RollupDim : uint8_t { kRoute = 0, kSubject = 1, kClientIp = 2 };
inline constexpr int kRollupDims = 3;
inline constexpr size_t kMaxRollupKeyBytes = 1024;  // longer keys are cut (at a character start)

std::string_view RollupDimName(RollupDim d);
bool ParseRollupDim(std::string_view s, RollupDim* out);

// What a top-k ranks by and a series counts: every event, 5xx, 4xx, decision=deny.
enum class RollupMetric : uint8_t { kRequests, kErrors, kClientErrors, kDenied };
std::string_view RollupMetricName(RollupMetric m);
bool ParseRollupMetric(std::string_view s, RollupMetric* out);

struct RollupEvent {
  uint64_t seq = 0;
  int64_t time_ns = 0;
  uint16_t status = 0;
  bool denied = false;
  bool counted = true;  // false for events that are not HTTP requests (kind != "http")
  std::array<std::string, kRollupDims> keys;  // route, subject, client_ip; "" when absent
  // StringHash of each key as kept (capped), when `hashed` (set by Take and Copy): computed
  // where the event is appended, which hashes these strings for the index anyway, so the
  // rollup thread looks keys up without hashing them again.
  std::array<size_t, kRollupDims> key_hashes{};
  bool hashed = false;

  // Moves route, subject and client_ip out of `e` (the caller is done with them).
  // `hashes`, when given, are StringHash of e.route, e.subject and e.client_ip.
  static RollupEvent Take(AuditEvent& e, const std::array<size_t, kRollupDims>* hashes = nullptr);
  static RollupEvent Copy(const AuditEvent& e,
                          const std::array<size_t, kRollupDims>* hashes = nullptr);
};

struct KeyCounts {
  uint64_t requests = 0;
  uint64_t client_errors = 0;  // 4xx
  uint64_t errors = 0;         // 5xx
  uint64_t denied = 0;

  void Add(const KeyCounts& o) {
    requests += o.requests;
    client_errors += o.client_errors;
    errors += o.errors;
    denied += o.denied;
  }
  uint64_t Get(RollupMetric m) const {
    switch (m) {
      case RollupMetric::kRequests: return requests;
      case RollupMetric::kErrors: return errors;
      case RollupMetric::kClientErrors: return client_errors;
      case RollupMetric::kDenied: return denied;
    }
    return 0;
  }
};

struct MinuteTotals {
  uint64_t requests = 0;
  std::array<uint64_t, 6> status_class{};  // [0]: no status; [1..5]: 1xx..5xx
  uint64_t denied = 0;

  void Add(const MinuteTotals& o) {
    requests += o.requests;
    for (size_t i = 0; i < status_class.size(); ++i) status_class[i] += o.status_class[i];
    denied += o.denied;
  }
  uint64_t Get(RollupMetric m) const {
    switch (m) {
      case RollupMetric::kRequests: return requests;
      case RollupMetric::kErrors: return status_class[5];
      case RollupMetric::kClientErrors: return status_class[4];
      case RollupMetric::kDenied: return denied;
    }
    return 0;
  }
};

inline int StatusClass(uint16_t status) { return status >= 100 && status <= 599 ? status / 100 : 0; }

inline KeyCounts CountsOf(const RollupEvent& e) {
  const int c = StatusClass(e.status);
  return KeyCounts{1, c == 4 ? 1u : 0u, c == 5 ? 1u : 0u, e.denied ? 1u : 0u};
}

inline constexpr int64_t kNsPerMinute = 60'000'000'000;
inline constexpr int64_t kNsPerHour = 60 * kNsPerMinute;

}  // namespace apitrail
