// Store write path: append, group commit, reopen, rotation, batch mode.
#include "store/log_store.h"

#include <gtest/gtest.h>

#include <future>
#include <thread>
#include <utility>
#include <vector>

#include "core/record_codec.h"
#include "store/merkle/merkle_hash.h"
#include "store/rollup/rollups.h"
#include "store_test_util.h"

namespace apitrail {
namespace {

using namespace apitrail::testing;

class LogStoreTest : public ::testing::Test {
 protected:
  StoreOptions Options() {
    StoreOptions o;
    o.data_dir = dir_.path() + "/data";
    return o;
  }
  TempDir dir_;
};

TEST_F(LogStoreTest, AppendAssignsGaplessSeqs) {
  auto store = OpenOrDie(Options());
  for (uint64_t i = 0; i < 5; ++i) {
    uint64_t seq = 99;
    ASSERT_TRUE(AppendSync(*store, MakeEvent(i), &seq).ok());
    EXPECT_EQ(seq, i);
  }
  auto e = store->GetBySeq(3);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->seq, 3u);
  EXPECT_EQ(e->id, MakeEvent(3).id);
  EXPECT_EQ(e->subject, MakeEvent(3).subject);
  EXPECT_EQ(store->GetBySeq(5).status().code(), StatusCode::kNotFound);
  StoreStats s = store->Stats();
  EXPECT_EQ(s.size, 5u);
  EXPECT_EQ(s.appended, 5u);
  EXPECT_GE(s.syncs, 1u);
  EXPECT_FALSE(s.failed);
}

TEST_F(LogStoreTest, ReopenKeepsEveryEventAndRoot) {
  std::string root;
  {
    auto store = OpenOrDie(Options());
    AppendMany(*store, 200);
    root = store->Stats().root_hex;
    EXPECT_EQ(store->Stats().size, 200u);
  }
  auto store = OpenOrDie(Options());
  StoreStats s = store->Stats();
  EXPECT_EQ(s.size, 200u);
  EXPECT_EQ(s.root_hex, root);
  EXPECT_EQ(s.recovered_truncated_bytes, 0u);
  for (uint64_t i = 0; i < 200; ++i) {
    auto e = store->GetBySeq(i);
    ASSERT_TRUE(e.ok());
    ASSERT_EQ(e->id, MakeEvent(i).id);
  }
  uint64_t seq = 0;
  ASSERT_TRUE(AppendSync(*store, MakeEvent(200), &seq).ok());
  EXPECT_EQ(seq, 200u);
  auto by_id = store->GetById(MakeEvent(150).id);
  ASSERT_TRUE(by_id.ok());
  EXPECT_EQ(by_id->seq, 150u);
}

TEST_F(LogStoreTest, ConcurrentAppendersGetDistinctSeqs) {
  auto store = OpenOrDie(Options());
  constexpr int kThreads = 4, kPerThread = 250;
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        auto e = MakeEvent(static_cast<uint64_t>(t * kPerThread + i));
        ASSERT_TRUE(store->Append(e, [&](const Status& s, uint64_t) {
          if (s.ok()) ok.fetch_add(1);
        }).ok());
      }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_TRUE(store->Flush().ok());
  EXPECT_EQ(ok.load(), kThreads * kPerThread);
  EXPECT_EQ(store->Stats().size, static_cast<uint64_t>(kThreads * kPerThread));
  EXPECT_LT(store->Stats().syncs, static_cast<uint64_t>(kThreads * kPerThread));  // grouped
}

TEST_F(LogStoreTest, RotatesSegmentsAndReadsAcrossThem) {
  StoreOptions o = Options();
  o.max_segment_bytes = 4096;
  o.seal_rotated = false;  // segments stay (sealing: part_store_test.cc)
  std::string root;
  {
    auto store = OpenOrDie(o);
    AppendMany(*store, 100);
    root = store->Stats().root_hex;
  }
  auto names = DefaultFileSystem()->ListDir(o.data_dir + "/segments");
  ASSERT_TRUE(names.ok());
  EXPECT_GT(names->size(), 3u);
  auto store = OpenOrDie(o);
  EXPECT_EQ(store->Stats().root_hex, root);
  for (uint64_t i = 0; i < 100; i += 7) {
    auto e = store->GetBySeq(i);
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    EXPECT_EQ(e->id, MakeEvent(i).id);
  }
}

TEST_F(LogStoreTest, BatchModeAcknowledgesBeforeSyncAndFlushPublishes) {
  StoreOptions o = Options();
  o.durability = Durability::kBatch;
  o.batch_interval_ms = 60'000;
  auto store = OpenOrDie(o);
  uint64_t seq = 9;
  ASSERT_TRUE(AppendSync(*store, MakeEvent(0), &seq).ok());
  EXPECT_EQ(seq, 0u);
  EXPECT_EQ(store->Stats().size, 0u);  // written, not yet durable: readers do not see it
  ASSERT_TRUE(AppendSync(*store, MakeEvent(1)).ok());
  EXPECT_EQ(store->Stats().at_risk, 2u);  // acknowledged, lost if the machine died now
  EXPECT_EQ(store->Stats().acked_before_sync, 2u);
  ASSERT_TRUE(store->Flush().ok());
  EXPECT_EQ(store->Stats().size, 2u);
  EXPECT_EQ(store->Stats().at_risk, 0u);
  EXPECT_EQ(store->Stats().acked_before_sync, 2u);
  EXPECT_TRUE(store->GetBySeq(0).ok());
}

TEST_F(LogStoreTest, ResponseModeHasNothingAtRisk) {
  auto store = OpenOrDie(Options());
  AppendMany(*store, 5);
  EXPECT_EQ(store->Stats().at_risk, 0u);
  EXPECT_EQ(store->Stats().acked_before_sync, 0u);
}

TEST_F(LogStoreTest, BatchModeSyncsWithinInterval) {
  StoreOptions o = Options();
  o.durability = Durability::kBatch;
  o.batch_interval_ms = 5;
  auto store = OpenOrDie(o);
  ASSERT_TRUE(AppendSync(*store, MakeEvent(0)).ok());
  for (int i = 0; i < 200 && store->Stats().size == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(store->Stats().size, 1u);
}

TEST_F(LogStoreTest, CloseIsIdempotentAndRejectsAppends) {
  auto store = OpenOrDie(Options());
  AppendMany(*store, 3);
  store->Close();
  store->Close();
  EXPECT_EQ(store->Append(MakeEvent(3), nullptr).code(), StatusCode::kUnavailable);
  EXPECT_TRUE(store->GetBySeq(2).ok());  // reads still work from the published index
}

TEST_F(LogStoreTest, FillsNodeAndIdWhenMissing) {
  auto store = OpenOrDie(Options());
  AuditEvent e = MakeEvent(0);
  e.node.clear();
  e.id.clear();
  uint64_t seq = 0;
  ASSERT_TRUE(AppendSync(*store, e, &seq).ok());
  auto got = store->GetBySeq(seq);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->node, "node-1");
  EXPECT_EQ(got->id.size(), 36u);
}

TEST_F(LogStoreTest, AppendOfAKeptEventRecordsItAsAMovedOneWithoutTouchingIt) {
  auto store = OpenOrDie(Options());
  AuditEvent kept = MakeEvent(3);
  kept.node.clear();
  kept.id.clear();
  const AuditEvent before = kept;
  std::promise<std::pair<Status, uint64_t>> done;
  Hash256 leaf{};
  ASSERT_TRUE(store->Append(std::as_const(kept), [&](const Status& s, uint64_t q) { done.set_value({s, q}); },
                            &leaf).ok());
  auto [status, seq] = done.get_future().get();
  ASSERT_TRUE(status.ok()) << status.ToString();
  // Not written to: no id, no node, route and subject still there for the caller.
  EXPECT_EQ(EncodeRecord(kept), EncodeRecord(before));
  auto got = store->GetBySeq(seq);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->node, "node-1");
  EXPECT_EQ(got->id.size(), 36u);
  // The record is what appending a moved copy with that id and node would have written.
  AuditEvent same = before;
  same.id = got->id;
  same.node = "node-1";
  EXPECT_EQ(EncodeRecord(*got), EncodeRecord(same));
  EXPECT_EQ(leaf, merkle::LeafHash(merkle::ThreadHasher(), EncodeRecord(same)));
  // Indexed under its minted id and its subject like any other event.
  auto by_id = store->GetById(got->id);
  ASSERT_TRUE(by_id.ok()) << by_id.status().ToString();
  EventQuery q;
  q.subject = before.subject;
  auto page = store->Query(q);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->events.size(), 1u);
  // And counted by the rollups under its route and subject.
  auto top = store->rollups()->Top(TopQuery{RollupDim::kSubject, RollupMetric::kRequests,
                                            before.time_ns - kNsPerHour, before.time_ns + kNsPerHour, 10});
  ASSERT_TRUE(top.ok()) << top.status().ToString();
  ASSERT_EQ(top->items.size(), 1u);
  EXPECT_EQ(top->items[0].first, before.subject);
  EXPECT_EQ(top->items[0].second.requests, 1u);
}

TEST_F(LogStoreTest, RejectsBadOptions) {
  StoreOptions o;
  EXPECT_EQ(Store::Open(o).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace apitrail
