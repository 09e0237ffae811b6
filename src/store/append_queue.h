// AppendQueue: the bounded hand-off from gateway workers to the store's writer thread.
// Sharded so that workers do not all contend on one mutex: each thread pushes into its own
// shard (picked once per thread), the single consumer drains all shards. Capacity is global
// and checked with one atomic counter. Push is thread-safe; Drain and Wait are for the one
// writer thread only.
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
};

class AppendQueue {
 public:
  static constexpr size_t kShards = 16;

  explicit AppendQueue(size_t capacity) : capacity_(static_cast<int64_t>(capacity)) {}

  // false (and `record` untouched) when `capacity` records are already waiting.
  bool Push(PendingRecord&& record);
  // Moves everything queued into *out, oldest first within each shard.
  void Drain(std::vector<PendingRecord>* out);
  // Sleeps until something is queued, `wake()` is true, or `deadline`. `wake` is evaluated
  // under the wake mutex, so a condition set before Notify() is never missed.
  void Wait(std::chrono::steady_clock::time_point deadline, const std::function<bool()>& wake);
  // Wakes the writer after the caller changed a condition `wake` reads.
  void Notify();

 private:
  struct alignas(64) Shard {
    std::mutex mu;
    std::vector<PendingRecord> items;
  };

  const int64_t capacity_;
  std::atomic<int64_t> reserved_{0};  // slots taken, including pushes in progress
  std::atomic<int64_t> ready_{0};     // pushes completed minus records drained (may dip < 0)
  std::atomic<bool> waiting_{false};
  std::array<Shard, kShards> shards_;
  std::mutex wake_mu_;
  std::condition_variable wake_cv_;
};

}  // namespace apitrail
