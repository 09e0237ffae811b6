#include "core/process_load.h"

#include <sched.h>
#include <time.h>

#include <algorithm>

#include "core/time_util.h"

namespace apitrail {

namespace {

int AllowedCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return 1;
  return std::max(1, CPU_COUNT(&set));
}

// CPU time of every thread of the process but the calling one.
int64_t OtherThreadsCpuNs() {
  return ClockNs(CLOCK_PROCESS_CPUTIME_ID) - ClockNs(CLOCK_THREAD_CPUTIME_ID);
}

}  // namespace

ProcessCpuLoad::ProcessCpuLoad()
    : cpus_(AllowedCpus()), last_wall_ns_(MonotonicNowNs()), last_cpu_ns_(OtherThreadsCpuNs()) {}

double ProcessCpuLoad::Sample() {
  const int64_t wall = MonotonicNowNs();
  const int64_t cpu = OtherThreadsCpuNs();
  const int64_t dw = wall - last_wall_ns_;
  const int64_t dc = cpu - last_cpu_ns_;
  last_wall_ns_ = wall;
  last_cpu_ns_ = cpu;
  if (dw <= 0) return 0;
  return std::clamp(static_cast<double>(dc) / (static_cast<double>(dw) * cpus_), 0.0, 1.0);
}

int64_t ProcessCpuLoad::NsSinceSample() const { return MonotonicNowNs() - last_wall_ns_; }

}  // namespace apitrail
