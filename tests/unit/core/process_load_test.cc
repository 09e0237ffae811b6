// ProcessCpuLoad counts the CPU time of the process's other threads against wall time ×
// allowed CPUs; the sampling thread's own work does not count.
#include "core/process_load.h"

#include <gtest/gtest.h>
#include <time.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "core/time_util.h"

namespace apitrail {
namespace {

int64_t ThreadCpuNs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

void Spin(std::chrono::milliseconds d) {
  const auto until = std::chrono::steady_clock::now() + d;
  volatile uint64_t x = 0;
  while (std::chrono::steady_clock::now() < until) x = x + 1;
}

TEST(ProcessCpuLoadTest, CountsOtherThreadsOnly) {
  ProcessCpuLoad load;
  ASSERT_GE(load.cpus(), 1);
  // Idle process: about nothing.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_LT(load.Sample(), 0.2);
  // The sampling thread's own spinning is not the request path's load.
  Spin(std::chrono::milliseconds(200));
  EXPECT_LT(load.Sample(), 0.2);
  // Another thread spinning for the whole window: its CPU time over the window's wall time
  // × cpus(). Compared with the thread's own CPU clock, because a loaded host gives it less
  // than a full CPU (it had 0.09 of 2 once, against a fixed bound of 0.125).
  std::atomic<int64_t> other_cpu_ns{0};
  std::thread other([&] {
    Spin(std::chrono::milliseconds(300));
    other_cpu_ns = ThreadCpuNs();
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  other.join();
  // The window Sample measures ends between `before` and `after`: bounded by both, not by
  // how soon after this thread is scheduled again on a loaded host.
  const int64_t before = MonotonicNowNs();
  const int64_t window_ns = load.NsSinceSample();
  const double busy = load.Sample();
  const int64_t after = MonotonicNowNs();
  const double expected =
      static_cast<double>(other_cpu_ns) / (static_cast<double>(window_ns + (after - before)) * load.cpus());
  ASSERT_GT(expected, 0.0);
  EXPECT_GT(busy, 0.8 * expected);
  EXPECT_LE(busy, 1.0);
  // The next window starts at that sample, not at the one before.
  const int64_t since = load.NsSinceSample();
  EXPECT_LE(since, MonotonicNowNs() - before);
}

}  // namespace
}  // namespace apitrail
