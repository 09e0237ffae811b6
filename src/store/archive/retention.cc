#include "store/archive/retention.h"

#include <algorithm>

#include "core/time_util.h"

namespace apitrail::archive {

int64_t RetentionCutoffNs(int64_t now_ns, uint32_t days) {
  return (FloorDiv(now_ns, kNsPerDay) - static_cast<int64_t>(days)) * kNsPerDay;
}

RetentionPlan PlanRetention(const std::vector<PartCandidate>& parts, const RetentionPolicy& policy,
                            int64_t now_ns) {
  RetentionPlan plan;
  if (policy.days == 0) return plan;
  const int64_t cutoff = RetentionCutoffNs(now_ns, policy.days);
  std::vector<const PartCandidate*> ordered;
  for (const PartCandidate& p : parts) ordered.push_back(&p);
  std::sort(ordered.begin(), ordered.end(), [](const auto* a, const auto* b) { return a->name < b->name; });
  bool blocked = false;  // an earlier part stays: nothing after it may go
  for (const PartCandidate* p : ordered) {
    if (p->newest_time_ns >= cutoff) {
      blocked = true;
      continue;
    }
    if (!blocked && (p->archived || !policy.require_archive)) {
      plan.remove.push_back(p->name);
    } else {
      blocked = true;
      plan.waiting.push_back(p->name);
    }
  }
  return plan;
}

}  // namespace apitrail::archive
