#include "store/append_queue.h"

namespace apitrail {

namespace {
size_t ThreadShard() {
  static std::atomic<size_t> next{0};
  thread_local size_t shard = next.fetch_add(1) % AppendQueue::kShards;
  return shard;
}
}  // namespace

bool AppendQueue::Push(PendingRecord&& record, bool owned) {
  if (reserved_.fetch_add(1) >= capacity_) {
    reserved_.fetch_sub(1);
    return false;
  }
  Shard& shard = shards_[ThreadShard()];
  {
    std::lock_guard<std::mutex> lock(shard.mu);
    shard.items.push_back(std::move(record));
    if (!owned) ++shard.unowned;
  }
  ready_.fetch_add(1);
  if (owned) return true;
  // Dekker-style hand-shake with Wait(): either the writer sees unowned_ > 0 before it
  // sleeps, or we see waiting_ and notify under the mutex. Both are seq_cst.
  unowned_.fetch_add(1);
  if (waiting_.load()) {
    // Taking and dropping the mutex orders us after the writer's predicate check (it is
    // then either about to see unowned_ or asleep on the condition); notifying after the
    // unlock spares the woken writer from blocking on a mutex we still hold.
    { std::lock_guard<std::mutex> lock(wake_mu_); }
    wake_cv_.notify_one();
  }
  return true;
}

size_t AppendQueue::Drain(std::vector<PendingRecord>* out) {
  int64_t n = 0;
  int64_t unowned = 0;
  std::array<size_t, kShards> nonempty;
  size_t shards = 0;
  for (size_t i = 0; i < kShards; ++i) {
    Shard& shard = shards_[i];
    std::vector<PendingRecord>& taken = taken_[i];
    {
      // Only a swap under the lock: moving a few hundred records out while holding it made
      // pushing threads sleep on the mutex (futex waits in store_append_bench's profile).
      std::lock_guard<std::mutex> lock(shard.mu);
      if (shard.items.empty()) continue;
      shard.items.swap(taken);  // taken is empty, with the capacity of an earlier drain
      unowned += shard.unowned;
      shard.unowned = 0;
    }
    n += static_cast<int64_t>(taken.size());
    nonempty[shards++] = i;
  }
  MergeTaken(nonempty.data(), shards, out);
  if (n > 0) {
    ready_.fetch_sub(n);
    reserved_.fetch_sub(n);
  }
  if (unowned > 0) unowned_.fetch_sub(unowned);
  return static_cast<size_t>(unowned);
}

void AppendQueue::MergeTaken(const size_t* shards, size_t count, std::vector<PendingRecord>* out) {
  // A few shards at most hold records (one per pushing thread), so picking the smallest
  // head by a scan is cheaper than a heap.
  std::array<size_t, kShards> next{};
  size_t left = count;
  while (left > 1) {
    size_t best = kShards;
    for (size_t k = 0; k < count; ++k) {
      const std::vector<PendingRecord>& taken = taken_[shards[k]];
      if (next[k] == taken.size()) continue;
      if (best == kShards ||
          static_cast<int32_t>(taken[next[k]].order - taken_[shards[best]][next[best]].order) < 0) {
        best = k;
      }
    }
    std::vector<PendingRecord>& from = taken_[shards[best]];
    out->push_back(std::move(from[next[best]]));
    if (++next[best] == from.size()) --left;
  }
  for (size_t k = 0; k < count; ++k) {
    std::vector<PendingRecord>& taken = taken_[shards[k]];
    for (size_t i = next[k]; i < taken.size(); ++i) out->push_back(std::move(taken[i]));
    taken.clear();
  }
}

void AppendQueue::Wait(std::chrono::steady_clock::time_point deadline,
                       const std::function<bool()>& wake) {
  std::unique_lock<std::mutex> lock(wake_mu_);
  waiting_.store(true);
  wake_cv_.wait_until(lock, deadline, [&] { return unowned_.load() > 0 || wake(); });
  waiting_.store(false);
}

void AppendQueue::Notify() {
  std::lock_guard<std::mutex> lock(wake_mu_);
  wake_cv_.notify_one();
}

}  // namespace apitrail
