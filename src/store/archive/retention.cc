#include "store/archive/retention.h"

namespace apitrail::archive {

namespace {
constexpr int64_t kDayNs = 86400LL * 1000 * 1000 * 1000;

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }
}  // namespace

int64_t RetentionCutoffNs(int64_t now_ns, uint32_t days) {
  return (FloorDiv(now_ns, kDayNs) - static_cast<int64_t>(days)) * kDayNs;
}

RetentionPlan PlanRetention(const std::vector<PartCandidate>& parts, const RetentionPolicy& policy,
                            int64_t now_ns) {
  RetentionPlan plan;
  if (policy.days == 0) return plan;
  const int64_t cutoff = RetentionCutoffNs(now_ns, policy.days);
  for (const PartCandidate& p : parts) {
    if (p.newest_time_ns >= cutoff) continue;
    if (p.archived || !policy.require_archive) {
      plan.remove.push_back(p.name);
    } else {
      plan.waiting.push_back(p.name);
    }
  }
  return plan;
}

}  // namespace apitrail::archive
