#include "store/merkle/proofs.h"

#include <string>

#include "store/merkle/merkle_hash.h"

namespace apitrail::merkle {

namespace {

// Largest power of two strictly below n (n >= 2): where RFC 6962 splits D[n].
uint64_t SplitPoint(uint64_t n) {
  uint64_t k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

Hash256 Node(const Hash256& left, const Hash256& right) {
  return NodeHash(ThreadHasher(), left, right);
}

// PATH(m, D[n]) of RFC 6962 §2.1.1 / RFC 9162 §2.1.3.1, appended leaf-first.
void Path(std::span<const Hash256> d, uint64_t m, std::vector<Hash256>* out) {
  if (d.size() <= 1) return;
  const uint64_t k = SplitPoint(d.size());
  if (m < k) {
    Path(d.subspan(0, k), m, out);
    out->push_back(SubtreeRoot(d.subspan(k)));
  } else {
    Path(d.subspan(k), m - k, out);
    out->push_back(SubtreeRoot(d.subspan(0, k)));
  }
}

// SUBPROOF(m, D[n], b) of RFC 6962 §2.1.2 / RFC 9162 §2.1.4.1.
void SubProof(std::span<const Hash256> d, uint64_t m, bool b, std::vector<Hash256>* out) {
  const uint64_t n = d.size();
  if (m == n) {
    if (!b) out->push_back(SubtreeRoot(d));
    return;
  }
  const uint64_t k = SplitPoint(n);
  if (m <= k) {
    SubProof(d.subspan(0, k), m, b, out);
    out->push_back(SubtreeRoot(d.subspan(k)));
  } else {
    SubProof(d.subspan(k), m - k, false, out);
    out->push_back(SubtreeRoot(d.subspan(0, k)));
  }
}

// SUBPROOF over sizes only: the ranges of the subtrees it emits, offset by `base`.
void SubProofRanges(uint64_t base, uint64_t n, uint64_t m, bool b, std::vector<LeafRange>* out) {
  if (m == n) {
    if (!b) out->push_back({base, base + n});
    return;
  }
  const uint64_t k = SplitPoint(n);
  if (m <= k) {
    SubProofRanges(base, k, m, b, out);
    out->push_back({base + k, base + n});
  } else {
    SubProofRanges(base + k, n - k, m - k, false, out);
    out->push_back({base, base + k});
  }
}

std::string Num(uint64_t v) { return std::to_string(v); }

}  // namespace

Hash256 SubtreeRoot(std::span<const Hash256> leaves) {
  if (leaves.empty()) return EmptyRoot();
  if (leaves.size() == 1) return leaves[0];
  const uint64_t k = SplitPoint(leaves.size());
  return Node(SubtreeRoot(leaves.subspan(0, k)), SubtreeRoot(leaves.subspan(k)));
}

Result<std::vector<Hash256>> InclusionProof(std::span<const Hash256> leaves, uint64_t index) {
  if (index >= leaves.size()) {
    return Status::InvalidArgument("leaf index " + Num(index) + " is not in a tree of " +
                                   Num(leaves.size()) + " leaves");
  }
  std::vector<Hash256> out;
  Path(leaves, index, &out);
  return out;
}

std::vector<LeafRange> ConsistencyProofRanges(uint64_t old_size, uint64_t new_size) {
  std::vector<LeafRange> out;
  if (old_size == 0 || old_size >= new_size) return out;
  SubProofRanges(0, new_size, old_size, true, &out);
  return out;
}

Result<std::vector<Hash256>> ConsistencyProof(std::span<const Hash256> leaves, uint64_t old_size) {
  if (old_size > leaves.size()) {
    return Status::InvalidArgument("old tree size " + Num(old_size) + " is larger than the new " +
                                   Num(leaves.size()));
  }
  std::vector<Hash256> out;
  if (old_size == 0 || old_size == leaves.size()) return out;
  SubProof(leaves, old_size, true, &out);
  return out;
}

Result<Hash256> RootFromInclusionProof(const Hash256& leaf_hash, uint64_t index,
                                       uint64_t tree_size, const std::vector<Hash256>& proof) {
  if (index >= tree_size) {
    return Status::InvalidArgument("leaf index " + Num(index) + " is not in a tree of " +
                                   Num(tree_size) + " leaves");
  }
  uint64_t fn = index;
  uint64_t sn = tree_size - 1;
  Hash256 r = leaf_hash;
  for (const Hash256& p : proof) {
    if (sn == 0) return Status::Corruption("inclusion proof has too many hashes");
    if ((fn & 1) || fn == sn) {
      r = Node(p, r);
      if (!(fn & 1)) {
        while (!(fn & 1) && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = Node(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return Status::Corruption("inclusion proof has too few hashes");
  return r;
}

Status VerifyInclusion(const Hash256& leaf_hash, uint64_t index, uint64_t tree_size,
                       const std::vector<Hash256>& proof, const Hash256& root) {
  APITRAIL_ASSIGN_OR_RETURN(Hash256 computed,
                            RootFromInclusionProof(leaf_hash, index, tree_size, proof));
  if (computed != root) {
    return Status::Corruption("inclusion proof leads to root " + HexEncode(computed) +
                              ", not " + HexEncode(root));
  }
  return Status::Ok();
}

Status VerifyConsistency(uint64_t old_size, uint64_t new_size, const Hash256& old_root,
                         const Hash256& new_root, const std::vector<Hash256>& proof) {
  if (old_size > new_size) {
    return Status::Corruption("old tree size " + Num(old_size) + " is larger than the new " +
                              Num(new_size));
  }
  if (old_size == 0 || old_size == new_size) {
    if (!proof.empty()) return Status::Corruption("consistency proof must be empty for these sizes");
    // Every tree extends the empty one, whose root is fixed: any other "old root" is a claim
    // this proof does not support.
    if (old_size == 0 && old_root != EmptyRoot()) {
      return Status::Corruption("the root of the empty tree is SHA-256 of nothing, not " +
                                HexEncode(old_root));
    }
    if (old_size == new_size && old_root != new_root) {
      return Status::Corruption("trees of the same size " + Num(old_size) + " have different roots");
    }
    return Status::Ok();
  }
  // RFC 9162 §2.1.4.2.
  if (proof.empty()) return Status::Corruption("consistency proof is empty");
  std::vector<Hash256> path;
  path.reserve(proof.size() + 1);
  if ((old_size & (old_size - 1)) == 0) path.push_back(old_root);  // exact power of 2
  path.insert(path.end(), proof.begin(), proof.end());
  uint64_t fn = old_size - 1;
  uint64_t sn = new_size - 1;
  while (fn & 1) {
    fn >>= 1;
    sn >>= 1;
  }
  Hash256 fr = path[0];
  Hash256 sr = path[0];
  for (size_t i = 1; i < path.size(); ++i) {
    const Hash256& c = path[i];
    if (sn == 0) return Status::Corruption("consistency proof has too many hashes");
    if ((fn & 1) || fn == sn) {
      fr = Node(c, fr);
      sr = Node(c, sr);
      while (!(fn & 1) && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      sr = Node(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return Status::Corruption("consistency proof has too few hashes");
  if (fr != old_root) {
    return Status::Corruption("consistency proof leads to old root " + HexEncode(fr) + ", not " +
                              HexEncode(old_root));
  }
  if (sr != new_root) {
    return Status::Corruption("consistency proof leads to new root " + HexEncode(sr) + ", not " +
                              HexEncode(new_root));
  }
  return Status::Ok();
}

}  // namespace apitrail::merkle
