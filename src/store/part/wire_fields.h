// Top-level protobuf fields of a stored record, taken apart without decoding them: each
// field's raw key bytes, number and raw value bytes, so a sealed part's block codec can
// group values by field and still put back every byte as it was (docs/FORMAT.md §16.3).
// Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace apitrail::part {

// Length of the varint at the start of `s` (its raw bytes), 0 when it is not terminated
// within 10 bytes or `s`.
size_t VarintLength(std::string_view s);
// The value of a varint's raw bytes (VarintLength of them), low 64 bits.
uint64_t VarintValue(std::string_view raw);

struct WireField {
  std::string_view key;  // raw key bytes
  uint64_t number;
  std::string_view value;  // raw value bytes (for length-delimited: length varint + data)
};

// Splits a record into its top-level fields; false when it is not a clean sequence of
// fields of wire types 0, 1, 2 or 5.
bool SplitFields(std::string_view rec, std::vector<WireField>* out);

}  // namespace apitrail::part
