// Names and priorities of apitrail's own threads. Names (at most 15 bytes) show in
// `top -H`, `perf` and /proc/PID/task/*/comm, so an operator can tell the request path from
// background work. Background threads (sealing, archiving) lower their CPU and I/O priority
// so that they take the core and the disk only when the request path leaves them free
// (docs/OPERATIONS.md "Sealing and other background work").
//
// Each function acts on the calling thread only. Failures are ignored (a container may
// forbid them), which costs only the benefit.
#pragma once

#include <algorithm>
#include <cstddef>
#include <functional>
#include <string_view>

namespace apitrail {

void NameThisThread(std::string_view name);

enum class CpuPriority {
  kNormal,
  // nice 10: about a tenth of a core that the request path keeps busy.
  kBackground,
  // SCHED_IDLE: takes the time the core would otherwise idle. Work at this priority can
  // starve under sustained full load; its owner must notice a backlog and step up to
  // kBackground. At either level a woken thread may wait for the next timer tick before it
  // gets the core: such work calls BackgroundYieldPoint.
  kIdle,
};
void SetThisThreadCpuPriority(CpuPriority priority);

// For background work, between two small units of it (a record, a few hundred
// comparisons): at most every 100 µs on a thread that lowered its CPU priority, gives the
// core to whatever else is runnable (a clock read per call, a yield per 100 µs). Why: a
// woken thread does not always preempt a CPU-bound one at once. Traced on this project's
// 6.18 kernel (PREEMPT_NONE, HZ=300), the kworker that completes a group commit's O_DSYNC
// write waited for the next timer tick (3.3 ms) behind the sealer, at nice 10 and at
// SCHED_IDLE alike (probably because SCHED_IDLE only orders threads within one cgroup, and
// the kworker is in another), and the gateway fell to a quarter of its rate while a segment
// was sealed. A no-op on other threads.
void BackgroundYieldPoint();

// std::sort for a whole part's entries (hundreds of milliseconds of comparisons on a
// background thread): calls BackgroundYieldPoint every 256 comparisons.
template <typename It, typename Less = std::less<>>
void SortYielding(It first, It last, Less less = Less()) {
  unsigned calls = 0;
  std::sort(first, last, [&](const auto& a, const auto& b) {
    if ((++calls & 255u) == 0) BackgroundYieldPoint();
    return less(a, b);
  });
}

// Runs fn(0) … fn(n - 1) on the calling thread and on helper threads (one per further
// core, at most one per two items), and returns when all have run. For independent work at
// startup (opening parts, loading rollup files): fn must be safe to call concurrently.
void ParallelFor(size_t n, const std::function<void(size_t)>& fn);

// The block layer serves this thread's reads and writes only when no other I/O waits
// (IOPRIO_CLASS_IDLE; honoured by the mq-deadline and bfq schedulers, a no-op with `none`).
// Children started afterwards inherit it.
void SetThisThreadIdleIo();

}  // namespace apitrail
