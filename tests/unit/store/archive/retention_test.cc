// Retention: the cut-off is a UTC day boundary `days` days back, and an expired part is
// deleted only when archived unless archiving is not required.
#include "store/archive/retention.h"

#include <gtest/gtest.h>

#include "core/time_util.h"

namespace apitrail::archive {
namespace {

int64_t T(const char* rfc3339) { return *ParseRfc3339(rfc3339); }

TEST(RetentionTest, CutoffIsTheStartOfAUtcDay) {
  EXPECT_EQ(RetentionCutoffNs(T("2026-11-26T23:30:00Z"), 1), T("2026-11-25T00:00:00Z"));
  EXPECT_EQ(RetentionCutoffNs(T("2026-11-26T00:00:00Z"), 7), T("2026-11-19T00:00:00Z"));
  EXPECT_EQ(RetentionCutoffNs(T("2026-11-26T00:00:00Z"), 0), T("2026-11-26T00:00:00Z"));
}

TEST(RetentionTest, DeletesOnlyExpiredArchivedParts) {
  const int64_t now = T("2026-11-26T12:00:00Z");
  std::vector<PartCandidate> parts = {
      {"part-2.part", T("2026-11-24T23:59:59Z"), true},  // before the cut-off (25th 00:00)
      {"part-1.part", T("2026-11-20T11:00:00Z"), true},
      {"part-3.part", T("2026-11-25T00:00:00Z"), true},  // kept: days 1 keeps yesterday
      {"part-4.part", T("2026-11-26T11:00:00Z"), true},
  };
  RetentionPlan plan = PlanRetention(parts, {1, true}, now);
  EXPECT_EQ(plan.remove, (std::vector<std::string>{"part-1.part", "part-2.part"})) << "oldest first";
  EXPECT_TRUE(plan.waiting.empty());
  EXPECT_TRUE(PlanRetention(parts, {0, true}, now).remove.empty()) << "0 keeps forever";
}

// The store keeps one contiguous range of seqs: a part that must stay keeps the later ones.
TEST(RetentionTest, AnUnarchivedPartKeepsEveryLaterPart) {
  const int64_t now = T("2026-11-26T12:00:00Z");
  std::vector<PartCandidate> parts = {
      {"part-1.part", T("2026-11-20T10:00:00Z"), true},
      {"part-2.part", T("2026-11-20T11:00:00Z"), false},  // archive_command has not copied it
      {"part-3.part", T("2026-11-21T11:00:00Z"), true},
      {"part-4.part", T("2026-11-26T11:00:00Z"), true},
  };
  RetentionPlan plan = PlanRetention(parts, {1, true}, now);
  EXPECT_EQ(plan.remove, (std::vector<std::string>{"part-1.part"}));
  EXPECT_EQ(plan.waiting, (std::vector<std::string>{"part-2.part", "part-3.part"}));

  RetentionPlan unarchived_ok = PlanRetention(parts, {1, false}, now);
  EXPECT_EQ(unarchived_ok.remove, (std::vector<std::string>{"part-1.part", "part-2.part", "part-3.part"}));
  EXPECT_TRUE(unarchived_ok.waiting.empty());
}

}  // namespace
}  // namespace apitrail::archive
