// Stream transforms of version 2 column blocks (docs/FORMAT.md §16.3, codec 3): ways a
// field's value stream is stored more compactly than its raw bytes, each applied only when
// it reproduces every byte — canonical lowercase UUID strings as 16 bytes in two byte
// planes (a version 7 UUID's time bytes sit together), minimal varints as zigzag deltas
// (times sorted within a subject's run), UUIDv7s minted from their record's time as their
// last 10 bytes, paths that are their route filled with their resources as one byte, and
// length-delimited values drawn from a few
// distinct ones (routes, user agents, client IPs of a subject's run) as a table of the
// distinct values and one index per value, version 4 UUIDs as their 122 random bits, and
// times delta-coded in the order of their records' seqs. Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "store/part/part_values.h"

namespace apitrail::part {

enum class StreamTransform : uint8_t {
  kNone = 0,
  kUuid = 1,   // every value: length byte 0x24 + 8-4-4-4-12 lowercase hex
  kDelta = 2,  // every value: a minimal varint
  kDict = 3,   // every value: a length varint and that many bytes
  // every value: a canonical UUID whose first 48 bits are its record's time_ns in
  // milliseconds (a UUIDv7 minted for that record: the event id, a generated request id)
  kUuidTime = 4,
  // every value: a length varint and bytes; each stored as 0 when it is the record's route
  // template filled with the record's resources (FillRouteTemplate), else 1 and the value
  kRoutePath = 5,
  // as kUuidTime, with the 10-byte tails delta-coded (DeltaEncodeUuidTails): event ids
  // (NewEventId) of one process differ there by a counter
  kUuidTimeDelta = 6,
  // as kUuidTimeDelta, with each tail's last 8 bytes less its record's seq within the part
  // (OffsetUuidTails) before the deltas: event ids are minted in about the order their
  // records were logged, so in a block sorted by subject the counter moves with the seq
  kUuidTimeSeq = 7,
  // every value: a length varint and that many bytes; each stored as its code in the part's
  // value table (PartValues) for the field, 0 and the value when it is not there
  kPartDict = 8,
  // every value: a length varint and that many bytes; each stored as 0 and its `value`
  // field's data (as a length varint and bytes) when it is the KeyValue the record's route
  // names at its place (RouteParamNames, ResourceKeyValue), else 1 and the value as stored
  kRouteResources = 9,
  // every value: a length varint and bytes; each stored as 0 when it is the first word of
  // the record's route ("GET" of "GET /v1/orders/{order_id}"), else 1 and the value
  kRouteMethod = 10,
  // every value: a canonical UUID of version 4 (a client's random request id); each stored
  // as its 122 random bits (PackUuidV4s)
  kUuidV4 = 11,
  // every value: a minimal varint, one per record of the block; delta-coded in the order of
  // their records' seqs (DeltaEncodeBySeq): a time is about monotone in the seq, not in a
  // block sorted by subject
  kDeltaBySeq = 12,
  // every value: a minimal varint; each split into its high part (a varint) and its low k
  // bits (a bit plane) (SplitEncode): sizes and durations spread over orders of magnitude,
  // whose low bits are noise zstd cannot code and whose high parts are a few values it can
  kSplit = 13,
};

// The path a route gives with its parameters filled in: route "GET /v1/orders/{order_id}"
// and resources [order_id=7] → "/v1/orders/7". `resources` are the record's KeyValue
// messages as stored (length varint and message bytes each). False when the route has no
// "METHOD " prefix or its parameters are not exactly the resources' names, in order.
bool FillRouteTemplate(std::string_view route, const std::vector<std::string_view>& resources,
                       std::string* path);

// The parameter names of a route's template, left to right: route
// "GET /v1/orders/{order_id}/items/{item_id}" → [order_id, item_id]. The template is what
// follows the first space; a name runs from a `{` to the next `}`. False when there is no
// space or a `{` has no `}` after it.
bool RouteParamNames(std::string_view route, std::vector<std::string_view>* names);
// A KeyValue message as stored (its length varint, then only field 1 `key` and field 2
// `value`, each of wire type 2 and at most once): its key and value (empty when absent).
// False when it is not such a message.
bool ParseKeyValue(std::string_view stored, std::string_view* key, std::string_view* value);
// A resource as the record codec stores it: the length varint, then KeyValue's `key` (field
// 1) and `value` (field 2), each left out when empty.
std::string ResourceKeyValue(std::string_view key, std::string_view value);

uint64_t ZigZag(int64_t v);
int64_t UnZigZag(uint64_t v);

// True when `value` (the length varint and the data) is 0x24 followed by a canonical
// lowercase UUID.
bool IsCanonicalUuid(std::string_view value);
// `values`: 37-byte canonical values back to back → 16 bytes each, as byte planes (bytes
// 0…5 of every value, then bytes 6…15 of every value).
std::string PackUuids(std::string_view values);
// The inverse; false when `planes` is not a multiple of 16 bytes or *out would pass max_bytes.
bool UnpackUuids(std::string_view planes, size_t max_bytes, std::string* out);

// True when a canonical UUID value (IsCanonicalUuid) is of version 4 and variant 10 (RFC
// 9562): its version digit is 4 and its variant digit one of 8, 9, a, b.
bool IsUuidV4(std::string_view value);
// `values`: version 4 UUID values (IsUuidV4) back to back → the 122 bits of each that are
// neither version nor variant, most significant first, packed without gaps into
// ⌈122 n / 8⌉ bytes (the last byte's unused low bits 0).
std::string PackUuidV4s(std::string_view values);
// The inverse; false when `bits` is not ⌈122 n / 8⌉ bytes for some n, a padding bit is set,
// or *out would pass max_bytes.
bool UnpackUuidV4s(std::string_view bits, size_t max_bytes, std::string* out);

// The first 48 bits of a canonical UUID value (IsCanonicalUuid): a UUIDv7's milliseconds.
uint64_t UuidTimeMs(std::string_view value);
// `values`: canonical UUID values back to back → the last 10 bytes of each (their first 6
// are the times the caller keeps elsewhere).
std::string PackUuidTails(std::string_view values);
// The inverse: value i from times_ms[i] (< 2^48) and tails[10 i, 10 i + 10); false when the
// sizes disagree or *out would pass max_bytes.
bool UnpackUuidTails(std::string_view tails, const std::vector<uint64_t>& times_ms,
                     size_t max_bytes, std::string* out);

// `tails`: 10-byte UUID tails back to back (PackUuidTails) → for each, varint
// zigzag(h_i − h_{i−1}) of its bytes 0–1 as a big-endian 16-bit number, then varint
// zigzag(l_i − l_{i−1}) of its bytes 2–9 as a big-endian 64-bit number, the difference
// taken modulo 2^64 as a signed 64-bit number (h_{−1} = l_{−1} = 0).
std::string DeltaEncodeUuidTails(std::string_view tails);
// The inverse; false on a bad varint, an h outside 0…65535, or when *out would pass
// max_bytes.
bool DeltaDecodeUuidTails(std::string_view deltas, size_t max_bytes, std::string* out);

// Adds `offsets[i]` (sign < 0: subtracts it) to tail i's bytes 2–9 as a big-endian 64-bit
// number, modulo 2^64. False when the sizes disagree.
bool OffsetUuidTails(std::string* tails, const std::vector<uint32_t>& offsets, int sign);

// varint zigzag(v_i − v_{i−1}) for each value (v_{−1} = 0).
std::string DeltaEncode(const std::vector<uint64_t>& values);
// The inverse, each value as a minimal varint; false on a bad varint or when *out would
// pass max_bytes.
bool DeltaDecode(std::string_view deltas, size_t max_bytes, std::string* out);

// Value i belongs to the record of seq rels[i] (within the part): varint zigzag(v − prev) for
// each value in the order of ascending rels (ties in value order), prev the previous value
// so taken (0 at first). values.size() must equal rels.size().
std::string DeltaEncodeBySeq(const std::vector<uint64_t>& values,
                             const std::vector<uint32_t>& rels);
// The inverse, the values back in their order as minimal varints; false on a bad varint,
// a count other than rels.size(), or when *out would pass max_bytes.
bool DeltaDecodeBySeq(std::string_view deltas, const std::vector<uint32_t>& rels, size_t max_bytes,
                      std::string* out);

// The k (0 … 63) for SplitEncode: of 0 and the few k just below log2 of the values' mean,
// the one that minimises k bits a value plus the byte entropy of the high parts' varints
// (what zstd's Huffman stage about achieves); *estimate is that in bytes, *plain_estimate
// the same for k = 0 (the values left as they are).
int ChooseSplitBits(const std::vector<uint64_t>& values, double* estimate, double* plain_estimate);
// u8 k ‖ varint n ‖ n × varint (v >> k) ‖ the low k bits of each value, most significant
// first, without gaps, the bits after the last 0.
std::string SplitEncode(const std::vector<uint64_t>& values, int k);
// The inverse, each value as a minimal varint; false on a bad varint, k > 63, a count past
// the bytes, bytes left over, a set padding bit, or when *out would pass max_bytes.
bool SplitDecode(std::string_view split, size_t max_bytes, std::string* out);

// `values`: length-delimited values back to back (a length varint and that many bytes each)
// → varint D ‖ the D distinct values in order of first appearance ‖ one varint index per
// value. False (and *out unspecified) when `values` is not such a sequence or has no value.
bool DictEncode(std::string_view values, std::string* out);
// The inverse; false when `dict` is malformed (an index ≥ D, bytes left over) or *out would
// pass max_bytes.
bool DictDecode(std::string_view dict, size_t max_bytes, std::string* out);

// `values`: length-delimited values of field `number` back to back → for each, varint
// table.Code(number, value), followed by the value as stored when that is 0. False when
// `values` is not such a sequence.
bool PartDictEncode(std::string_view values, const PartValues& table, uint64_t number,
                    std::string* out);
// The inverse, `table` being the field's values (PartValues::Field); false on a bad varint,
// a code past the table, a bad literal, or when *out would pass max_bytes.
bool PartDictDecode(std::string_view codes, const std::vector<std::string_view>& table,
                    size_t max_bytes, std::string* out);

}  // namespace apitrail::part
