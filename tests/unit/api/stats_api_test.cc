// The stats endpoints' parameter rules and answers, over a real Rollups.
#include "api/stats_api.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <filesystem>

#include "core/ids.h"

namespace apitrail {
namespace {

constexpr int64_t kNow = 1'760'000'000'000'000'000;

TEST(StatsParams, DefaultsAndLimits) {
  RollupOptions o;
  TopQuery q;
  ParamError e;
  ASSERT_TRUE(ParseTopQuery({{"dim", "subject"}}, kNow, o, &q, &e)) << e.message;
  EXPECT_EQ(q.dim, RollupDim::kSubject);
  EXPECT_EQ(q.k, 10u);
  EXPECT_EQ(q.until_ns, kNow);
  EXPECT_EQ(q.since_ns, kNow - 24 * kNsPerHour);
  ASSERT_TRUE(ParseTopQuery({{"dim", "route"}, {"k", "1000"}, {"since", "31d"}, {"metric", "errors"}}, kNow, o, &q, &e));
  EXPECT_EQ(q.metric, RollupMetric::kErrors);
  EXPECT_FALSE(ParseTopQuery({{"dim", "route"}, {"since", "32d"}}, kNow, o, &q, &e));
  EXPECT_EQ(e.parameter, "since");
  EXPECT_FALSE(ParseTopQuery({{"dim", "route"}, {"k", "-1"}}, kNow, o, &q, &e));
  EXPECT_EQ(e.parameter, "k");
  EXPECT_FALSE(ParseTopQuery({{"dim", "route"}, {"k", "10x"}}, kNow, o, &q, &e));
  EXPECT_EQ(e.parameter, "k");
  EXPECT_FALSE(ParseTopQuery({{"dim", "route"}, {"kk", "1"}}, kNow, o, &q, &e));
  EXPECT_EQ(e.parameter, "kk");
  // Beyond int64 nanoseconds: an error, not a wrapped time.
  EXPECT_FALSE(ParseTopQuery({{"dim", "route"}, {"until", "3000-01-01T00:00:00Z"}}, kNow, o, &q, &e));
  EXPECT_EQ(e.parameter, "until");

  EXPECT_FALSE(ParseTopQuery({{"dim", "route"}, {"k", "5"}, {"k", "1000"}}, kNow, o, &q, &e));
  EXPECT_EQ(e.parameter, "k");
  EXPECT_EQ(e.message, "k: given more than once");

  // A span beyond int64 nanoseconds must not wrap into a short (or negative) one.
  EXPECT_FALSE(ParseTopQuery({{"dim", "route"}, {"since", "1678-01-01T00:00:00Z"}, {"until", "2261-12-31T00:00:00Z"}},
                             kNow, o, &q, &e));
  EXPECT_EQ(e.parameter, "since");
  EXPECT_FALSE(ParseTopQuery({{"dim", "route"}, {"since", "106000d"}, {"until", "2262-01-01T00:00:00Z"}},
                             kNow, o, &q, &e));
  EXPECT_EQ(e.parameter, "since");

  SeriesQuery s;
  EXPECT_FALSE(ParseSeriesQuery({{"metric", "denied"}, {"step", "1d"}, {"since", "1678-01-01T00:00:00Z"},
                                 {"until", "2261-12-31T00:00:00Z"}},
                                kNow, o, &s, &e));
  EXPECT_EQ(e.parameter, "since");
  ASSERT_TRUE(ParseSeriesQuery({{"metric", "denied"}, {"step", "1d"}, {"since", "31d"}}, kNow, o, &s, &e));
  EXPECT_EQ(s.step_minutes, 1440);
  EXPECT_FALSE(ParseSeriesQuery({{"metric", "denied"}, {"since", "8d"}}, kNow, o, &s, &e));
  EXPECT_EQ(e.parameter, "step");  // 8 days of minutes is more than 10080 points
  EXPECT_FALSE(ParseSeriesQuery({{"step", "1m"}}, kNow, o, &s, &e));
  EXPECT_EQ(e.parameter, "metric");
  EXPECT_FALSE(ParseSeriesQuery({{"metric", "denied"}, {"since", "1h"}, {"since", "31d"}}, kNow, o, &s, &e));
  EXPECT_EQ(e.parameter, "since");
}

TEST(StatsApi, AnswersWithCountsAndNamesBadParameters) {
  const std::string dir = (std::filesystem::temp_directory_path() / ("apitrail-stats-" + RandomHexId(6))).string();
  auto r = Rollups::Open(DefaultFileSystem(), dir, RollupOptions{}).value();
  std::vector<RollupEvent> batch;
  for (int i = 0; i < 6; ++i) {
    RollupEvent e;
    e.seq = static_cast<uint64_t>(i);
    e.time_ns = kNow - (i + 1) * kNsPerMinute;
    e.status = i < 2 ? 500 : 200;
    e.keys = {i < 4 ? "GET /a" : "GET /b", "alice", "127.0.0.1"};
    batch.push_back(e);
  }
  r->AddCommitted(&batch, 6);
  SimpleResponse top = HandleStats("/api/v1/stats/top", {{"dim", "route"}}, r.get(), kNow);
  ASSERT_EQ(top.status, 200) << top.body;
  auto v = boost::json::parse(top.body).as_object();
  EXPECT_EQ(v["total"].as_int64(), 6);
  auto& items = v["items"].as_array();
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].as_object().at("key").as_string(), "GET /a");
  EXPECT_EQ(items[0].as_object().at("requests").as_int64(), 4);
  EXPECT_EQ(items[0].as_object().at("errors").as_int64(), 2);

  SimpleResponse series = HandleStats("/api/v1/stats/series", {{"metric", "errors"}, {"since", "10m"}}, r.get(), kNow);
  ASSERT_EQ(series.status, 200) << series.body;
  auto sv = boost::json::parse(series.body).as_object();
  EXPECT_EQ(sv["total"].as_int64(), 2);
  EXPECT_EQ(sv["points"].as_array().size(), 11u);  // kNow is 20 s past a minute: widened to whole minutes

  SimpleResponse bad = HandleStats("/api/v1/stats/top", {{"dim", "route"}, {"k", "0"}}, r.get(), kNow);
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(boost::json::parse(bad.body).as_object().at("parameter").as_string(), "k");
  EXPECT_EQ(HandleStats("/api/v1/stats/nope", {}, r.get(), kNow).status, 404);
  EXPECT_EQ(HandleStats("/api/v1/stats/top", {{"dim", "route"}}, nullptr, kNow).status, 404);
  r.reset();
  std::filesystem::remove_all(dir);
}

// Valid times within two days of the int64-nanosecond limits (1677, 2262): the rollups refuse
// to round such a range out to whole steps; the 400 still names the parameter.
TEST(StatsApi, ARangeAtTheLimitsOfTimeNamesTheParameter) {
  const std::string dir =
      (std::filesystem::temp_directory_path() / ("apitrail-stats-" + RandomHexId(6))).string();
  auto r = Rollups::Open(DefaultFileSystem(), dir, RollupOptions{}).value();
  struct Case {
    const char* path;
    QueryParams params;
    const char* parameter;
  };
  for (const Case& c : {Case{"/api/v1/stats/top",
                             {{"dim", "route"},
                              {"since", "2262-04-10T00:00:00Z"},
                              {"until", "2262-04-11T00:00:00Z"}},
                             "until"},
                        Case{"/api/v1/stats/series",
                             {{"metric", "errors"},
                              {"step", "1d"},
                              {"since", "2262-04-09T00:00:00Z"},
                              {"until", "2262-04-10T00:00:00Z"}},
                             "until"},
                        Case{"/api/v1/stats/top",
                             {{"dim", "route"},
                              {"since", "1677-09-21T00:12:44Z"},
                              {"until", "1677-09-22T00:00:00Z"}},
                             "since"},
                        Case{"/api/v1/stats/series",
                             {{"metric", "errors"},
                              {"since", "1677-09-23T00:00:00Z"},
                              {"until", "1677-09-23T01:00:00Z"}},
                             "since"}}) {
    SimpleResponse res = HandleStats(c.path, c.params, r.get(), kNow);
    ASSERT_EQ(res.status, 400) << res.body;
    auto v = boost::json::parse(res.body).as_object();
    EXPECT_EQ(v.at("parameter").as_string(), c.parameter) << res.body;
  }
  // Just inside the margin: counted (nothing there).
  SimpleResponse ok = HandleStats(
      "/api/v1/stats/top",
      {{"dim", "route"}, {"since", "2262-04-08T00:00:00Z"}, {"until", "2262-04-09T00:00:00Z"}},
      r.get(), kNow);
  EXPECT_EQ(ok.status, 200) << ok.body;
  r.reset();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace apitrail
