// Correlation ids and W3C Trace Context (DESIGN §5): checks an incoming request id,
// sanitises a malformed one for the record, and parses/formats `traceparent` and bounds
// `tracestate` per W3C Trace Context Level 1 (https://www.w3.org/TR/trace-context/).
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace apitrail {

inline constexpr size_t kMaxRequestIdBytes = 128;
inline constexpr size_t kMaxTracestateBytes = 512;
inline constexpr size_t kMaxTracestateMembers = 32;

// True if `id` is 1..128 characters of [A-Za-z0-9._:-]: safe to log, index, echo in a
// header and pass upstream unchanged.
bool IsValidRequestId(std::string_view id);

// For recording a malformed incoming id (AuditEvent::invalid_request_id): the first 128
// bytes, every byte outside printable ASCII replaced by '?'.
std::string SanitizeForRecord(std::string_view raw);

struct TraceParent {
  uint8_t version = 0;
  std::string trace_id;   // 32 lower-case hex digits, not all zero
  std::string parent_id;  // 16 lower-case hex digits, not all zero (the caller's span)
  uint8_t flags = 0;      // bit 0: sampled; every other bit is cleared (undefined in 00)
  bool sampled() const { return (flags & 0x01) != 0; }
};

// Parses a traceparent header value (surrounding spaces/tabs ignored). Version 00 must be
// exactly "00-<32 hex>-<16 hex>-<2 hex>", lower-case hex only. Version ff is invalid.
// Other versions are parsed leniently as the spec asks: the first 55 characters in the
// 00 layout, then either the end or a '-' (later fields are ignored). nullopt if invalid;
// the caller then starts a new trace.
std::optional<TraceParent> ParseTraceparent(std::string_view value);

// "00-<trace_id>-<span_id>-<flags as 2 hex>". Always emits version 00 (the version we
// implement), as the spec requires when forwarding a parsed higher version. trace_id and
// span_id must be valid ids (32 and 16 lower-case hex), e.g. from RandomHexId().
std::string FormatTraceparent(std::string_view trace_id, std::string_view span_id,
                              uint8_t flags);

// True if a tracestate value follows the list grammar: 1..32 list members (empty members
// between commas are not counted), each a key=value of the spec's grammar (lower-case key,
// 1..256 printable characters of value without ',' or '='), no key twice. Otherwise the
// gateway drops the header (its test suite expects an invalid list to be dropped, and an
// empty one should not be sent).
bool IsValidTracestate(std::string_view value);

// A valid tracestate (IsValidTracestate) as the gateway forwards it: unchanged when it has
// at most 512 characters; else cut as W3C Trace Context §3.3.1.5 asks of a platform that
// truncates: members over 128 characters removed first, then members from the end, until
// the rest (joined by ",") fits. Empty when nothing fits: the header is then not sent.
std::string TracestateToForward(std::string_view valid);

}  // namespace apitrail
