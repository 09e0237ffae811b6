#include "core/time_util.h"

#include <gtest/gtest.h>

namespace apitrail {
namespace {

TEST(TimeUtilTest, FormatsWithNanosecondsAndZ) {
  EXPECT_EQ(FormatRfc3339(0), "1970-01-01T00:00:00.000000000Z");
  EXPECT_EQ(FormatRfc3339(1500000000123000000), "2017-07-14T02:40:00.123000000Z");
}

TEST(TimeUtilTest, ParsesFractionsAndOffsets) {
  EXPECT_EQ(*ParseRfc3339("2017-07-14T02:40:00Z"), 1500000000000000000);
  EXPECT_EQ(*ParseRfc3339("2017-07-14T02:40:00.5Z"), 1500000000500000000);
  EXPECT_EQ(*ParseRfc3339("2017-07-14T04:40:00+02:00"), 1500000000000000000);
  EXPECT_FALSE(ParseRfc3339("2017-07-14 garbage").ok());
  EXPECT_FALSE(ParseRfc3339("2017-13-14T02:40:00Z").ok());
  EXPECT_FALSE(ParseRfc3339("2017-07-14T02:40:00").ok());
}

TEST(TimeUtilTest, RejectsTimesOutsideInt64Nanoseconds) {
  EXPECT_FALSE(ParseRfc3339("3000-01-01T00:00:00Z").ok());
  EXPECT_FALSE(ParseRfc3339("0001-01-01T00:00:00Z").ok());
  EXPECT_FALSE(ParseRfc3339("2262-04-11T23:47:17Z").ok());
  EXPECT_FALSE(ParseRfc3339("1677-09-21T00:12:43Z").ok());
  EXPECT_EQ(*ParseRfc3339("2262-04-11T23:47:16.854775807Z"), INT64_MAX);
  EXPECT_EQ(*ParseRfc3339("1677-09-21T00:12:43.145224192Z"), INT64_MIN);
  // The offset alone can carry a time over the edge.
  EXPECT_FALSE(ParseRfc3339("2262-04-11T23:47:16.854775807-01:00").ok());
}

TEST(TimeUtilTest, Durations) {
  EXPECT_EQ(*ParseDuration("24h"), 24LL * 3600 * 1000000000);
  EXPECT_EQ(*ParseDuration("500ms"), 500000000);
  EXPECT_FALSE(ParseDuration("5 parsecs").ok());
  EXPECT_FALSE(ParseDuration("-5s").ok());
  EXPECT_FALSE(ParseDuration("99999999999999999999d").ok());
  EXPECT_EQ(*ParseTimeOrAgo("1h", 7200LL * 1000000000), 3600LL * 1000000000);
  EXPECT_FALSE(ParseTimeOrAgo("106751d", -2'000'000'000'000'000'000).ok());  // below INT64_MIN
}

}  // namespace
}  // namespace apitrail
