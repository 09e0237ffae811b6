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

TEST(MetricsText, EveryFamilyHasHelpAndType) {
  const std::string text = RenderMetrics({}, StoreStats{});
  EXPECT_NE(text.find("# TYPE apitrail_store_seal_deferred_seconds_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("# HELP apitrail_store_seal_deferred_seconds_total "), std::string::npos);
}

}  // namespace
}  // namespace apitrail
