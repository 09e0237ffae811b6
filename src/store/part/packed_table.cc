#include "store/part/packed_table.h"

#include <algorithm>

namespace apitrail::part {

namespace {

// Bits a Rice code with parameter k spends on `deltas`.
uint64_t RiceCost(const std::vector<uint32_t>& deltas, int k, uint32_t bits) {
  uint64_t total = 0;
  for (uint32_t d : deltas) {
    const uint64_t q = d >> k;
    total += q >= kPackedEscape ? kPackedEscape + 1 + bits : q + 1 + static_cast<uint64_t>(k);
  }
  return total;
}

}  // namespace

std::string EncodePackedTable(const std::vector<uint64_t>& pairs, uint32_t bits, uint32_t block_count,
                              uint32_t* count) {
  std::vector<uint32_t> deltas;
  uint32_t first = 0;
  for (size_t i = 0; i < pairs.size(); ++i) {
    const auto h = static_cast<uint32_t>(pairs[i] >> 32);
    if (i == 0) {
      first = h;
    } else if (h != static_cast<uint32_t>(pairs[i - 1] >> 32)) {
      deltas.push_back(h - static_cast<uint32_t>(pairs[i - 1] >> 32));
    }
  }
  *count = pairs.empty() ? 0 : static_cast<uint32_t>(deltas.size() + 1);
  // The cheapest k, tried one by one (a sealed part's largest table, ~1.7 M correlation
  // ids, takes tens of ms): fingerprints are near uniform, but a table may be skewed.
  int k = 0;
  if (!deltas.empty()) {
    uint64_t best = UINT64_MAX;
    for (int c = 0; c <= 31; ++c) {
      const uint64_t cost = RiceCost(deltas, c, bits);
      if (cost < best) best = cost, k = c;
    }
  }
  const int block_bits = BitWidth(block_count == 0 ? 0 : block_count - 1);
  BitWriter w;
  size_t next_delta = 0;
  for (size_t i = 0; i < pairs.size();) {
    const auto h = static_cast<uint32_t>(pairs[i] >> 32);
    size_t j = i;
    while (j < pairs.size() && static_cast<uint32_t>(pairs[j] >> 32) == h) ++j;
    if (i == 0) {
      w.Put(first, static_cast<int>(bits));
    } else {
      const uint32_t d = deltas[next_delta++];
      const uint64_t q = d >> k;
      if (q >= kPackedEscape) {
        w.PutUnary(kPackedEscape);
        w.Put(d, static_cast<int>(bits));
      } else {
        w.PutUnary(q);
        w.Put(d & ((uint64_t{1} << k) - 1), k);
      }
    }
    w.PutGamma(j - i);
    uint32_t prev = 0;
    for (size_t b = i; b < j; ++b) {
      const auto block = static_cast<uint32_t>(pairs[b]);
      if (b == i) {
        w.Put(block, block_bits);
      } else {
        w.PutGamma(block - prev);
      }
      prev = block;
    }
    i = j;
  }
  std::string out(1, static_cast<char>(k));
  out += w.Finish();
  return out;
}

bool DecodePackedDelta(BitReader* r, int k, uint32_t bits, uint64_t* delta) {
  uint64_t q = 0;
  if (!r->GetUnary(kPackedEscape, &q)) return false;
  if (q == kPackedEscape) return r->Get(static_cast<int>(bits), delta);
  uint64_t low = 0;
  if (!r->Get(k, &low)) return false;
  *delta = q << k | low;
  return true;
}

bool DecodePackedPostings(BitReader* r, uint32_t block_count, std::vector<uint32_t>* out) {
  uint64_t n = 0;
  if (!r->GetGamma(&n) || n > block_count) return false;
  uint64_t block = 0;
  if (!r->Get(BitWidth(block_count == 0 ? 0 : block_count - 1), &block) || block >= block_count) return false;
  if (out != nullptr) out->push_back(static_cast<uint32_t>(block));
  for (uint64_t i = 1; i < n; ++i) {
    uint64_t d = 0;
    if (!r->GetGamma(&d) || d >= block_count - block) return false;
    block += d;
    if (out != nullptr) out->push_back(static_cast<uint32_t>(block));
  }
  return true;
}

}  // namespace apitrail::part
