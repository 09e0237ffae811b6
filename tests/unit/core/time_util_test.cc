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

TEST(TimeUtilTest, RejectsDatesThatDoNotExist) {
  for (const char* s : {"2026-11-31T00:00:00Z", "2026-02-29T00:00:00Z", "2026-02-30T00:00:00Z",
                        "2100-02-29T00:00:00Z", "2026-04-31T00:00:00Z", "2026-01-00T00:00:00Z",
                        "2026-01-01T24:00:00Z", "2026-01-01T23:60:00Z", "2026-01-01T23:59:61Z",
                        "2026-01-01T12:00:60Z", "2026-12-31T23:59:60+01:00"}) {
    EXPECT_FALSE(ParseRfc3339(s).ok()) << s;
  }
  EXPECT_EQ(*ParseRfc3339("2024-02-29T00:00:00Z"), 1709164800LL * 1000000000);
  EXPECT_EQ(*ParseRfc3339("2000-02-29T00:00:00Z"), 951782400LL * 1000000000);
  EXPECT_EQ(*ParseRfc3339("2026-12-31T23:59:59Z"), 1798761599LL * 1000000000);
  // A leap second, in UTC or in an offset that puts it at 23:59:60 UTC.
  EXPECT_EQ(*ParseRfc3339("2016-12-31T23:59:60.5Z"), 1483228799LL * 1000000000 + 500000000);
  EXPECT_EQ(*ParseRfc3339("2016-12-31T18:59:60.5-05:00"), 1483228799LL * 1000000000 + 500000000);
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
