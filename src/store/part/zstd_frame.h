// zstd frames for the store's files: sealed parts' blocks, index and seq map, and rollup
// files. Pure functions; thread-safe (Decompress with a dictionary keeps one context per
// thread).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace apitrail::part {

// The most raw bytes one stored byte of a zstd frame can yield: a block decodes to at most
// 128 KiB and takes at least 4 bytes (3 of header, 1 of an RLE block's byte).
inline constexpr size_t kZstdMaxExpansion = (128 * 1024) / 4;
// Whether `stored` bytes of zstd frame can decode to `raw` bytes at all.
inline bool ZstdFrameCanHold(uint64_t stored, uint64_t raw) { return raw / kZstdMaxExpansion <= stored; }

// Compresses / decompresses with zstd (one frame). Decompress refuses a frame whose
// content size differs from `raw_size`, or that is too small to yield `raw_size` bytes,
// before allocating, and output of another size.
// With a `cdict` (ZSTD_CDict, its level wins) the frame is compressed with that dictionary
// (cctx is then required); with a `ddict` (ZSTD_DDict) it is decompressed with it.
Result<std::string> ZstdCompress(std::string_view raw, int level, void* cctx = nullptr, const void* cdict = nullptr);
Result<std::string> ZstdDecompress(std::string_view stored, size_t raw_size, const void* ddict = nullptr);

}  // namespace apitrail::part
