// RFC 6962 tree hashing: published vectors and a cross-check against a naive MTH.
#include "store/merkle/compact_range.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "store/merkle/merkle_hash.h"

namespace apitrail::merkle {
namespace {

// MTH straight from RFC 6962 §2.1: split at the largest power of two below n.
Hash256 NaiveRoot(const std::vector<std::string>& leaves, size_t begin, size_t end) {
  Sha256Hasher h;
  if (end == begin) return EmptyRoot();
  if (end - begin == 1) return LeafHash(h, leaves[begin]);
  size_t k = 1;
  while (k * 2 < end - begin) k *= 2;
  Hash256 left = NaiveRoot(leaves, begin, begin + k);
  Hash256 right = NaiveRoot(leaves, begin + k, end);
  return NodeHash(h, left, right);
}

std::string Unhex(const std::string& hex) {
  auto r = HexDecode(hex);
  EXPECT_TRUE(r.ok());
  return r.ok() ? *r : std::string();
}

TEST(MerkleTest, EmptyTreeIsSha256OfNothing) {
  CompactRange range;
  EXPECT_EQ(HexEncode(range.Root()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

// The RFC 6962 test vectors used by certificate-transparency (merkle_tree_test.cc).
TEST(MerkleTest, Rfc6962Vectors) {
  const std::vector<std::string> leaves_hex = {
      "", "00", "10", "2021", "3031", "40414243", "5051525354555657",
      "606162636465666768696a6b6c6d6e6f"};
  const std::vector<std::string> roots = {
      "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
      "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
      "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
      "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
      "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
      "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
      "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"};
  std::vector<std::string> leaves;
  for (const auto& h : leaves_hex) leaves.push_back(Unhex(h));
  CompactRange range;
  Sha256Hasher h;
  for (size_t i = 0; i < leaves.size(); ++i) {
    range.Append(LeafHash(h, leaves[i]));
    EXPECT_EQ(HexEncode(range.Root()), roots[i]) << "size " << i + 1;
    EXPECT_EQ(HexEncode(NaiveRoot(leaves, 0, i + 1)), roots[i]) << "size " << i + 1;
  }
}

TEST(MerkleTest, FrontierAgreesWithNaiveRootForEverySize) {
  std::vector<std::string> leaves;
  CompactRange range;
  Sha256Hasher h;
  for (int i = 0; i < 70; ++i) {
    leaves.push_back("leaf-" + std::to_string(i));
    range.Append(LeafHash(h, leaves.back()));
    ASSERT_EQ(range.Root(), NaiveRoot(leaves, 0, leaves.size())) << "size " << leaves.size();
  }
  EXPECT_EQ(range.size(), 70u);
}

TEST(MerkleTest, LeafAndNodeAreDomainSeparated) {
  Sha256Hasher h;
  Hash256 leaf = LeafHash(h, "x");
  EXPECT_EQ(leaf, Sha256(std::string(1, '\0') + "x"));
  std::string both(reinterpret_cast<const char*>(leaf.data()), 32);
  EXPECT_EQ(NodeHash(h, leaf, leaf), Sha256(std::string(1, '\1') + both + both));
}

}  // namespace
}  // namespace apitrail::merkle
