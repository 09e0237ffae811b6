// EventQuery: the filters of GET /api/v1/events and `apitrail query`, and the page they
// return. Plain values; built by the API/CLI, executed by Store::Query.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/event.h"

namespace apitrail {

struct EventQuery {
  std::optional<std::string> subject;
  std::optional<std::string> route;  // exact template text: "GET /v1/orders/{order_id}"
  std::optional<std::pair<std::string, std::string>> resource;  // name=value
  std::optional<int> status;        // exact: 404
  std::optional<int> status_class;  // 5 for "5xx"
  std::optional<std::string> decision;
  std::optional<std::string> method;
  std::optional<std::string> client_ip;
  std::optional<std::string> correlation_id;
  std::optional<std::string> trace_id;
  std::optional<int64_t> since_ns;  // inclusive
  std::optional<int64_t> until_ns;  // exclusive
  uint32_t limit = 100;             // 1..1000
  std::optional<uint64_t> before_seq;  // cursor: only events with seq < before_seq
};

struct EventPage {
  std::vector<AuditEvent> events;      // newest (highest seq) first
  std::optional<uint64_t> next_cursor;  // pass as before_seq for the next page
};

}  // namespace apitrail
