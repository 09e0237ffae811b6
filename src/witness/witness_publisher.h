// WitnessPublisher: hands every signed checkpoint to the configured witnesses without ever
// blocking the store's writer. Enqueue (called on the writer thread from
// StoreOptions::on_checkpoint) only pushes onto a bounded queue per witness and returns;
// each witness has its own thread, so a slow or dead witness delays nobody else. A failed
// publish is retried with exponential backoff (100 ms doubling up to retry_max_ms); when a
// queue is full the oldest checkpoint is dropped (the newer ones cover it) and counted. A
// witness going down or coming back is logged once per change, not per attempt. A witness
// that refuses a checkpoint for good (AlreadyExists: it holds another one of that size)
// gets it dropped after one log line and counted as rejected.
// Thread-safe: Enqueue and Stats from any thread; Stop from one control thread.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "store/store.h"
#include "witness/witness.h"

namespace apitrail {

struct WitnessStats {
  std::string name;
  uint64_t published = 0;       // checkpoints it accepted
  uint64_t failures = 0;        // failed attempts (each retry counts)
  uint64_t dropped = 0;         // dropped from a full queue
  uint64_t rejected = 0;        // refused for good (AlreadyExists)
  uint64_t queued = 0;          // waiting now
  uint64_t published_size = 0;  // tree size of the newest checkpoint it accepted
  bool up = true;               // false while the last attempt failed
};

class WitnessPublisher {
 public:
  // Builds the witnesses of a validated config and starts their threads.
  static Result<std::unique_ptr<WitnessPublisher>> Create(const CheckpointConfig& config);
  // For tests: given witnesses, queue bound and backoff.
  WitnessPublisher(std::vector<std::unique_ptr<Witness>> witnesses, size_t queue_capacity,
                   std::chrono::milliseconds retry_initial, std::chrono::milliseconds retry_max);
  ~WitnessPublisher();  // Stop(0)
  WitnessPublisher(const WitnessPublisher&) = delete;
  WitnessPublisher& operator=(const WitnessPublisher&) = delete;

  void Enqueue(const SignedCheckpoint& checkpoint);
  std::vector<WitnessStats> Stats() const;
  bool empty() const { return workers_.empty(); }
  // Keeps publishing what is queued for at most `drain` (an attempt in progress may run
  // its own timeout beyond it), then stops the threads. Idempotent.
  void Stop(std::chrono::milliseconds drain);

 private:
  struct Worker;
  std::vector<std::unique_ptr<Worker>> workers_;
};

}  // namespace apitrail
