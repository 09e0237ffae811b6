// Record bytes: the canonical binary form of an AuditEvent that the store frames and the
// Merkle tree hashes (docs/FORMAT.md §5, schema in docs/record.proto). Pure functions; any
// thread. The request path calls EncodeRecord once per event, so it is allocation-light
// and does no formatting: strings are copied with a length prefix, numbers are varints.
//
// The encoding is Protocol Buffers wire format restricted to one canonical form (fields in
// ascending number, each at most once except repeated ones, minimal varints, defaults
// omitted), so any protobuf decoder reads it with docs/record.proto, yet equal events give
// equal bytes, which a hash chain needs and protobuf libraries do not promise.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/event.h"
#include "core/status.h"

namespace apitrail {

// Canonical record bytes (no seq). Strings are written as valid UTF-8 (invalid bytes
// become U+FFFD, as in the JSON API).
std::string EncodeRecord(const AuditEvent& e);
// The same with `id` and `node` in place of e.id and e.node: for a caller that records an
// event it keeps (Store::Append(const AuditEvent&)) and must not write into it.
// *replaced, when given, tells whether invalid UTF-8 was replaced: the record's strings then
// differ from the event's.
std::string EncodeRecord(const AuditEvent& e, std::string_view id, std::string_view node,
                         bool* replaced = nullptr);

// Parses record bytes back (`seq` stays 0). Unknown fields are skipped so older readers
// read newer records; a malformed record is kCorruption naming the byte offset. Records
// written before the binary form (segments of format version 1) are canonical JSON; a
// payload starting with '{' is decoded as such.
Result<AuditEvent> DecodeRecord(std::string_view bytes);
// The same into *out, which must be a default-constructed event: a query's hot path decodes
// straight into its page instead of moving a ~30-string event through two Results.
Status DecodeRecordInto(std::string_view bytes, AuditEvent* out);

// The fields a sealed part is clustered by, read without building the event: the record is
// checked exactly as DecodeRecord checks it (the same errors), and for a binary record
// nothing is allocated. `subject` points into `bytes`, or into *scratch for a JSON record.
struct RecordHead {
  int64_t time_ns = 0;
  std::string_view subject;
  // The ids a block's directory finds records by (part/block.h); binary records only (empty
  // for a JSON record).
  std::string_view id;
  std::string_view correlation_id;
  std::string_view trace_id;
  // (name, value) of each resource, in record order. Kept across calls so that a caller
  // decoding many heads reuses its memory.
  std::vector<std::pair<std::string_view, std::string_view>> resources;
};
Status DecodeRecordHead(std::string_view bytes, RecordHead* head, std::string* scratch);

}  // namespace apitrail
