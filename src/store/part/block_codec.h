// Block layouts of a sealed part (docs/FORMAT.md §16.3): how a block's records are laid out
// before zstd compresses them. Both reproduce every record byte for byte.
//   rows (codec 1):    varint lengths, then the records one after another.
//   columns (codec 2): each record split at its top-level protobuf fields; the sequence of
//     field keys ("shape") is stored once per distinct shape, and each field's value bytes
//     go to a stream of their own, so zstd sees the ids together, the times together, …
//     A record that is not a clean sequence of fields (e.g. a version-1 JSON record) is
//     kept whole.
//   seq columns (codec 3, version 2): the records' seqs (relative to the part's first seq,
//     zigzag deltas: a clustered block is not in seq order), then the columns layout with a
//     transform byte per stream (canonical lowercase UUID strings packed to 16 bytes, times
//     delta-coded, repeated strings as a table of distinct values and an index each, a
//     UUIDv7 minted from its record's time_ns as its last 10 bytes, a path that is its
//     route filled with its resources as one byte, an event id less its record's seq,
//     a value of the part's value table as its code there, a client's UUIDv4 as its 122
//     random bits, times delta-coded in seq order).
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "store/part/part_values.h"

namespace apitrail::part {

std::string EncodeRows(const std::vector<std::string_view>& records);
std::string EncodeColumns(const std::vector<std::string_view>& records);
// rels[i] = seq of records[i] - the part's first seq. `table`: the part's value table
// (transform 8), or nullptr.
std::string EncodeSeqColumns(const std::vector<std::string_view>& records, const std::vector<uint32_t>& rels,
                             const PartValues* table = nullptr);

// Decodes a raw block of `count` records into *out (the records back to back) and *starts
// (count+1 offsets into *out). Corruption (without a file name) when the block is malformed.
Status DecodeRows(std::string_view raw, uint32_t count, std::string* out, std::vector<uint32_t>* starts);
Status DecodeColumns(std::string_view raw, uint32_t count, std::string* out, std::vector<uint32_t>* starts);
// Also yields *rels (each < part_count, else Corruption). `table`: the value table of the
// part the block is from (nullptr: none; a block that uses one is then Corruption).
Status DecodeSeqColumns(std::string_view raw, uint32_t count, uint64_t part_count, std::string* out,
                        std::vector<uint32_t>* starts, std::vector<uint32_t>* rels,
                        const PartValues* table = nullptr);

}  // namespace apitrail::part
