// The UUID transform of sealed parts' column streams: which values qualify, and that
// packing into byte planes is exactly undone (docs/FORMAT.md, version 2 parts).
#include "store/part/stream_transform.h"

#include <gtest/gtest.h>

#include <string>

#include "core/ids.h"

namespace apitrail::part {
namespace {

std::string Value(const std::string& uuid) { return std::string(1, '\x24') + uuid; }

TEST(StreamTransformTest, OnlyCanonicalLowercaseUuidsQualify) {
  const std::string good = "01890a5d-ac96-774b-bcce-b302099a8057";
  EXPECT_TRUE(IsCanonicalUuid(Value(good)));
  EXPECT_FALSE(IsCanonicalUuid(good));                   // no length byte
  EXPECT_FALSE(IsCanonicalUuid(Value(good + "0")));      // too long
  EXPECT_FALSE(IsCanonicalUuid(Value(good.substr(1))));  // too short
  EXPECT_FALSE(IsCanonicalUuid("\x23" + good));          // wrong length byte
  for (size_t i = 0; i < good.size(); ++i) {
    for (char c : {'A', 'F', 'g', '-', '0', ' ', '\xff'}) {
      std::string v = good;
      v[i] = c;
      const bool dash_slot = i == 8 || i == 13 || i == 18 || i == 23;
      const bool expected = dash_slot ? c == '-' : (c == '0' || c == 'f' || (c >= 'a' && c <= 'f'));
      EXPECT_EQ(IsCanonicalUuid(Value(v)), expected) << i << " " << c;
    }
  }
}

TEST(StreamTransformTest, PackedPlanesUnpackToTheValues) {
  std::string values;
  for (int i = 0; i < 100; ++i) values += Value(NewUuidV7(1700000000000000000 + i * 1000000));
  values += Value("00000000-0000-0000-0000-000000000000");
  values += Value("ffffffff-ffff-ffff-ffff-ffffffffffff");
  const std::string planes = PackUuids(values);
  ASSERT_EQ(planes.size(), 102u * 16);
  // Bytes 0..5 (the v7 millisecond time) of every value come first, together.
  EXPECT_EQ(static_cast<unsigned char>(planes[0]), 0x01);
  EXPECT_EQ(static_cast<unsigned char>(planes[1]), 0x8b);
  EXPECT_EQ(planes.substr(101 * 6, 6), std::string(6, '\xff'));
  std::string out;
  ASSERT_TRUE(UnpackUuids(planes, 1 << 20, &out));
  EXPECT_EQ(out, values);
  EXPECT_FALSE(UnpackUuids(planes.substr(1), 1 << 20, &out));
}

}  // namespace
}  // namespace apitrail::part
