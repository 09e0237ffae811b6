#include "core/crc32c.h"

#include <gtest/gtest.h>

#include <string>

namespace apitrail::crc32c {
namespace {

// Known answers from RFC 3720 (iSCSI) B.4.
TEST(Crc32cTest, StandardResults) {
  char buf[32] = {0};
  EXPECT_EQ(Value(buf, 32), 0x8a9136aau);
  std::fill(buf, buf + 32, '\xff');
  EXPECT_EQ(Value(buf, 32), 0x62a8ab43u);
  for (int i = 0; i < 32; ++i) buf[i] = static_cast<char>(i);
  EXPECT_EQ(Value(buf, 32), 0x46dd794eu);
  EXPECT_EQ(Value("123456789", 9), 0xe3069283u);
}

TEST(Crc32cTest, ExtendEqualsWhole) {
  std::string s = "hello world, this is a longer string to cross 8-byte words";
  EXPECT_EQ(Extend(Value(s.data(), 10), s.data() + 10, s.size() - 10), Value(s.data(), s.size()));
}

TEST(Crc32cTest, MaskRoundTrips) {
  uint32_t c = Value("foo", 3);
  EXPECT_NE(Mask(c), c);
  EXPECT_EQ(Unmask(Mask(c)), c);
}

}  // namespace
}  // namespace apitrail::crc32c
