// Thread names and priorities act on the calling thread only, and reach the kernel: the name
// in /proc, the scheduling policy and nice value, the I/O priority class. Each case runs on
// a thread of its own so that the test runner's thread keeps its priority. ParallelFor runs
// every item once and hands an exception back to its caller.
#include "core/thread_util.h"

#include <gtest/gtest.h>

#include <linux/ioprio.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <set>
#include <new>
#include <mutex>
#include <atomic>
#include <cstdint>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace apitrail {
namespace {

std::string CommOf(pid_t tid) {
  std::ifstream in("/proc/self/task/" + std::to_string(tid) + "/comm");
  std::string name;
  std::getline(in, name);
  return name;
}

void OnOwnThread(const std::function<void()>& fn) {
  std::thread t(fn);
  t.join();
}

TEST(ThreadUtilTest, NameIsSetAndCutToTheKernelLimit) {
  OnOwnThread([] {
    NameThisThread("at-test");
    EXPECT_EQ(CommOf(::gettid()), "at-test");
    NameThisThread("at-a-name-longer-than-fifteen");
    EXPECT_EQ(CommOf(::gettid()), "at-a-name-longe");
  });
}

TEST(ThreadUtilTest, IdleRunsAtSchedIdleAndBackgroundAtNiceTen) {
  const pid_t caller = ::gettid();
  OnOwnThread([] {
    SetThisThreadCpuPriority(CpuPriority::kIdle);
    EXPECT_EQ(::sched_getscheduler(0), SCHED_IDLE);
    SetThisThreadCpuPriority(CpuPriority::kBackground);
    EXPECT_EQ(::sched_getscheduler(0), SCHED_OTHER);
    errno = 0;
    EXPECT_EQ(::getpriority(PRIO_PROCESS, static_cast<id_t>(::gettid())), 10);
  });
  EXPECT_EQ(::sched_getscheduler(0), SCHED_OTHER);  // the caller's thread is untouched
  EXPECT_EQ(::getpriority(PRIO_PROCESS, static_cast<id_t>(caller)), 0);
}

TEST(ThreadUtilTest, IdleIoSetsTheIdleClass) {
  OnOwnThread([] {
    SetThisThreadIdleIo();
    const long prio = ::syscall(SYS_ioprio_get, IOPRIO_WHO_PROCESS, static_cast<int>(::gettid()));
    ASSERT_GE(prio, 0);
    EXPECT_EQ(IOPRIO_PRIO_CLASS(prio), IOPRIO_CLASS_IDLE);
  });
}

// SortYielding is std::sort: the same order with the default and a custom comparator, on a
// background thread (where it yields) as on any other.
TEST(ThreadUtilTest, SortYieldingSortsLikeStdSort) {
  std::vector<uint64_t> values(100000);
  uint64_t x = 88172645463325252ull;
  for (auto& v : values) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    v = x % 5000;  // many equal keys
  }
  auto expected = values;
  std::sort(expected.begin(), expected.end());
  auto descending = values;
  std::sort(descending.begin(), descending.end(), std::greater<>());
  OnOwnThread([&] {
    SetThisThreadCpuPriority(CpuPriority::kIdle);
    auto got = values;
    SortYielding(got.begin(), got.end());
    EXPECT_EQ(got, expected);
    got = values;
    SortYielding(got.begin(), got.end(), std::greater<>());
    EXPECT_EQ(got, descending);
    for (int i = 0; i < 1000; ++i) BackgroundYieldPoint();  // a no-op but for the clock
  });
  auto got = values;
  SortYielding(got.begin(), got.end());
  EXPECT_EQ(got, expected);
}

TEST(ThreadUtilTest, ParallelForRunsEveryItemExactlyOnce) {
  for (size_t n : {size_t{0}, size_t{1}, size_t{2}, size_t{3}, size_t{1000}}) {
    std::vector<std::atomic<int>> runs(n);
    std::mutex mu;
    std::set<std::thread::id> threads;
    ParallelFor(n, [&](size_t i) {
      runs[i].fetch_add(1);
      std::lock_guard<std::mutex> lock(mu);
      threads.insert(std::this_thread::get_id());
    });
    for (size_t i = 0; i < n; ++i) EXPECT_EQ(runs[i].load(), 1) << n << " " << i;
    EXPECT_LE(threads.size(), std::max<size_t>(1, n / 2 + 1));
  }
}

TEST(ThreadUtilTest, ParallelForHandsAnExceptionToItsCaller) {
  std::atomic<int> ran{0};
  EXPECT_THROW(ParallelFor(100,
                           [&](size_t i) {
                             ran.fetch_add(1);
                             if (i == 37) throw std::bad_alloc();
                           }),
               std::bad_alloc);
  EXPECT_GE(ran.load(), 1);
  EXPECT_LE(ran.load(), 100);
}

}  // namespace
}  // namespace apitrail
