// LatencyHistogram: which bucket an observation lands in (bounds are inclusive, as
// Prometheus' `le`), the sum and count, and adding snapshots of several workers.
#include "core/latency_histogram.h"

#include <gtest/gtest.h>

namespace apitrail {
namespace {

TEST(LatencyHistogram, BoundsAreInclusiveAndTheLastBucketTakesTheRest) {
  LatencyHistogram h;
  h.Observe(0);         // bucket 0 (le 50 µs)
  h.Observe(50);        // bucket 0: on the bound
  h.Observe(51);        // bucket 1 (le 100 µs)
  h.Observe(1000);      // bucket 4 (le 1 ms)
  h.Observe(10000000);  // the last bound, 10 s
  h.Observe(10000001);  // past every bound
  const LatencyHistogram::Snapshot s = h.Read();
  EXPECT_EQ(s.counts[0], 2u);
  EXPECT_EQ(s.counts[1], 1u);
  EXPECT_EQ(s.counts[4], 1u);
  EXPECT_EQ(s.counts[LatencyHistogram::kBoundsUs.size() - 1], 1u);
  EXPECT_EQ(s.counts[LatencyHistogram::kBoundsUs.size()], 1u);
  EXPECT_EQ(s.count, 6u);
  EXPECT_EQ(s.sum_us, 0u + 50 + 51 + 1000 + 10000000 + 10000001);
  uint64_t total = 0;
  for (uint64_t c : s.counts) total += c;
  EXPECT_EQ(total, s.count);
}

TEST(LatencyHistogram, SnapshotsOfSeveralWorkersAdd) {
  LatencyHistogram a, b;
  a.Observe(70);
  b.Observe(70);
  b.Observe(3000);
  LatencyHistogram::Snapshot s = a.Read();
  s.Add(b.Read());
  EXPECT_EQ(s.counts[1], 2u);
  EXPECT_EQ(s.counts[6], 1u);  // le 5 ms
  EXPECT_EQ(s.count, 3u);
  EXPECT_EQ(s.sum_us, 3140u);
}

}  // namespace
}  // namespace apitrail
