#include "core/utf8.h"

#include <gtest/gtest.h>

namespace apitrail::utf8 {
namespace {

std::string Valid(std::string_view s) {
  std::string out;
  AppendValid(&out, s);
  EXPECT_EQ(out.size(), ValidLength(s)) << "ValidLength must predict AppendValid";
  return out;
}

TEST(Utf8Test, KeepsAsciiAndValidSequences) {
  EXPECT_EQ(Valid("plain ascii longer than eight bytes"), "plain ascii longer than eight bytes");
  EXPECT_EQ(Valid("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"), "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80");
  EXPECT_EQ(Valid(""), "");
}

TEST(Utf8Test, ReplacesEachInvalidByte) {
  EXPECT_EQ(Valid("a\xFF" "b"), "a\xEF\xBF\xBD" "b");
  EXPECT_EQ(Valid("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");            // overlong '/'
  EXPECT_EQ(Valid("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
  EXPECT_EQ(Valid("12345678\xE2\x82"), "12345678\xEF\xBF\xBD\xEF\xBF\xBD");  // cut at the end
  EXPECT_EQ(Valid("\xF4\x90\x80\x80").size(), 12u);                     // past U+10FFFF
}

}  // namespace
}  // namespace apitrail::utf8
