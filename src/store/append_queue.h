// AppendQueue: the bounded hand-off from gateway workers to whoever commits (the store's
// writer thread, or a committing worker, LogStore::CommitPending).
// Sharded so that workers do not all contend on one mutex: each thread pushes into its own
// shard (picked once per thread), one consumer at a time drains all shards. Capacity is
// global and checked with one atomic counter. Push is thread-safe; Drain is for the holder
// of the store's commit lock, Wait for the writer thread only.
//
// A record pushed `owned` belongs to a thread that commits it itself: it neither wakes the
// writer nor keeps it awake (only unowned records and wake() do), so a worker's own
// commit costs no thread hand-off.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "core/crypto_util.h"
#include "store/index/event_index.h"
#include "store/rollup/rollup_types.h"
#include "store/store.h"

namespace apitrail {

// One event on its way to the log: record bytes and leaf hash computed by the caller.
struct PendingRecord {
  std::string payload;
  Hash256 leaf{};
  IndexKeys keys;
  RollupEvent rollup;  // filled when rollups are enabled
  AppendCallback done;
  uint64_t seq = 0;  // assigned by the writer
  // The event id's counter (EventIdCounter): Drain interleaves the shards in this order, so
  // ids minted by several threads reach the log in minting order and sealed parts store
  // them as small deltas (docs/FORMAT.md §16.3). Only an order: any value is correct.
  uint32_t order = 0;
};

class AppendQueue {
 public:
  static constexpr size_t kShards = 16;

  explicit AppendQueue(size_t capacity) : capacity_(static_cast<int64_t>(capacity)) {}

  // false (and `record` untouched) when `capacity` records are already waiting.
  bool Push(PendingRecord&& record, bool owned = false);
  // Moves everything queued (owned or not) into *out, each shard's records in the order
  // they were pushed and the shards interleaved by PendingRecord::order (a merge of the
  // shards' heads, wrapping compare); how many of them were not owned.
  size_t Drain(std::vector<PendingRecord>* out);
  // True when anything at all is queued.
  bool HasReady() const { return ready_.load() > 0; }
  // Sleeps until an unowned record is queued, `wake()` is true, or `deadline`. `wake` is
  // evaluated under the wake mutex, so a condition set before Notify() is never missed.
  void Wait(std::chrono::steady_clock::time_point deadline, const std::function<bool()>& wake);
  // Wakes the writer after the caller changed a condition `wake` reads.
  void Notify();

 private:
  struct alignas(64) Shard {
    std::mutex mu;
    std::vector<PendingRecord> items;
    int64_t unowned = 0;  // of items
  };

  // Moves the records of taken_[shards[0 … count)] into *out, merged by order; clears them.
  void MergeTaken(const size_t* shards, size_t count, std::vector<PendingRecord>* out);

  const int64_t capacity_;
  std::atomic<int64_t> reserved_{0};  // slots taken, including pushes in progress
  std::atomic<int64_t> ready_{0};     // pushes completed minus records drained (may dip < 0)
  std::atomic<int64_t> unowned_{0};   // the same for unowned records
  std::atomic<bool> waiting_{false};
  std::array<Shard, kShards> shards_;
  // Drain's side of each shard, swapped with its items under the shard's lock (so the lock
  // is held for a swap, and both vectors keep their capacity). Only the Drain caller.
  std::array<std::vector<PendingRecord>, kShards> taken_;
  std::mutex wake_mu_;
  std::condition_variable wake_cv_;
};

}  // namespace apitrail
