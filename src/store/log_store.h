// LogStore: the Store implementation (store.h) over segment files, a Merkle frontier,
// tree_heads.log and in-memory indexes. Thread-safe as Store promises: any thread may
// Append, Query and read; file writes are done by one thread at a time under commit_mu_:
// the internal writer thread, or a committing worker thread in CommitPending().
//
// Write path (group commit, STYLE §3.2.8): Append encodes the record and its leaf hash on
// the caller's thread and pushes it on a sharded bounded queue. The writer drains the queue,
// assigns seqs, writes all frames with one write() per segment, fdatasyncs, publishes the
// batch to readers under a short exclusive lock and completes it, then appends a tree head
// when the last one is kHeadIntervalMs old (the root costs a node hash per tree level).
// A failed write or sync is sticky: that batch and all later appends fail with Unavailable.
// A committing thread (Store::DeclareCommittingThread, the gateway workers) does the same
// group commit itself when its event loop runs dry, so on a shared core its records cost
// no hand-off to the writer (under kBatch it writes and acknowledges without the sync); the
// writer then only keeps time (tree heads, checkpoints, flushes, kBatch's syncs) and commits
// other threads' records.
//
// Checkpoints: after a group commit has completed its callbacks, the writer signs the
// durable tree with the node key and appends the note to checkpoints.log, when new records
// exist and checkpoint_interval_ms passed since the last one (or checkpoint_every_events
// new records exist), at every rotation at exactly the size where the rotated segment ends
// (so each part ends at a checkpoint), or as a heartbeat every checkpoint_heartbeat_ms, and
// once more on Close. A checkpoint never covers records that are not durable, and signing never delays
// a callback. Each durable checkpoint is then handed to StoreOptions::on_checkpoint.
//
// Sealing (docs/FORMAT.md §16): the writer rotates the active segment at max_segment_bytes
// and when the first record of a new UTC day is written. Once a rotated segment's records
// are durable, the sealer thread turns it into an immutable part, re-reads and compares it,
// switches readers to it and deletes the segment. Readers see one log: the EventIndex covers
// the records from the segments present at open onwards, the parts' own indexes the rest.
//
// Durability::kBatch: callbacks run right after write(); the sync (and publication to
// readers) happens at most batch_interval_ms later or on Flush/Close. Loss window: records
// acknowledged in the last batch_interval_ms before a crash or power loss.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/latency_histogram.h"
#include "core/process_load.h"
#include "store/append_queue.h"
#include "store/checkpoint_log.h"
#include "store/fs/file_system.h"
#include "store/fs/io_ring.h"
#include "store/index/event_index.h"
#include "store/merkle/compact_range.h"
#include "store/node_key.h"
#include "store/part/part_reader.h"
#include "store/store.h"
#include "store/tree_head_log.h"

namespace apitrail {

class LogStore final : public Store {
 public:
  static Result<std::unique_ptr<Store>> Open(const StoreOptions& options);
  ~LogStore() override;

  using Store::Append;
  Status Append(AuditEvent&& event, AppendCallback done, Hash256* leaf) override;
  Status Append(const AuditEvent& event, AppendCallback done, Hash256* leaf) override;
  Status Flush() override;
  void Close() override;
  Result<EventPage> Query(const EventQuery& query) override;
  Result<AuditEvent> GetById(const std::string& id) override;
  Result<AuditEvent> GetBySeq(uint64_t seq) override;
  StoreStats Stats() override;
  Rollups* rollups() override { return rollups_.get(); }
  Status RemoveOldestPart(const std::string& path) override;
  bool CommitPending() override;
  bool CommitWanted() const override {
    return queue_.HasReady() && !commit_in_flight_.load();
  }
  bool ReapCompletedCommit() override;
  bool CommitCompleted() const override {
    return commit_in_flight_.load(std::memory_order_relaxed) && ring_->CompletionPosted();
  }
  int CommitEventFd() const override { return ring_ ? ring_->event_fd() : -1; }
  int64_t CommitStartedNs() const override {
    // Acquire: the start time was stored before the flag.
    return commit_in_flight_.load(std::memory_order_acquire) ? commit_started_ns_.load(std::memory_order_relaxed) : 0;
  }
  bool Accepting() const override { return !failed_.load(std::memory_order_relaxed) && !closed_.load(std::memory_order_relaxed); }

 private:
  // Both Appends: `movable` is `event` when its strings may be taken (the rollup keys),
  // null when the caller keeps it.
  Status AppendEvent(const AuditEvent& event, AppendCallback done, Hash256* leaf, AuditEvent* movable);
  // A record written to the active segment but not yet durable/published.
  struct Unpublished {
    uint64_t seq;
    IndexKeys keys;
    RecordLocation location;
    AppendCallback done;  // kResponse only; kBatch completes at write time
  };
  using Clock = std::chrono::steady_clock;
  // A rotated segment waiting to be sealed.
  struct SealJob {
    std::string path;
    uint64_t first_seq = 0;
    uint64_t end_seq = 0;
    uint32_t segment_index = 0;  // in readers_
    merkle::CompactRange start;  // Merkle state at first_seq
    std::chrono::steady_clock::time_point rotated_at;
  };

  LogStore(const StoreOptions& options, FileSystem* fs);
  Status Recover();
  void WriterLoop();
  // Drains the queue and commits it (write, sync, publish, callbacks); holder of commit_mu_.
  // `async`: submit the sync to ring_ and return; ReapCommit publishes it later.
  void CommitQueued(bool force_head_sync, bool async);
  // Appends pending_leaves_ to frontier_ (in seq order) and clears it.
  void FoldPendingLeaves();
  // Finishes the asynchronous commit in flight if its write completed (or, with `wait`,
  // once it has): true when none is in flight any more. With `start_next`, the next commit
  // (what is queued now) is submitted before the finished one is published, so the device
  // syncs it while this thread adds the index entries, rollups and callbacks. Holder of
  // commit_mu_.
  bool ReapCommit(bool wait, bool start_next);
  // What a completed sync made durable, taken before the next commit writes more: the
  // records' index entries, rollups and callbacks, and the tree they end.
  struct Durable {
    uint64_t end_seq = 0;
    merkle::CompactRange frontier;
    std::vector<Unpublished> batch;
    std::vector<RollupEvent> rollups;
  };
  // After the active segment was synced: the durable size and tree move to what is written.
  Durable TakeDurable();
  // Index, rollups, callbacks and tree head of what TakeDurable took.
  Status PublishDurable(Durable durable, bool force_head_sync);
  // TakeDurable, then PublishDurable.
  Status Publish(bool force_head_sync);
  // Assigns seqs, writes frames (rotating segments as needed); the leaves go to
  // pending_leaves_, which the caller folds into the frontier (FoldPendingLeaves).
  Status WriteBatch(std::vector<PendingRecord>* batch);
  // Syncs the segment, publishes the batch, completes it, appends a tree head if due.
  Status SyncAndPublish(bool force_head_sync);
  // Appends a tree head of the durable tree when records are not yet covered by one and
  // kHeadIntervalMs passed since the last (or `force`). Writer thread.
  Status MaybeAppendHead(bool force);
  // Root of the durable tree, computed once per durable size. Writer thread.
  const Hash256& DurableRoot();
  static constexpr int kHeadIntervalMs = 50;
  // Rotated segments waiting behind the one being sealed before the sealer takes a nice-10
  // share of the core instead of idle time only (SealerLoop).
  static constexpr size_t kSealBacklogForShare = 1;
  // Sealing waits while the request path saturates the CPUs (RequestPathBusy), unless this
  // many rotated segments wait (the one to seal included) or the oldest rotated this long
  // ago: the bounds on the memory of unsealed indexes and on how late a day's part appears.
  static constexpr size_t kSealDeferMaxQueued = 4;
  static constexpr std::chrono::minutes kSealDeferMaxAge{10};
  static constexpr std::chrono::milliseconds kSealDeferPoll{250};
  static constexpr std::chrono::milliseconds kSealDeferMinWindow{20};
  static constexpr double kSealDeferLoad = 0.7;
  // Holds the front job of seal_queue_ while it may be deferred (lock on seal_mu_); false
  // when the store stops meanwhile.
  bool DeferSealWhileBusy(std::unique_lock<std::mutex>& lock);
  bool RequestPathBusy(ProcessCpuLoad& load);
  // Creates segment seg-<first_seq>.log with a synced header and makes it active.
  Status StartSegment(uint64_t first_seq);
  // The active segment's handle: direct I/O when every batch is synced (StoreOptions).
  Result<std::unique_ptr<WritableFile>> OpenActiveSegment(const std::string& path);
  // Closes the active segment and cuts its zero reserve. Writer thread (or Close).
  Status CloseSegment();
  // Makes the active segment's zero reserve hold the next `bytes` (WritableFile::Reserve).
  void ReserveFor(uint64_t bytes);
  // Opens node.key and checkpoints.log, as `file` read it before recovery (cutting a torn
  // tail); Corruption when the newest checkpoint is ahead of the recovered log or disagrees
  // with its root.
  Status OpenCheckpoints(const Hash256& root, CheckpointFile file);
  // Signs and appends a checkpoint of the durable tree if one is due (or `final` and new
  // records exist). Writer thread, after callbacks ran.
  Status MaybeCheckpoint(bool final);
  Status AppendCheckpoint(uint64_t size, const Hash256& root, Clock::time_point now);
  // When the next checkpoint falls due (a far-away time when none is pending).
  Clock::time_point NextCheckpointDue() const;
  void Fail(const Status& cause);
  Status FailedStatus() const;
  Result<AuditEvent> ReadRecord(uint64_t seq);
  // The same into *event (default-constructed): a query decodes straight into its page.
  Status ReadRecordInto(uint64_t seq, AuditEvent* event);
  // Sets intent->outcome to "recorded" or "unknown" (durability: strict).
  Status AnnotateOutcome(AuditEvent* intent);
  // The sealed part holding `seq`, or null. mu_ held (shared).
  std::shared_ptr<const part::PartReader> PartOfLocked(uint64_t seq) const;
  // Matching events of sealed parts with seq < before, newest first, until *page holds
  // `want` events.
  Status QueryParts(const EventQuery& q, uint64_t before, size_t want, std::vector<AuditEvent>* page);
  // Whether the index lists a match of `query` below `seq` that retention did not remove.
  // mu_ held (shared).
  bool StillStoredMatchBelow(const EventQuery& query, uint64_t seq) const;
  // Hands rotated segments whose records are all durable to the sealer. Writer thread.
  void QueueDurableRotated();
  void SealerLoop();
  Status SealOne(const SealJob& job);
  // Unix ns by StoreOptions::wall_clock (tests) or the system clock.
  int64_t WallNow() const;

  const StoreOptions options_;
  FileSystem* const fs_;
  const std::string segments_dir_;
  AppendQueue queue_;

  // The writer state below is used by one thread at a time: the writer thread, or a
  // committing worker in CommitPending, whichever holds commit_mu_.
  std::mutex commit_mu_;
  std::vector<PendingRecord> commit_batch_;  // guarded by commit_mu_
  bool writer_stopped_ = false;              // guarded by commit_mu_: Close() drained the queue
  // Set by a CommitPending that found commit_mu_ taken: the writer drains once more.
  std::atomic<bool> commit_handoff_{false};
  // Asynchronous commits (durability response/strict with direct I/O): null when io_uring
  // is unavailable. A commit is in flight from CommitQueued(async) to ReapCommit; written
  // under commit_mu_, read without it by CommitPending's fast path.
  std::unique_ptr<IoRing> ring_;
  std::atomic<bool> commit_in_flight_{false};
  // The commit in flight holds records no worker will reap (appended without a committing
  // worker: the writer thread keeps reaping and restarting until none are left).
  bool in_flight_unowned_ = false;  // guarded by commit_mu_
  std::atomic<int64_t> commit_started_ns_{0};  // MonotonicNowNs when the one in flight was submitted
  // Each group commit's sync (with direct I/O, its O_DSYNC write), submission to durable
  // (observed under commit_mu_).
  LatencyHistogram commit_latency_;

  // Writer state (holder of commit_mu_; also touched by Open before the thread starts).
  std::unique_ptr<WritableFile> segment_;
  uint64_t segment_first_seq_ = 0;
  merkle::CompactRange segment_start_;    // Merkle state at segment_first_seq_
  int64_t segment_day_ = INT64_MIN;       // UTC day of the active segment's first record
  std::vector<SealJob> rotated_;          // rotated, not yet durable to the end
  uint32_t segment_index_ = 0;
  std::unique_ptr<TreeHeadWriter> heads_;
  merkle::CompactRange frontier_;
  // Leaf hashes of records WriteBatch framed whose Merkle nodes are not yet in frontier_:
  // folded in (FoldPendingLeaves) by CommitQueued once the write is submitted, by
  // TakeDurable, and by WriteBatch before a rotation. Commit lock.
  std::vector<Hash256> pending_leaves_;
  uint64_t next_seq_ = 0;
  std::vector<Unpublished> unpublished_;
  std::vector<RollupEvent> rollup_batch_;  // the rollup side of unpublished_
  Clock::time_point last_sync_;
  Clock::time_point last_head_sync_;
  bool head_dirty_ = false;           // a tree head was written but not yet synced
  std::string write_buffer_;
  uint64_t durable_size_ = 0;        // records synced: what a checkpoint may cover
  merkle::CompactRange durable_frontier_;  // the tree of the durable_size_ records
  Hash256 durable_root_{};                 // cache of its root, for durable_root_size_
  uint64_t durable_root_size_ = 0;
  uint64_t head_size_ = 0;                 // tree size of the newest tree head appended
  Clock::time_point last_head_append_;
  std::unique_ptr<NodeKey> key_;
  std::unique_ptr<CheckpointWriter> checkpoints_;
  std::string origin_;
  bool have_checkpoint_ = false;     // one exists (this run or before)
  uint64_t checkpoint_size_ = 0;     // size of the newest checkpoint
  // Tree sizes and roots at rotations, signed once durable: each part then ends at a
  // checkpoint, so an archive of parts and checkpoints proves every record it holds.
  std::vector<std::pair<uint64_t, Hash256>> boundaries_;
  Clock::time_point last_checkpoint_;

  // Reader-visible state.
  mutable std::shared_mutex mu_;
  EventIndex index_;                                          // guarded by mu_
  std::vector<std::shared_ptr<RandomAccessFile>> readers_;    // guarded by mu_, by segment; null once sealed
  // By segment, like readers_: the key of its chunks in block_cache_ (ReadRecordInto).
  std::vector<uint64_t> segment_cache_ids_;  // guarded by mu_
  // Segment bytes are cached in chunks this big: records of the indexed segments are read
  // one by one, and a pread each was 40% of a 100-row query (query.sh, resource).
  static constexpr uint64_t kSegmentChunkBytes = 16 * 1024;
  // Sealed parts, ascending. The list is never changed in place but replaced (sealing,
  // retention), so a query takes a snapshot for one reference count instead of copying a
  // shared_ptr per part (12% of a correlation-id query over ~80 parts). Pointer guarded by mu_.
  using PartList = std::vector<std::shared_ptr<const part::PartReader>>;
  std::shared_ptr<const PartList> parts_ = std::make_shared<PartList>();
  // A snapshot of parts_ (lock on mu_ taken here).
  std::shared_ptr<const PartList> Parts() const;
  uint64_t removed_below_ = 0;  // guarded by mu_: records below were removed by retention this run
  merkle::CompactRange published_frontier_;                  // guarded by mu_
  uint64_t recovered_truncated_bytes_ = 0;
  std::unique_ptr<Rollups> rollups_;  // null when disabled; fed once per published batch
  // Decoded part blocks for queries, shared by parts_, and chunks of the indexed segments
  // (null: block_cache_bytes is 0).
  const std::shared_ptr<part::BlockCache> block_cache_ =
      options_.block_cache_bytes > 0
          ? std::make_shared<part::BlockCache>(options_.block_cache_bytes)
          : nullptr;

  std::atomic<bool> failed_{false};
  mutable std::mutex fail_mu_;
  Status fail_cause_;  // guarded by fail_mu_
  std::atomic<bool> closed_{false};
  std::atomic<bool> stop_{false};
  std::atomic<int> appends_in_flight_{0};
  std::atomic<uint64_t> appended_{0};
  // Durability::kBatch: acknowledged but not yet synced (the loss window right now), all
  // acknowledged before their sync since open, and those whose sync then failed.
  std::atomic<uint64_t> at_risk_{0};
  std::atomic<uint64_t> acked_before_sync_{0};
  std::atomic<uint64_t> at_risk_when_failed_{0};
  std::atomic<uint64_t> syncs_{0};
  std::atomic<uint64_t> rejected_{0};
  std::atomic<uint64_t> write_errors_{0};
  std::atomic<uint64_t> reserve_failures_{0};
  std::atomic<uint64_t> checkpoints_signed_{0};
  std::atomic<uint64_t> checkpoint_size_published_{0};  // checkpoint_size_, for Stats

  std::atomic<uint64_t> flush_requested_{0};
  std::atomic<uint64_t> flush_done_{0};
  std::mutex flush_mu_;
  std::condition_variable flush_cv_;
  bool writer_exited_ = false;  // guarded by flush_mu_

  // Sealer thread.
  std::mutex seal_mu_;
  std::condition_variable seal_cv_;
  std::deque<SealJob> seal_queue_;  // guarded by seal_mu_
  bool seal_busy_ = false;          // guarded by seal_mu_
  bool seal_stop_ = false;          // guarded by seal_mu_
  std::atomic<uint64_t> seal_deferred_ms_{0};
  std::optional<ProcessCpuLoad> seal_load_;  // sealer thread only (emplaced there: it
                                             // subtracts the CPU time of its own thread)
  std::atomic<bool> seal_cancel_{false};  // Close: stop a sealing in progress
  std::string last_seal_error_;     // guarded by seal_mu_
  std::atomic<uint64_t> parts_sealed_{0};
  std::atomic<uint64_t> seal_errors_{0};
  std::thread sealer_;

  std::mutex close_mu_;
  std::thread writer_;
};

}  // namespace apitrail
