#include "core/thread_util.h"

#include <linux/ioprio.h>
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>

namespace apitrail {

void NameThisThread(std::string_view name) {
  const std::string n(name.substr(0, 15));  // the kernel's limit (16 with the NUL)
  (void)::pthread_setname_np(::pthread_self(), n.c_str());
}

namespace {
thread_local bool t_background = false;
thread_local unsigned t_yield_calls = 0;
// ~5 µs of sealing per call: a yield every ~100 µs costs well under 1% of it.
constexpr unsigned kYieldEvery = 20;
}  // namespace

void BackgroundYieldPoint() {
  if (!t_background || ++t_yield_calls < kYieldEvery) return;
  t_yield_calls = 0;
  (void)::sched_yield();
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

}  // namespace apitrail
