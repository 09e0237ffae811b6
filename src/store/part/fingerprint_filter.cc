#include "store/part/fingerprint_filter.h"

namespace apitrail::part {

namespace {

// 8 bits per key and 4 probes in a 512-bit line: ~3% false positives for a uniform load
// (a plain Bloom filter of the same size would give ~2.4%; the line keeps it to one miss).
constexpr size_t kBitsPerKey = 8;
constexpr int kProbes = 4;

}  // namespace

FingerprintFilter::FingerprintFilter(size_t keys) {
  if (keys != 0) lines_.resize((keys * kBitsPerKey + 511) / 512);
}

// Fingerprints are the top bits of a mixed hash; multiplying spreads them over all 64 bits
// again, so the line (high half) and the probes (low bits) are independent.
uint64_t FingerprintFilter::Mix(uint32_t fingerprint) {
  return (static_cast<uint64_t>(fingerprint) + 0x9e3779b97f4a7c15ull) * 0xbf58476d1ce4e5b9ull;
}

size_t FingerprintFilter::LineOf(uint64_t mixed) const {
  return static_cast<size_t>(((mixed >> 32) * lines_.size()) >> 32);
}

void FingerprintFilter::Add(uint32_t fingerprint) {
  if (lines_.empty()) return;
  const uint64_t m = Mix(fingerprint);
  Line& line = lines_[LineOf(m)];
  for (int i = 0; i < kProbes; ++i) {
    const unsigned bit = static_cast<unsigned>(m >> (9 * i)) & 511;
    line.words[bit >> 6] |= uint64_t{1} << (bit & 63);
  }
}

bool FingerprintFilter::MayContain(uint32_t fingerprint) const {
  if (lines_.empty()) return true;
  const uint64_t m = Mix(fingerprint);
  const Line& line = lines_[LineOf(m)];
  bool all = true;
  for (int i = 0; i < kProbes; ++i) {
    const unsigned bit = static_cast<unsigned>(m >> (9 * i)) & 511;
    all &= (line.words[bit >> 6] >> (bit & 63)) & 1;
  }
  return all;
}

}  // namespace apitrail::part
