#include "store/log_store.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <system_error>
#include <optional>

#include "core/assert.h"
#include "core/ids.h"
#include "core/record_codec.h"
#include "core/thread_util.h"
#include "core/time_util.h"
#include "store/checkpoint.h"
#include "store/fs/io_ring.h"
#include "store/log/coding.h"
#include "store/log/log_format.h"
#include "store/log/record_writer.h"
#include "store/merkle/merkle_hash.h"
#include "store/part/sealer.h"
#include "store/recovery.h"
#include "store/rollup/rollup_replay.h"

namespace apitrail {

namespace {

// Set by Store::DeclareCommittingThread: this thread commits its own appends.
thread_local bool t_committing_thread = false;

}  // namespace

Result<std::unique_ptr<Store>> Store::Open(const StoreOptions& options) {
  return LogStore::Open(options);
}

void Store::DeclareCommittingThread() { t_committing_thread = true; }

LogStore::LogStore(const StoreOptions& options, FileSystem* fs)
    : options_(options),
      fs_(fs),
      segments_dir_(options.data_dir + "/" + std::string(log::kSegmentsDir)),
      queue_(options.queue_capacity) {}

LogStore::~LogStore() { Close(); }

Result<std::unique_ptr<Store>> LogStore::Open(const StoreOptions& options) {
  if (options.data_dir.empty()) return Status::InvalidArgument("store: data_dir is empty");
  if (options.queue_capacity == 0) return Status::InvalidArgument("store: queue_capacity is 0");
  if (options.max_segment_bytes < 4096) {
    return Status::InvalidArgument("store: max_segment_bytes must be at least 4096");
  }
  FileSystem* fs = options.fs != nullptr ? options.fs : DefaultFileSystem();
  std::unique_ptr<LogStore> store(new LogStore(options, fs));
  APITRAIL_RETURN_IF_ERROR(store->Recover());
  // Only a direct segment (direct_io, not batch: OpenActiveSegment) can sync asynchronously.
  if (options.async_commit && store->segment_->CanSyncAsync()) {
    // Unavailable (seccomp, old kernel): committing threads then block in pwrite instead.
    if (auto ring = IoRing::Create(); ring.ok()) store->ring_ = std::move(ring).value();
  }
  if (store->rollups_) store->rollups_->Start();
  LogStore* raw = store.get();
  store->writer_ = std::thread([raw] {
    NameThisThread("at-writer");
    raw->WriterLoop();
  });
  store->sealer_ = std::thread([raw] { raw->SealerLoop(); });
  return std::unique_ptr<Store>(std::move(store));
}

Status LogStore::Recover() {
  APITRAIL_RETURN_IF_ERROR(fs_->CreateDirs(segments_dir_));
  APITRAIL_RETURN_IF_ERROR(fs_->SyncDir(options_.data_dir));
  // Read before the log: the newest signed checkpoint tells recovery which records were
  // acknowledged (tree heads are synced at most once a second, checkpoints every time).
  APITRAIL_ASSIGN_OR_RETURN(CheckpointFile checkpoints,
                            ReadCheckpoints(fs_, CheckpointsPath(options_.data_dir)));
  const uint64_t checkpointed =
      checkpoints.checkpoints.empty() ? 0 : checkpoints.checkpoints.back().size;
  // The rollup files load on a thread of their own while the parts open (each a second or
  // more at 50 M events): the first segment record replayed into them waits for it.
  std::future<Result<std::unique_ptr<Rollups>>> rollups_loading;
  if (options_.rollups.enabled) {
    auto load = [this] { return Rollups::Open(fs_, options_.data_dir, options_.rollups); };
    try {
      rollups_loading = std::async(std::launch::async, load);
    } catch (const std::system_error&) {  // no thread to be had: load them here
      APITRAIL_ASSIGN_OR_RETURN(rollups_, load());
    }
  }
  auto rollups_loaded = [&]() -> Status {
    if (!rollups_loading.valid()) return Status::Ok();
    APITRAIL_ASSIGN_OR_RETURN(rollups_, rollups_loading.get());
    return Status::Ok();
  };
  bool first_record = true;
  auto visit = [&](const RecordRef& r) -> Status {
    APITRAIL_RETURN_IF_ERROR(rollups_loaded());
    auto event = DecodeRecord(r.payload);
    if (!event.ok()) {
      return Status::Corruption(r.path + ": record " + std::to_string(r.seq) +
                                " does not decode (" + event.status().message() +
                                ") at offset " + std::to_string(r.offset));
    }
    if (rollups_) rollups_->Replay(r.seq, *event);
    if (first_record) index_.SetBase(r.seq);  // the records before it are in sealed parts
    first_record = false;
    index_.Add(r.seq, IndexKeys::FromEvent(std::move(event).value()),
               RecordLocation{r.segment, static_cast<uint32_t>(r.payload.size()), r.offset});
    return Status::Ok();
  };
  APITRAIL_ASSIGN_OR_RETURN(RecoveryResult recovered,
                            apitrail::Recover(fs_, options_.data_dir, visit, checkpointed));
  APITRAIL_RETURN_IF_ERROR(rollups_loaded());
  if (first_record) index_.SetBase(recovered.parts_end);
  {
    auto parts = std::make_shared<PartList>();
    for (auto& p : recovered.parts) {
      p->SetBlockCache(block_cache_);
      parts->push_back(std::move(p));
    }
    parts_ = std::move(parts);
  }
  for (const auto& seg : recovered.segments) {
    APITRAIL_ASSIGN_OR_RETURN(auto reader, fs_->OpenForRead(seg.path));
    readers_.push_back(std::move(reader));
    segment_cache_ids_.push_back(part::BlockCache::NewReaderId());
  }
  if (rollups_ && rollups_->FinishRecovery(recovered.records)) {
    // Rollup files claim records the log lacks: everything is counted again, the sealed
    // parts included (the only case where opening reads their blocks).
    for (const auto& p : *parts_) {
      APITRAIL_RETURN_IF_ERROR(part::ForEachRecord(*p, [&](uint64_t seq, std::string_view rec) -> Status {
        APITRAIL_ASSIGN_OR_RETURN(AuditEvent event, DecodeRecord(rec));
        rollups_->Replay(seq, event);
        return Status::Ok();
      }));
    }
    APITRAIL_RETURN_IF_ERROR(ReplayRollups(fs_, recovered.segments, rollups_.get()));
    rollups_->FinishRecovery(recovered.records);
  }
  frontier_ = recovered.frontier;
  next_seq_ = recovered.records;
  recovered_truncated_bytes_ = recovered.truncated_bytes;
  published_frontier_ = frontier_;
  // Every segment but the active one is complete: seal it (in order) once running.
  size_t sealable = recovered.segments.empty() ? 0 : recovered.segments.size() - 1;
  if (recovered.segments.empty()) {
    APITRAIL_RETURN_IF_ERROR(StartSegment(next_seq_));
  } else if (recovered.segments.back().version != log::kSegmentFormatVersion &&
             next_seq_ > recovered.segments.back().first_seq) {
    // A segment keeps one record encoding: an older segment is left as it is and new
    // records go to a new one.
    sealable = recovered.segments.size();
    APITRAIL_RETURN_IF_ERROR(StartSegment(next_seq_));
  } else {
    const SegmentInfo& active = recovered.segments.back();
    APITRAIL_ASSIGN_OR_RETURN(segment_, OpenActiveSegment(active.path));
    segment_first_seq_ = active.first_seq;
    segment_start_ = active.start;
    segment_index_ = static_cast<uint32_t>(recovered.segments.size() - 1);
    // The newest tree head was written (by the same wall clock) right after its records:
    // its day is the segment's day. Without one covering it, the next write decides.
    if (recovered.last_head && recovered.last_head->size > active.first_seq) {
      segment_day_ = FloorDiv(recovered.last_head->time_ns, kNsPerDay);
    }
  }
  for (size_t i = 0; i < sealable; ++i) {
    const SegmentInfo& seg = recovered.segments[i];
    // A rotation an earlier run stopped before signing: signed with the first checkpoint,
    // unless a later one exists already (MaybeCheckpoint skips those).
    const merkle::CompactRange& end = i + 1 < recovered.segments.size() ? recovered.segments[i + 1].start : frontier_;
    if (seg.end_seq > seg.first_seq && end.size() == seg.end_seq) boundaries_.emplace_back(seg.end_seq, end.Root());
    if (options_.seal_rotated && seg.end_seq > seg.first_seq) {
      // Left by an earlier run: rotated_at at the epoch, so sealed without deferral.
      seal_queue_.push_back({seg.path, seg.first_seq, seg.end_seq, static_cast<uint32_t>(i), seg.start,
                             std::chrono::steady_clock::time_point{}});
    }
  }
  APITRAIL_ASSIGN_OR_RETURN(heads_, TreeHeadWriter::Open(fs_, options_.data_dir, options_.node));
  durable_size_ = next_seq_;
  durable_frontier_ = frontier_;
  head_size_ = recovered.last_head ? recovered.last_head->size : 0;
  APITRAIL_RETURN_IF_ERROR(OpenCheckpoints(DurableRoot(), std::move(checkpoints)));
  last_sync_ = Clock::now();
  return Status::Ok();
}

Status LogStore::OpenCheckpoints(const Hash256& root, CheckpointFile file) {
  origin_ = CheckpointOrigin(options_.node);
  if (Status st = ValidateKeyName(origin_); !st.ok()) {
    return Status::InvalidArgument("store: node name cannot be a checkpoint origin: " + st.message());
  }
  const std::string key_path = options_.data_dir + "/" + std::string(kNodeKeyFile);
  APITRAIL_ASSIGN_OR_RETURN(key_, NodeKey::LoadOrCreate(key_path));
  const std::string path = CheckpointsPath(options_.data_dir);
  if (file.exists && file.valid_bytes < file.file_bytes) {
    // A torn tail: the checkpoint being written when the node stopped. Its records are
    // durable, so the next checkpoint covers them again.
    recovered_truncated_bytes_ += file.file_bytes - file.valid_bytes;
    APITRAIL_RETURN_IF_ERROR(fs_->Truncate(path, file.valid_bytes));
  } else if (file.exists && file.file_bytes == 0) {
    APITRAIL_RETURN_IF_ERROR(fs_->Truncate(path, 0));  // torn header: rewritten below
  }
  if (!file.checkpoints.empty()) {
    const CheckpointRecord& last = file.checkpoints.back();
    const std::string where = " at offset " + std::to_string(last.offset);
    if (last.size > next_seq_) {
      return Status::Corruption(path + ": checkpoint says " + std::to_string(last.size) +
                                " records, log has " + std::to_string(next_seq_) + where);
    }
    if (last.size == next_seq_ && last.checkpoint.root != root) {
      return Status::Corruption(path + ": root mismatch at tree size " + std::to_string(last.size) +
                                where);
    }
    have_checkpoint_ = true;
    checkpoint_size_ = last.size;
    checkpoint_size_published_.store(last.size);
    if (options_.on_checkpoint) options_.on_checkpoint(SignedCheckpoint{last.size, last.time_ns, last.note});
    // Age the steady clock by the checkpoint's wall-clock age, so the heartbeat and the
    // interval count from when it was really signed.
    const int64_t age_ns = std::max<int64_t>(0, NowNs() - last.time_ns);
    const auto cap = std::chrono::milliseconds(options_.checkpoint_heartbeat_ms);
    last_checkpoint_ = Clock::now() - std::min<Clock::duration>(std::chrono::nanoseconds(age_ns), cap);
  }
  APITRAIL_ASSIGN_OR_RETURN(checkpoints_, CheckpointWriter::Open(fs_, options_.data_dir, options_.node));
  return Status::Ok();
}

LogStore::Clock::time_point LogStore::NextCheckpointDue() const {
  if (!boundaries_.empty() && boundaries_.front().first <= durable_size_) return Clock::time_point::min();
  if (failed_.load()) return Clock::time_point::max();
  if (durable_size_ > checkpoint_size_ || (!have_checkpoint_ && durable_size_ > 0)) {
    if (options_.checkpoint_every_events > 0 &&
        durable_size_ - checkpoint_size_ >= options_.checkpoint_every_events) {
      return Clock::time_point::min();  // enough new records: due now
    }
    return have_checkpoint_ ? last_checkpoint_ + std::chrono::milliseconds(options_.checkpoint_interval_ms)
                            : Clock::time_point::min();  // the first one is due at once
  }
  if (have_checkpoint_) return last_checkpoint_ + std::chrono::milliseconds(options_.checkpoint_heartbeat_ms);
  return Clock::time_point::max();
}

Status LogStore::MaybeCheckpoint(bool final) {
  const auto now = Clock::now();
  // Rotations first, in order: a checkpoint's size never goes back.
  size_t n = 0;
  for (; n < boundaries_.size() && boundaries_[n].first <= durable_size_; ++n) {
    if (boundaries_[n].first > checkpoint_size_) {
      APITRAIL_RETURN_IF_ERROR(AppendCheckpoint(boundaries_[n].first, boundaries_[n].second, now));
    }
  }
  boundaries_.erase(boundaries_.begin(), boundaries_.begin() + static_cast<std::ptrdiff_t>(n));
  const bool fresh = durable_size_ > checkpoint_size_ || (!have_checkpoint_ && durable_size_ > 0);
  if (!(fresh && final) && now < NextCheckpointDue()) return Status::Ok();
  return AppendCheckpoint(durable_size_, DurableRoot(), now);
}

Status LogStore::AppendCheckpoint(uint64_t size, const Hash256& root, Clock::time_point now) {
  Checkpoint c{origin_, size, root};
  APITRAIL_ASSIGN_OR_RETURN(std::string note, SignCheckpoint(c, *key_));
  const int64_t signed_at = NowNs();
  APITRAIL_RETURN_IF_ERROR(checkpoints_->Append(c.size, signed_at, note));
  have_checkpoint_ = true;
  checkpoint_size_ = c.size;
  last_checkpoint_ = now;
  checkpoints_signed_.fetch_add(1);
  checkpoint_size_published_.store(c.size);
  if (options_.on_checkpoint) options_.on_checkpoint(SignedCheckpoint{c.size, signed_at, std::move(note)});
  return Status::Ok();
}

Result<std::unique_ptr<WritableFile>> LogStore::OpenActiveSegment(const std::string& path) {
  if (options_.direct_io && options_.durability != Durability::kBatch) return fs_->OpenForSyncedAppend(path);
  return fs_->OpenForAppend(path);
}

int64_t LogStore::WallNow() const { return options_.wall_clock ? options_.wall_clock() : NowNs(); }

Status LogStore::StartSegment(uint64_t first_seq) {
  APITRAIL_ASSERT(pending_leaves_.empty(), "a segment starts at the Merkle state of every earlier record");
  const std::string path = segments_dir_ + "/" + log::SegmentFileName(first_seq);
  APITRAIL_ASSIGN_OR_RETURN(auto file, OpenActiveSegment(path));
  if (file->Size() != 0) return Status::Corruption(path + ": new segment already exists");
  // The header is durable before any record goes in, so recovery can tell a crash during
  // rotation (short header, no records) from damage.
  std::string header;
  log::AppendFileHeader(&header, log::kSegmentMagic, options_.node, first_seq);
  APITRAIL_RETURN_IF_ERROR(file->Append(header));
  APITRAIL_RETURN_IF_ERROR(file->Sync());
  APITRAIL_RETURN_IF_ERROR(fs_->SyncDir(segments_dir_));
  APITRAIL_ASSIGN_OR_RETURN(auto reader, fs_->OpenForRead(path));
  {
    std::unique_lock<std::shared_mutex> lock(mu_);
    readers_.push_back(std::move(reader));
    segment_cache_ids_.push_back(part::BlockCache::NewReaderId());
    segment_index_ = static_cast<uint32_t>(readers_.size() - 1);
  }
  segment_ = std::move(file);
  segment_first_seq_ = first_seq;
  segment_start_ = frontier_;
  segment_day_ = INT64_MIN;
  return Status::Ok();
}

Status LogStore::Append(AuditEvent&& event, AppendCallback done, Hash256* leaf) {
  return AppendEvent(event, std::move(done), leaf, &event);
}

Status LogStore::Append(const AuditEvent& event, AppendCallback done, Hash256* leaf) {
  return AppendEvent(event, std::move(done), leaf, nullptr);
}

Status LogStore::AppendEvent(const AuditEvent& event, AppendCallback done, Hash256* leaf, AuditEvent* movable) {
  if (failed_.load()) return FailedStatus();
  // Encoding and hashing happen here, on the caller's thread, so workers share the CPU
  // work and the single writer only moves bytes. A missing id and node go into the record
  // only, never into `event`.
  MintedEventId minted;
  if (event.id.empty()) minted = MintEventId(event.time_ns != 0 ? event.time_ns : NowNs());
  const std::string_view id = event.id.empty() ? minted.view() : std::string_view(event.id);
  PendingRecord record;
  record.order = event.id.empty() ? minted.counter : EventIdCounter(id);
  bool replaced = false;
  record.payload =
      EncodeRecord(event, id, event.node.empty() ? options_.node : event.node, &replaced);
  if (record.payload.size() > log::kMaxPayloadSize) {
    return Status::InvalidArgument("store: event record of " +
                                   std::to_string(record.payload.size()) + " bytes is too large");
  }
  record.leaf = merkle::LeafHash(merkle::ThreadHasher(), record.payload);
  if (leaf != nullptr) *leaf = record.leaf;
  // Invalid UTF-8 was written as U+FFFD: index (and count) the event as stored, as Open
  // rebuilds it. Keyed by the bytes sent, it was found by the value the API shows only
  // after a restart, and by the bytes sent never (the record then does not match).
  std::optional<AuditEvent> stored;
  if (replaced) {
    APITRAIL_ASSIGN_OR_RETURN(stored, DecodeRecord(record.payload));
  }
  std::array<size_t, kRollupDims> key_hashes;
  record.keys = stored ? IndexKeys::FromEvent(*stored, stored->id, &key_hashes)
                       : IndexKeys::FromEvent(event, id, &key_hashes);
  if (rollups_) {
    record.rollup = stored              ? RollupEvent::Take(*stored, &key_hashes)
                    : movable != nullptr ? RollupEvent::Take(*movable, &key_hashes)
                                         : RollupEvent::Copy(event, &key_hashes);
  }
  record.done = std::move(done);

  // Close() waits for in-flight appends before it stops the writer, so an accepted record
  // is always drained (seq_cst hand-shake between the two flags).
  appends_in_flight_.fetch_add(1);
  Status result;
  if (closed_.load()) {
    result = Status::Unavailable("store is closed");
  } else if (failed_.load()) {
    result = FailedStatus();
  } else if (!queue_.Push(std::move(record), t_committing_thread)) {
    rejected_.fetch_add(1);
    result = Status::ResourceExhausted("store queue is full (" +
                                       std::to_string(options_.queue_capacity) + " events)");
  }
  appends_in_flight_.fetch_sub(1);
  return result;
}

Status LogStore::WriteBatch(std::vector<PendingRecord>* batch) {
  write_buffer_.clear();
  uint64_t base = segment_->Size();
  // One clock reading per batch: a batch is written at one moment.
  const int64_t day = options_.rotate_daily ? FloorDiv(WallNow(), kNsPerDay) : 0;
  for (PendingRecord& r : *batch) {
    const size_t frame = log::FrameSize(r.payload.size());
    const bool has_records = segment_first_seq_ < next_seq_;
    const bool new_day = options_.rotate_daily && segment_day_ != INT64_MIN && day != segment_day_;
    if (has_records && (new_day || base + write_buffer_.size() + frame > options_.max_segment_bytes)) {
      FoldPendingLeaves();  // the boundary's root and the next segment's start need them
      if (!write_buffer_.empty()) APITRAIL_RETURN_IF_ERROR(segment_->Append(write_buffer_));
      write_buffer_.clear();
      // The old segment must be complete on disk before a newer one exists: recovery only
      // forgives damage in the last segment.
      APITRAIL_RETURN_IF_ERROR(segment_->Sync());
      syncs_.fetch_add(1);
      APITRAIL_RETURN_IF_ERROR(CloseSegment());
      boundaries_.emplace_back(next_seq_, frontier_.Root());
      rotated_.push_back({segments_dir_ + "/" + log::SegmentFileName(segment_first_seq_),
                          segment_first_seq_, next_seq_, segment_index_, segment_start_,
                          std::chrono::steady_clock::now()});
      APITRAIL_RETURN_IF_ERROR(StartSegment(next_seq_));
      base = segment_->Size();
    }
    // Its first record (or the first one after a restart that could not tell its day).
    if (segment_first_seq_ == next_seq_ || segment_day_ == INT64_MIN) segment_day_ = day;
    const RecordLocation location{segment_index_, static_cast<uint32_t>(r.payload.size()),
                                  base + write_buffer_.size()};
    r.seq = next_seq_++;
    if (rollups_) {
      r.rollup.seq = r.seq;
      rollup_batch_.push_back(std::move(r.rollup));
    }
    log::AppendFrame(&write_buffer_, r.seq, r.payload);
    pending_leaves_.push_back(r.leaf);
    Unpublished u{r.seq, std::move(r.keys), location, nullptr};
    if (options_.durability == Durability::kResponse) {
      u.done = std::move(r.done);
      r.done = nullptr;
    }
    unpublished_.push_back(std::move(u));
  }
  if (!write_buffer_.empty()) {
    ReserveFor(write_buffer_.size());
    APITRAIL_RETURN_IF_ERROR(segment_->Append(write_buffer_));
  }
  return Status::Ok();
}

void LogStore::FoldPendingLeaves() {
  for (const Hash256& leaf : pending_leaves_) frontier_.Append(leaf);
  pending_leaves_.clear();
}

void LogStore::ReserveFor(uint64_t bytes) {
  // Not fatal: without a reserve the append below still works (or fails on its own), it
  // only costs a metadata write per sync. A full disk then fails the append itself.
  if (Status st = segment_->Reserve(bytes); !st.ok()) reserve_failures_.fetch_add(1);
}

Status LogStore::CloseSegment() {
  // A segment that is no longer written keeps no zero reserve: only the active one may end
  // in zeros (FORMAT.md §3). The caller synced the records already.
  Status st = segment_->DropReserve();
  Status closed = segment_->Close();
  segment_.reset();
  return st.ok() ? closed : st;
}

Status LogStore::SyncAndPublish(bool force_head_sync) {
  const int64_t started_ns = MonotonicNowNs();
  APITRAIL_RETURN_IF_ERROR(segment_->Sync());
  commit_latency_.Observe(static_cast<uint64_t>(MonotonicNowNs() - started_ns) / 1000);
  return Publish(force_head_sync);
}

Status LogStore::Publish(bool force_head_sync) { return PublishDurable(TakeDurable(), force_head_sync); }

LogStore::Durable LogStore::TakeDurable() {
  FoldPendingLeaves();  // the durable tree covers every framed record (a no-op after a submission)
  syncs_.fetch_add(1);
  durable_size_ = next_seq_;  // every record written so far is now synced
  durable_frontier_ = frontier_;
  at_risk_.store(0);
  Durable d;
  d.end_seq = next_seq_;
  d.frontier = frontier_;
  d.batch.swap(unpublished_);
  d.rollups.swap(rollup_batch_);
  return d;
}

Status LogStore::PublishDurable(Durable durable, bool force_head_sync) {
  std::vector<Unpublished>& batch = durable.batch;
  {
    std::unique_lock<std::shared_mutex> lock(mu_);
    // Prefetched a few records ahead: each Add misses the cache three times at random
    // places of the id tables, and overlapping those misses is most of its cost.
    constexpr size_t kPrefetchAhead = 8;
    for (size_t i = 0; i < std::min(kPrefetchAhead, batch.size()); ++i) index_.Prefetch(batch[i].keys);
    for (size_t i = 0; i < batch.size(); ++i) {
      if (i + kPrefetchAhead < batch.size()) index_.Prefetch(batch[i + kPrefetchAhead].keys);
      index_.Add(batch[i].seq, std::move(batch[i].keys), batch[i].location);
    }
    published_frontier_ = durable.frontier;
  }
  if (rollups_) rollups_->AddCommitted(&durable.rollups, durable.end_seq);
  QueueDurableRotated();
  last_sync_ = Clock::now();
  if (options_.durability == Durability::kResponse) {
    appended_.fetch_add(batch.size());
    for (auto& u : batch) {
      if (u.done) u.done(Status::Ok(), u.seq);
    }
    if (options_.after_callbacks) options_.after_callbacks();
  }
  return MaybeAppendHead(force_head_sync);
}

Status LogStore::MaybeAppendHead(bool force) {
  if (failed_.load()) return Status::Ok();  // a failed store covers nothing more
  // After the segment sync, so a tree head never covers records that are not durable. The
  // root costs a node hash per level, so a head is appended at most every kHeadIntervalMs
  // of commits (and on flush/close), and its fdatasync is paid at most once a second: a
  // head that is not synced proves nothing after a crash anyway.
  if (head_size_ == durable_size_) return Status::Ok();
  const auto now = Clock::now();
  if (!force && now - last_head_append_ < std::chrono::milliseconds(kHeadIntervalMs)) return Status::Ok();
  const bool sync_head = force || now - last_head_sync_ >= std::chrono::seconds(1);
  APITRAIL_RETURN_IF_ERROR(heads_->Append(durable_size_, DurableRoot(), WallNow(), sync_head));
  head_size_ = durable_size_;
  last_head_append_ = now;
  if (sync_head) last_head_sync_ = now;
  head_dirty_ = !sync_head;
  return Status::Ok();
}

const Hash256& LogStore::DurableRoot() {
  if (durable_root_size_ != durable_size_ || durable_size_ == 0) {
    durable_root_ = durable_frontier_.Root();
    durable_root_size_ = durable_size_;
  }
  return durable_root_;
}

void LogStore::QueueDurableRotated() {
  if (rotated_.empty()) return;
  if (!options_.seal_rotated) {
    rotated_.clear();
    return;
  }
  std::lock_guard<std::mutex> lock(seal_mu_);
  size_t n = 0;
  while (n < rotated_.size() && rotated_[n].end_seq <= durable_size_) seal_queue_.push_back(std::move(rotated_[n++]));
  rotated_.erase(rotated_.begin(), rotated_.begin() + static_cast<std::ptrdiff_t>(n));
  seal_cv_.notify_one();
  if (n > 0) {
    // Made durable by a worker's commit, maybe: wake the writer to sign the rotation's
    // checkpoint now, ahead of the sealer and the archiver, not at its next deadline.
    commit_handoff_.store(true);
    queue_.Notify();
  }
}

void LogStore::SealerLoop() {
  // Sealing is background work (version 2 parts: ~4 µs per record) that may lag: it must
  // not take the core or the disk from the request path. It waits while the request path
  // saturates the CPUs (DeferSealWhileBusy, bounded). At SCHED_IDLE it takes the
  // time the core would otherwise idle, and it yields every 100 µs (BackgroundYieldPoint:
  // a woken thread did not always preempt it); its reads and writes go after everyone
  // else's. Should it fall behind (sustained full load leaves no idle time), it steps up to
  // nice 10 so that rotated segments, and the memory their indexes hold, cannot pile up.
  NameThisThread("at-sealer");
  if (options_.seal_at_low_priority) SetThisThreadIdleIo();
  seal_load_.emplace();
  std::optional<CpuPriority> priority;
  while (true) {
    SealJob job;
    size_t waiting = 0;
    {
      std::unique_lock<std::mutex> lock(seal_mu_);
      seal_cv_.wait(lock, [this] { return seal_stop_ || !seal_queue_.empty(); });
      if (seal_stop_) return;  // what is left is sealed after the next open
      if (!DeferSealWhileBusy(lock)) return;
      job = seal_queue_.front();
      waiting = seal_queue_.size() - 1;  // behind this one
      seal_busy_ = true;
    }
    const CpuPriority want = waiting >= kSealBacklogForShare ? CpuPriority::kBackground : CpuPriority::kIdle;
    if (options_.seal_at_low_priority && priority != want) {
      SetThisThreadCpuPriority(want);
      priority = want;
    }
    const Status st = SealOne(job);
    std::lock_guard<std::mutex> lock(seal_mu_);
    seal_busy_ = false;
    seal_queue_.pop_front();
    if (seal_cancel_.load()) return;  // shutdown: the segment is sealed after the next start
    if (!st.ok()) {
      // Parts must stay a gap-free prefix of the log: nothing after a failed segment is
      // sealed in this run. The segments stay and are sealed again after the next open.
      seal_errors_.fetch_add(1);
      last_seal_error_ = st.ToString();
      seal_queue_.clear();
      seal_stop_ = true;
      return;
    }
  }
}

bool LogStore::DeferSealWhileBusy(std::unique_lock<std::mutex>& lock) {
  // SCHED_IDLE and the yields keep a seal off the core while the request path needs it,
  // but not off the caches, the memory bus and the block layer: a seal during a saturating
  // load still cost the pinned gateway ~8% of its requests/s and its p99 several ms
  // (bench/README.md, session 6). Deferring to a lull is what a diurnal load allows; the
  // bounds (kSealDeferMaxQueued, kSealDeferMaxAge) keep a sustained one from piling up
  // segments, and the seal then competes as before.
  const auto started = std::chrono::steady_clock::now();
  bool deferred = false;
  while (seal_queue_.size() < kSealDeferMaxQueued &&
         std::chrono::steady_clock::now() - seal_queue_.front().rotated_at < kSealDeferMaxAge) {
    // Decide on a recent window: at least kSealDeferMinWindow (a previous seal may have
    // ended just now), at most about a poll interval (a long idle would dilute a burst).
    const auto since = std::chrono::nanoseconds(seal_load_->NsSinceSample());
    std::chrono::nanoseconds wait{0};
    if (since > kSealDeferPoll * 4) {
      (void)seal_load_->Sample();
      wait = kSealDeferPoll;
    } else if (since < kSealDeferMinWindow) {
      wait = kSealDeferMinWindow - since;
    }
    if (wait.count() > 0 && seal_cv_.wait_for(lock, wait, [this] { return seal_stop_; })) return false;
    if (!RequestPathBusy(*seal_load_)) break;
    deferred = true;
    if (seal_cv_.wait_for(lock, kSealDeferPoll, [this] { return seal_stop_; })) return false;
  }
  if (deferred) {
    seal_deferred_ms_.fetch_add(static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                          std::chrono::steady_clock::now() - started)
                                                          .count()));
  }
  return true;
}

bool LogStore::RequestPathBusy(ProcessCpuLoad& load) {
  const double used = load.Sample();
  if (options_.request_path_busy) return options_.request_path_busy();
  return used >= kSealDeferLoad;
}

Status LogStore::SealOne(const SealJob& job) {
  // Rollup files must count the segment's records before it goes: a restart replays only
  // segments into the rollups, so records sealed while their hour could not be written
  // would be missing from every stats answer after a crash. Written first, so a failure
  // leaves nothing half done: the segment stays and is sealed again after the next open.
  if (rollups_) {
    if (Status st = rollups_->Persist(); !st.ok()) {
      return Status(st.code(), "rollups not written, " + job.path + " kept: " + st.message());
    }
  }
  APITRAIL_ASSIGN_OR_RETURN(part::SealResult sealed,
                            part::SealSegment(fs_, options_.data_dir, job.path, job.first_seq, job.start,
                                              options_.node, options_.part_block_bytes, &seal_cancel_));
  if (sealed.part->end_seq() != job.end_seq) {
    return Status::Corruption(job.path + ": sealed " + std::to_string(sealed.part->count()) +
                              " records, expected " + std::to_string(job.end_seq - job.first_seq) + " at offset 0");
  }
  sealed.part->SetBlockCache(block_cache_);
  uint64_t segment_cache_id;
  {
    std::unique_lock<std::shared_mutex> lock(mu_);
    auto parts = std::make_shared<PartList>(*parts_);
    parts->push_back(std::move(sealed.part));
    parts_ = std::move(parts);
    readers_[job.segment_index].reset();
    segment_cache_id = segment_cache_ids_[job.segment_index];
  }
  // Outside mu_: the walk covers the whole cache. A query that took the segment before the
  // switch may still insert a chunk under its id afterwards; that one ages out of the LRU.
  if (block_cache_) block_cache_->EraseReader(segment_cache_id);
  APITRAIL_RETURN_IF_ERROR(fs_->Remove(job.path));
  APITRAIL_RETURN_IF_ERROR(fs_->SyncDir(segments_dir_));
  parts_sealed_.fetch_add(1);
  return Status::Ok();
}

void LogStore::Fail(const Status& cause) {
  {
    std::lock_guard<std::mutex> lock(fail_mu_);
    if (fail_cause_.ok()) fail_cause_ = cause;
  }
  write_errors_.fetch_add(1);
  failed_.store(true);
  at_risk_when_failed_.fetch_add(at_risk_.exchange(0));
  // Records written but not durable are never published; their callers learn it now.
  const Status st = FailedStatus();
  for (auto& u : unpublished_) {
    if (u.done) u.done(st, u.seq);
  }
  unpublished_.clear();
  rollup_batch_.clear();
}

Status LogStore::FailedStatus() const {
  std::lock_guard<std::mutex> lock(fail_mu_);
  return Status::Unavailable("store failed, reopen required: " + fail_cause_.ToString());
}

bool LogStore::ReapCommit(bool wait, bool start_next) {
  if (!commit_in_flight_.load()) return true;
  std::optional<int> result = wait ? std::optional<int>(ring_->Wait()) : ring_->Poll();
  if (!result) return false;
  commit_in_flight_.store(false);
  in_flight_unowned_ = false;
  Status st = segment_->FinishSync(*result);
  if (!st.ok()) {
    Fail(st);  // completes the batch's callbacks with the failure
    return true;
  }
  commit_latency_.Observe(
      static_cast<uint64_t>(MonotonicNowNs() - commit_started_ns_.load(std::memory_order_relaxed)) / 1000);
  // The store failed while this commit was in flight (publishing the one before it): its
  // callers were told so, and nothing it holds may be published or covered by a tree head.
  if (failed_.load()) return true;
  Durable durable = TakeDurable();
  // The next commit first: publishing takes a few hundred µs of CPU for a large batch,
  // which the device's sync of the next one then hides instead of following.
  if (start_next) CommitQueued(false, true);
  st = PublishDurable(std::move(durable), false);
  if (!st.ok()) Fail(st);  // the records just published stay published; the next commit's fail
  return true;
}

void LogStore::CommitQueued(bool force_head_sync, bool async) {
  std::vector<PendingRecord>& batch = commit_batch_;
  batch.clear();
  const size_t unowned = queue_.Drain(&batch);
  if (batch.empty()) return;
  const bool batch_mode = options_.durability == Durability::kBatch;
  if (failed_.load()) {
    const Status st = FailedStatus();
    for (auto& r : batch) {
      if (r.done) r.done(st, 0);
    }
    return;
  }
  Status st = WriteBatch(&batch);
  if (st.ok() && !batch_mode) {
    if (async && ring_ && segment_->CanSyncAsync()) {
      // Submitted: the records are published by ReapCommit once the ring reports the write.
      Result<bool> started = segment_->StartSync(*ring_);
      if (started.ok() && *started) {
        commit_started_ns_.store(MonotonicNowNs(), std::memory_order_relaxed);
        in_flight_unowned_ = unowned > 0;
        commit_in_flight_.store(true);
        // The batch's Merkle nodes are hashed while the device writes it, not before the
        // write starts: in store_append_bench this halved the time from one commit's
        // completion to the next one's submission (~105 to ~60 us). Nothing reads
        // frontier_ before this returns (the commit lock is held).
        FoldPendingLeaves();
        return;
      }
      st = started.ok() ? Publish(force_head_sync) : started.status();
    } else {
      st = SyncAndPublish(force_head_sync);
    }
  }
  FoldPendingLeaves();  // batch mode, or a failed write (Publish folded the others)
  if (!st.ok()) {
    Fail(st);
    const Status failed = FailedStatus();
    for (auto& r : batch) {
      if (r.done) r.done(failed, r.seq);
    }
  } else if (batch_mode) {
    at_risk_.fetch_add(batch.size());
    acked_before_sync_.fetch_add(batch.size());
    for (auto& r : batch) {
      appended_.fetch_add(1);
      if (r.done) r.done(Status::Ok(), r.seq);
    }
  }
}

bool LogStore::CommitPending() {
  if (!queue_.HasReady() && !commit_in_flight_.load()) return true;
  std::unique_lock<std::mutex> commit(commit_mu_, std::try_to_lock);
  if (!commit.owns_lock()) {
    // The holder may have drained before our records arrived: have the writer look again
    // (it re-checks this flag before it sleeps, and is woken if it already does).
    commit_handoff_.store(true);
    queue_.Notify();
    return false;
  }
  if (writer_stopped_) return true;  // Close() drained everything already
  if (options_.durability == Durability::kBatch) {
    // Written and acknowledged here; the writer syncs on its clock. It may be asleep for a
    // second with nothing unsynced: the first unsynced batch wakes it (once per interval).
    const bool had_unsynced = !unpublished_.empty();
    CommitQueued(false, false);
    if (!had_unsynced && !unpublished_.empty()) {
      commit_handoff_.store(true);
      queue_.Notify();
    }
  } else if (ReapCommit(false, true)) {
    // One commit in flight at a time: a later one starts when the ring's eventfd reports
    // this one (the worker then calls here again).
    if (!commit_in_flight_.load()) CommitQueued(false, true);
  }
  if (options_.after_callbacks) options_.after_callbacks();
  return true;
}

bool LogStore::ReapCompletedCommit() {
  if (!CommitCompleted()) return false;
  std::unique_lock<std::mutex> commit(commit_mu_, std::try_to_lock);
  if (!commit.owns_lock() || writer_stopped_) return false;
  if (!ReapCommit(false, true)) return false;
  if (!commit_in_flight_.load()) CommitQueued(false, true);
  if (options_.after_callbacks) options_.after_callbacks();
  return true;
}

void LogStore::WriterLoop() {
  const auto interval = std::chrono::milliseconds(options_.batch_interval_ms);
  const bool batch_mode = options_.durability == Durability::kBatch;
  while (true) {
    std::unique_lock<std::mutex> commit(commit_mu_);
    commit_handoff_.store(false);
    // Read the flush ticket and the stop flag BEFORE draining: everything appended before
    // them is then in this drain.
    const uint64_t flush_req = flush_requested_.load();
    const bool stopping = stop_.load();
    const bool urgent = flush_req > flush_done_.load() || stopping;
    if (!urgent && !batch_mode && ring_ && segment_ && segment_->CanSyncAsync()) {
      // Commits overlap their publishing (ReapCommit): what workers do on their own, the
      // writer does for records appended without one.
      ReapCommit(true, true);
      if (!commit_in_flight_.load()) CommitQueued(false, true);
    } else {
      ReapCommit(true, false);  // an asynchronous commit still in flight: finish it first
      CommitQueued(urgent, false);
    }
    if (!commit_in_flight_.load() && !unpublished_.empty() && !failed_.load() &&
        (flush_req > flush_done_.load() || stopping || Clock::now() - last_sync_ >= interval)) {
      Status st = SyncAndPublish(flush_req > flush_done_.load() || stopping);
      if (!st.ok()) Fail(st);
    }
    if (!failed_.load() && head_size_ < durable_size_) {
      // Commits that came too soon after the last head: cover them once it is due.
      if (Status st = MaybeAppendHead(stopping || flush_req > flush_done_.load()); !st.ok()) Fail(st);
    }
    if (head_dirty_ && !failed_.load() &&
        (stopping || flush_req > flush_done_.load() || Clock::now() - last_head_sync_ >= std::chrono::seconds(1))) {
      // Quiet now: make the newest tree head durable too.
      if (Status st = heads_->Sync(); !st.ok()) Fail(st);
      last_head_sync_ = Clock::now();
      head_dirty_ = false;
    }
    // After the batch's callbacks ran: signing never delays a response.
    if (!failed_.load() && (stopping || Clock::now() >= NextCheckpointDue())) {
      if (Status st = MaybeCheckpoint(stopping); !st.ok()) Fail(st);
    }
    // Completions of failed or batch-mode appends above; a no-op when none were deferred.
    if (options_.after_callbacks) options_.after_callbacks();
    if (flush_req > flush_done_.load()) {
      std::lock_guard<std::mutex> lock(flush_mu_);
      flush_done_.store(flush_req);
      flush_cv_.notify_all();
    }
    if (stopping) {
      writer_stopped_ = true;
      break;
    }
    // A commit of records no worker reaps: wait for it (top of the loop), not for the queue.
    if (commit_in_flight_.load() && in_flight_unowned_) continue;
    auto deadline = std::min(batch_mode && !unpublished_.empty() ? last_sync_ + interval
                                                                 : Clock::now() + std::chrono::seconds(1),
                             std::max(NextCheckpointDue(), Clock::now()));
    if (head_size_ < durable_size_) {
      deadline = std::min(deadline, last_head_append_ + std::chrono::milliseconds(kHeadIntervalMs));
    }
    commit.unlock();
    queue_.Wait(deadline, [this] {
      return stop_.load() || flush_requested_.load() > flush_done_.load() || commit_handoff_.load();
    });
  }
  std::lock_guard<std::mutex> lock(flush_mu_);
  writer_exited_ = true;
  flush_cv_.notify_all();
}

Status LogStore::Flush() {
  if (!closed_.load()) {
    const uint64_t ticket = flush_requested_.fetch_add(1) + 1;
    queue_.Notify();
    std::unique_lock<std::mutex> lock(flush_mu_);
    flush_cv_.wait(lock, [&] { return flush_done_.load() >= ticket || writer_exited_; });
  }
  return failed_.load() ? FailedStatus() : Status::Ok();
}

void LogStore::Close() {
  std::lock_guard<std::mutex> lock(close_mu_);
  if (!writer_.joinable()) return;
  closed_.store(true);
  while (appends_in_flight_.load() > 0) std::this_thread::yield();
  stop_.store(true);
  queue_.Notify();
  writer_.join();
  {
    std::lock_guard<std::mutex> seal_lock(seal_mu_);
    seal_stop_ = true;
    seal_cancel_.store(true);
    seal_cv_.notify_all();
  }
  if (sealer_.joinable()) sealer_.join();
  if (segment_) (void)CloseSegment();
  heads_.reset();
  checkpoints_.reset();
  if (rollups_) rollups_->Close();
}

Status LogStore::RemoveOldestPart(const std::string& path) {
  const auto name_of = [](const std::string& p) { return std::filesystem::path(p).filename().string(); };
  const std::string name = name_of(path);
  {
    std::unique_lock<std::shared_mutex> lock(mu_);
    const PartList& now = *parts_;
    auto it = std::find_if(now.begin(), now.end(),
                           [&](const auto& p) { return name_of(p->path()) == name; });
    if (it != now.end()) {
      if (it != now.begin()) {
        return Status::InvalidArgument("part " + name + " is not the oldest part served (" +
                                       name_of(now.front()->path()) +
                                       "): the store keeps one contiguous range");
      }
      removed_below_ = std::max(removed_below_, (*it)->end_seq());
      parts_ = std::make_shared<PartList>(now.begin() + 1, now.end());
    }
  }
  const std::string dir = options_.data_dir + "/" + std::string(part::kPartsDir);
  APITRAIL_RETURN_IF_ERROR(fs_->Remove(dir + "/" + name));
  return fs_->SyncDir(dir);
}

std::shared_ptr<const LogStore::PartList> LogStore::Parts() const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  return parts_;
}

std::shared_ptr<const part::PartReader> LogStore::PartOfLocked(uint64_t seq) const {
  auto it = std::upper_bound(parts_->begin(), parts_->end(), seq,
                             [](uint64_t s, const auto& p) { return s < p->first_seq(); });
  if (it == parts_->begin()) return nullptr;
  --it;
  return seq < (*it)->end_seq() ? *it : nullptr;
}

Result<AuditEvent> LogStore::ReadRecord(uint64_t seq) {
  AuditEvent event;
  APITRAIL_RETURN_IF_ERROR(ReadRecordInto(seq, &event));
  return event;
}

Status LogStore::ReadRecordInto(uint64_t seq, AuditEvent* event) {
  RecordLocation loc;
  std::shared_ptr<RandomAccessFile> file;
  uint64_t segment_cache_id = 0;
  std::shared_ptr<const part::PartReader> part;
  {
    std::shared_lock<std::shared_mutex> lock(mu_);
    if (seq >= index_.size()) return Status::NotFound("no record with seq " + std::to_string(seq));
    if (seq >= index_.base()) {
      loc = index_.location(seq);
      file = readers_[loc.segment];
      segment_cache_id = segment_cache_ids_[loc.segment];
    }
    if (!file) {
      part = PartOfLocked(seq);
      if (!part) return Status::NotFound("no record with seq " + std::to_string(seq) + " (no longer stored)");
    }
  }
  if (part) {
    // The part checked the block's CRC; the bytes are exactly the record's.
    APITRAIL_ASSIGN_OR_RETURN(std::string record, part->Record(seq));
    if (Status decoded = DecodeRecordInto(record, event); !decoded.ok()) {
      return Status::Corruption(part->path() + ": record " + std::to_string(seq) +
                                " does not decode (" + decoded.message() + ") in block at offset " +
                                std::to_string(part->BlockOffsetOf(seq)));
    }
    event->seq = seq;
    if (event->phase == "intent") APITRAIL_RETURN_IF_ERROR(AnnotateOutcome(event));
    return Status::Ok();
  }
  // Re-check the frame: a reader must never hand out bytes that do not match their CRC.
  const size_t frame_size = log::kFrameHeaderSize + loc.length;
  const auto frame_ok = [&](const char* f) {
    return log::DecodeFixed32(f) == loc.length && log::DecodeFixed64(f + 8) == seq &&
           log::FrameCrc(seq, std::string_view(f + log::kFrameHeaderSize, loc.length)) ==
               log::DecodeFixed32(f + 4);
  };
  // From a cached chunk of the segment where one holds the whole frame (held in the block
  // cache as a Block whose `records` are the chunk's raw bytes). A chunk read while
  // this part of the active segment was still being written holds stale bytes there: the
  // frame check fails on them, and the chunk is read again.
  std::shared_ptr<const part::Block> chunk;
  const char* frame = nullptr;
  const uint64_t chunk_index = loc.offset / kSegmentChunkBytes;
  if (block_cache_ && segment_cache_id != 0 &&
      loc.offset + frame_size <= (chunk_index + 1) * kSegmentChunkBytes) {
    const size_t at = static_cast<size_t>(loc.offset - chunk_index * kSegmentChunkBytes);
    const auto holds_frame = [&](const part::Block& c) {
      return c.records.size() >= at + frame_size && frame_ok(c.records.data() + at);
    };
    const auto key = static_cast<uint32_t>(chunk_index);
    chunk = block_cache_->Lookup(segment_cache_id, key);
    if (chunk && !holds_frame(*chunk)) {
      block_cache_->Erase(segment_cache_id, key);
      chunk.reset();
    }
    if (!chunk) {
      auto fresh = std::make_shared<part::Block>();
      fresh->records.resize(kSegmentChunkBytes);
      APITRAIL_ASSIGN_OR_RETURN(size_t n, file->Read(chunk_index * kSegmentChunkBytes,
                                                     kSegmentChunkBytes, fresh->records.data()));
      fresh->records.resize(n);
      fresh->starts = {0, static_cast<uint32_t>(n)};
      // Insert may hand back another thread's earlier (possibly stale) copy: check it too.
      if (holds_frame(*fresh))
        chunk = block_cache_->Insert(segment_cache_id, key, std::move(fresh));
      if (chunk && !holds_frame(*chunk)) chunk.reset();
    }
    if (chunk) frame = chunk->records.data() + at;
  }
  std::string buf;
  if (frame == nullptr) {
    buf.resize(frame_size);
    APITRAIL_ASSIGN_OR_RETURN(size_t n, file->Read(loc.offset, buf.size(), buf.data()));
    const auto where = [&] {
      return "segment #" + std::to_string(loc.segment) + " offset " + std::to_string(loc.offset);
    };
    if (n != buf.size())
      return Status::Corruption("short read of seq " + std::to_string(seq) + " at " + where());
    if (!frame_ok(buf.data()))
      return Status::Corruption("bad frame for seq " + std::to_string(seq) + " at " + where());
    frame = buf.data();
  }
  const std::string_view payload(frame + log::kFrameHeaderSize, loc.length);
  APITRAIL_RETURN_IF_ERROR(DecodeRecordInto(payload, event));
  event->seq = seq;
  if (event->phase == "intent") APITRAIL_RETURN_IF_ERROR(AnnotateOutcome(event));
  return Status::Ok();
}

Status LogStore::AnnotateOutcome(AuditEvent* intent) {
  std::vector<uint64_t> candidates;
  {
    std::shared_lock<std::shared_mutex> lock(mu_);
    candidates = index_.FindOutcomeCandidates(intent->id);
  }
  intent->outcome = "unknown";
  for (uint64_t seq : candidates) {
    if (seq <= intent->seq) continue;  // an outcome always follows its intent
    APITRAIL_ASSIGN_OR_RETURN(AuditEvent outcome, ReadRecord(seq));
    if (outcome.intent_id == intent->id) {
      intent->outcome = "recorded";
      return Status::Ok();
    }
  }
  // The outcome may be in a sealed part (older than the indexed segments).
  std::shared_ptr<const PartList> snapshot;
  uint64_t base;
  {
    std::shared_lock<std::shared_mutex> lock(mu_);
    snapshot = parts_;
    base = index_.base();
  }
  const PartList& parts = *snapshot;
  for (const auto& p : parts) {
    if (p->end_seq() <= intent->seq || p->first_seq() >= base) continue;
    APITRAIL_ASSIGN_OR_RETURN(std::vector<uint32_t> blocks, p->BlocksWith(part::Field::kIntentId, intent->id));
    for (uint32_t b : blocks) {
      APITRAIL_ASSIGN_OR_RETURN(auto block, p->ReadBlock(b));
      for (uint32_t i = 0; i < block->count(); ++i) {
        const uint64_t seq = block->seq(i);
        if (seq <= intent->seq || block->record(i).find(intent->id) == std::string_view::npos) continue;
        auto outcome = DecodeRecord(block->record(i));
        if (outcome.ok() && outcome->intent_id == intent->id) {
          intent->outcome = "recorded";
          return Status::Ok();
        }
      }
    }
  }
  return Status::Ok();
}

namespace {

// The index matches on key hashes; this confirms a candidate on the record itself, so a
// hash collision can never put a wrong event in an answer.
bool MatchesExactly(const AuditEvent& e, const EventQuery& q) {
  auto eq = [](const std::optional<std::string>& want, const std::string& have) {
    return !want || *want == have;
  };
  if (!eq(q.subject, e.subject) || !eq(q.route, e.route) || !eq(q.decision, e.decision) ||
      !eq(q.method, e.method) || !eq(q.client_ip, e.client_ip) ||
      !eq(q.correlation_id, e.correlation_id) || !eq(q.trace_id, e.trace_id)) {
    return false;
  }
  if (q.status && e.status != *q.status) return false;
  if (q.resource) {
    bool found = false;
    for (const auto& kv : e.resources) found = found || kv == *q.resource;
    if (!found) return false;
  }
  return true;
}

// Everything Select checks on the index, checked on the record (parts index by block).
bool MatchesFully(const AuditEvent& e, const EventQuery& q) {
  if (q.since_ns && e.time_ns < *q.since_ns) return false;
  if (q.until_ns && e.time_ns >= *q.until_ns) return false;
  if (q.status_class && e.status / 100 != *q.status_class) return false;
  return MatchesExactly(e, q);
}

}  // namespace

Status LogStore::QueryParts(const EventQuery& q, uint64_t before, size_t want,
                            std::vector<AuditEvent>* page) {
  const std::shared_ptr<const PartList> snapshot = Parts();
  const PartList& parts = *snapshot;
  // Growing the page would move every ~30-string event it holds, several times over.
  page->reserve(want);
  // A protobuf record can only match when the bytes of every string filter occur in it: a test
  // that spares decoding most records of a candidate block.
  // A subject is looked up in the block's subject runs instead, where it can be.
  std::vector<std::string_view> needles;
  for (const auto* v :
       {&q.route, &q.client_ip, &q.correlation_id, &q.trace_id, &q.method, &q.decision}) {
    if (*v && !(*v)->empty()) needles.push_back(**v);
  }
  const std::optional<std::string_view> subject =
      q.subject && !q.subject->empty() ? std::optional<std::string_view>(*q.subject) : std::nullopt;
  const part::PartReader::IndexKeys index_keys(q);
  std::string resource_key;
  if (q.resource) part::Block::ResourceKey(q.resource->first, q.resource->second, &resource_key);
  for (auto it = parts.rbegin(); it != parts.rend() && page->size() < want; ++it) {
    const part::PartReader& p = **it;
    if (p.first_seq() >= before) continue;
    if ((q.since_ns && p.max_time_ns() < *q.since_ns) || (q.until_ns && p.min_time_ns() >= *q.until_ns)) continue;
    // Blocks of a clustered (version 2) part are not in seq order: read the candidates by
    // descending highest seq and stop once `need` matches are newer than every seq the
    // remaining blocks can hold; then hand them out newest first.
    std::vector<uint32_t> blocks = p.CandidateBlocks(q, index_keys);
    std::erase_if(blocks, [&](uint32_t b) { return p.first_seq() + p.blocks()[b].min_rel >= before; });
    std::sort(blocks.begin(), blocks.end(),
              [&](uint32_t a, uint32_t b) { return p.blocks()[a].max_rel > p.blocks()[b].max_rel; });
    const size_t need = want - page->size();
    // Matches by pointer: sorting ~30-string events by value cost more than decoding them.
    std::vector<std::unique_ptr<AuditEvent>> found;
    const auto newer = [](const auto& x, const auto& y) { return x->seq > y->seq; };
    std::vector<std::pair<uint64_t, uint32_t>> candidates;  // (seq, record in block)
    for (uint32_t b : blocks) {
      // `found` holds at most `need`, newest first: once full, its last is the bar to beat.
      const uint64_t block_max = p.first_seq() + p.blocks()[b].max_rel;
      if (found.size() >= need && found.back()->seq > block_max) break;
      APITRAIL_ASSIGN_OR_RETURN(auto block, p.ReadBlock(b));
      candidates.clear();
      const auto consider = [&](uint32_t i, bool subject_checked) {
        const uint64_t seq = block->seq(i);
        if (seq >= before) return;
        const std::string_view rec = block->record(i);
        // (A version 1 JSON record, starting with '{', may escape the bytes: never skipped.)
        const auto absent = [&](std::string_view n) {
          return rec.find(n) == std::string_view::npos;
        };
        if (!rec.empty() && rec[0] != '{' &&
            ((subject && !subject_checked && absent(*subject)) ||
             std::any_of(needles.begin(), needles.end(), absent))) {
          return;
        }
        candidates.emplace_back(seq, i);
      };
      using Directory = part::Block::Directory;
      if (q.correlation_id && !q.correlation_id->empty()) {
        // (The needles then confirm the hash's candidates.)
        for (uint32_t i : block->RecordsWith(&Directory::correlation_ids, *q.correlation_id))
          consider(i, false);
      } else if (q.trace_id && !q.trace_id->empty()) {
        for (uint32_t i : block->RecordsWith(&Directory::trace_ids, *q.trace_id))
          consider(i, false);
      } else if (!resource_key.empty()) {
        // A resource's records are spread over many blocks, a few in each: the directory
        // spares decoding the rest of each block.
        for (uint32_t i : block->RecordsWith(&Directory::resources, resource_key))
          consider(i, false);
      } else if (const Directory* dir = subject ? block->directory() : nullptr) {
        auto run = std::lower_bound(
            dir->subjects.begin(), dir->subjects.end(), *subject,
            [](const part::Block::SubjectRun& r, std::string_view s) { return r.subject < s; });
        for (; run != dir->subjects.end() && run->subject == *subject; ++run) {
          for (uint32_t i = run->begin; i < run->end; ++i) consider(i, true);
        }
      } else {
        for (uint32_t i = 0; i < block->count(); ++i) consider(i, false);
      }
      // Newest first, so decoding stops at the first record that can no longer make the page
      // (a hot subject has hundreds of candidates in one block).
      std::sort(candidates.begin(), candidates.end(),
                [](const auto& x, const auto& y) { return x.first > y.first; });
      const size_t had = found.size();
      const uint64_t bar = had >= need ? found.back()->seq : 0;
      size_t added = 0;
      for (const auto& [seq, i] : candidates) {
        if (added >= need || (had >= need && seq < bar)) break;
        auto event = std::make_unique<AuditEvent>();
        if (Status st = DecodeRecordInto(block->record(i), event.get()); !st.ok()) {
          return Status::Corruption(p.path() + ": record " + std::to_string(seq) +
                                    " does not decode (" + st.message() + ") in block " +
                                    std::to_string(b) + " at offset " +
                                    std::to_string(p.blocks()[b].offset));
        }
        if (!MatchesFully(*event, q)) continue;
        event->seq = seq;
        found.push_back(std::move(event));
        ++added;
      }
      // Only the `need` newest can be handed out: memory stays at a page plus a block.
      if (added > 0) {
        std::sort(found.begin(), found.end(), newer);
        if (found.size() > need) found.resize(need);
      }
    }
    for (auto& event : found) {
      if (event->phase == "intent") APITRAIL_RETURN_IF_ERROR(AnnotateOutcome(event.get()));
      page->push_back(std::move(*event));
    }
  }
  return Status::Ok();
}

bool LogStore::StillStoredMatchBelow(const EventQuery& query, uint64_t seq) const {
  // The further match Select saw may be a record retention removed: a cursor must lead to
  // an event, not to an empty page.
  EventQuery next = query;
  next.before_seq = seq;
  next.limit = 1;
  bool ignored = false;
  const std::vector<uint64_t> found = index_.Select(next, &ignored);
  return !found.empty() && found.front() >= removed_below_;
}

Result<EventPage> LogStore::Query(const EventQuery& query) {
  if (query.limit < 1 || query.limit > 1000) {
    return Status::InvalidArgument("limit must be between 1 and 1000");
  }
  if (query.status_class && (*query.status_class < 1 || *query.status_class > 5)) {
    return Status::InvalidArgument("status_class must be between 1 and 5");
  }
  bool more = false;
  std::vector<uint64_t> seqs;
  uint64_t base;
  {
    std::shared_lock<std::shared_mutex> lock(mu_);
    seqs = index_.Select(query, &more);
    base = index_.base();
    // The in-memory index still lists records sealed during this run whose part retention
    // removed since: they are no longer stored, and nothing older than them is.
    auto gone = std::find_if(seqs.begin(), seqs.end(), [&](uint64_t s) { return s < removed_below_; });
    if (gone != seqs.end()) {
      seqs.erase(gone, seqs.end());  // newest first: the rest is older still
      more = false;
    } else if (more && removed_below_ > base) {
      more = StillStoredMatchBelow(query, seqs.back());
    }
  }
  EventPage page;
  page.events.reserve(seqs.size());
  for (uint64_t seq : seqs) {
    AuditEvent& event = page.events.emplace_back();
    APITRAIL_RETURN_IF_ERROR(ReadRecordInto(seq, &event));
    if (!MatchesExactly(event, query)) page.events.pop_back();
  }
  if (more && !seqs.empty()) {
    page.next_cursor = seqs.back();
    return page;
  }
  // Older records live in sealed parts: continue there, one extra match telling whether a
  // cursor is worth returning.
  const uint64_t before = std::min<uint64_t>(query.before_seq.value_or(UINT64_MAX), base);
  const size_t want = static_cast<size_t>(query.limit) + 1;
  if (before > 0 && page.events.size() < want) {
    APITRAIL_RETURN_IF_ERROR(QueryParts(query, before, want, &page.events));
  }
  if (page.events.size() > query.limit) {
    page.events.resize(query.limit);
    page.next_cursor = page.events.back().seq;
  }
  return page;
}

Result<AuditEvent> LogStore::GetById(const std::string& id) {
  std::vector<uint64_t> candidates;
  {
    std::shared_lock<std::shared_mutex> lock(mu_);
    candidates = index_.FindIdCandidates(id);
  }
  for (uint64_t seq : candidates) {
    APITRAIL_ASSIGN_OR_RETURN(AuditEvent event, ReadRecord(seq));
    if (event.id == id) return event;
  }
  std::shared_ptr<const PartList> snapshot;
  uint64_t base;
  {
    std::shared_lock<std::shared_mutex> lock(mu_);
    snapshot = parts_;
    base = index_.base();
  }
  const PartList& parts = *snapshot;
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
    const part::PartReader& p = **it;
    if (p.first_seq() >= base || id.empty()) continue;  // indexed above
    APITRAIL_ASSIGN_OR_RETURN(std::vector<uint32_t> blocks, p.BlocksWith(part::Field::kId, id));
    for (uint32_t b : blocks) {
      APITRAIL_ASSIGN_OR_RETURN(auto block, p.ReadBlock(b));
      for (uint32_t i : block->RecordsWith(&part::Block::Directory::ids, id)) {
        if (block->record(i).find(id) == std::string_view::npos) continue;  // cheap pre-check
        auto event = DecodeRecord(block->record(i));
        if (event.ok() && event->id == id) {
          event->seq = block->seq(i);
          if (event->phase == "intent") APITRAIL_RETURN_IF_ERROR(AnnotateOutcome(&*event));
          return std::move(event).value();
        }
      }
    }
  }
  return Status::NotFound("no event with id " + id);
}

Result<AuditEvent> LogStore::GetBySeq(uint64_t seq) { return ReadRecord(seq); }

StoreStats LogStore::Stats() {
  StoreStats s;
  merkle::CompactRange frontier;
  {
    std::shared_lock<std::shared_mutex> lock(mu_);
    s.size = index_.size();
    frontier = published_frontier_;
  }
  s.root_hex = HexEncode(frontier.Root());
  s.appended = appended_.load();
  s.syncs = syncs_.load();
  s.commit_latency = commit_latency_.Read();
  s.rejected_queue_full = rejected_.load();
  s.write_errors = write_errors_.load();
  s.reserve_failures = reserve_failures_.load();
  s.failed = failed_.load();
  s.recovered_truncated_bytes = recovered_truncated_bytes_;
  s.checkpoints = checkpoints_signed_.load();
  s.at_risk = at_risk_.load();
  s.acked_before_sync = acked_before_sync_.load();
  s.at_risk_when_failed = at_risk_when_failed_.load();
  s.checkpoint_size = checkpoint_size_published_.load();
  if (rollups_) s.rollups = rollups_->Stats();
  {
    std::shared_lock<std::shared_mutex> lock(mu_);
    s.parts = parts_->size();
  }
  s.parts_sealed = parts_sealed_.load();
  s.seal_errors = seal_errors_.load();
  if (block_cache_) {
    const part::BlockCacheStats bc = block_cache_->Stats();
    s.block_cache_hits = bc.hits;
    s.block_cache_misses = bc.misses;
    s.block_cache_bytes = bc.bytes;
  }
  s.seal_deferred_ms = seal_deferred_ms_.load();
  {
    std::lock_guard<std::mutex> lock(seal_mu_);
    s.seal_pending = seal_queue_.size();
    s.last_seal_error = last_seal_error_;
  }
  return s;
}

}  // namespace apitrail
