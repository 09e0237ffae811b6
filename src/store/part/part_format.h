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
inline constexpr uint32_t kVersion = 1;
// magic | version | first_seq | node_len  (then node, k, k hashes, crc)
inline constexpr size_t kHeaderFixedSize = 8 + 4 + 8 + 2;
// offset u64 | stored u32 | raw u32 | first u32 | count u32 | min i64 | max i64 | crc u32 | codec u32
inline constexpr size_t kBlockMetaSize = 8 + 4 + 4 + 4 + 4 + 8 + 8 + 4 + 4;
// summary off u64 | size u32 | crc u32 | index off u64 | size u32 | raw u32 | crc u32 | footer crc u32 | magic
inline constexpr size_t kFooterSize = 8 + 4 + 4 + 8 + 4 + 4 + 4 + 4 + 8;
inline constexpr uint32_t kCodecZstdRows = 1;     // zstd over the rows layout (block_codec.h)
inline constexpr uint32_t kCodecZstdColumns = 2;  // zstd over the columns layout (what the writer uses)

// A block is cut once its raw bytes reach this; larger blocks compress better, smaller
// ones cost less to read for one record.
inline constexpr size_t kTargetBlockRawSize = 1024 * 1024;
// Limits a reader enforces before allocating (a corrupt size must not allocate gigabytes).
inline constexpr uint32_t kMaxBlockRawSize = 64u << 20;
inline constexpr uint32_t kMaxIndexRawSize = 1u << 30;
inline constexpr uint32_t kMaxSummarySize = 256u << 20;
// The sealer's zstd level (a writer's choice; readers accept any). Sealing competes with the
// gateway for CPU, once for every record: on the gateway-shaped bench events level 3 seals at
// 2.5 µs/event for 108.0 B/event, level 6 3.5 µs for 104.5 B, level 12 7.9 µs for 102.5 B
// (BM_PartSize). 5% more disk is cheaper than a fifth more CPU per request.
inline constexpr int kZstdLevel = 3;

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

// Key hash of the index: CRC32C (unmasked) of the tag byte followed by the value bytes.
uint32_t KeyHash(Field field, std::string_view value);

// "part-00000000000000000042.part"; parses it back (false for any other name).
std::string PartFileName(uint64_t first_seq);
bool ParsePartFileName(std::string_view name, uint64_t* first_seq);

}  // namespace apitrail::part
