// Constants of the on-disk log format. The format itself is specified in docs/FORMAT.md;
// change both together and bump kFormatVersion when the bytes change.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace apitrail::log {

// File header: magic(8) | version u32 | first_seq u64 | node_len u16 | node | header_crc u32.
inline constexpr std::string_view kSegmentMagic = "APTLOG01";
inline constexpr std::string_view kTreeHeadMagic = "APTHEAD1";
inline constexpr std::string_view kCheckpointMagic = "APTCKPT1";
// Version 1: every file as first released (segment records are JSON). Version 2: segment
// records are binary (core/record_codec.h); tree_heads.log and checkpoints.log unchanged.
// Version 3: segments as version 2, but the writer pre-extends them with zero bytes, so a
// segment may end in a zero tail after its last frame (FORMAT.md §3).
// Readers accept every version up to the one their magic is written with.
inline constexpr uint32_t kFormatVersion = 1;
inline constexpr uint32_t kSegmentFormatVersion = 3;
inline constexpr uint32_t kFirstZeroTailVersion = 3;
constexpr uint32_t FormatVersionFor(std::string_view magic) {
  return magic == kSegmentMagic ? kSegmentFormatVersion : kFormatVersion;
}
inline constexpr size_t kMagicSize = 8;
inline constexpr size_t kFileHeaderFixedSize = kMagicSize + 4 + 8 + 2;  // before node bytes
inline constexpr size_t kFileHeaderCrcSize = 4;
inline constexpr size_t kMaxNodeNameSize = 255;

// Frame: payload_len u32 | masked crc32c(seq LE u64 ‖ payload) u32 | seq u64 | payload.
inline constexpr size_t kFrameHeaderSize = 4 + 4 + 8;
// A corrupt length must not make a reader allocate gigabytes; events are far smaller.
inline constexpr uint32_t kMaxPayloadSize = 1u << 20;

// tree_heads.log frames: seq field = tree size; payload = root(32) | time_ns i64 LE.
inline constexpr size_t kTreeHeadPayloadSize = 32 + 8;

// checkpoints.log frames: seq field = tree size; payload = time_ns i64 LE | signed note text.
inline constexpr size_t kCheckpointTimeSize = 8;

// Layout of a data dir.
inline constexpr std::string_view kSegmentsDir = "segments";
inline constexpr std::string_view kSegmentPrefix = "seg-";
inline constexpr std::string_view kSegmentSuffix = ".log";
inline constexpr std::string_view kTreeHeadsFile = "tree_heads.log";
inline constexpr std::string_view kCheckpointsFile = "checkpoints.log";

}  // namespace apitrail::log
