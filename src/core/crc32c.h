// CRC-32C (Castagnoli), as used by the record framing in docs/FORMAT.md.
// Pure functions; thread-safe. Uses SSE4.2 when the CPU has it.
#pragma once

#include <cstddef>
#include <cstdint>

namespace apitrail::crc32c {

uint32_t Extend(uint32_t crc, const void* data, size_t n);
inline uint32_t Value(const void* data, size_t n) { return Extend(0, data, n); }

// Masking (as LevelDB does) keeps a CRC of data that itself contains CRCs well-distributed.
inline uint32_t Mask(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }
inline uint32_t Unmask(uint32_t masked) {
  uint32_t rot = masked - 0xa282ead8u;
  return (rot >> 17) | (rot << 15);
}

}  // namespace apitrail::crc32c
