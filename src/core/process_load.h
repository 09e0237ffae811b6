// ProcessCpuLoad: how much of the CPUs this process may run on its OTHER threads used since
// the previous sample: (CPU time of the process − CPU time of the calling thread) /
// (wall time × CPUs in the affinity mask). Background work (sealing) asks it whether the
// request path is saturating its CPUs, and if so waits (docs/OPERATIONS.md "Sealing and
// other background work"); its own CPU time must not count, or back-to-back seals would
// defer themselves.
// One instance per thread, used only on the thread that created it.
#pragma once

#include <cstdint>

namespace apitrail {

class ProcessCpuLoad {
 public:
  ProcessCpuLoad();
  // In [0, 1]; the first call measures from construction.
  double Sample();
  // Wall time since the previous sample (or construction).
  int64_t NsSinceSample() const;
  // CPUs this process may run on (sched_getaffinity; at least 1).
  int cpus() const { return cpus_; }

 private:
  int cpus_;
  int64_t last_wall_ns_;
  int64_t last_cpu_ns_;  // process minus this thread
};

}  // namespace apitrail
