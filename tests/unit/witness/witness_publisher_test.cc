// WitnessPublisher: Enqueue never waits for a witness, a full queue drops the oldest, failed
// publishes are retried with backoff until they succeed, a refusal for good is not retried,
// and Stop drains within its budget.
#include "witness/witness_publisher.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace apitrail {
namespace {

using namespace std::chrono_literals;

// A witness whose answers the test scripts: `fail_next` failures, a gate that can hold
// Publish, and the sizes it accepted.
class FakeWitness final : public Witness {
 public:
  explicit FakeWitness(std::string name) : Witness(std::move(name)) {}
  Status Publish(const SignedCheckpoint& cp) override {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return !hold; });
    ++attempts;
    if (refuse_size == cp.size) return Status::AlreadyExists("holds another");
    if (fail_next > 0) {
      --fail_next;
      return Status::Unavailable("down");
    }
    accepted.push_back(cp.size);
    return Status::Ok();
  }
  void Release() {
    {
      std::lock_guard<std::mutex> lock(mu);
      hold = false;
    }
    cv.notify_all();
  }
  std::vector<uint64_t> Accepted() {
    std::lock_guard<std::mutex> lock(mu);
    return accepted;
  }

  std::mutex mu;
  std::condition_variable cv;
  bool hold = false;
  int fail_next = 0;
  uint64_t refuse_size = 0;
  int attempts = 0;
  std::vector<uint64_t> accepted;
};

SignedCheckpoint Cp(uint64_t size) {
  return SignedCheckpoint{size, 1, "note " + std::to_string(size)};
}

template <typename F>
bool WaitFor(F f, std::chrono::milliseconds limit = 3000ms) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (f()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return f();
}

TEST(WitnessPublisherTest, EnqueueDoesNotWaitForAStuckWitnessAndDropsTheOldest) {
  auto stuck = std::make_unique<FakeWitness>("stuck");
  auto fast = std::make_unique<FakeWitness>("fast");
  FakeWitness* s = stuck.get();
  FakeWitness* f = fast.get();
  s->hold = true;
  std::vector<std::unique_ptr<Witness>> ws;
  ws.push_back(std::move(stuck));
  ws.push_back(std::move(fast));
  WitnessPublisher pub(std::move(ws), 3, 10ms, 50ms);
  const auto start = std::chrono::steady_clock::now();
  for (uint64_t i = 1; i <= 10; ++i) pub.Enqueue(Cp(i));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 200ms) << "Enqueue waited for a witness";
  ASSERT_TRUE(WaitFor([&] { return f->Accepted().size() >= 3 && f->Accepted().back() == 10; }));
  auto stats = pub.Stats();
  ASSERT_EQ(stats.size(), 2u);
  EXPECT_EQ(stats[0].name, "stuck");
  // The stuck one holds item 1 in Publish; the queue kept the newest, dropping the oldest.
  EXPECT_EQ(stats[0].queued, 3u);
  EXPECT_GE(stats[0].dropped, 6u);
  EXPECT_EQ(stats[1].published_size, 10u);
  s->Release();
  ASSERT_TRUE(WaitFor([&] { return !s->Accepted().empty() && s->Accepted().back() == 10; }));
  pub.Stop(1000ms);
}

TEST(WitnessPublisherTest, RetriesWithBackoffUntilTheWitnessComesBack) {
  auto w = std::make_unique<FakeWitness>("flaky");
  FakeWitness* f = w.get();
  f->fail_next = 4;
  std::vector<std::unique_ptr<Witness>> ws;
  ws.push_back(std::move(w));
  WitnessPublisher pub(std::move(ws), 16, 5ms, 20ms);
  pub.Enqueue(Cp(7));
  ASSERT_TRUE(WaitFor([&] { return pub.Stats()[0].failures == 4; }));
  ASSERT_TRUE(WaitFor([&] { return pub.Stats()[0].published == 1; }));
  WitnessStats st = pub.Stats()[0];
  EXPECT_TRUE(st.up);
  EXPECT_EQ(st.published_size, 7u);
  EXPECT_EQ(st.queued, 0u);
  EXPECT_EQ(f->Accepted(), std::vector<uint64_t>{7});
}

TEST(WitnessPublisherTest, DownStateIsVisibleWhileFailing) {
  auto w = std::make_unique<FakeWitness>("down");
  FakeWitness* f = w.get();
  f->fail_next = 1000000;
  std::vector<std::unique_ptr<Witness>> ws;
  ws.push_back(std::move(w));
  WitnessPublisher pub(std::move(ws), 16, 5ms, 10ms);
  pub.Enqueue(Cp(1));
  ASSERT_TRUE(WaitFor([&] { return pub.Stats()[0].failures >= 3; }));
  EXPECT_FALSE(pub.Stats()[0].up);
  EXPECT_EQ(pub.Stats()[0].queued, 1u);
  // Backoff: at a 10 ms cap, 200 ms allow at most ~21 attempts, not thousands.
  const uint64_t before = pub.Stats()[0].failures;
  std::this_thread::sleep_for(200ms);
  EXPECT_LE(pub.Stats()[0].failures - before, 25u);
  const auto stop_start = std::chrono::steady_clock::now();
  pub.Stop(50ms);
  EXPECT_LT(std::chrono::steady_clock::now() - stop_start, 1000ms);
}

TEST(WitnessPublisherTest, RefusalForGoodIsNotRetried) {
  auto w = std::make_unique<FakeWitness>("strict");
  FakeWitness* f = w.get();
  f->refuse_size = 5;
  std::vector<std::unique_ptr<Witness>> ws;
  ws.push_back(std::move(w));
  WitnessPublisher pub(std::move(ws), 16, 5ms, 10ms);
  pub.Enqueue(Cp(5));
  pub.Enqueue(Cp(6));
  ASSERT_TRUE(WaitFor([&] { return pub.Stats()[0].published == 1; }));
  EXPECT_EQ(pub.Stats()[0].rejected, 1u);
  EXPECT_EQ(f->Accepted(), std::vector<uint64_t>{6});
  EXPECT_EQ(f->attempts, 2);
}

TEST(WitnessPublisherTest, StopDeliversWhatIsQueued) {
  auto w = std::make_unique<FakeWitness>("w");
  FakeWitness* f = w.get();
  f->hold = true;
  std::vector<std::unique_ptr<Witness>> ws;
  ws.push_back(std::move(w));
  WitnessPublisher pub(std::move(ws), 16, 5ms, 10ms);
  for (uint64_t i = 1; i <= 4; ++i) pub.Enqueue(Cp(i));
  std::thread release([&] {
    std::this_thread::sleep_for(50ms);
    f->Release();
  });
  pub.Stop(2000ms);
  release.join();
  EXPECT_EQ(f->Accepted(), (std::vector<uint64_t>{1, 2, 3, 4}));
}

}  // namespace
}  // namespace apitrail
