// The Prometheus text of /metrics: values as Prometheus reads them.
#include "api/metrics_text.h"

#include <gtest/gtest.h>

namespace apitrail {
namespace {

std::string Line(const std::string& text, const std::string& name) {
  const size_t at = text.find("\n" + name + " ");
  if (at == std::string::npos) return "";
  return text.substr(at + 1, text.find('\n', at + 1) - at - 1);
}

TEST(MetricsText, SealDeferredSecondsKeepTheirFraction) {
  StoreStats s;
  for (const auto& [ms, want] : std::initializer_list<std::pair<uint64_t, const char*>>{
           {0, "0.000"}, {5, "0.005"}, {999, "0.999"}, {1234, "1.234"}, {86400001, "86400.001"}}) {
    s.seal_deferred_ms = ms;
    EXPECT_EQ(Line(RenderMetrics({}, s), "apitrail_store_seal_deferred_seconds_total"),
              std::string("apitrail_store_seal_deferred_seconds_total ") + want);
  }
}

TEST(MetricsText, HistogramsAreCumulativeWithSecondsBoundsAndSumWorkers) {
  GatewayMetrics w1, w2;
  w1.request_duration.Observe(40);        // le 0.00005
  w2.request_duration.Observe(700);       // le 0.001
  w2.request_duration.Observe(20000000);  // past 10 s
  StoreStats s;
  LatencyHistogram commits;
  commits.Observe(120);
  s.commit_latency = commits.Read();
  const std::string text = RenderMetrics({&w1, &w2}, s);
  EXPECT_NE(text.find("# TYPE apitrail_request_duration_seconds histogram\n"), std::string::npos);
  EXPECT_EQ(Line(text, "apitrail_request_duration_seconds_bucket{le=\"0.00005\"}"),
            "apitrail_request_duration_seconds_bucket{le=\"0.00005\"} 1");
  EXPECT_EQ(Line(text, "apitrail_request_duration_seconds_bucket{le=\"0.0005\"}"),
            "apitrail_request_duration_seconds_bucket{le=\"0.0005\"} 1");
  EXPECT_EQ(Line(text, "apitrail_request_duration_seconds_bucket{le=\"0.001\"}"),
            "apitrail_request_duration_seconds_bucket{le=\"0.001\"} 2");
  EXPECT_EQ(Line(text, "apitrail_request_duration_seconds_bucket{le=\"10\"}"),
            "apitrail_request_duration_seconds_bucket{le=\"10\"} 2");
  EXPECT_EQ(Line(text, "apitrail_request_duration_seconds_bucket{le=\"+Inf\"}"),
            "apitrail_request_duration_seconds_bucket{le=\"+Inf\"} 3");
  EXPECT_EQ(Line(text, "apitrail_request_duration_seconds_sum"), "apitrail_request_duration_seconds_sum 20.00074");
  EXPECT_EQ(Line(text, "apitrail_request_duration_seconds_count"), "apitrail_request_duration_seconds_count 3");
  EXPECT_EQ(Line(text, "apitrail_audit_wait_seconds_count"), "apitrail_audit_wait_seconds_count 0");
  EXPECT_EQ(Line(text, "apitrail_store_commit_seconds_bucket{le=\"0.0001\"}"),
            "apitrail_store_commit_seconds_bucket{le=\"0.0001\"} 0");
  EXPECT_EQ(Line(text, "apitrail_store_commit_seconds_bucket{le=\"0.00025\"}"),
            "apitrail_store_commit_seconds_bucket{le=\"0.00025\"} 1");
  EXPECT_EQ(Line(text, "apitrail_store_commit_seconds_sum"), "apitrail_store_commit_seconds_sum 0.00012");
}

TEST(MetricsText, EveryFamilyHasHelpAndType) {
  const std::string text = RenderMetrics({}, StoreStats{});
  EXPECT_NE(text.find("# TYPE apitrail_store_seal_deferred_seconds_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("# HELP apitrail_store_seal_deferred_seconds_total "), std::string::npos);
}

}  // namespace
}  // namespace apitrail
