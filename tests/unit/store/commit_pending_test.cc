// Committing threads (Store::DeclareCommittingThread, Store::CommitPending): a thread that
// commits its own records does so on its own thread without the writer, and no record is
// ever stranded when several committers and the writer race for the commit lock.
#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "core/ids.h"
#include "core/time_util.h"
#include "store/fs/file_system.h"
#include "store/fs/io_ring.h"
#include "store/log/log_format.h"
#include "store/verify.h"
#include "store_test_util.h"
#include "testutil/forwarding_file_system.h"

namespace apitrail {
namespace {

using namespace apitrail::testing;

// What a gateway worker does: CommitPending, then wait for the ring's eventfd and call it
// again, until `done()`. The wait is short because a commit may also have been handed to
// the writer thread (it held the commit lock), which signals no eventfd.
template <typename Done>
void WaitForCommits(Store& store, Done done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  store.CommitPending();
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    pollfd p{store.CommitEventFd(), POLLIN, 0};
    if (::poll(&p, 1, 50) == 1) {
      uint64_t count;
      (void)!::read(store.CommitEventFd(), &count, sizeof(count));
    }
    store.CommitPending();
  }
}

class CommitPendingTest : public ::testing::Test {
 protected:
  StoreOptions Options() {
    StoreOptions o;
    o.data_dir = dir_.path() + "/data";
    // The writer then sleeps for a second at a time: a record it commits is one it was
    // woken for, not one it found on a timer.
    o.checkpoint_interval_ms = 60000;
    return o;
  }
  // Direct I/O with commits through io_uring: the path the gateway's workers take.
  StoreOptions AsyncOptions() {
    StoreOptions o = Options();
    o.direct_io = true;
    o.async_commit = true;
    return o;
  }
  TempDir dir_;
};

TEST_F(CommitPendingTest, ACommittingThreadCommitsItsOwnRecordsOnItsOwnThread) {
  StoreOptions o = Options();
  o.async_commit = false;  // the blocking commit: done when CommitPending returns
  auto store = OpenOrDie(o);
  ASSERT_NE(store, nullptr);
  uint64_t last = 0;
  std::thread t([&] {
    Store::DeclareCommittingThread();
    const auto self = std::this_thread::get_id();
    // The writer thread's first round after Open drains whatever is queued, ours included:
    // a round it overlapped is finished by a Flush, and the next five are appended.
    bool ours = false;
    uint64_t next = 0;
    for (int attempt = 0; attempt < 20 && !ours; ++attempt) {
      const uint64_t first = next;
      std::vector<uint64_t> seqs;
      int on_this_thread = 0;
      for (int i = 0; i < 5; ++i) {
        ASSERT_TRUE(store
                        ->Append(MakeEvent(next++),
                                 [&](const Status& s, uint64_t seq) {
                                   EXPECT_TRUE(s.ok()) << s.ToString();
                                   seqs.push_back(seq);
                                   if (std::this_thread::get_id() == self) ++on_this_thread;
                                 })
                        .ok());
      }
      store->CommitPending();
      if (on_this_thread == 5) {
        // Durable and completed before CommitPending returned, by this thread.
        EXPECT_EQ(seqs, (std::vector<uint64_t>{first, first + 1, first + 2, first + 3, first + 4}));
        EXPECT_EQ(store->Stats().size, next);
        ours = true;
      } else {
        ASSERT_TRUE(store->Flush().ok());  // every callback of this round has run
      }
    }
    EXPECT_TRUE(ours) << "the writer took every round";
    last = next - 1;
  });
  t.join();
  auto e = store->GetBySeq(last);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->id, MakeEvent(last).id);
}

// With direct I/O and io_uring the commit is submitted and CommitPending returns at once;
// the eventfd then says the write is done and the next CommitPending publishes it.
TEST_F(CommitPendingTest, AnAsynchronousCommitIsPublishedAfterItsEventFdFires) {
  StoreOptions o = AsyncOptions();
  auto store = OpenOrDie(o);
  ASSERT_NE(store, nullptr);
  ASSERT_GE(store->CommitEventFd(), 0) << "io_uring unavailable: the async path is not covered";
  std::thread t([&] {
    Store::DeclareCommittingThread();
    std::atomic<int> done{0};
    for (uint64_t i = 0; i < 3; ++i) {
      ASSERT_TRUE(store
                      ->Append(MakeEvent(i),
                               [&](const Status& s, uint64_t) {
                                 EXPECT_TRUE(s.ok()) << s.ToString();
                                 done.fetch_add(1);
                               })
                      .ok());
    }
    WaitForCommits(*store, [&] { return done.load() >= 3; });
    EXPECT_EQ(done.load(), 3);
  });
  t.join();
  store->Close();
  VerifyReport report = VerifyDataDir(o.data_dir);
  EXPECT_TRUE(report.ok) << report.problem;
  EXPECT_EQ(report.records, 3u);
}

// A busy worker learns that its commit completed from CommitCompleted (two atomic loads)
// without reading the eventfd, and ReapCompletedCommit then publishes it.
TEST_F(CommitPendingTest, ACompletedCommitIsReportedBeforeItsEventFdIsRead) {
  StoreOptions o = AsyncOptions();
  auto store = OpenOrDie(o);
  ASSERT_NE(store, nullptr);
  ASSERT_GE(store->CommitEventFd(), 0) << "io_uring unavailable: the async path is not covered";
  std::thread t([&] {
    Store::DeclareCommittingThread();
    const auto self = std::this_thread::get_id();
    EXPECT_FALSE(store->CommitCompleted()) << "nothing in flight";
    // The writer thread's first round after Open drains whatever is queued, ours included
    // (its callback then runs there): try again with another record until a commit is ours.
    bool saw = false;
    for (uint64_t i = 0; i < 20 && !saw; ++i) {
      std::atomic<int> done{0};
      std::atomic<bool> here{false};
      ASSERT_TRUE(store
                      ->Append(MakeEvent(i),
                               [&](const Status& s, uint64_t) {
                                 EXPECT_TRUE(s.ok()) << s.ToString();
                                 here.store(std::this_thread::get_id() == self);
                                 done.fetch_add(1);
                               })
                      .ok());
      store->CommitPending();  // submits the write, unless the writer has the record
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
      while (done.load() == 0 && std::chrono::steady_clock::now() < deadline) {
        const int64_t started = store->CommitStartedNs();  // before: the writer may take it
        if (store->CommitCompleted()) {
          // Submitted between the two loads: by the writer, whose first round after Open
          // may take the record (and a loaded host may stop this thread in between). Not
          // seen in flight: look again.
          if (started == 0) continue;
          saw = true;
          EXPECT_GT(started, 0) << "in flight until it is taken";
          EXPECT_LE(started, MonotonicNowNs());
          store->ReapCompletedCommit();  // publishes it unless the writer holds the lock
        }
      }
      if (done.load() != 1) {
        ASSERT_TRUE(store->Flush().ok());  // no callback may outlive `done`
      }
      ASSERT_EQ(done.load(), 1);
      if (saw) {
        EXPECT_FALSE(store->CommitCompleted()) << "the completion was taken";
        EXPECT_EQ(store->CommitStartedNs(), 0) << "none in flight";
      } else {
        EXPECT_FALSE(here.load()) << "our own commit completed unseen";
      }
    }
    EXPECT_TRUE(saw) << "the completion was never reported";
  });
  t.join();
  store->Close();
}

// The real file system, except that the active segment's writes report the error
// `fail_with` once armed: asynchronous ones as the ring would report a device error, and
// blocking ones (a batch the writer thread took first) as a failed fdatasync.
class FailingCompletionFileSystem final : public testing::ForwardingFileSystem {
 public:
  FailingCompletionFileSystem() : ForwardingFileSystem(DefaultFileSystem()) {}
  std::atomic<int> fail_with{0};

  Result<std::unique_ptr<WritableFile>> OpenForSyncedAppend(const std::string& path) override {
    APITRAIL_ASSIGN_OR_RETURN(auto file, base()->OpenForSyncedAppend(path));
    return std::unique_ptr<WritableFile>(new File(std::move(file), &fail_with));
  }

 private:
  class File final : public testing::ForwardingWritableFile {
   public:
    File(std::unique_ptr<WritableFile> f, std::atomic<int>* fail)
        : ForwardingWritableFile(std::move(f)), fail_(fail) {}
    // The writer thread may take a batch before its committing thread does, and syncs it
    // blocking: the device error reaches that path too.
    Status Sync() override {
      const int fail = fail_->load();
      return fail != 0 ? Status::IoError("fdatasync: injected errno " + std::to_string(fail))
                       : base().Sync();
    }
    Status FinishSync(int result) override {
      const int fail = fail_->load();
      return base().FinishSync(fail != 0 ? -fail : result);
    }

   private:
    std::atomic<int>* fail_;
  };
};

// A device error reported by the ring fails the batch and every later append (sticky), as a
// failed blocking write does: nothing of that batch is published or acknowledged.
TEST_F(CommitPendingTest, AFailedAsynchronousWriteFailsTheBatchAndTheStore) {
  FailingCompletionFileSystem fs;
  StoreOptions o = Options();
  o.fs = &fs;
  o.async_commit = true;  // not the default
  auto store = OpenOrDie(o);
  ASSERT_NE(store, nullptr);
  ASSERT_GE(store->CommitEventFd(), 0) << "io_uring unavailable: the async path is not covered";
  std::thread t([&] {
    Store::DeclareCommittingThread();
    auto commit_and_wait = [&](std::atomic<int>& done, int want) {
      WaitForCommits(*store, [&] { return done.load() >= want; });
    };
    std::atomic<int> ok{0};
    ASSERT_TRUE(store
                    ->Append(MakeEvent(0),
                             [&](const Status& s, uint64_t) {
                               if (s.ok()) ok.fetch_add(1);
                             })
                    .ok());
    commit_and_wait(ok, 1);
    ASSERT_EQ(ok.load(), 1);

    fs.fail_with.store(EIO);
    std::atomic<int> failed{0};
    Status seen;
    ASSERT_TRUE(store
                    ->Append(MakeEvent(1),
                             [&](const Status& s, uint64_t) {
                               seen = s;
                               failed.fetch_add(1);
                             })
                    .ok());
    commit_and_wait(failed, 1);
    ASSERT_EQ(failed.load(), 1);
    EXPECT_EQ(seen.code(), StatusCode::kUnavailable) << seen.ToString();
  });
  t.join();
  EXPECT_FALSE(store->Accepting());
  EXPECT_EQ(store->Append(MakeEvent(2), nullptr).code(), StatusCode::kUnavailable);
  EXPECT_TRUE(store->Stats().failed);
  EXPECT_EQ(store->Stats().size, 1u) << "the failed batch was published";
}

TEST_F(CommitPendingTest, OtherThreadsAppendsStillWakeTheWriter) {
  auto store = OpenOrDie(Options());
  ASSERT_NE(store, nullptr);
  // This thread never declared itself: AppendSync must complete without any CommitPending.
  ASSERT_TRUE(AppendSync(*store, MakeEvent(0)).ok());
  EXPECT_EQ(store->Stats().size, 1u);
}

// Two committers and an ordinary appender race; nobody calls Flush. Every callback must
// still arrive: a committer that finds the lock taken hands its records to the writer, and
// an asynchronous commit its thread never came back for is finished by the writer.
TEST_F(CommitPendingTest, NoRecordIsStrandedWhenCommittersRace) {
  auto store = OpenOrDie(Options());
  ASSERT_NE(store, nullptr);
  constexpr int kPerThread = 1500;
  std::atomic<int> done{0};
  std::atomic<int> failed{0};
  std::mutex mu;
  std::set<uint64_t> seqs;
  auto callback = [&](const Status& s, uint64_t seq) {
    if (!s.ok()) failed.fetch_add(1);
    {
      std::lock_guard<std::mutex> lock(mu);
      seqs.insert(seq);
    }
    done.fetch_add(1);
  };
  auto committer = [&](uint64_t first) {
    Store::DeclareCommittingThread();
    for (int i = 0; i < kPerThread; ++i) {
      ASSERT_TRUE(store->Append(MakeEvent(first + i), callback).ok());
      if (i % 7 == 0) store->CommitPending();  // sometimes several records per commit
    }
    store->CommitPending();  // what a worker does before it sleeps
  };
  std::thread a(committer, 0);
  std::thread b(committer, kPerThread);
  std::thread c([&] {
    for (int i = 0; i < kPerThread; ++i)
      ASSERT_TRUE(store->Append(MakeEvent(2 * kPerThread + i), callback).ok());
  });
  a.join();
  b.join();
  c.join();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (done.load() < 3 * kPerThread && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ASSERT_EQ(done.load(), 3 * kPerThread) << "records stranded in the queue";
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(seqs.size(), static_cast<size_t>(3 * kPerThread));
  EXPECT_EQ(*seqs.rbegin(), static_cast<uint64_t>(3 * kPerThread - 1)) << "seqs are gapless";
  store->Close();
  VerifyReport report = VerifyDataDir(Options().data_dir);
  EXPECT_TRUE(report.ok) << report.problem;
  EXPECT_EQ(report.records, static_cast<uint64_t>(3 * kPerThread));
}

// A committing thread that reaps its finished commit submits the next one (what was queued
// meanwhile) before it publishes the finished one: the device syncs the next batch while the
// thread adds index entries and runs callbacks. The finished batch's callback sees it in flight.
TEST_F(CommitPendingTest, TheNextCommitIsOnItsWayBeforeTheLastOneIsPublished) {
  StoreOptions o = AsyncOptions();
  auto store = OpenOrDie(o);
  ASSERT_NE(store, nullptr);
  ASSERT_GE(store->CommitEventFd(), 0) << "io_uring unavailable: the async path is not covered";
  std::thread t([&] {
    Store::DeclareCommittingThread();
    const auto self = std::this_thread::get_id();
    bool saw = false;
    // The writer may take a round (it drains what is queued when it wakes): retry with
    // fresh records until both commits are this thread's.
    for (uint64_t round = 0; round < 20 && !saw; ++round) {
      std::atomic<int> done{0};
      std::atomic<bool> first_here{false};
      std::atomic<int64_t> in_flight_at_first{0};
      ASSERT_TRUE(store
                      ->Append(MakeEvent(2 * round),
                               [&](const Status& s, uint64_t) {
                                 EXPECT_TRUE(s.ok()) << s.ToString();
                                 first_here.store(std::this_thread::get_id() == self);
                                 in_flight_at_first.store(store->CommitStartedNs());
                                 done.fetch_add(1);
                               })
                      .ok());
      store->CommitPending();  // the first record's commit is submitted
      ASSERT_TRUE(store
                      ->Append(MakeEvent(2 * round + 1),
                               [&](const Status& s, uint64_t) {
                                 EXPECT_TRUE(s.ok()) << s.ToString();
                                 done.fetch_add(1);
                               })
                      .ok());
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
      while (done.load() == 0 && std::chrono::steady_clock::now() < deadline) {
        if (store->CommitCompleted()) store->ReapCompletedCommit();
      }
      WaitForCommits(*store, [&] { return done.load() == 2; });
      ASSERT_EQ(done.load(), 2);
      saw = first_here.load() && in_flight_at_first.load() > 0;
    }
    EXPECT_TRUE(saw)
        << "no round in which the second commit was in flight while the first was published";
  });
  t.join();
  store->Close();
  VerifyReport report = VerifyDataDir(o.data_dir);
  EXPECT_TRUE(report.ok) << report.problem;
}

// Fails every append to tree_heads.log once `fail` is set.
class FailingHeadsFileSystem final : public testing::ForwardingFileSystem {
 public:
  FailingHeadsFileSystem() : ForwardingFileSystem(DefaultFileSystem()) {}
  std::atomic<bool> fail{false};

  // Segments as the default file system opens them (direct I/O, io_uring commits).
  Result<std::unique_ptr<WritableFile>> OpenForSyncedAppend(const std::string& path) override {
    return base()->OpenForSyncedAppend(path);
  }
  Result<std::unique_ptr<WritableFile>> OpenForAppend(const std::string& path) override {
    APITRAIL_ASSIGN_OR_RETURN(auto file, base()->OpenForAppend(path));
    if (!path.ends_with(log::kTreeHeadsFile)) return file;
    return std::unique_ptr<WritableFile>(new File(std::move(file), &fail));
  }

 private:
  class File final : public testing::ForwardingWritableFile {
   public:
    File(std::unique_ptr<WritableFile> f, std::atomic<bool>* fail)
        : ForwardingWritableFile(std::move(f)), fail_(fail) {}
    Status Append(std::string_view d) override {
      return fail_->load() ? Status::IoError("tree head: injected") : base().Append(d);
    }

   private:
    std::atomic<bool>* fail_;
  };
};

// The store fails while publishing a commit (its tree head cannot be written) with the next
// commit already on its way: that one's records are failed to their callers, and when its
// write completes nothing of it is published (the published tree stays where it was).
TEST_F(CommitPendingTest, ACommitInFlightWhenTheStoreFailsIsNeverPublished) {
  FailingHeadsFileSystem fs;
  StoreOptions o = AsyncOptions();
  o.fs = &fs;
  auto store = OpenOrDie(o);
  ASSERT_NE(store, nullptr);
  ASSERT_GE(store->CommitEventFd(), 0) << "io_uring unavailable: the async path is not covered";
  std::thread t([&] {
    Store::DeclareCommittingThread();
    const auto self = std::this_thread::get_id();
    bool saw = false;
    for (uint64_t round = 0; round < 40 && !saw; ++round) {
      std::atomic<int> done{0};
      std::atomic<bool> first_here{false};
      Status first, second;
      std::string root_after_first;
      ASSERT_TRUE(store
                      ->Append(MakeEvent(2 * round),
                               [&](const Status& s, uint64_t) {
                                 first = s;
                                 first_here.store(std::this_thread::get_id() == self);
                                 root_after_first = store->Stats().root_hex;
                                 done.fetch_add(1);
                               })
                      .ok());
      store->CommitPending();
      ASSERT_TRUE(store
                      ->Append(MakeEvent(2 * round + 1),
                               [&](const Status& s, uint64_t) {
                                 second = s;
                                 done.fetch_add(1);
                               })
                      .ok());
      // A tree head is due (at most one per 50 ms) and cannot be written.
      std::this_thread::sleep_for(std::chrono::milliseconds(60));
      fs.fail.store(true);
      WaitForCommits(*store, [&] { return done.load() == 2; });
      ASSERT_EQ(done.load(), 2);
      if (!first_here.load() || !first.ok() || second.ok()) {
        // The writer took a record, or the head was written before: start over. Under load
        // the writer thread may have written the due head itself and failed the store for
        // good: then on a fresh one.
        fs.fail.store(false);
        if (store->Stats().failed) {
          store->Close();
          StoreOptions fresh = o;
          fresh.data_dir = o.data_dir + "-round-" + std::to_string(round);
          store = OpenOrDie(fresh);
          ASSERT_NE(store, nullptr);
        }
        continue;
      }
      saw = true;
      // The second commit's write completes after the failure: reap it.
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
      while (store->CommitStartedNs() != 0 && std::chrono::steady_clock::now() < deadline) {
        if (store->CommitCompleted()) store->ReapCompletedCommit();
      }
      EXPECT_EQ(store->CommitStartedNs(), 0);
      EXPECT_TRUE(store->Stats().failed);
      EXPECT_EQ(store->Stats().root_hex, root_after_first) << "the failed commit was published";
    }
    EXPECT_TRUE(saw) << "no round with the second commit in flight when the store failed";
  });
  t.join();
  store->Close();
}

// Records appended by threads that commit nothing (the CLI, a bench, a non-worker thread):
// the writer thread submits their commits and reaps each one itself, starting the next
// before publishing the last, until the queue is empty. Every record is acknowledged once,
// in seq order per commit, and the log verifies.
TEST_F(CommitPendingTest, TheWriterOverlapsCommitsOfRecordsNoWorkerReaps) {
  StoreOptions o = AsyncOptions();
  auto store = OpenOrDie(o);
  ASSERT_NE(store, nullptr);
  ASSERT_GE(store->CommitEventFd(), 0) << "io_uring unavailable: the async path is not covered";
  constexpr int kThreads = 3, kPerThread = 1500;
  std::atomic<int> done{0}, failed{0};
  std::mutex mu;
  std::set<uint64_t> seqs;
  auto callback = [&](const Status& s, uint64_t seq) {
    if (!s.ok()) failed.fetch_add(1);
    {
      std::lock_guard<std::mutex> lock(mu);
      seqs.insert(seq);
    }
    done.fetch_add(1);
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        ASSERT_TRUE(
            store->Append(MakeEvent(static_cast<uint64_t>(t * kPerThread + i)), callback).ok());
      }
    });
  }
  for (auto& th : threads) th.join();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (done.load() < kThreads * kPerThread && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ASSERT_EQ(done.load(), kThreads * kPerThread) << "records stranded: the writer stopped reaping";
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(seqs.size(), static_cast<size_t>(kThreads * kPerThread));
  // Then one record at a time: a second one appended while the first's commit is in flight
  // goes to disk before the first is published (the first's callback sees it in flight).
  bool saw = false;
  uint64_t pairs = 0;
  for (uint64_t round = 0; round < 200 && !saw; ++round, ++pairs) {
    std::atomic<int> pair_done{0};
    std::atomic<int64_t> in_flight_at_first{0};
    const uint64_t first = kThreads * kPerThread + 2 * round;
    ASSERT_TRUE(store
                    ->Append(MakeEvent(first),
                             [&](const Status& s, uint64_t) {
                               EXPECT_TRUE(s.ok()) << s.ToString();
                               in_flight_at_first.store(store->CommitStartedNs());
                               pair_done.fetch_add(1);
                             })
                    .ok());
    while (store->CommitStartedNs() == 0 && pair_done.load() == 0) {
    }
    ASSERT_TRUE(store
                    ->Append(MakeEvent(first + 1),
                             [&](const Status& s, uint64_t) {
                               EXPECT_TRUE(s.ok()) << s.ToString();
                               pair_done.fetch_add(1);
                             })
                    .ok());
    const auto pair_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (pair_done.load() < 2 && std::chrono::steady_clock::now() < pair_deadline)
      std::this_thread::yield();
    ASSERT_EQ(pair_done.load(), 2) << "records stranded: the writer stopped reaping";
    saw = in_flight_at_first.load() > 0;
  }
  EXPECT_TRUE(saw) << "no callback ran while the next commit was on its way";
  store->Close();
  VerifyReport report = VerifyDataDir(o.data_dir);
  EXPECT_TRUE(report.ok) << report.problem;
  EXPECT_EQ(report.records, static_cast<uint64_t>(kThreads * kPerThread) + 2 * pairs);
}

// Under batch durability the committing thread writes and acknowledges its records itself
// (no hop to the writer) and the writer, woken by the first unsynced batch, syncs them
// within the interval without being asked (no Flush here).
TEST_F(CommitPendingTest, UnderBatchDurabilityTheCommitterAcknowledgesAndTheWriterSyncsOnItsClock) {
  StoreOptions o = Options();
  o.durability = Durability::kBatch;
  o.batch_interval_ms = 20;
  auto store = OpenOrDie(o);
  ASSERT_NE(store, nullptr);
  std::atomic<int> done{0};
  uint64_t syncs_before = 0;
  uint64_t appended = 0;
  std::thread t([&] {
    Store::DeclareCommittingThread();
    const auto self = std::this_thread::get_id();
    // The writer's rounds (its first after Open, a timer) may hold the commit lock when
    // CommitPending runs, and then commit the round itself (CI saw it): such a round is
    // finished by a Flush, and the next three are appended.
    bool ours = false;
    for (int attempt = 0; attempt < 20 && !ours; ++attempt) {
      ASSERT_TRUE(store->Flush().ok());
      syncs_before = store->Stats().syncs;
      int on_this_thread = 0;
      for (uint64_t i = 0; i < 3; ++i) {
        ASSERT_TRUE(store
                        ->Append(MakeEvent(appended++),
                                 [&](const Status& st, uint64_t) {
                                   EXPECT_TRUE(st.ok()) << st.ToString();
                                   done.fetch_add(1);
                                   if (std::this_thread::get_id() == self) ++on_this_thread;
                                 })
                        .ok());
      }
      const bool wanted = store->CommitWanted();
      // Acknowledged by CommitPending on this thread, which never syncs under batch.
      if (store->CommitPending() && on_this_thread == 3) {
        EXPECT_TRUE(wanted);
        ours = true;
      }
    }
    EXPECT_TRUE(ours) << "the writer took every round";
  });
  t.join();
  // Well within the writer's idle sleep (1 s): only the wake-up makes it this soon. The
  // sync is counted when it completes and the records are published right after: wait for
  // both (under ASan the gap was seen).
  for (int i = 0; i < 120 && (store->Stats().syncs == syncs_before || store->Stats().size < appended); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_GT(store->Stats().syncs, syncs_before) << "the writer did not sync the batch on its clock";
  EXPECT_EQ(store->Stats().size, appended);
  EXPECT_EQ(done.load(), static_cast<int>(appended));
  // A round the writer took in a Flush was synced before it was acknowledged.
  EXPECT_GE(store->Stats().acked_before_sync, 3u);
}

// Records queued by several threads reach the log in the order of their event ids'
// counters, not shard by shard: LogStore::Append takes each record's order from its id and
// AppendQueue::Drain merges the threads' shards by it, so ids count along seqs and sealed
// parts store them in almost no bytes (docs/FORMAT.md §16.3).
TEST_F(CommitPendingTest, RecordsOfSeveralThreadsAreLoggedInTheirIdsCounterOrder) {
  StoreOptions o = Options();
  o.async_commit = false;  // the blocking commit: done when CommitPending returns
  auto store = OpenOrDie(o);
  ASSERT_NE(store, nullptr);
  bool checked = false;
  for (int attempt = 0; attempt < 20 && !checked; ++attempt) {
    // Two threads, so two shards; each thread's own ids rise, and the two interleave.
    const uint32_t base = 1000 * static_cast<uint32_t>(attempt + 1);
    auto id = [&](uint32_t k) { return FormatEventId(NowNs(), 0x2ABCDEF0123ULL, base + k); };
    std::mutex mu;
    std::map<uint32_t, uint64_t> seq_of;  // counter - base -> seq
    const uint64_t syncs_before = store->Stats().syncs;
    auto append_from_new_thread = [&](std::vector<uint32_t> ks) {
      std::thread([&, ks] {
        Store::DeclareCommittingThread();  // owned records: they wait for CommitPending below
        for (uint32_t k : ks) {
          AuditEvent e = MakeEvent(k);
          e.id = id(k);
          ASSERT_TRUE(store
                          ->Append(std::move(e),
                                   [&, k](const Status& s, uint64_t seq) {
                                     EXPECT_TRUE(s.ok()) << s.ToString();
                                     std::lock_guard lock(mu);
                                     seq_of[k] = seq;
                                   })
                          .ok());
        }
      }).join();
    };
    append_from_new_thread({1, 3, 4});
    append_from_new_thread({2, 5});
    std::thread([&] {
      Store::DeclareCommittingThread();
      store->CommitPending();
    }).join();
    ASSERT_TRUE(store->Flush().ok());  // every callback has run, whoever committed
    // The writer's first round after Open (or its timer) may have taken some of them before
    // the commit above, or held the commit lock so that CommitPending handed the rest to it:
    // two commits prove nothing, try again. Counted after the Flush, which the writer's
    // second commit precedes (counted before it, a handed-off commit was missed).
    const uint64_t syncs = store->Stats().syncs - syncs_before;
    if (syncs != 1) continue;
    std::lock_guard lock(mu);
    ASSERT_EQ(seq_of.size(), 5u);
    for (uint32_t k = 2; k <= 5; ++k) EXPECT_EQ(seq_of[k], seq_of[1] + (k - 1)) << "counter " << k;
    checked = true;
  }
  EXPECT_TRUE(checked) << "the writer took part of every round";
}

}  // namespace
}  // namespace apitrail
