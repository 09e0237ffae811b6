// AuditEvent: one request (allowed or denied) or one product action, with the field names
// of DESIGN §2. The same names are used in the store, the JSON API, the CLI and exports.
// A plain value type; build it on a worker, then hand it (moved) to the store.
//
// Record bytes (what the store frames and the Merkle tree hashes) are the binary form of
// record_codec.h; this header has the JSON form of the API, the CLI and exports: fields in
// a fixed order, empty strings, empty lists and unset numbers omitted, `seq` first.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace apitrail {

using KeyValues = std::vector<std::pair<std::string, std::string>>;

struct AuditEvent {
  uint64_t seq = 0;  // not part of the record bytes; filled in by readers
  std::string id;    // UUIDv7
  std::string node;
  int64_t time_ns = 0;  // request start, Unix epoch, UTC
  int64_t duration_us = -1;  // -1: not measured
  std::string kind = "http";  // http | ingest | admin | alert | system

  std::string decision;  // allow | deny
  std::string deny_reason;

  std::string subject;
  std::string auth_method;  // api_key | jwt | ...
  std::string credential_id;
  std::string issuer;
  std::vector<std::string> scopes;
  std::string tenant;

  std::string method;
  std::string host;
  std::string path;
  std::string route;  // "GET /v1/orders/{order_id}", empty when unmatched
  KeyValues resources;
  KeyValues query;  // after redaction
  KeyValues body_fields;

  int status = 0;
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;

  std::string client_ip;
  std::string user_agent;

  std::string correlation_id;
  std::string invalid_request_id;  // a malformed incoming request id, sanitised and capped
  std::string trace_id;
  std::string span_id;         // the span of the upstream hop, created by the gateway
  std::string parent_span_id;  // the caller's span, from an incoming traceparent
  std::string tracestate;

  std::string upstream;
  bool sensitive = false;
  std::string service;
  std::string message;  // free text for system/admin events

  // durability: strict writes two records per forwarded request: an `intent` before the
  // upstream sees it and an `outcome` (with the intent's id) after. Empty otherwise.
  std::string phase;      // "" | intent | outcome
  std::string intent_id;  // on an outcome: the id of its intent
  // Not stored: filled in by readers for an intent — "recorded" when its outcome exists,
  // "unknown" when none does (the gateway stopped while the upstream had the request).
  std::string outcome;
};

// Appends the API form: "seq" first, then the fields in a fixed order.
void AppendEventJson(const AuditEvent& e, std::string* out);
// Parses the JSON form back (API answers, and the JSON records of format version 1
// segments). Unknown members are ignored; a malformed document is kCorruption.
Result<AuditEvent> DecodeEventJson(std::string_view json);

}  // namespace apitrail
