#include "store/rollup/rollups.h"

#include <new>

#include <algorithm>
#include <optional>

#include "core/thread_util.h"
#include "core/time_util.h"

namespace apitrail {

namespace {

constexpr int64_t kMaxFutureNs = 24 * kNsPerHour;

}  // namespace

Rollups::Rollups(FileSystem* fs, std::string dir, const RollupOptions& options)
    : fs_(fs), dir_(std::move(dir)), options_(options) {}

Rollups::~Rollups() { Close(); }

void Rollups::Warn(std::string message) {
  // Bounded: a disk that stays full must not grow memory; the metrics keep counting.
  if (warnings_.size() >= kMaxWarnings) warnings_.erase(warnings_.begin());
  warnings_.push_back(std::move(message));
}

std::string Rollups::PathOf(int64_t hour) const { return dir_ + "/" + RollupFileName(hour); }

Result<std::unique_ptr<Rollups>> Rollups::Open(FileSystem* fs, const std::string& data_dir,
                                               const RollupOptions& options) {
  const std::string dir = data_dir + "/" + std::string(kDir);
  APITRAIL_RETURN_IF_ERROR(fs->CreateDirs(dir));
  // The files must outlive a power loss with the segments they count (a restart replays only
  // segments): their directory's own entry too.
  APITRAIL_RETURN_IF_ERROR(fs->SyncDir(data_dir));
  std::unique_ptr<Rollups> r(new Rollups(fs, dir, options));
  r->Load();
  return r;
}

void Rollups::Load() {
  auto names = fs_->ListDir(dir_);
  if (!names.ok()) {
    Warn("rollups: cannot list " + dir_ + ": " + names.status().message() +
                        " (rebuilding from the log)");
    return;
  }
  loaded_files_ = 0;
  std::vector<int64_t> found;
  for (const auto& name : *names) {
    int64_t hour = 0;
    if (ParseRollupFileName(name, &hour)) found.push_back(hour);
  }
  std::sort(found.begin(), found.end());
  const int64_t window = static_cast<int64_t>(options_.retention_days) * 24;
  std::vector<int64_t> hours;  // newest first, within the window
  for (auto it = found.rbegin(); it != found.rend() && *it >= found.back() - window; ++it) hours.push_back(*it);
  // Decoded on all cores (the 720 hours of a 50 M-event month took most of a restart), then
  // applied in order, so warnings and renames come out as before.
  std::vector<std::optional<Result<HourSummary>>> decoded(hours.size());
  ParallelFor(hours.size(), [&](size_t i) { decoded[i] = ReadSummary(hours[i]); });
  for (size_t i = 0; i < hours.size(); ++i) {
    const int64_t hour = hours[i];
    Result<HourSummary>& h = *decoded[i];
    if (!h.ok()) {
      const std::string path = PathOf(hour);
      Warn("rollups: " + h.status().message() +
                          "; set aside as .corrupt, this hour is rebuilt from the log");
      stats_.corrupt_files++;
      (void)fs_->Rename(path, path + ".corrupt");
      continue;
    }
    HourState& s = hours_[hour];
    ++loaded_files_;
    s.file_through = h->through_seq;
    s.totals = h->totals;
    s.summary = std::move(h->summary);
    newest_hour_ = std::max(newest_hour_, hour);
  }
}

namespace {

// A damaged file that still asks for more memory than there is is damaged like any other:
// set aside and rebuilt, not the end of the process.
template <typename Decode>
auto Guarded(const std::string& path, Decode&& decode) -> decltype(decode()) {
  try {
    return decode();
  } catch (const std::bad_alloc&) {
    return Status::Corruption(path + ": too large to decode at offset 0");
  }
}

template <typename Decoded>
Result<Decoded> CheckHour(Result<Decoded> decoded, const std::string& path, int64_t hour) {
  if (decoded.ok() && decoded->hour != hour) {
    return Status::Corruption(path + ": holds hour " + std::to_string(decoded->hour) + ", its name says " +
                              std::to_string(hour) + " at offset 16");
  }
  return decoded;
}

}  // namespace

Result<HourRollup> Rollups::ReadFile(int64_t hour) const {
  const std::string path = PathOf(hour);
  APITRAIL_ASSIGN_OR_RETURN(std::string bytes, fs_->ReadAll(path));
  return CheckHour(Guarded(path, [&] { return HourRollup::Decode(bytes, path); }), path, hour);
}

Result<HourSummary> Rollups::ReadSummary(int64_t hour) const {
  const std::string path = PathOf(hour);
  APITRAIL_ASSIGN_OR_RETURN(std::string bytes, fs_->ReadAll(path));
  return CheckHour(Guarded(path, [&] { return HourRollup::DecodeSummary(bytes, path, options_.max_keys); }), path,
                   hour);
}

bool Rollups::ReopenLocked(int64_t hour, HourState* h) {
  if (h->detail) return true;
  auto detail = std::make_unique<HourRollup>();
  detail->hour = hour;
  if (h->summary) {  // closed: its counts are in its file
    auto loaded = ReadFile(hour);
    if (!loaded.ok()) {
      Warn("rollups: cannot reopen hour for a late event: " + loaded.status().message());
      return false;
    }
    *detail = std::move(loaded).value();
  }
  h->detail = std::move(detail);
  h->summary.reset();
  InvalidateDayLocked(FloorDiv(hour, 24));
  return true;
}

void Rollups::AddLocked(const RollupEvent& e, bool replay, uint64_t seq, int64_t now_ns) {
  if (!e.counted) return;
  const int64_t hour = FloorDiv(e.time_ns, kNsPerHour);
  const int64_t window = static_cast<int64_t>(options_.retention_days) * 24;
  if (e.time_ns > now_ns + kMaxFutureNs || (newest_hour_ != INT64_MIN && hour < newest_hour_ - window)) {
    stats_.dropped++;
    return;
  }
  HourState& h = hours_[hour];
  if (replay && seq < h.file_through) return;  // the loaded file counts it already
  if (!ReopenLocked(hour, &h)) {
    stats_.dropped++;
    return;
  }
  h.detail->Add(e, options_.max_keys);
  MinuteTotals& t = h.totals[static_cast<size_t>(FloorDiv(e.time_ns, kNsPerMinute) - hour * 60)];
  t.requests++;
  t.status_class[StatusClass(e.status)]++;
  if (e.denied) t.denied++;
  h.dirty = true;
  h.gen++;
  stats_.events++;
  if (hour > newest_hour_) {
    if (newest_hour_ != INT64_MIN) hour_rolled_ = true;
    newest_hour_ = hour;
  }
}

void Rollups::Replay(uint64_t seq, const AuditEvent& e) {
  std::lock_guard<std::mutex> lock(mu_);
  applied_seq_ = seq + 1;
  first_replayed_ = std::min(first_replayed_, seq);
  // Most records at a restart are covered by a file: skip them before copying any string.
  auto it = hours_.find(FloorDiv(e.time_ns, kNsPerHour));
  if (it != hours_.end() && seq < it->second.file_through) return;
  AddLocked(RollupEvent::Copy(e), true, seq, NowNs());
}

bool Rollups::FinishRecovery(uint64_t records) {
  std::lock_guard<std::mutex> lock(mu_);
  applied_seq_ = records;
  bool ahead = false;
  for (const auto& [hour, h] : hours_) ahead = ahead || h.file_through > records;
  // Recovery replays only segments: the records sealed into parts (those before the first
  // one replayed) are counted only in rollup files. A damaged file set aside, or none at
  // all (rollups/ deleted while stopped, or rollups just enabled), left their hours counting
  // the segments' records alone — a whole hour of sealed traffic silently missing from
  // top/series although FORMAT.md §14 promises "rebuilt from the log". Asked once (the
  // caller calls again after the full replay): the counts go back to what the valid files
  // hold, and the full replay adds exactly what they do not cover (seq >= through_seq).
  const bool parts_uncovered = !replay_all_asked_ && std::min(first_replayed_, records) > 0 &&
                               (loaded_files_ == 0 || stats_.corrupt_files > 0);
  if (!ahead && parts_uncovered) {
    Warn("rollups: " +
         std::string(loaded_files_ == 0 ? "no rollup file found" : "a rollup file was damaged") +
         " while " + std::to_string(std::min(first_replayed_, records)) +
         " records are in sealed parts; the parts are counted again");
    hours_.clear();
    day_cache_.clear();
    range_cache_.clear();
    newest_hour_ = INT64_MIN;
    Load();  // the valid files again (the damaged ones were renamed): nothing was written since
    replay_all_asked_ = true;
    return true;
  }
  if (!ahead) return false;
  replay_all_asked_ = true;
  Warn("rollups: a rollup file covers records the log does not have (" +
                      std::to_string(records) + " records); all rollups are rebuilt from the log");
  hours_.clear();
  day_cache_.clear();
  range_cache_.clear();
  newest_hour_ = INT64_MIN;
  // Their hours may have no records left to rewrite them: they must not be trusted later.
  if (auto names = fs_->ListDir(dir_); names.ok()) {
    for (const auto& name : *names) {
      int64_t hour = 0;
      if (ParseRollupFileName(name, &hour)) (void)fs_->Remove(dir_ + "/" + name);
    }
    (void)fs_->SyncDir(dir_);
  }
  return true;
}

void Rollups::Start() {
  if (applier_.joinable()) return;
  applier_ = std::thread([this] { ApplierLoop(); });
}

void Rollups::AddCommitted(std::vector<RollupEvent>* batch, uint64_t next_seq) {
  bool wake = false;
  {
    // O(1) for the writer: the batch moves as a whole, an emptied buffer comes back.
    std::lock_guard<std::mutex> lock(pending_mu_);
    pending_.push_back(std::move(*batch));
    pending_next_seq_ = next_seq;
    wake = pending_.size() >= kWakeAfterBatches;
    if (!spare_.empty()) {
      *batch = std::move(spare_.back());
      spare_.pop_back();
    }
  }
  batch->clear();
  // Queries drain pending batches themselves, so the applier need not run per commit: waking
  // it once per group commit cost a context switch per commit on the writer's core. It runs
  // every kApplyEveryMs, or sooner when this many batches wait (bounding their memory).
  if (wake) pending_cv_.notify_one();
}

void Rollups::DrainLocked() {
  uint64_t next = 0;
  {
    std::lock_guard<std::mutex> lock(pending_mu_);
    drain_buf_.swap(pending_);
    next = pending_next_seq_;
  }
  if (drain_buf_.empty()) return;
  const int64_t now_ns = NowNs();
  for (auto& batch : drain_buf_) {
    for (const RollupEvent& e : batch) AddLocked(e, false, e.seq, now_ns);
    batch.clear();
  }
  applied_seq_ = std::max(applied_seq_, next);
  std::lock_guard<std::mutex> lock(pending_mu_);
  while (!drain_buf_.empty()) {
    if (spare_.size() < 4) spare_.push_back(std::move(drain_buf_.back()));
    drain_buf_.pop_back();
  }
}

void Rollups::ApplierLoop() {
  NameThisThread("at-rollups");
  using Clock = std::chrono::steady_clock;
  const auto interval = std::chrono::milliseconds(options_.persist_interval_ms);
  auto last_persist = Clock::now();
  while (true) {
    {
      std::unique_lock<std::mutex> lock(pending_mu_);
      const auto deadline = std::min(last_persist + interval, Clock::now() + std::chrono::milliseconds(kApplyEveryMs));
      pending_cv_.wait_until(lock, deadline, [this] { return stop_ || pending_.size() >= kWakeAfterBatches; });
      if (stop_) break;
    }
    bool rolled = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      DrainLocked();
      rolled = hour_rolled_;
      hour_rolled_ = false;
    }
    if (rolled || Clock::now() >= last_persist + interval) {
      (void)Persist();  // failures are counted in stats and retried next round
      last_persist = Clock::now();
    }
  }
}

Status Rollups::WriteFile(int64_t hour, const std::string& bytes) {
  return fs_->WriteFileDurably(dir_, RollupFileName(hour), bytes);
}

Status Rollups::Persist() {
  std::lock_guard<std::mutex> persist_lock(persist_mu_);
  struct Job {
    int64_t hour;
    uint64_t gen;
    std::string bytes;
  };
  std::vector<Job> jobs;
  {
    std::lock_guard<std::mutex> lock(mu_);
    DrainLocked();
    for (auto& [hour, h] : hours_) {
      if (!h.dirty || !h.detail) continue;
      h.detail->through_seq = applied_seq_;
      jobs.push_back({hour, h.gen, h.detail->Encode()});
    }
  }
  Status first;
  std::vector<std::pair<int64_t, uint64_t>> written;
  for (const Job& j : jobs) {
    Status st = WriteFile(j.hour, HourRollup::Compress(j.bytes));  // outside the lock
    if (st.ok()) {
      written.emplace_back(j.hour, j.gen);
    } else if (first.ok()) {
      first = st;
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  stats_.files_written += written.size();
  if (!first.ok()) {
    stats_.write_errors += jobs.size() - written.size();
    Warn("rollups: write failed (retried later): " + first.message());
  }
  for (const auto& [hour, gen] : written) {
    auto it = hours_.find(hour);
    if (it != hours_.end() && it->second.gen == gen) it->second.dirty = false;
  }
  CloseOldHoursLocked();
  return first;
}

void Rollups::CloseOldHoursLocked() {
  const int64_t window = static_cast<int64_t>(options_.retention_days) * 24;
  for (auto it = hours_.begin(); it != hours_.end();) {
    HourState& h = it->second;
    if (it->first < newest_hour_ - window && !h.dirty) {
      InvalidateDayLocked(FloorDiv(it->first, 24));
      it = hours_.erase(it);
      continue;
    }
    // Two hours behind the newest event and on disk: keep totals and a summary only.
    if (h.detail && !h.dirty && it->first < newest_hour_ - 1) {
      h.summary = h.detail->Summarize(options_.max_keys);
      h.detail.reset();
      InvalidateDayLocked(FloorDiv(it->first, 24));
    }
    ++it;
  }
}

void Rollups::Close() {
  {
    std::lock_guard<std::mutex> lock(pending_mu_);
    if (stop_) return;
    stop_ = true;
  }
  pending_cv_.notify_all();
  if (applier_.joinable()) applier_.join();
  (void)Persist();
}

RollupStats Rollups::Stats() {
  std::lock_guard<std::mutex> lock(mu_);
  DrainLocked();
  RollupStats s = stats_;
  s.hours_in_memory = hours_.size();
  for (const auto& [hour, h] : hours_) s.hours_with_detail += h.detail ? 1 : 0;
  return s;
}

std::vector<std::string> Rollups::TakeWarnings() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> out;
  out.swap(warnings_);
  return out;
}

}  // namespace apitrail
