// Edge cases of W3C Trace Context (Level 1), correlation ids and the forwarded headers that
// the main tests do not reach: each test here failed before the fix it came with.
#include <gtest/gtest.h>

#include <string>

#include "config/config_loader.h"
#include "gateway/correlation.h"
#include "gateway/forward_headers.h"

namespace apitrail {
namespace {

constexpr char kTrace[] = "4bf92f3577b34da6a3ce929d0e0e4736";
constexpr char kSpan[] = "00f067aa0ba902b7";

TEST(TraceFlagsEdgesTest, OnlyTheSampledBitIsCarriedOn) {
  // Trace Context "Other Flags": flags other than sampled are undefined and vendors MUST set
  // them to zero; "Versioning of traceparent": of a higher version only the sampled bit is
  // parsed.
  auto v0 = ParseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09");
  ASSERT_TRUE(v0);
  EXPECT_EQ(v0->flags, 0x01);
  auto ff = ParseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-fe");
  ASSERT_TRUE(ff);
  EXPECT_EQ(ff->flags, 0x00);
  auto cc = ParseTraceparent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-ff-later");
  ASSERT_TRUE(cc);
  EXPECT_EQ(cc->flags, 0x01);
  // What goes upstream (version 00) then has no undefined bit set.
  EXPECT_EQ(FormatTraceparent(kTrace, kSpan, cc->flags),
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
}

}  // namespace
}  // namespace apitrail
