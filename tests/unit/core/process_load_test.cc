// ProcessCpuLoad counts the CPU time of the process's other threads against wall time ×
// allowed CPUs; the sampling thread's own work does not count.
#include "core/process_load.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace apitrail {
namespace {

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
  // Another thread spinning for the whole window: a full CPU of `cpus()` (less when the
  // machine is shared with other test processes, hence the generous bound).
  std::thread other([] { Spin(std::chrono::milliseconds(300)); });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  other.join();
  const double busy = load.Sample();
  EXPECT_GT(busy, 0.25 / load.cpus());
  EXPECT_LE(busy, 1.0);
  EXPECT_LT(load.NsSinceSample(), 100'000'000);
}

}  // namespace
}  // namespace apitrail
