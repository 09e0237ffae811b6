#include "store/append_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace apitrail {
namespace {

PendingRecord RecordOf(int producer, int i) {
  PendingRecord r;
  r.payload = std::to_string(producer) + ":" + std::to_string(i);
  r.seq = static_cast<uint64_t>(i);  // the test's own numbering, not the store's seq
  return r;
}

TEST(AppendQueueTest, RefusesBeyondCapacityAndCountsUnowned) {
  AppendQueue q(3);
  EXPECT_FALSE(q.HasReady());
  EXPECT_TRUE(q.Push(RecordOf(0, 0)));
  EXPECT_TRUE(q.Push(RecordOf(0, 1), /*owned=*/true));
  EXPECT_TRUE(q.Push(RecordOf(0, 2)));
  PendingRecord extra = RecordOf(0, 3);
  EXPECT_FALSE(q.Push(std::move(extra)));
  EXPECT_EQ(extra.payload, "0:3");  // untouched when refused
  EXPECT_TRUE(q.HasReady());

  std::vector<PendingRecord> out;
  EXPECT_EQ(q.Drain(&out), 2u);  // two of the three were not owned
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].payload, "0:0");
  EXPECT_EQ(out[1].payload, "0:1");
  EXPECT_EQ(out[2].payload, "0:2");
  EXPECT_FALSE(q.HasReady());
  // Draining freed the capacity.
  EXPECT_TRUE(q.Push(std::move(extra)));
  out.clear();
  EXPECT_EQ(q.Drain(&out), 1u);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].payload, "0:3");
}

// Each pushing thread has its own shard; Drain interleaves them by PendingRecord::order (the
// event id's counter), comparing with wrap-around, and never reorders one thread's records.
TEST(AppendQueueTest, DrainMergesThreadsByOrderKeepingEachThreadsSequence) {
  AppendQueue q(64);
  auto push_from_new_thread = [&q](int producer, std::vector<uint32_t> orders) {
    std::thread([&q, producer, orders] {
      for (size_t i = 0; i < orders.size(); ++i) {
        PendingRecord r = RecordOf(producer, static_cast<int>(i));
        r.order = orders[i];
        ASSERT_TRUE(q.Push(std::move(r)));
      }
    }).join();
  };
  // Across the 32-bit wrap: 0xFFFFFFFE was minted before 1.
  push_from_new_thread(0, {0xFFFFFFFEu, 1, 4});
  push_from_new_thread(1, {0xFFFFFFFFu, 2, 3, 9});
  // Out of order within one thread (an id the caller minted earlier): kept where it was pushed.
  push_from_new_thread(2, {6, 5});
  std::vector<PendingRecord> out;
  EXPECT_EQ(q.Drain(&out), 9u);
  std::vector<std::string> got;
  for (const PendingRecord& r : out) got.push_back(r.payload);
  EXPECT_EQ(got, (std::vector<std::string>{"0:0", "1:0", "0:1", "1:1", "1:2", "0:2", "2:0", "2:1", "1:3"}));
  EXPECT_FALSE(q.HasReady());
}

// Producers push while one consumer drains: every record comes out exactly once, each
// producer's in the order it pushed them (a thread keeps its shard), and a drain never sees
// a half-moved record.
TEST(AppendQueueTest, ConcurrentPushAndDrainLoseNothing) {
  constexpr int kProducers = 4;
  constexpr int kPerProducer = 20000;
  AppendQueue q(1024);
  std::atomic<int> done{0};
  // Orders as NewEventId's counter hands them out, wrapping half-way through the test.
  std::atomic<uint32_t> counter{0xFFFFFFFFu - kProducers * kPerProducer / 2};
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&q, &done, &counter, p] {
      for (int i = 0; i < kPerProducer; ++i) {
        PendingRecord r = RecordOf(p, i);
        r.order = counter.fetch_add(1);
        while (!q.Push(std::move(r))) std::this_thread::yield();  // full: the consumer catches up
      }
      done.fetch_add(1);
    });
  }
  std::vector<int> next(kProducers, 0);
  size_t total = 0;
  size_t unowned = 0;
  std::vector<PendingRecord> out;
  while (true) {
    const bool finished = done.load() == kProducers;  // read before the drain that follows
    out.clear();
    unowned += q.Drain(&out);
    for (const PendingRecord& r : out) {
      const size_t colon = r.payload.find(':');
      ASSERT_NE(colon, std::string::npos) << r.payload;
      const int p = std::stoi(r.payload.substr(0, colon));
      const int i = std::stoi(r.payload.substr(colon + 1));
      ASSERT_GE(p, 0);
      ASSERT_LT(p, kProducers);
      ASSERT_EQ(i, next[p]) << "producer " << p << " out of order";
      ASSERT_EQ(r.seq, static_cast<uint64_t>(i));
      ++next[p];
    }
    total += out.size();
    if (finished && out.empty()) break;
  }
  for (auto& t : producers) t.join();
  EXPECT_EQ(total, static_cast<size_t>(kProducers) * kPerProducer);
  EXPECT_EQ(unowned, total);
  for (int p = 0; p < kProducers; ++p) EXPECT_EQ(next[p], kPerProducer);
  EXPECT_FALSE(q.HasReady());
}

}  // namespace
}  // namespace apitrail
