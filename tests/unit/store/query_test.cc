// Store::Query over the in-memory indexes: filters, newest-first order, cursor paging.
#include <gtest/gtest.h>

#include <set>

#include "store_test_util.h"
#include "testutil/fault_file_system.h"

namespace apitrail {
namespace {

using namespace apitrail::testing;

class QueryTest : public ::testing::Test {
 protected:
  static constexpr uint64_t kEvents = 100;
  void SetUp() override {
    StoreOptions o;
    o.data_dir = dir_.path();
    store_ = OpenOrDie(o);
    AppendMany(*store_, kEvents);
  }
  // Seqs returned for q, checking they are descending and carry their events.
  std::vector<uint64_t> Seqs(const EventQuery& q, std::optional<uint64_t>* cursor = nullptr) {
    auto page = store_->Query(q);
    EXPECT_TRUE(page.ok()) << page.status().ToString();
    std::vector<uint64_t> out;
    if (!page.ok()) return out;
    for (const auto& e : page->events) {
      EXPECT_EQ(e.id, MakeEvent(e.seq).id);
      if (!out.empty()) {
        EXPECT_LT(e.seq, out.back());
      }
      out.push_back(e.seq);
    }
    if (cursor != nullptr) *cursor = page->next_cursor;
    return out;
  }
  std::vector<uint64_t> Expected(bool (*pred)(uint64_t)) {
    std::vector<uint64_t> out;
    for (uint64_t i = kEvents; i-- > 0;) {
      if (pred(i)) out.push_back(i);
    }
    return out;
  }

  TempDir dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(QueryTest, SubjectNewestFirstWithCursorPaging) {
  EventQuery q;
  q.subject = "user-1";
  q.limit = 10;
  std::vector<uint64_t> all;
  std::optional<uint64_t> cursor;
  int pages = 0;
  do {
    q.before_seq = cursor;
    auto seqs = Seqs(q, &cursor);
    EXPECT_LE(seqs.size(), 10u);
    all.insert(all.end(), seqs.begin(), seqs.end());
    ++pages;
  } while (cursor && pages < 20);
  EXPECT_EQ(pages, 4);  // 33 events: 10 + 10 + 10 + 3, and no cursor after the last
  EXPECT_EQ(all, Expected([](uint64_t i) { return i % 3 == 1; }));
}

TEST_F(QueryTest, ExactPageHasNoDanglingCursor) {
  EventQuery q;
  q.correlation_id = "corr-42";
  q.limit = 1;
  std::optional<uint64_t> cursor;
  EXPECT_EQ(Seqs(q, &cursor), (std::vector<uint64_t>{42}));
  EXPECT_FALSE(cursor.has_value());
}

TEST_F(QueryTest, CombinedSubjectAndStatusClass) {
  EventQuery q;
  q.subject = "user-1";
  q.status_class = 4;
  EXPECT_EQ(Seqs(q), Expected([](uint64_t i) { return i % 3 == 1 && i % 5 == 4; }));
  q.status_class = 5;
  EXPECT_EQ(Seqs(q), Expected([](uint64_t i) {
              return i % 3 == 1 && i % 5 != 4 && i % 7 == 6;
            }));
}

TEST_F(QueryTest, TimeRange) {
  EventQuery q;
  const int64_t t0 = MakeEvent(0).time_ns;
  q.since_ns = t0 + 20'000'000'000;   // inclusive: seq 20
  q.until_ns = t0 + 25'000'000'000;   // exclusive: seq 25
  EXPECT_EQ(Seqs(q), (std::vector<uint64_t>{24, 23, 22, 21, 20}));
  q.subject = "user-2";
  EXPECT_EQ(Seqs(q), (std::vector<uint64_t>{23, 20}));
}

TEST_F(QueryTest, ResourceRouteMethodAndDecision) {
  EventQuery q;
  q.resource = std::make_pair(std::string("order_id"), std::string("3"));
  EXPECT_EQ(Seqs(q), Expected([](uint64_t i) { return i % 10 == 3; }));
  q = EventQuery{};
  q.route = "POST /v1/orders/{order_id}";
  q.decision = "deny";
  EXPECT_EQ(Seqs(q), Expected([](uint64_t i) { return i % 2 == 1 && i % 5 == 4; }));
  q = EventQuery{};
  q.status = 403;
  q.client_ip = "10.0.0.1";
  EXPECT_EQ(Seqs(q), Expected([](uint64_t i) { return i % 5 == 4 && i % 4 == 1; }));
}

TEST_F(QueryTest, CorrelationAndTraceIds) {
  EventQuery q;
  q.trace_id = "trace-7";
  EXPECT_EQ(Seqs(q), (std::vector<uint64_t>{15, 14}));
  q = EventQuery{};
  q.correlation_id = "corr-99";
  EXPECT_EQ(Seqs(q), (std::vector<uint64_t>{99}));
  q.correlation_id = "nope";
  EXPECT_TRUE(Seqs(q).empty());
}

TEST_F(QueryTest, NoFiltersReturnsNewest) {
  EventQuery q;
  q.limit = 3;
  std::optional<uint64_t> cursor;
  EXPECT_EQ(Seqs(q, &cursor), (std::vector<uint64_t>{99, 98, 97}));
  EXPECT_EQ(cursor, 97u);
}

TEST_F(QueryTest, LimitIsValidated) {
  EventQuery q;
  q.limit = 0;
  EXPECT_EQ(store_->Query(q).status().code(), StatusCode::kInvalidArgument);
  q.limit = 1001;
  EXPECT_EQ(store_->Query(q).status().code(), StatusCode::kInvalidArgument);
}

// The posting list drives the walk: only matching records are read from disk (without the
// cache of segment chunks, which would read neighbours along).
TEST(QueryScanTest, SubjectQueryReadsOnlyMatchingRecords) {
  TempDir dir;
  FaultFileSystem fs(DefaultFileSystem());
  StoreOptions o;
  o.data_dir = dir.path();
  o.fs = &fs;
  o.block_cache_bytes = 0;
  auto store = OpenOrDie(o);
  AppendMany(*store, 3000);
  for (uint64_t i = 0; i < 5; ++i) {
    AuditEvent e = MakeEvent(3000 + i);
    e.subject = "rare";
    ASSERT_TRUE(store->Append(e, nullptr).ok());
  }
  ASSERT_TRUE(store->Flush().ok());
  const uint64_t before = fs.reads();
  EventQuery q;
  q.subject = "rare";
  auto page = store->Query(q);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->events.size(), 5u);
  EXPECT_EQ(fs.reads() - before, 5u);
  q.subject = "user-1";
  q.limit = 100;
  const uint64_t before_page = fs.reads();
  page = store->Query(q);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->events.size(), 100u);
  EXPECT_EQ(fs.reads() - before_page, 100u);
}

// With the block cache, records of the indexed segments are read in chunks that later
// queries reuse: a repeated query reads only the few records that cross a chunk boundary
// (~1 in 50 here), and what it returns is the same.
TEST(QueryScanTest, RepeatedQueriesAreServedFromCachedSegmentChunks) {
  TempDir dir;
  FaultFileSystem fs(DefaultFileSystem());
  StoreOptions o;
  o.data_dir = dir.path();
  o.fs = &fs;
  auto store = OpenOrDie(o);
  AppendMany(*store, 3000);
  ASSERT_TRUE(store->Flush().ok());
  EventQuery q;
  q.subject = "user-1";
  q.limit = 100;
  uint64_t before = fs.reads();
  auto first = store->Query(q);
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->events.size(), 100u);
  const uint64_t first_reads = fs.reads() - before;
  EXPECT_LT(first_reads, 50u);  // neighbours share chunks
  before = fs.reads();
  auto again = store->Query(q);
  ASSERT_TRUE(again.ok());
  EXPECT_LE(fs.reads() - before, 5u);
  ASSERT_EQ(again->events.size(), first->events.size());
  for (size_t i = 0; i < first->events.size(); ++i) {
    EXPECT_EQ(again->events[i].seq, first->events[i].seq);
    EXPECT_EQ(again->events[i].id, first->events[i].id);
  }
  EXPECT_GT(store->Stats().block_cache_hits, 0u);

  // Records appended after a chunk was cached (the active segment's tail was still being
  // written then: the cached chunk holds the writer's zero reserve there) are read fresh,
  // never from the stale chunk. The page straddles the end of the first batch, so some of
  // its records lie in the chunk cached above.
  AppendMany(*store, 3000, 3000);
  ASSERT_TRUE(store->Flush().ok());
  q.before_seq = 3030;
  q.limit = 20;
  auto newer = store->Query(q);
  ASSERT_TRUE(newer.ok()) << newer.status().ToString();
  ASSERT_EQ(newer->events.size(), 20u);
  EXPECT_EQ(newer->events.front().seq, 3028u);  // MakeEvent: user-1 is every seq % 3 == 1
  for (const AuditEvent& e : newer->events) {
    EXPECT_EQ(e.seq % 3, 1u);
    EXPECT_EQ(e.id, MakeEvent(e.seq).id);
  }
}

}  // namespace
}  // namespace apitrail
