// Retention policy (audit.retention, docs/CONFIG.md): which sealed parts may be deleted
// locally now. A part expires when its newest record is older than the start of the UTC day
// `days` days before today, so `days: N` keeps today and the N previous whole UTC days. An
// expired part is deleted only once it was archived, unless archiving is explicitly not
// required. Checkpoints are never deleted (DESIGN §3). Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace apitrail::archive {

struct RetentionPolicy {
  uint32_t days = 0;            // 0: keep forever
  bool require_archive = true;  // delete only parts archive_command copied
};

struct PartCandidate {
  std::string name;
  int64_t newest_time_ns = 0;  // its newest record (or, without a part reader, its mtime)
  bool archived = false;
};

struct RetentionPlan {
  std::vector<std::string> remove;   // expired and archived (or archive not required)
  std::vector<std::string> waiting;  // expired but kept: not archived yet, or behind one that must stay
};

// Start (ns since the epoch) of the UTC day `days` before the day of `now_ns`.
int64_t RetentionCutoffNs(int64_t now_ns, uint32_t days);

// Only a leading run of parts (in name order, which is seq order) is ever removed: the
// store keeps one contiguous range of seqs, so a part that must stay (not expired, or
// expired but not archived yet) keeps every later part too; the later expired ones are
// listed as waiting.
RetentionPlan PlanRetention(const std::vector<PartCandidate>& parts, const RetentionPolicy& policy,
                            int64_t now_ns);

}  // namespace apitrail::archive
