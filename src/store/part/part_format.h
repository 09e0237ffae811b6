// Constants of the sealed part format (docs/FORMAT.md §16): an immutable file
// DATA_DIR/parts/part-<first_seq, 20 digits>.part holding one rotated segment's records in
// zstd-compressed blocks, per-block seq and time ranges, field indexes and the Merkle
// state before and after it. Change this header and FORMAT.md together.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace apitrail::part {

inline constexpr std::string_view kPartsDir = "parts";
inline constexpr std::string_view kPartPrefix = "part-";
inline constexpr std::string_view kPartSuffix = ".part";
inline constexpr std::string_view kTmpSuffix = ".tmp";

inline constexpr std::string_view kHeaderMagic = "APTPART1";
inline constexpr std::string_view kFooterMagic = "APTPEND1";
// Version 1: blocks in seq order. Version 2 (what the sealer writes): records clustered by
// (hour of time_ns, subject, time_ns, seq), small blocks that carry their records' seqs, a
// seq map (seq -> block) and short key fingerprints in the index. Version 3 (what the
// sealer writes since 2026-11-28): version 2 with a value table (PartValues) at the start of
// the dictionary section, which its blocks' transform 8 streams and shape codes refer to; a
// reader that knows only versions 1 and 2 refuses it by its version. Version 4 (since
// 2026-11-28, later): version 3 whose index may key the event ids by seq (bits 0: each id's
// UUID tail and its record's seq, not a fingerprint and blocks), which a version 3 reader
// would refuse as a bad fingerprint width. Version 5 (since 2026-11-28, later still): version
// 4 whose fingerprint tables are bit-packed (packed_table.h), which a version 4 reader would
// misread as varints. Readers open all five.
inline constexpr uint32_t kVersion1 = 1;
inline constexpr uint32_t kVersion2 = 2;
inline constexpr uint32_t kVersion3 = 3;
inline constexpr uint32_t kVersion4 = 4;
inline constexpr uint32_t kVersion5 = 5;
// magic | version | first_seq | node_len  (then node, k, k hashes, crc)
inline constexpr size_t kHeaderFixedSize = 8 + 4 + 8 + 2;
// offset u64 | stored u32 | raw u32 | first u32 | count u32 | min i64 | max i64 | crc u32 | codec u32
inline constexpr size_t kBlockMetaSize = 8 + 4 + 4 + 4 + 4 + 8 + 8 + 4 + 4;
// version 2: the same, then min_rel u32 | max_rel u32 (lowest and highest seq - first_seq in it)
inline constexpr size_t kBlockMetaSizeV2 = kBlockMetaSize + 4 + 4;
// version 2 summary tail: bucket_ns u64 | seqmap offset u64 | size u32 | raw u32 | crc u32
//   | dictionary offset u64 | size u32 | crc u32
inline constexpr size_t kSummaryTailV2 = 8 + 8 + 4 + 4 + 4 + 8 + 4 + 4;
// summary off u64 | size u32 | crc u32 | index off u64 | size u32 | raw u32 | crc u32 | footer crc u32 | magic
inline constexpr size_t kFooterSize = 8 + 4 + 4 + 8 + 4 + 4 + 4 + 4 + 8;
inline constexpr uint32_t kCodecZstdRows = 1;     // zstd over the rows layout (block_codec.h)
inline constexpr uint32_t kCodecZstdColumns = 2;  // zstd over the columns layout (version 1 writer)
inline constexpr uint32_t kCodecZstdSeqColumns = 3;  // version 2: record seqs, then columns v2

// Version 2 clusters a part's records by this time bucket first: a bucket's blocks hold
// only its hour, so time-window queries still prune by block min/max time, and within the
// hour one subject's records are contiguous (one or two small blocks instead of one record
// in each of many 1 MiB blocks).
inline constexpr int64_t kClusterBucketNs = 3'600'000'000'000;

// Version 1: a block is cut once its raw bytes reach this.
inline constexpr size_t kTargetBlockRawSizeV1 = 1024 * 1024;
// Version 2: a block is cut once its records reach this many bytes, or at a bucket
// boundary. A point lookup (id, correlation id, one subject's hour) decompresses one block,
// so this trades size for latency. bench/part_breakdown, 200k traffic_gen events (3 days,
// 325 B/record), whole part (with the part dictionary) / one block read+CRC+decompress+
// decode (rough, shared machine):
//   v1, 1 MiB blocks in seq order        88.5 B/event  1550 µs
//   v2   32 KiB                          85.0 B/event    53 µs
//   v2   64 KiB                          82.1 B/event   100 µs   <- chosen
//   v2  128 KiB                          79.6 B/event   186 µs
//   v2  256 KiB                          76.8 B/event   321 µs
//   v2    1 MiB                          73.8 B/event   967 µs
// One subject's day touches about one block per hour bucket (21 blocks for u-00101 there:
// 1.0 MiB to decompress, against 24 MiB in version 1), so 64 KiB keeps that query near
// 2 ms; 128 KiB would save 3% of disk for twice the read.
inline constexpr size_t kTargetBlockRawSize = 64 * 1024;
// Version 2 blocks are compressed with a zstd dictionary trained on the part's own blocks
// (routes, user agents and tenants recur across blocks; a 64 KiB block alone relearns them).
// bench/part_breakdown, 200k events: blocks 78.2 -> 73.7 B/event with a 16 KiB dictionary
// trained on ~2 MiB of evenly spaced blocks (37 ms per part; 64 KiB of dictionary saved only
// 0.5 B/event more). Since the column transforms (2026-11-27) take out what is regular,
// what is left gains more from a larger dictionary: part 60.16 -> 59.27 B/event with 64 KiB,
// 58.62 with 64 KiB trained on ~4 MiB (the dictionary itself is 0.33 B/event of a 200k-event
// part, 0.08 of a 256 MiB segment's). Parts under kDictionaryMinPartBytes of records get none.
inline constexpr size_t kDictionarySize = 64 * 1024;
inline constexpr size_t kDictionarySampleBytes = 4u << 20;
inline constexpr size_t kDictionaryMinPartBytes = 256 * 1024;
inline constexpr uint32_t kMaxDictionarySize = 1u << 20;  // a reader's limit
// The dictionary section starts with this when the part has a value table (PartValues,
// transform 8): magic | raw size u32 | stored size u32 | the table as one zstd frame, and
// then the zstd dictionary, if any. The writer's zstd dictionaries are trained ones, which
// start with zstd's magic 0xEC30A437, so a section without a table never starts so.
inline constexpr std::string_view kValueTableMagic = "APTVALS1";
inline constexpr size_t kValueTableHeaderSize = 8 + 4 + 4;
// The writer counts every 4th record for the table: bench/part_breakdown at the 50 M-event
// density (one day, 1.67 M events), counting every record: part 50.47 -> 46.17 B/event,
// sealing 4.27 -> 5.52 us/event; counting every 4th: the same 46.17 B/event, 4.88 us/event.
inline constexpr uint32_t kValueTableSampleEvery = 4;
// A reader's limit on the whole section: a table (at most 4 MiB raw, PartValues::
// kMaxRawBytes; zstd adds a little to incompressible bytes) and a dictionary.
inline constexpr uint64_t kMaxDictionarySectionSize = kMaxDictionarySize + (5u << 20);

// Version 2 index: a key is stored as the top hash_bits bits of its KeyHash, with
// hash_bits = bit length of the field's distinct key count + this margin (capped at 32), so
// a lookup of a value not in a block matches another key's fingerprint with probability
// about 2^-margin; the match is then refuted on the record (queries always confirm).
inline constexpr uint32_t kFingerprintMarginBits = 6;
// Limits a reader enforces before allocating (a corrupt size must not allocate gigabytes).
inline constexpr uint32_t kMaxBlockRawSize = 64u << 20;
inline constexpr uint32_t kMaxIndexRawSize = 1u << 30;
inline constexpr uint32_t kMaxSummarySize = 256u << 20;
// The sealer's zstd level (a writer's choice; readers accept any). Sealing competes with the
// gateway for CPU, once for every record: on the gateway-shaped bench events (version 1,
// 1 MiB blocks) level 3 seals at 2.5 µs/event for 108.0 B/event, level 6 3.5 µs for 104.5 B,
// level 12 7.9 µs for 102.5 B (BM_PartSize). Version 2's 64 KiB blocks (bench/part_breakdown,
// compression alone): level 1 79.5 B/event 0.43 µs, level 3 78.2 B 0.46 µs, level 6 73.9 B
// 1.31 µs, level 9 73.6 B 1.83 µs. Level 6 would save 5% of disk for ~0.85 µs more per
// event; kept at 3 for the same reason as before (decompression speed is the same).
inline constexpr int kZstdLevel = 3;
// The seq map is compressed harder: a few MB a day, so level 19 costs ~0.2 µs per event of
// sealing and saves 0.18 bytes per event of the part (bench/part_breakdown).
inline constexpr int kSeqMapZstdLevel = 19;

// Indexed fields, by the tag stored in the index section and hashed with the key.
enum class Field : uint8_t {
  kSubject = 1,
  kRoute = 2,
  kResource = 3,  // "name=value"
  kStatus = 4,    // decimal, e.g. "404"
  kDecision = 5,
  kMethod = 6,
  kClientIp = 7,
  kCorrelationId = 8,
  kTraceId = 9,
  kId = 10,
  kIntentId = 11,  // an outcome's intent_id
  kStatusClass = 12,  // "1" … "5" (the hundreds digit of status)
};
inline constexpr uint8_t kFieldCount = 12;

// The bit length of n (0 for 0); fingerprint width = min(32, BitLength(keys) + margin).
inline uint32_t FingerprintBits(uint64_t distinct_keys) {
  uint32_t b = 0;
  while (distinct_keys != 0) {
    ++b;
    distinct_keys >>= 1;
  }
  return b + kFingerprintMarginBits > 32 ? 32 : b + kFingerprintMarginBits;
}

// Version 2 fingerprint: the top `bits` bits of the key hash after MurmurHash3's fmix32
// (a bijection): CRC32C is linear, so keys that differ in a few bytes (sequential ids) would
// otherwise share their top bits far more often than by chance.
inline uint32_t Fingerprint(uint32_t key_hash, uint32_t bits) {
  uint32_t h = key_hash;
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return bits >= 32 ? h : h >> (32 - bits);
}

// Key hash of the index: CRC32C (unmasked) of the tag byte followed by the value bytes.
uint32_t KeyHash(Field field, std::string_view value);

// "part-00000000000000000042.part"; parses it back (false for any other name).
std::string PartFileName(uint64_t first_seq);
bool ParsePartFileName(std::string_view name, uint64_t* first_seq);

}  // namespace apitrail::part
