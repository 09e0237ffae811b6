#include "witness/witness_publisher.h"

#include <spdlog/spdlog.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "core/thread_util.h"

namespace apitrail {

struct WitnessPublisher::Worker {
  using Clock = std::chrono::steady_clock;
  struct Item {
    uint64_t id;
    std::shared_ptr<const SignedCheckpoint> checkpoint;
  };

  Worker(std::unique_ptr<Witness> w, size_t capacity, std::chrono::milliseconds initial,
         std::chrono::milliseconds max)
      : witness(std::move(w)),
        capacity(capacity),
        retry_initial(initial),
        retry_max(max),
        backoff(initial) {
    stats.name = witness->name();
    thread = std::thread([this] { Run(); });
  }

  void Push(const std::shared_ptr<const SignedCheckpoint>& cp) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (queue.size() >= capacity) {
        queue.pop_front();
        ++stats.dropped;
      }
      queue.push_back(Item{next_id++, cp});
    }
    cv.notify_one();
  }

  void Run() {
    NameThisThread("at-witness");
    std::unique_lock<std::mutex> lock(mu);
    while (true) {
      // Wait for work whose retry time has come, or for the stop.
      while (true) {
        if (stopping && (queue.empty() || Clock::now() >= drain_deadline)) return;
        if (!queue.empty() && Clock::now() >= retry_at) break;
        if (queue.empty()) {
          cv.wait(lock);
        } else {
          cv.wait_until(lock, stopping ? std::min(retry_at, drain_deadline) : retry_at);
        }
      }
      const Item item = queue.front();
      lock.unlock();
      const Status st = witness->Publish(*item.checkpoint);
      lock.lock();
      const bool still_front = !queue.empty() && queue.front().id == item.id;
      if (st.ok()) {
        if (still_front) queue.pop_front();
        ++stats.published;
        stats.published_size = item.checkpoint->size;
        backoff = retry_initial;
        retry_at = Clock::time_point::min();
        if (!stats.up) {
          spdlog::info(
              "witness {}: publishing again (checkpoint of tree size {}) after {} failed attempts",
              stats.name, item.checkpoint->size, failures_in_row);
        }
        stats.up = true;
        failures_in_row = 0;
        rejecting = false;
      } else if (st.code() == StatusCode::kAlreadyExists) {
        if (still_front) queue.pop_front();
        ++stats.rejected;
        if (!rejecting) {  // once until a checkpoint is accepted again: a rollback repeats it
          spdlog::error(
              "witness {}: refused checkpoint of tree size {}: {} (further refusals only counted)",
              stats.name, item.checkpoint->size, st.message());
        }
        rejecting = true;
      } else {
        ++stats.failures;
        ++failures_in_row;
        if (stats.up) {
          spdlog::warn(
              "witness {}: cannot publish checkpoint of tree size {}: {} (retrying with backoff "
              "up to {} ms; logged again when it recovers)",
              stats.name, item.checkpoint->size, st.message(), retry_max.count());
        }
        stats.up = false;
        retry_at = Clock::now() + backoff;
        backoff = std::min(backoff * 2, retry_max);
      }
    }
  }

  std::unique_ptr<Witness> witness;
  const size_t capacity;
  const std::chrono::milliseconds retry_initial;
  const std::chrono::milliseconds retry_max;

  mutable std::mutex mu;
  std::condition_variable cv;
  std::deque<Item> queue;                                 // guarded by mu
  uint64_t next_id = 0;                                   // guarded by mu
  WitnessStats stats;                                     // guarded by mu
  std::chrono::milliseconds backoff;                      // guarded by mu
  Clock::time_point retry_at = Clock::time_point::min();  // guarded by mu
  uint64_t failures_in_row = 0;                           // guarded by mu
  bool rejecting = false;            // guarded by mu: the last answer was a refusal
  bool stopping = false;             // guarded by mu
  Clock::time_point drain_deadline;  // guarded by mu
  std::thread thread;
};

Result<std::unique_ptr<WitnessPublisher>> WitnessPublisher::Create(const CheckpointConfig& config) {
  std::vector<std::unique_ptr<Witness>> witnesses;
  for (const WitnessConfig& w : config.witnesses) {
    APITRAIL_ASSIGN_OR_RETURN(auto witness, MakeWitness(w));
    witnesses.push_back(std::move(witness));
  }
  return std::make_unique<WitnessPublisher>(std::move(witnesses), config.witness_queue,
                                            std::chrono::milliseconds(100),
                                            std::chrono::milliseconds(config.witness_retry_max_ms));
}

WitnessPublisher::WitnessPublisher(std::vector<std::unique_ptr<Witness>> witnesses,
                                   size_t queue_capacity, std::chrono::milliseconds retry_initial,
                                   std::chrono::milliseconds retry_max) {
  for (auto& w : witnesses) {
    workers_.push_back(
        std::make_unique<Worker>(std::move(w), queue_capacity, retry_initial, retry_max));
  }
}

WitnessPublisher::~WitnessPublisher() { Stop(std::chrono::milliseconds(0)); }

void WitnessPublisher::Enqueue(const SignedCheckpoint& checkpoint) {
  if (workers_.empty()) return;
  auto shared = std::make_shared<const SignedCheckpoint>(checkpoint);
  for (auto& w : workers_) w->Push(shared);
}

std::vector<WitnessStats> WitnessPublisher::Stats() const {
  std::vector<WitnessStats> out;
  for (const auto& w : workers_) {
    std::lock_guard<std::mutex> lock(w->mu);
    out.push_back(w->stats);
    out.back().queued = w->queue.size();
  }
  return out;
}

void WitnessPublisher::Stop(std::chrono::milliseconds drain) {
  const auto deadline = Worker::Clock::now() + drain;
  for (auto& w : workers_) {
    std::lock_guard<std::mutex> lock(w->mu);
    if (!w->stopping) {
      w->stopping = true;
      w->drain_deadline = deadline;
    }
  }
  for (auto& w : workers_) {
    w->cv.notify_all();
    if (w->thread.joinable()) w->thread.join();
  }
}

}  // namespace apitrail
