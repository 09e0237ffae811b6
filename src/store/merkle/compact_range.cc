#include "store/merkle/compact_range.h"

#include "store/merkle/merkle_hash.h"

#include <bit>

namespace apitrail::merkle {

void CompactRange::Append(const Hash256& leaf_hash) {
  Sha256Hasher& hasher = ThreadHasher();
  Hash256 acc = leaf_hash;
  // Each trailing 1 bit of size_ is a subtree of the same size as `acc` waiting to its
  // left: merge them, as binary addition carries.
  for (uint64_t n = size_; n & 1; n >>= 1) {
    acc = NodeHash(hasher, subtrees_.back(), acc);
    subtrees_.pop_back();
  }
  subtrees_.push_back(acc);
  ++size_;
}

bool CompactRange::FromHashes(uint64_t size, std::vector<Hash256> hashes, CompactRange* out) {
  if (hashes.size() != static_cast<size_t>(std::popcount(size))) return false;
  out->size_ = size;
  out->subtrees_ = std::move(hashes);
  return true;
}

Hash256 CompactRange::Root() const {
  if (subtrees_.empty()) return EmptyRoot();
  // RFC 6962 splits at the largest power of two below n, so the rightmost (smallest)
  // subtrees combine first and each larger one becomes a left child.
  Sha256Hasher& hasher = ThreadHasher();
  Hash256 acc = subtrees_.back();
  for (size_t i = subtrees_.size() - 1; i-- > 0;) acc = NodeHash(hasher, subtrees_[i], acc);
  return acc;
}

}  // namespace apitrail::merkle
