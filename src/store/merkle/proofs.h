// RFC 9162 §2.1.3 inclusion proofs and §2.1.4 consistency proofs over the RFC 6962 tree of
// merkle_hash.h. Generation follows the RFC's recursive PATH / SUBPROOF definitions over the
// leaf hashes of the log (no persisted tree: O(n) hashes per proof, fine for offline tools);
// verification is the RFC 9162 §2.1.3.2 / §2.1.4.2 iterative algorithm, which needs only the
// proof, the sizes and the roots. Stateless and thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/crypto_util.h"
#include "core/status.h"

namespace apitrail::merkle {

// MTH over `leaves` (leaf hashes, not record bytes); SHA-256("") when empty.
Hash256 SubtreeRoot(std::span<const Hash256> leaves);

// PATH(index, D[n]) for the tree whose leaves are `leaves` (n = leaves.size()), sibling
// hashes from the leaf up. InvalidArgument unless index < n.
Result<std::vector<Hash256>> InclusionProof(std::span<const Hash256> leaves, uint64_t index);

// PROOF(old_size, D[n]) for the tree of `leaves` (n = leaves.size()). Empty when
// old_size is 0 or n (nothing to prove). InvalidArgument when old_size > n.
Result<std::vector<Hash256>> ConsistencyProof(std::span<const Hash256> leaves, uint64_t old_size);

// The leaf ranges [begin, end) whose subtree roots MTH(D[begin:end]) make up
// PROOF(old_size, D[new_size]), in proof order. Needs only the sizes, so a reader streaming
// the log can build the proof without keeping the leaves (`apitrail verify --checkpoint`).
// The ranges are disjoint. Empty when old_size is 0 or new_size, or old_size > new_size.
struct LeafRange {
  uint64_t begin = 0;
  uint64_t end = 0;
};
std::vector<LeafRange> ConsistencyProofRanges(uint64_t old_size, uint64_t new_size);

// OK when `proof` shows that `leaf_hash` is leaf `index` of the tree of `tree_size` leaves
// whose root is `root`. Otherwise Corruption with the reason (InvalidArgument for an index
// outside the tree).
Status VerifyInclusion(const Hash256& leaf_hash, uint64_t index, uint64_t tree_size,
                       const std::vector<Hash256>& proof, const Hash256& root);

// The root a valid inclusion proof leads to (RFC 9162 §2.1.3.2 steps 1-4), or the reason
// the proof cannot be one for (index, tree_size).
Result<Hash256> RootFromInclusionProof(const Hash256& leaf_hash, uint64_t index,
                                       uint64_t tree_size, const std::vector<Hash256>& proof);

// OK when `proof` shows that the tree of `old_size` leaves with root `old_root` is a prefix
// of the tree of `new_size` leaves with root `new_root`. Sizes 0 (any old root) and
// old_size == new_size (equal roots) need an empty proof. Otherwise Corruption.
Status VerifyConsistency(uint64_t old_size, uint64_t new_size, const Hash256& old_root,
                         const Hash256& new_root, const std::vector<Hash256>& proof);

}  // namespace apitrail::merkle
