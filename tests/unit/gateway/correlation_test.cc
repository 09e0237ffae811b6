#include "gateway/correlation.h"

#include <gtest/gtest.h>

namespace apitrail {
namespace {

TEST(RequestIdTest, Valid) {
  EXPECT_TRUE(IsValidRequestId("a"));
  EXPECT_TRUE(IsValidRequestId("01890a5d-ac96-774b-bcce-b302099a8057"));
  EXPECT_TRUE(IsValidRequestId("svc.a:req_1-2"));
  EXPECT_TRUE(IsValidRequestId(std::string(128, 'x')));
}

TEST(RequestIdTest, Invalid) {
  EXPECT_FALSE(IsValidRequestId(""));
  EXPECT_FALSE(IsValidRequestId(std::string(129, 'x')));
  for (const char* id : {"a b", "a/b", "a\"b", "a\nb", "<script>", "a;b", "a,b", "caf\xc3\xa9"}) {
    EXPECT_FALSE(IsValidRequestId(id)) << id;
  }
}

TEST(RequestIdTest, SanitizeForRecord) {
  EXPECT_EQ(SanitizeForRecord("ok id"), "ok id");
  EXPECT_EQ(SanitizeForRecord("a\nb\x01\x7f\xc3\xa9"), "a?b????");
  EXPECT_EQ(SanitizeForRecord(std::string(300, 'x')).size(), 128u);
}

constexpr char kTrace[] = "4bf92f3577b34da6a3ce929d0e0e4736";
constexpr char kSpan[] = "00f067aa0ba902b7";
constexpr char kValid[] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

TEST(TraceparentTest, ParsesVersion00) {
  auto tp = ParseTraceparent(kValid);
  ASSERT_TRUE(tp);
  EXPECT_EQ(tp->version, 0);
  EXPECT_EQ(tp->trace_id, kTrace);
  EXPECT_EQ(tp->parent_id, kSpan);
  EXPECT_EQ(tp->flags, 1);
  EXPECT_TRUE(tp->sampled());
  tp = ParseTraceparent("  00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00\t");
  ASSERT_TRUE(tp);
  EXPECT_FALSE(tp->sampled());
}

TEST(TraceparentTest, RejectsInvalid) {
  for (const char* v : {
           "",
           "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",  // uppercase trace id
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01",  // uppercase span id
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0A",  // uppercase flags
           "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  // zero trace id
           "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  // zero span id
           "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  // version ff
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",   // short
           "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",   // short trace id
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",  // 00 with extra
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",
           "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01",  // wrong separators
           "0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  // bad version
           "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",  // non-hex
       }) {
    EXPECT_FALSE(ParseTraceparent(v)) << v;
  }
}

TEST(TraceparentTest, FutureVersionsAreParsedLeniently) {
  auto tp = ParseTraceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  ASSERT_TRUE(tp);
  EXPECT_EQ(tp->version, 1);
  tp = ParseTraceparent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09-what-ever");
  ASSERT_TRUE(tp);
  EXPECT_EQ(tp->version, 0xcc);
  EXPECT_EQ(tp->trace_id, kTrace);
  EXPECT_EQ(tp->flags, 1);  // 09: the sampled bit only
  // After the 55 characters there must be a '-' (or the end).
  EXPECT_FALSE(ParseTraceparent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09x"));
  // Zero ids are invalid in every version.
  EXPECT_FALSE(ParseTraceparent("01-00000000000000000000000000000000-00f067aa0ba902b7-01"));
}

TEST(TraceparentTest, FormatRoundTrips) {
  std::string s = FormatTraceparent(kTrace, kSpan, 1);
  EXPECT_EQ(s, kValid);
  EXPECT_EQ(FormatTraceparent(kTrace, kSpan, 0xab).substr(53), "ab");
  auto tp = ParseTraceparent(s);
  ASSERT_TRUE(tp);
  EXPECT_EQ(tp->trace_id, kTrace);
}

TEST(TracestateTest, Bounds) {
  EXPECT_FALSE(IsValidTracestate(""));  // nothing to pass on
  EXPECT_TRUE(IsValidTracestate("congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"));
  std::string members;
  for (int i = 0; i < 32; ++i) members += (i ? "," : "") + std::string("k") + std::to_string(i) + "=v";
  EXPECT_TRUE(IsValidTracestate(members));
  EXPECT_TRUE(IsValidTracestate(members + ", ,,"));  // empty members are not counted
  EXPECT_FALSE(IsValidTracestate(members + ",k32=v"));
  EXPECT_FALSE(IsValidTracestate("a=b\nc=d"));
}

// W3C Trace Context §3.3.1.5: at least 512 characters are propagated; a longer list is cut,
// members over 128 characters first, then from the end. It was dropped whole.
TEST(TracestateTest, ForwardedListsAreCutTo512Characters) {
  const std::string at512 = "a=" + std::string(255, 'x') + ",b=" + std::string(252, 'x');
  ASSERT_EQ(at512.size(), 512u);
  EXPECT_EQ(TracestateToForward(at512), at512);
  // Both members are over 128 characters: nothing is left to send.
  const std::string over = "a=" + std::string(255, 'x') + ",b=" + std::string(253, 'x');
  ASSERT_TRUE(IsValidTracestate(over));
  EXPECT_EQ(TracestateToForward(over), "");
  // Large members go first, wherever they are; the small ones keep their order.
  const std::string big = "big=" + std::string(200, 'v');
  std::string small;  // 29 members of 14 characters: 434 with the commas (32 in all below)
  for (int i = 10; i < 39; ++i) small += (i > 10 ? "," : "") + std::string("k") + std::to_string(i) + "=" + std::string(10, 'v');
  ASSERT_EQ(small.size(), 434u);
  const std::string mixed = "k1=1, " + big + "," + small + " ,k2=2";
  ASSERT_TRUE(IsValidTracestate(mixed));
  EXPECT_EQ(TracestateToForward(mixed), "k1=1," + small + ",k2=2");
  // Then from the end: 32 members of 20 characters (659) keep the first 24 (503).
  std::string twenty, first24;
  for (int i = 10; i < 42; ++i) {
    const std::string m = "key" + std::to_string(i) + "=" + std::string(14, 'v');
    ASSERT_EQ(m.size(), 20u);
    twenty += (i > 10 ? "," : "") + m;
    if (i < 34) first24 += (i > 10 ? "," : "") + m;
  }
  ASSERT_TRUE(IsValidTracestate(twenty));
  EXPECT_EQ(TracestateToForward(twenty), first24);
  EXPECT_LE(TracestateToForward(twenty).size(), 512u);
}

}  // namespace
}  // namespace apitrail
