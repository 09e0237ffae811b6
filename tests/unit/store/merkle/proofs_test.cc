// RFC 9162 inclusion and consistency proofs: the certificate-transparency RFC 6962 test
// vectors, a cross-check against a naive reading of the RFC's PATH/PROOF definitions over
// record bytes for every (index, size) up to 40, and tampered proofs that must fail.
#include "store/merkle/proofs.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "store/merkle/merkle_hash.h"
#include "store/merkle/compact_range.h"

namespace apitrail::merkle {
namespace {

std::string Unhex(const std::string& hex) {
  auto r = HexDecode(hex);
  EXPECT_TRUE(r.ok()) << hex;
  return r.ok() ? *r : std::string();
}

Hash256 H(const std::string& hex) {
  auto r = HexToHash(hex);
  EXPECT_TRUE(r.ok()) << hex;
  return r.ok() ? *r : Hash256{};
}

// --- Naive RFC 6962 §2.1 over the record bytes themselves (independent of proofs.cc). ---
size_t K(size_t n) {
  size_t k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

Hash256 NaiveMth(const std::vector<std::string>& d, size_t b, size_t e) {
  if (e == b) return Sha256("");
  if (e - b == 1) return Sha256(std::string(1, '\0') + d[b]);
  size_t k = K(e - b);
  Hash256 l = NaiveMth(d, b, b + k), r = NaiveMth(d, b + k, e);
  return Sha256(std::string(1, '\1') + std::string(l.begin(), l.end()) +
                std::string(r.begin(), r.end()));
}

std::vector<Hash256> NaivePath(size_t m, const std::vector<std::string>& d, size_t b, size_t e) {
  if (e - b <= 1) return {};
  size_t k = K(e - b);
  std::vector<Hash256> out;
  if (m < k) {
    out = NaivePath(m, d, b, b + k);
    out.push_back(NaiveMth(d, b + k, e));
  } else {
    out = NaivePath(m - k, d, b + k, e);
    out.push_back(NaiveMth(d, b, b + k));
  }
  return out;
}

std::vector<Hash256> NaiveSubproof(size_t m, const std::vector<std::string>& d, size_t b, size_t e,
                                   bool flag) {
  size_t n = e - b;
  if (m == n) return flag ? std::vector<Hash256>{} : std::vector<Hash256>{NaiveMth(d, b, e)};
  size_t k = K(n);
  std::vector<Hash256> out;
  if (m <= k) {
    out = NaiveSubproof(m, d, b, b + k, flag);
    out.push_back(NaiveMth(d, b + k, e));
  } else {
    out = NaiveSubproof(m - k, d, b + k, e, false);
    out.push_back(NaiveMth(d, b, b + k));
  }
  return out;
}

class ProofsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* hex : {"", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                            "606162636465666768696a6b6c6d6e6f"}) {
      data_.push_back(Unhex(hex));
      leaves_.push_back(LeafHash(ThreadHasher(), data_.back()));
    }
  }
  std::span<const Hash256> Tree(size_t n) const { return std::span(leaves_).subspan(0, n); }

  std::vector<std::string> data_;
  std::vector<Hash256> leaves_;
};

// certificate-transparency merkle_tree_test.cc / transparency-dev proof tests (1-based
// leaves there; 0-based indices here).
TEST_F(ProofsTest, Rfc6962InclusionVectors) {
  struct Vector {
    uint64_t index, size;
    std::vector<std::string> path;
  };
  const std::vector<Vector> vectors = {
      {0, 1, {}},
      {0, 8,
       {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
      {5, 8,
       {"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
      {2, 3, {"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"}},
      {1, 5,
       {"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
  };
  for (const auto& v : vectors) {
    auto proof = InclusionProof(Tree(v.size), v.index);
    ASSERT_TRUE(proof.ok());
    std::vector<Hash256> want;
    for (const auto& h : v.path) want.push_back(H(h));
    EXPECT_EQ(*proof, want) << v.index << "/" << v.size;
    EXPECT_TRUE(VerifyInclusion(leaves_[v.index], v.index, v.size, want, SubtreeRoot(Tree(v.size))).ok());
  }
  EXPECT_EQ(HexEncode(SubtreeRoot(Tree(8))),
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328");
}

TEST_F(ProofsTest, Rfc6962ConsistencyVectors) {
  struct Vector {
    uint64_t from, to;
    std::vector<std::string> path;
  };
  const std::vector<Vector> vectors = {
      {1, 1, {}},
      {1, 8,
       {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
      {6, 8,
       {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
      {2, 5,
       {"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
  };
  for (const auto& v : vectors) {
    auto proof = ConsistencyProof(Tree(v.to), v.from);
    ASSERT_TRUE(proof.ok());
    std::vector<Hash256> want;
    for (const auto& h : v.path) want.push_back(H(h));
    EXPECT_EQ(*proof, want) << v.from << "->" << v.to;
    Status st = VerifyConsistency(v.from, v.to, SubtreeRoot(Tree(v.from)), SubtreeRoot(Tree(v.to)), want);
    EXPECT_TRUE(st.ok()) << st.ToString();
  }
}

TEST(ProofsExhaustiveTest, EveryInclusionProofUpTo40MatchesTheRfcAndVerifies) {
  std::vector<std::string> data;
  std::vector<Hash256> leaves;
  for (int i = 0; i < 40; ++i) {
    data.push_back("record-" + std::to_string(i * 7919));
    leaves.push_back(LeafHash(ThreadHasher(), data.back()));
  }
  for (size_t n = 1; n <= 40; ++n) {
    std::span<const Hash256> tree = std::span(leaves).subspan(0, n);
    const Hash256 root = SubtreeRoot(tree);
    ASSERT_EQ(root, NaiveMth(data, 0, n));
    for (size_t i = 0; i < n; ++i) {
      auto proof = InclusionProof(tree, i);
      ASSERT_TRUE(proof.ok());
      ASSERT_EQ(*proof, NaivePath(i, data, 0, n)) << i << "/" << n;
      ASSERT_TRUE(VerifyInclusion(leaves[i], i, n, *proof, root).ok()) << i << "/" << n;
      // Wrong leaf, wrong index, wrong size, wrong root, each hash flipped, one too few/many.
      EXPECT_FALSE(VerifyInclusion(leaves[(i + 1) % 40], i, n, *proof, root).ok());
      if (n > 1) {
        EXPECT_FALSE(VerifyInclusion(leaves[i], (i + 1) % n, n, *proof, root).ok());
      }
      if (n < 40) {  // the same path against the next tree (its root differs)
        const Hash256 next_root = SubtreeRoot(std::span(leaves).subspan(0, n + 1));
        EXPECT_FALSE(VerifyInclusion(leaves[i], i, n + 1, *proof, next_root).ok()) << i << "/" << n;
      }
      Hash256 bad_root = root;
      bad_root[0] ^= 1;
      EXPECT_FALSE(VerifyInclusion(leaves[i], i, n, *proof, bad_root).ok());
      for (size_t j = 0; j < proof->size(); ++j) {
        auto bad = *proof;
        bad[j][31] ^= 0x80;
        EXPECT_FALSE(VerifyInclusion(leaves[i], i, n, bad, root).ok());
      }
      if (!proof->empty()) {
        auto shorter = *proof;
        shorter.pop_back();
        EXPECT_FALSE(VerifyInclusion(leaves[i], i, n, shorter, root).ok());
      }
      auto longer = *proof;
      longer.push_back(root);
      EXPECT_FALSE(VerifyInclusion(leaves[i], i, n, longer, root).ok());
    }
    EXPECT_EQ(InclusionProof(tree, n).status().code(), StatusCode::kInvalidArgument);
  }
}

TEST(ProofsExhaustiveTest, EveryConsistencyProofUpTo40MatchesTheRfcAndVerifies) {
  std::vector<std::string> data;
  std::vector<Hash256> leaves;
  for (int i = 0; i < 40; ++i) {
    data.push_back(std::string(static_cast<size_t>(i % 5), 'x') + std::to_string(i));
    leaves.push_back(LeafHash(ThreadHasher(), data.back()));
  }
  for (size_t n = 1; n <= 40; ++n) {
    std::span<const Hash256> tree = std::span(leaves).subspan(0, n);
    const Hash256 new_root = SubtreeRoot(tree);
    for (size_t m = 0; m <= n; ++m) {
      const Hash256 old_root = SubtreeRoot(tree.subspan(0, m));
      auto proof = ConsistencyProof(tree, m);
      ASSERT_TRUE(proof.ok());
      if (m > 0 && m < n) {
        ASSERT_EQ(*proof, NaiveSubproof(m, data, 0, n, true)) << m << "->" << n;
      } else {
        ASSERT_TRUE(proof->empty());
      }
      Status st = VerifyConsistency(m, n, old_root, new_root, *proof);
      ASSERT_TRUE(st.ok()) << m << "->" << n << ": " << st.ToString();
      Hash256 bad_old = old_root, bad_new = new_root;
      bad_old[3] ^= 1;
      bad_new[3] ^= 1;
      if (m == 0) {
        // The empty tree is a prefix of everything, but only with its own root.
        EXPECT_FALSE(VerifyConsistency(0, n, bad_old, new_root, *proof).ok()) << n;
        continue;
      }
      EXPECT_FALSE(VerifyConsistency(m, n, bad_old, new_root, *proof).ok()) << m << "->" << n;
      EXPECT_FALSE(VerifyConsistency(m, n, old_root, bad_new, *proof).ok()) << m << "->" << n;
      for (size_t j = 0; j < proof->size(); ++j) {
        auto bad = *proof;
        bad[j][0] ^= 0x40;
        EXPECT_FALSE(VerifyConsistency(m, n, old_root, new_root, bad).ok()) << m << "->" << n << " #" << j;
      }
      if (m < n) {
        auto shorter = *proof;
        shorter.pop_back();
        EXPECT_FALSE(VerifyConsistency(m, n, old_root, new_root, shorter).ok());
        if (n < 40) {  // the same path does not lead to the next tree's root
          const Hash256 next_root = SubtreeRoot(std::span(leaves).subspan(0, n + 1));
          EXPECT_FALSE(VerifyConsistency(m, n + 1, old_root, next_root, *proof).ok());
        }
      }
      // A history that differs in record m-1 is not consistent with this one.
      std::vector<Hash256> forked(tree.begin(), tree.end());
      forked[m - 1][5] ^= 1;
      EXPECT_FALSE(VerifyConsistency(m, n, SubtreeRoot(std::span(forked).subspan(0, m)), new_root,
                                     *proof).ok());
    }
    EXPECT_FALSE(ConsistencyProof(tree, n + 1).ok());
  }
  EXPECT_FALSE(VerifyConsistency(5, 4, Hash256{}, Hash256{}, {}).ok());
}

}  // namespace
}  // namespace apitrail::merkle

namespace apitrail::merkle {
namespace {

// What `verify --checkpoint` relies on: the ranges name exactly the subtrees of the proof,
// disjointly, so a streaming reader can build it leaf by leaf.
TEST(ProofsExhaustiveTest, ConsistencyProofRangesGiveTheSameProofUpTo40) {
  std::vector<Hash256> leaves;
  for (int i = 0; i < 40; ++i) leaves.push_back(LeafHash(ThreadHasher(), "leaf " + std::to_string(i)));
  for (uint64_t n = 1; n <= 40; ++n) {
    std::span<const Hash256> tree = std::span(leaves).subspan(0, n);
    for (uint64_t m = 0; m <= n; ++m) {
      auto proof = ConsistencyProof(tree, m);
      ASSERT_TRUE(proof.ok());
      std::vector<LeafRange> ranges = ConsistencyProofRanges(m, n);
      ASSERT_EQ(ranges.size(), proof->size()) << m << "->" << n;
      std::vector<bool> used(n, false);
      for (size_t j = 0; j < ranges.size(); ++j) {
        ASSERT_LT(ranges[j].begin, ranges[j].end);
        ASSERT_LE(ranges[j].end, n);
        CompactRange r;
        for (uint64_t i = ranges[j].begin; i < ranges[j].end; ++i) {
          ASSERT_FALSE(used[i]) << "ranges overlap at " << i;
          used[i] = true;
          r.Append(leaves[i]);
        }
        EXPECT_EQ(r.Root(), (*proof)[j]) << m << "->" << n << " #" << j;
      }
    }
  }
  EXPECT_TRUE(ConsistencyProofRanges(5, 3).empty());
}

}  // namespace
}  // namespace apitrail::merkle
