#include "auth/api_key.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

namespace apitrail {
namespace {

TEST(ApiKeyTest, GeneratedKeyParsesBackToItsId) {
  for (int i = 0; i < 100; ++i) {
    GeneratedApiKey g = GenerateApiKey();
    ASSERT_EQ(g.key.size(), kApiKeyLength);
    EXPECT_EQ(g.key.substr(0, 4), "atk_");
    EXPECT_EQ(g.key.substr(4, 8), g.id);
    EXPECT_EQ(g.key[12], '_');
    auto id = ParseApiKey(g.key);
    ASSERT_TRUE(id.ok()) << id.status().ToString();
    EXPECT_EQ(*id, g.id);
    EXPECT_TRUE(IsValidApiKeyId(g.id));
  }
}

TEST(ApiKeyTest, KeysAreUnique) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(seen.insert(GenerateApiKey().key).second);
}

TEST(ApiKeyTest, EverySingleCharacterTypoIsRejected) {
  GeneratedApiKey g = GenerateApiKey();
  // Change each position after the prefix to another base62 character.
  for (size_t i = 4; i < g.key.size(); ++i) {
    if (i == 12) continue;  // the separator
    std::string typo = g.key;
    typo[i] = typo[i] == 'a' ? 'b' : 'a';
    auto r = ParseApiKey(typo);
    EXPECT_FALSE(r.ok()) << "position " << i;
  }
}

TEST(ApiKeyTest, StructuralErrorsAreRejectedWithoutEchoingTheInput) {
  GeneratedApiKey g = GenerateApiKey();
  std::string bad_prefix = "atx_" + g.key.substr(4);
  std::string bad_sep = g.key;
  bad_sep[12] = '-';
  std::string bad_char = g.key;
  bad_char[20] = '+';
  for (const std::string& s : {std::string(), std::string("atk_"), g.key.substr(0, 50), g.key + "x",
                               bad_prefix, bad_sep, bad_char}) {
    auto r = ParseApiKey(s);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    if (s.size() > 8) {
      EXPECT_EQ(r.status().message().find(s.substr(4)), std::string::npos);
    }
  }
}

TEST(ApiKeyTest, HashIsHexSha256OfTheWholeKey) {
  // SHA-256("abc"), FIPS 180-2 test vector.
  EXPECT_EQ(HashApiKey("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  GeneratedApiKey g = GenerateApiKey();
  EXPECT_EQ(HashApiKey(g.key).size(), 64u);
  EXPECT_NE(HashApiKey(g.key), HashApiKey(GenerateApiKey().key));
}

TEST(ApiKeyTest, Base62IsRoughlyUniform) {
  // 62,000 draws: each symbol expected 1000 times. A modulo-biased generator (byte % 62) would
  // give the first 8 symbols ~1.24x the others; allow ±20% (≈6 sigma) to stay non-flaky.
  std::string s = RandomBase62(62000);
  ASSERT_EQ(s.size(), 62000u);
  std::map<char, int> counts;
  for (char c : s) ++counts[c];
  EXPECT_EQ(counts.size(), 62u);
  for (auto [c, n] : counts) {
    EXPECT_GT(n, 800) << c;
    EXPECT_LT(n, 1200) << c;
  }
  // The first 8 symbols (favoured by modulo bias) must not be over-represented as a group.
  int first8 = 0;
  for (char c : std::string("01234567")) first8 += counts[c];
  EXPECT_LT(first8, 8 * 1100);
}

}  // namespace
}  // namespace apitrail
