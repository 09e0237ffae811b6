// Test events: deterministic AuditEvents with the indexed fields set. Test-only.
#pragma once

#include <cstdint>
#include <string>

#include "core/event.h"

namespace apitrail::testing {

// Event number `i` at time base + i seconds; subject "user-<i % subjects>".
inline AuditEvent MakeEvent(uint64_t i, int subjects = 3) {
  AuditEvent e;
  e.id = "0190a6e0-0000-7000-8000-" + std::to_string(100000000000ull + i);
  e.node = "node-1";
  e.time_ns = 1'760'000'000'000'000'000 + static_cast<int64_t>(i) * 1'000'000'000;
  e.duration_us = 120;
  e.decision = (i % 5 == 4) ? "deny" : "allow";
  e.subject = "user-" + std::to_string(i % static_cast<uint64_t>(subjects));
  e.auth_method = "api_key";
  e.method = (i % 2 == 0) ? "GET" : "POST";
  e.path = "/v1/orders/" + std::to_string(i % 10);
  e.route = e.method + " /v1/orders/{order_id}";
  e.resources = {{"order_id", std::to_string(i % 10)}};
  e.status = (i % 5 == 4) ? 403 : (i % 7 == 6 ? 500 : 200);
  e.client_ip = "10.0.0." + std::to_string(i % 4);
  e.correlation_id = "corr-" + std::to_string(i);
  e.trace_id = "trace-" + std::to_string(i / 2);
  return e;
}

}  // namespace apitrail::testing
