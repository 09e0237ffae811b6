// Failure handling: disk full, I/O errors and a full queue never lose an acknowledgement
// silently. A failed write or sync is sticky until reopen.
#include <gtest/gtest.h>

#include <atomic>

#include "store_test_util.h"
#include "testutil/fault_file_system.h"

namespace apitrail {
namespace {

using namespace apitrail::testing;

class FailureTest : public ::testing::Test {
 protected:
  StoreOptions Options() {
    StoreOptions o;
    o.data_dir = dir_.path() + "/data";
    o.fs = &fault_;
    return o;
  }
  TempDir dir_;
  FaultFileSystem fault_{DefaultFileSystem()};
};

TEST_F(FailureTest, DiskFullMakesStoreStickyFailed) {
  auto store = OpenOrDie(Options());
  ASSERT_TRUE(AppendSync(*store, MakeEvent(0)).ok());
  fault_.FailNthWrite(1);
  Status st = AppendSync(*store, MakeEvent(1));
  EXPECT_EQ(st.code(), StatusCode::kUnavailable);
  EXPECT_NE(st.message().find("No space left"), std::string::npos) << st.message();
  StoreStats s = store->Stats();
  EXPECT_TRUE(s.failed);
  EXPECT_EQ(s.write_errors, 1u);
  EXPECT_EQ(s.size, 1u);
  // Sticky: later appends fail at once, without calling back, even though the disk is fine.
  bool called = false;
  EXPECT_EQ(store->Append(MakeEvent(2), [&](const Status&, uint64_t) { called = true; }).code(),
            StatusCode::kUnavailable);
  EXPECT_EQ(store->Flush().code(), StatusCode::kUnavailable);
  EXPECT_FALSE(called);
  store.reset();
  StoreOptions o = Options();
  o.fs = nullptr;
  auto reopened = OpenOrDie(o);
  EXPECT_EQ(reopened->Stats().size, 1u);
  EXPECT_FALSE(reopened->Stats().failed);
  ASSERT_TRUE(AppendSync(*reopened, MakeEvent(1)).ok());
}

TEST_F(FailureTest, SyncErrorMakesStoreStickyFailed) {
  auto store = OpenOrDie(Options());
  ASSERT_TRUE(AppendSync(*store, MakeEvent(0)).ok());
  fault_.SetSyncError(true);
  Status st = AppendSync(*store, MakeEvent(1));
  EXPECT_EQ(st.code(), StatusCode::kUnavailable);
  EXPECT_NE(st.message().find("Input/output error"), std::string::npos) << st.message();
  fault_.SetSyncError(false);
  EXPECT_TRUE(store->Stats().failed);
  EXPECT_EQ(store->Stats().size, 1u);  // the unsynced record is never shown to readers
  EXPECT_EQ(AppendSync(*store, MakeEvent(2)).code(), StatusCode::kUnavailable);
}

TEST_F(FailureTest, BatchModeSyncErrorIsStickyToo) {
  StoreOptions o = Options();
  o.durability = Durability::kBatch;
  o.batch_interval_ms = 60'000;
  auto store = OpenOrDie(o);
  ASSERT_TRUE(AppendSync(*store, MakeEvent(0)).ok());  // acknowledged after write()
  fault_.SetSyncError(true);
  EXPECT_EQ(store->Flush().code(), StatusCode::kUnavailable);
  EXPECT_TRUE(store->Stats().failed);
  EXPECT_EQ(store->Stats().at_risk_when_failed, 1u);  // acknowledged, and possibly lost
  EXPECT_EQ(store->Stats().at_risk, 0u);
  EXPECT_EQ(store->Append(MakeEvent(1), nullptr).code(), StatusCode::kUnavailable);
}

TEST_F(FailureTest, FullQueueIsRejectedAtOnce) {
  StoreOptions o = Options();
  o.queue_capacity = 2;
  auto store = OpenOrDie(o);
  fault_.BlockSyncs();  // the writer takes one batch and then waits in fdatasync
  std::atomic<int> callbacks{0};
  int accepted = 0;
  Status rejected;
  for (int i = 0; i < 10 && rejected.ok(); ++i) {
    Status st = store->Append(MakeEvent(static_cast<uint64_t>(i)),
                              [&](const Status&, uint64_t) { callbacks.fetch_add(1); });
    if (st.ok()) {
      ++accepted;
    } else {
      rejected = st;
    }
  }
  EXPECT_EQ(rejected.code(), StatusCode::kResourceExhausted);
  EXPECT_GE(accepted, 2);
  EXPECT_EQ(store->Stats().rejected_queue_full, 1u);
  fault_.UnblockSyncs();
  ASSERT_TRUE(store->Flush().ok());
  EXPECT_EQ(callbacks.load(), accepted);  // the rejected event was never called back
  EXPECT_EQ(store->Stats().size, static_cast<uint64_t>(accepted));
}

}  // namespace
}  // namespace apitrail
