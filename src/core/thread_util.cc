#include "core/thread_util.h"

#include <linux/ioprio.h>
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "core/time_util.h"

namespace apitrail {

void NameThisThread(std::string_view name) {
  const std::string n(name.substr(0, 15));  // the kernel's limit (16 with the NUL)
  (void)::pthread_setname_np(::pthread_self(), n.c_str());
}

namespace {
thread_local bool t_background = false;
thread_local int64_t t_last_yield_ns = 0;
// A woken worker waits at most about this long; a yield (~1 µs when nobody waits) every
// 100 µs costs the background work about 1%.
constexpr int64_t kYieldIntervalNs = 100'000;
}  // namespace

void BackgroundYieldPoint() {
  if (!t_background) return;
  const int64_t now = MonotonicNowNs();  // vDSO: ~20 ns
  if (now - t_last_yield_ns < kYieldIntervalNs) return;
  (void)::sched_yield();
  t_last_yield_ns = MonotonicNowNs();
}

void SetThisThreadCpuPriority(CpuPriority priority) {
  t_background = priority != CpuPriority::kNormal;
  // Linux policies, nice values and I/O priorities are per thread (the tid).
  const auto tid = static_cast<id_t>(::gettid());
  sched_param param{};
  const int policy = priority == CpuPriority::kIdle ? SCHED_IDLE : SCHED_OTHER;
  (void)::sched_setscheduler(static_cast<pid_t>(tid), policy, &param);
  (void)::setpriority(PRIO_PROCESS, tid, priority == CpuPriority::kNormal ? 0 : 10);
}

void SetThisThreadIdleIo() {
  (void)::syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, static_cast<int>(::gettid()),
                  IOPRIO_PRIO_VALUE(IOPRIO_CLASS_IDLE, 0));
}

void ParallelFor(size_t n, const std::function<void(size_t)>& fn) {
  std::atomic<size_t> next{0};
  // An exception (std::bad_alloc from a damaged file) reaches the caller as it would have
  // without helpers, instead of ending the process from a helper thread.
  std::mutex mu;
  std::exception_ptr first_error;
  auto run = [&] {
    try {
      for (size_t i = next.fetch_add(1); i < n; i = next.fetch_add(1)) fn(i);
    } catch (...) {
      next.store(n);  // the others stop at their next item
      std::lock_guard<std::mutex> lock(mu);
      if (!first_error) first_error = std::current_exception();
    }
  };
  // The cores this process may use (affinity, e.g. a pinned service), not the machine's.
  cpu_set_t cpus;
  CPU_ZERO(&cpus);
  const size_t cores = ::sched_getaffinity(0, sizeof(cpus), &cpus) == 0
                           ? static_cast<size_t>(CPU_COUNT(&cpus))
                           : std::max(1u, std::thread::hardware_concurrency());
  const size_t helpers = std::min<size_t>(n / 2, std::max<size_t>(cores, 1) - 1);
  std::vector<std::thread> threads;
  threads.reserve(helpers);
  for (size_t t = 0; t < helpers; ++t) {
    try {
      threads.emplace_back(run);
    } catch (const std::system_error&) {
      break;  // no thread to be had (a process limit): the ones started and this one do it all
    }
  }
  run();
  for (auto& t : threads) t.join();
  if (first_error) std::rethrow_exception(first_error);
}

}  // namespace apitrail
