// Store: the node's append-only audit log (DESIGN §3, docs/FORMAT.md). One writer thread
// owns the active segment and the Merkle frontier; any thread may Append and Query.
//
// Append() encodes the event on the calling thread, enqueues it on a bounded queue and
// returns at once. The writer batches everything queued, writes it, fdatasyncs (group
// commit), updates the tree and the indexes, then calls each `done` on the writer thread:
// callers post back to their own executor from there. Readers never block the writer for
// longer than an index append.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/crypto_util.h"
#include "core/event.h"
#include "core/latency_histogram.h"
#include "core/status.h"
#include "query/event_query.h"
#include "store/rollup/rollups.h"

namespace apitrail {

class FileSystem;

enum class Durability { kResponse, kBatch };

struct SignedCheckpoint {
  uint64_t size = 0;
  int64_t time_ns = 0;  // when it was signed
  std::string note;     // the signed note text (docs/FORMAT.md §12)
};

struct StoreOptions {
  std::string data_dir;
  std::string node = "node-1";
  Durability durability = Durability::kResponse;
  uint32_t batch_interval_ms = 10;      // kBatch: longest time between syncs
  uint32_t queue_capacity = 65536;      // events waiting for the writer
  uint64_t max_segment_bytes = 256ull * 1024 * 1024;
  // Under kResponse, write the active segment with O_DIRECT|O_DSYNC (one system call per
  // group commit, no page cache; FileSystem::OpenForSyncedAppend). Ignored under kBatch,
  // whose acknowledged-but-unsynced records must survive a process crash in the page cache.
  bool direct_io = true;
  // With direct_io: a committing thread (CommitPending) submits the write through io_uring
  // and keeps serving while it is in flight, instead of blocking in pwrite (the pinned
  // bench: 18.9 against 22.1 µs of CPU per request).
  bool async_commit = true;
  // Also rotate when the first record of a new UTC day (by wall_clock at write time) is
  // written, so each sealed part holds at most one day (docs/FORMAT.md §16).
  bool rotate_daily = true;
  // Wall clock in Unix ns for daily rotation; null: the system clock. Tests inject one.
  std::function<int64_t()> wall_clock;
  // Decoded blocks of sealed parts that queries keep in memory, shared by all parts and
  // least recently used first out (part/block_cache.h); 0: each part keeps ~1 MiB of its own.
  size_t block_cache_bytes = 64u << 20;
  // Raw bytes per compressed block of a sealed part (0: part::kTargetBlockRawSize). Tests.
  size_t part_block_bytes = 0;
  // Seal rotated segments into parts. Off only in tests of segment-level behaviour, which
  // need several segments to stay on disk.
  bool seal_rotated = true;
  // Whether the request path is saturating the CPUs, so that sealing should wait (see
  // LogStore::SealerLoop); null: this process used at least 70% of the CPUs it may run on
  // over the last 250 ms (ProcessCpuLoad). Tests inject one.
  std::function<bool()> request_path_busy;
  // Sealing takes only the time the request path leaves: SCHED_IDLE (nice 10 once segments
  // wait behind the one being sealed) and the idle I/O class (LogStore::SealerLoop). False:
  // the sealer keeps the priority of the thread that opened the store. For tests that wait
  // for a seal, which must not depend on what else the host runs: with its CPUs saturated
  // by other processes (ctest -j2, a parallel build) the sealer got almost no CPU, and a
  // test waiting 60 s still found nine segments unsealed.
  bool seal_at_low_priority = true;
  // Signed checkpoints (checkpoints.log): at most this long behind the newest durable
  // record, and a heartbeat this often while idle (docs/FORMAT.md §12).
  uint32_t checkpoint_interval_ms = 1000;
  uint32_t checkpoint_heartbeat_ms = 60000;
  // Also sign as soon as this many records arrived since the newest checkpoint (0: off).
  uint32_t checkpoint_every_events = 0;
  // Called with each checkpoint once it is durable in checkpoints.log, on the writer thread
  // (and once during Open with the newest existing one, so witnesses catch up after a
  // restart). Must not block: hand it to another thread (witness/witness_publisher.h).
  std::function<void(const SignedCheckpoint&)> on_checkpoint;
  // Called on the writer thread after it ran a group of AppendCallbacks (and before it
  // sleeps), so callbacks may defer work and hand it over once per group
  // (gateway/completion_inbox.h). Must not block.
  std::function<void()> after_callbacks;
  FileSystem* fs = nullptr;             // null: the real POSIX file system
  RollupOptions rollups;                // per-minute counters (store/rollup/rollups.h)
};

struct StoreStats {
  uint64_t size = 0;              // records in the log = next seq
  uint64_t appended = 0;          // since open
  uint64_t syncs = 0;
  // Group commits' sync (with direct I/O, the O_DSYNC write), from submission to durable
  // (the sync of a rotation aside).
  LatencyHistogram::Snapshot commit_latency;
  uint64_t rejected_queue_full = 0;
  uint64_t write_errors = 0;
  uint64_t reserve_failures = 0;  // zero reserves that could not be written (not fatal)
  bool failed = false;            // sticky: a write or sync failed; no more acknowledgements
  std::string root_hex;           // RFC 6962 root over all records
  uint64_t recovered_truncated_bytes = 0;  // torn tail cut by Open (worth a log line if > 0)
  uint64_t checkpoints = 0;       // signed since open
  // Durability::kBatch only (0 otherwise): acknowledged records not yet synced (lost if the
  // machine died now), all acknowledged before their sync since open, and those acknowledged
  // whose sync failed (possibly lost: the store fails closed after that).
  uint64_t at_risk = 0;
  uint64_t acked_before_sync = 0;
  uint64_t at_risk_when_failed = 0;
  uint64_t checkpoint_size = 0;   // tree size of the newest checkpoint (0: none yet)
  RollupStats rollups;            // zero when rollups are disabled
  // Sealed parts (docs/FORMAT.md §16).
  uint64_t parts = 0;             // sealed parts the store reads from
  uint64_t parts_sealed = 0;      // sealed since open
  uint64_t seal_pending = 0;      // rotated segments waiting to be sealed (or being sealed)
  uint64_t seal_deferred_ms = 0;  // time sealing waited for the request path's load to drop
  uint64_t seal_errors = 0;       // failed sealings since open (the segment is kept)
  std::string last_seal_error;
  // Decoded blocks of sealed parts kept for queries (StoreOptions::block_cache_bytes).
  uint64_t block_cache_hits = 0;
  uint64_t block_cache_misses = 0;
  uint64_t block_cache_bytes = 0;
};

// Called once per event on the writer thread: status ok and the event's seq once it is as
// durable as the mode requires, or the error that prevented it.
using AppendCallback = std::function<void(const Status& status, uint64_t seq)>;

class Store {
 public:
  // Opens (creating if needed) the data dir, recovers: cuts a torn tail at the last whole
  // record, rebuilds the Merkle frontier and the indexes, then starts the writer thread.
  // The node's signing key <data_dir>/node.key is loaded, or generated on first open.
  static Result<std::unique_ptr<Store>> Open(const StoreOptions& options);

  virtual ~Store() = default;
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Thread-safe. Non-OK (ResourceExhausted when the queue is full, Unavailable after a
  // sticky failure or Close) means `done` will never be called and nothing was written.
  // `leaf`, when given, receives the record's Merkle leaf hash before Append returns (for a
  // client's receipt; the seq comes with `done`). `event` is taken apart (moved from) even
  // when the append fails; by reference because moving a whole event costs ~1k instructions
  // on the request path.
  virtual Status Append(AuditEvent&& event, AppendCallback done, Hash256* leaf) = 0;
  // The same for a caller that keeps its event (it is not written to: the id is minted and
  // the node filled in the record only). Copies the few strings the store keeps.
  virtual Status Append(const AuditEvent& event, AppendCallback done, Hash256* leaf) = 0;
  Status Append(AuditEvent event, AppendCallback done) {
    return Append(std::move(event), std::move(done), nullptr);
  }
  // Commits everything queued on the calling thread, unless another thread is committing
  // right now (then it returns at once and the records are left to that thread or the
  // writer). Meant for a thread that is about to sleep anyway — a gateway worker whose event
  // loop ran dry — so that the commit costs no hand-off to the writer thread: on one core
  // that hand-off was four context switches per group commit. Blocks for the sync (about
  // 0.1 ms) unless it is submitted through io_uring. Under durability batch it writes and
  // acknowledges the records without a sync (the writer syncs every batch_interval_ms),
  // which spares a batch-mode response the hop to the writer thread (half a context switch
  // per request on one core). False when another thread held the commit
  // lock: the records were handed to the writer thread, and the caller should wait for its
  // next event rather than try again at once.
  virtual bool CommitPending() { return true; }
  // Cheap (two atomic loads): CommitPending would start a commit now — records are queued
  // and no commit of this store is in flight. A committing thread's loop asks before it
  // spends a non-blocking poll on finding out whether it is idle.
  virtual bool CommitWanted() const { return false; }
  // Cheap as well: the asynchronous commit in flight has completed, and CommitPending would
  // publish it (its responses go out) and start the next. A busy committing thread asks
  // after each handler: the eventfd tells it only when its epoll is next polled.
  virtual bool CommitCompleted() const { return false; }
  // When CommitCompleted: publishes that commit and starts the next, like CommitPending,
  // but only if the commit lock is free at once. Unlike CommitPending it never hands work
  // to the writer: every worker sees the same completion, and the eventfd's CommitPending
  // remains the one that makes sure it is taken. True when it published one.
  virtual bool ReapCompletedCommit() { return false; }
  // When (MonotonicNowNs) the asynchronous commit in flight was submitted; 0 when none is.
  virtual int64_t CommitStartedNs() const { return 0; }
  // Marks the calling thread as one that calls CommitPending() before it next sleeps (and
  // at least every few dozen handlers): its appends then do not wake the writer thread.
  // Other threads' appends (CLI tools, tests) are committed by the writer as before.
  static void DeclareCommittingThread();
  // An eventfd that becomes readable when a commit CommitPending started asynchronously
  // (io_uring) has reached the disk; the committing thread then calls CommitPending again to
  // publish it and start the next. -1 when commits are synchronous. Owned by the store.
  virtual int CommitEventFd() const { return -1; }

  // Blocks until everything appended before the call is durable (or failed).
  virtual Status Flush() = 0;
  // Flushes, stops the writer, closes files. Idempotent; Append fails afterwards.
  virtual void Close() = 0;

  virtual Result<EventPage> Query(const EventQuery& query) = 0;
  virtual Result<AuditEvent> GetById(const std::string& id) = 0;
  virtual Result<AuditEvent> GetBySeq(uint64_t seq) = 0;
  virtual StoreStats Stats() = 0;
  // False once a write or sync failed (sticky) or after Close: appends will be refused.
  // Lock-free; for the request path to refuse before forwarding.
  virtual bool Accepting() const = 0;
  // Retention (after archiving): stops serving the sealed part file `path` and deletes it.
  // Only the oldest part the store serves may go, so what it holds stays one contiguous
  // range of seqs; its records then answer NotFound ("no longer stored"). A file in parts/
  // the store does not serve (not a part it opened) is just deleted. Thread-safe; queries
  // already reading the part finish on it.
  virtual Status RemoveOldestPart(const std::string& path) = 0;
  // Per-minute counters (top-k, series); null when rollups are disabled. Owned by the store,
  // valid until it is destroyed (queries keep working after Close).
  virtual Rollups* rollups() { return nullptr; }

 protected:
  Store() = default;
};

}  // namespace apitrail
