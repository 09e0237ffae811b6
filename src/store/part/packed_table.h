// The bit-packed form of a fingerprint table in a version 5 part index (docs/FORMAT.md §16.3):
// one byte k, then a bit stream (bit_stream.h) of entries by ascending fingerprint — the
// first fingerprint in `bits` bits, each later one as its difference Rice-coded with k
// (quotient in unary, 64 meaning "then the difference in `bits` bits"), the posting-list
// length in Elias gamma, the first block number in BitWidth(block_count − 1) bits and each
// later one as its difference in Elias gamma. Versions 2–4 spend a varint on each of these;
// for near-unique keys (correlation ids) the fingerprint and the block number are most of an
// index entry, and packing them saves ~0.7 bytes per event.
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "store/part/bit_stream.h"

namespace apitrail::part {

// Rice quotients of this many ones mean the difference follows in full.
inline constexpr uint64_t kPackedEscape = 64;

// `pairs`: (fingerprint << 32 | block), sorted, unique. Sets *count to the number of
// distinct fingerprints.
std::string EncodePackedTable(const std::vector<uint64_t>& pairs, uint32_t bits, uint32_t block_count,
                              uint32_t* count);

// The difference to the previous fingerprint; false when malformed or past the stream.
bool DecodePackedDelta(BitReader* r, int k, uint32_t bits, uint64_t* delta);

// Decodes (or, with out == null, skips) one posting list; false when malformed (empty,
// longer than block_count, not ascending, a block ≥ block_count).
bool DecodePackedPostings(BitReader* r, uint32_t block_count, std::vector<uint32_t>* out);

}  // namespace apitrail::part
