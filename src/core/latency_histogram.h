// LatencyHistogram: durations in fixed buckets from 50 µs to 10 s, for a Prometheus
// histogram on /metrics (api/metrics_text.h renders it). Observe() is lock-free (relaxed
// atomics) and meant for one writing thread per instance (a gateway worker's own, or the
// store's committer under its commit lock), so it costs two uncontended adds. Read() may
// run on any thread at any time: a scrape racing an observation may see it in its bucket
// and not yet in the sum, which Prometheus tolerates (the next scrape agrees).
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace apitrail {

class LatencyHistogram {
 public:
  // Upper bounds (inclusive, as Prometheus' `le`) in µs; a last bucket takes the rest.
  static constexpr std::array<uint64_t, 17> kBoundsUs = {
      50,    100,    250,    500,    1000,    2500,    5000,    10000,   25000,
      50000, 100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000};

  struct Snapshot {
    std::array<uint64_t, kBoundsUs.size() + 1> counts{};  // per bucket, not cumulative
    uint64_t sum_us = 0;
    uint64_t count = 0;  // of all buckets

    void Add(const Snapshot& other) {
      for (size_t i = 0; i < counts.size(); ++i) counts[i] += other.counts[i];
      sum_us += other.sum_us;
      count += other.count;
    }
  };

  void Observe(uint64_t us) {
    size_t i = 0;
    while (i < kBoundsUs.size() && us > kBoundsUs[i]) ++i;
    counts_[i].fetch_add(1, std::memory_order_relaxed);
    sum_us_.fetch_add(us, std::memory_order_relaxed);
  }

  Snapshot Read() const {
    Snapshot s;
    for (size_t i = 0; i < counts_.size(); ++i) {
      s.counts[i] = counts_[i].load(std::memory_order_relaxed);
      s.count += s.counts[i];
    }
    s.sum_us = sum_us_.load(std::memory_order_relaxed);
    return s;
  }

 private:
  std::array<std::atomic<uint64_t>, kBoundsUs.size() + 1> counts_{};
  std::atomic<uint64_t> sum_us_{0};
};

}  // namespace apitrail
