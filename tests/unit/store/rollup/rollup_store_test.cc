// Rollups through the LogStore: fed by the writer after each commit, persisted on Close,
// and after a restart — with current, stale, damaged or missing rollup files — the counts
// equal a count over the log, never a record twice.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "store/store.h"
#include "unit/store/store_test_util.h"

namespace apitrail {
namespace {

using testing::MakeEvent;
using testing::TempDir;

constexpr int64_t kBase = 1'760'000'000'000'000'000;

// Events i spread over ~5 hours (MakeEvent puts i at base + i s; stretch it).
AuditEvent Spread(uint64_t i) {
  AuditEvent e = MakeEvent(i, 7);
  e.time_ns = kBase + static_cast<int64_t>(i) * 17'000'000'000;
  return e;
}

std::map<std::string, uint64_t> TopSubjects(Store& s) {
  std::map<std::string, uint64_t> out;
  auto top = s.rollups()->Top(TopQuery{RollupDim::kSubject, RollupMetric::kRequests,
                                       kBase - kNsPerHour, kBase + 24 * kNsPerHour, 100});
  EXPECT_TRUE(top.ok()) << top.status().ToString();
  if (top.ok()) {
    for (const auto& [k, c] : top->items) out[k] = c.requests;
  }
  return out;
}

std::map<std::string, uint64_t> Expected(uint64_t n) {
  std::map<std::string, uint64_t> out;
  for (uint64_t i = 0; i < n; ++i) out[Spread(i).subject]++;
  return out;
}

uint64_t Errors(Store& s) {
  auto series = s.rollups()->Series(SeriesQuery{RollupMetric::kErrors, 60, kBase - kNsPerHour, kBase + 24 * kNsPerHour});
  EXPECT_TRUE(series.ok());
  uint64_t sum = 0;
  for (uint64_t v : series->values) sum += v;
  return sum;
}

uint64_t ExpectedErrors(uint64_t n) {
  uint64_t c = 0;
  for (uint64_t i = 0; i < n; ++i) c += Spread(i).status >= 500 ? 1 : 0;
  return c;
}

class RollupStoreTest : public ::testing::Test {
 protected:
  StoreOptions Options() {
    StoreOptions o;
    o.data_dir = dir_.path();
    o.rollups.persist_interval_ms = 3600000;  // only explicit persists and Close
    return o;
  }
  void Append(Store& s, uint64_t from, uint64_t to) {
    for (uint64_t i = from; i < to; ++i) ASSERT_TRUE(s.Append(Spread(i), nullptr).ok());
    ASSERT_TRUE(s.Flush().ok());
  }
  std::string RollupDir() const { return dir_.path() + "/rollups"; }
  void SnapshotRollups(const std::string& to) {
    std::filesystem::remove_all(to);
    std::filesystem::copy(RollupDir(), to);
  }
  void RestoreRollups(const std::string& from) {
    std::filesystem::remove_all(RollupDir());
    std::filesystem::copy(from, RollupDir());
  }
  TempDir dir_;
  TempDir scratch_;
};

TEST_F(RollupStoreTest, CommittedEventsAreCountedAndSurviveARestartOnce) {
  {
    auto s = testing::OpenOrDie(Options());
    Append(*s, 0, 1000);
    EXPECT_EQ(TopSubjects(*s), Expected(1000));
    EXPECT_EQ(Errors(*s), ExpectedErrors(1000));
    s->Close();
  }
  auto s = testing::OpenOrDie(Options());
  EXPECT_EQ(s->rollups()->Stats().events, 0u);  // nothing replayed: the files cover it all
  EXPECT_EQ(TopSubjects(*s), Expected(1000));
  Append(*s, 1000, 1500);
  EXPECT_EQ(TopSubjects(*s), Expected(1500));
  EXPECT_EQ(Errors(*s), ExpectedErrors(1500));
}

TEST_F(RollupStoreTest, StrictIntentsAreNotCountedTwice) {
  auto s = testing::OpenOrDie(Options());
  for (uint64_t i = 0; i < 100; ++i) {
    AuditEvent intent = Spread(i);
    intent.phase = "intent";
    intent.status = 0;
    AuditEvent outcome = Spread(i);
    outcome.phase = "outcome";
    outcome.intent_id = intent.id;
    outcome.id += "-o";
    ASSERT_TRUE(s->Append(std::move(intent), nullptr).ok());
    ASSERT_TRUE(s->Append(std::move(outcome), nullptr).ok());
  }
  ASSERT_TRUE(s->Flush().ok());
  EXPECT_EQ(TopSubjects(*s), Expected(100));
  EXPECT_EQ(Errors(*s), ExpectedErrors(100));
}

TEST_F(RollupStoreTest, FilesOlderThanTheLogAreCompletedFromTheLogWithoutDoubleCounting) {
  const std::string snap = scratch_.path() + "/snap";
  {
    auto s = testing::OpenOrDie(Options());
    Append(*s, 0, 600);
    ASSERT_TRUE(s->rollups()->Persist().ok());
    SnapshotRollups(snap);  // what a crash right now would leave: files through seq 600
    Append(*s, 600, 1300);
    s->Close();
  }
  RestoreRollups(snap);
  auto s = testing::OpenOrDie(Options());
  EXPECT_EQ(s->rollups()->Stats().events, 700u);  // only the records after the files
  EXPECT_EQ(TopSubjects(*s), Expected(1300));
  EXPECT_EQ(Errors(*s), ExpectedErrors(1300));
  s->Close();
  auto again = testing::OpenOrDie(Options());
  EXPECT_EQ(TopSubjects(*again), Expected(1300));
}

TEST_F(RollupStoreTest, MissingOrDamagedFilesAreRebuiltFromTheLog) {
  {
    auto s = testing::OpenOrDie(Options());
    Append(*s, 0, 1000);
    s->Close();
  }
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(RollupDir())) files.push_back(e.path().string());
  ASSERT_GE(files.size(), 3u);
  std::sort(files.begin(), files.end());
  testing::FlipByte(files[0], 30);
  std::filesystem::remove(files[1]);
  auto s = testing::OpenOrDie(Options());
  auto warnings = s->rollups()->TakeWarnings();
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find(files[0]), std::string::npos);
  EXPECT_EQ(TopSubjects(*s), Expected(1000));
  EXPECT_EQ(Errors(*s), ExpectedErrors(1000));
}

TEST_F(RollupStoreTest, FilesAheadOfTheLogAreDroppedAndRebuilt) {
  const std::string old_log = scratch_.path() + "/old";
  {
    auto s = testing::OpenOrDie(Options());
    Append(*s, 0, 400);
    s->Close();
  }
  std::filesystem::copy(dir_.path(), old_log, std::filesystem::copy_options::recursive);
  {
    auto s = testing::OpenOrDie(Options());
    Append(*s, 400, 900);
    s->Close();
  }
  // Put the 400-record log back under the 900-record rollups.
  std::filesystem::remove_all(dir_.path() + "/segments");
  std::filesystem::copy(old_log + "/segments", dir_.path() + "/segments");
  for (const char* f : {"tree_heads.log", "checkpoints.log"}) {
    std::filesystem::copy_file(old_log + "/" + f, dir_.path() + "/" + f,
                               std::filesystem::copy_options::overwrite_existing);
  }
  auto s = testing::OpenOrDie(Options());
  EXPECT_FALSE(s->rollups()->TakeWarnings().empty());
  EXPECT_EQ(TopSubjects(*s), Expected(400));
}

TEST_F(RollupStoreTest, DisabledRollupsCostNothingAndAnswerNull) {
  StoreOptions o = Options();
  o.rollups.enabled = false;
  auto s = testing::OpenOrDie(o);
  Append(*s, 0, 10);
  EXPECT_EQ(s->rollups(), nullptr);
  EXPECT_FALSE(std::filesystem::exists(RollupDir()));
}

}  // namespace
}  // namespace apitrail
