#include "core/crypto_util.h"

#include <gtest/gtest.h>

#include "core/ids.h"

namespace apitrail {
namespace {

TEST(CryptoUtilTest, Sha256KnownAnswer) {
  EXPECT_EQ(HexEncode(Sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  Sha256Hasher h;
  EXPECT_EQ(HexEncode(h.Digest("")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(CryptoUtilTest, Base64RoundTripsAndRejectsGarbage) {
  EXPECT_EQ(Base64Encode("hello"), "aGVsbG8=");
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
  EXPECT_EQ(*Base64UrlDecode("-_8"), "\xfb\xff");
  EXPECT_EQ(*Base64Decode("aGVsbG8="), "hello");
  EXPECT_FALSE(Base64UrlDecode("a$b").ok());
  EXPECT_FALSE(Base64UrlDecode("aGVsbG8=").ok());
  EXPECT_FALSE(Base64UrlDecode("aGVsbG9").ok());  // non-canonical trailing bits
}

TEST(CryptoUtilTest, HexAndConstantTimeEquals) {
  EXPECT_EQ(*HexDecode("00ff"), std::string("\x00\xff", 2));
  EXPECT_FALSE(HexDecode("0g").ok());
  EXPECT_TRUE(ConstantTimeEquals("secret", "secret"));
  EXPECT_FALSE(ConstantTimeEquals("secret", "secreT"));
  EXPECT_FALSE(ConstantTimeEquals("secret", "secret2"));
}

TEST(CryptoUtilTest, HexEncodeEveryByteValue) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  const std::string hex = HexEncode(all.data(), all.size());
  ASSERT_EQ(hex.size(), 512u);
  EXPECT_EQ(hex.substr(0, 8), "00010203");
  EXPECT_EQ(hex.substr(2 * 0x9f, 6), "9fa0a1");
  EXPECT_EQ(hex.substr(504), "fcfdfeff");
  EXPECT_EQ(*HexDecode(hex), all);
  EXPECT_EQ(HexEncode("", 0), "");
}

TEST(IdsTest, UuidV7HasVersionVariantAndTime) {
  std::string id = NewUuidV7(1700000000000000000);
  ASSERT_EQ(id.size(), 36u);
  EXPECT_EQ(id[14], '7');
  EXPECT_TRUE(id[19] == '8' || id[19] == '9' || id[19] == 'a' || id[19] == 'b');
  EXPECT_EQ(id.substr(0, 8), "018bcfe5");  // 1700000000000 ms = 0x18bcfe56800
  EXPECT_EQ(id.substr(8, 6), "-6800-");
  for (size_t i : {8u, 13u, 18u, 23u}) EXPECT_EQ(id[i], '-') << i;
  EXPECT_EQ(id.find_first_not_of("0123456789abcdef-"), std::string::npos) << id;
  EXPECT_NE(NewUuidV7(1), NewUuidV7(1));
  EXPECT_EQ(RandomHexId(8).size(), 16u);
  EXPECT_EQ(RandomHexId(16).size(), 32u);
  const std::string wide = RandomHexId(40);  // past the stack buffer
  EXPECT_EQ(wide.size(), 80u);
  EXPECT_EQ(wide.find_first_not_of("0123456789abcdef"), std::string::npos);
}

}  // namespace
}  // namespace apitrail
