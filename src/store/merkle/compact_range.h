// CompactRange: the Merkle "frontier" of a log of n leaves — the roots of the perfect
// subtrees that n's binary representation splits the log into, largest (leftmost) first.
// O(log n) memory; Append is amortised O(1) hashes, Root O(log n). Together they give the
// RFC 6962 tree hash MTH(D[0:n]) without keeping any leaf.
// Not thread-safe: owned by the store's writer thread (readers get copies of the root).
#pragma once

#include <cstdint>
#include <vector>

#include "core/crypto_util.h"

namespace apitrail::merkle {

class CompactRange {
 public:
  uint64_t size() const { return size_; }
  void Append(const Hash256& leaf_hash);
  // MTH of the leaves appended so far; SHA-256("") when empty.
  Hash256 Root() const;
  // The stored subtree roots, largest first: exactly popcount(size()) hashes. With the size
  // they are the whole state, which a sealed part stores so the tree continues without the
  // leaves before it (docs/FORMAT.md §16).
  const std::vector<Hash256>& hashes() const { return subtrees_; }
  // Rebuilds a range from size() and hashes(); false (and *out untouched) when the number
  // of hashes is not popcount(size).
  static bool FromHashes(uint64_t size, std::vector<Hash256> hashes, CompactRange* out);
  bool operator==(const CompactRange& o) const { return size_ == o.size_ && subtrees_ == o.subtrees_; }

 private:
  // subtrees_[i] covers 2^k leaves where k is the i-th highest set bit of size_.
  std::vector<Hash256> subtrees_;
  uint64_t size_ = 0;
};

}  // namespace apitrail::merkle
