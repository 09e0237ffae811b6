#include "store/rollup/rollups.h"

#include <algorithm>

#include "core/time_util.h"

namespace apitrail {

namespace {

constexpr int64_t kMaxFutureNs = 24 * kNsPerHour;

void MergeMinutes(const HourRollup& h, int a, int b, RollupDim dim, KeyMap* acc, KeyCounts* other) {
  const int d = static_cast<int>(dim);
  for (auto it = h.minutes.lower_bound(a); it != h.minutes.end() && it->first < b; ++it) {
    for (const auto& [key, counts] : it->second.keys[d]) {
      auto found = acc->find(std::string_view(key));
      if (found == acc->end()) found = acc->emplace(key, KeyCounts{}).first;
      found->second.Add(counts);
    }
    other->Add(it->second.other[d]);
  }
}

void MergeOne(const RollupSummary& s, RollupDim dim, KeyMap* acc, KeyCounts* other) {
  const int d = static_cast<int>(dim);
  for (const auto& [key, counts] : s.keys[d]) {
    auto found = acc->find(std::string_view(key));
    if (found == acc->end()) found = acc->emplace(key, KeyCounts{}).first;
    found->second.Add(counts);
  }
  other->Add(s.other[d]);
}

int64_t CeilDiv(int64_t a, int64_t b) { return -FloorDiv(-a, b); }

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
  std::vector<int64_t> found;
  for (const auto& name : *names) {
    int64_t hour = 0;
    if (ParseRollupFileName(name, &hour)) found.push_back(hour);
  }
  std::sort(found.begin(), found.end());
  const int64_t window = static_cast<int64_t>(options_.retention_days) * 24;
  for (auto it = found.rbegin(); it != found.rend(); ++it) {
    if (!found.empty() && *it < found.back() - window) break;  // older than the window
    auto h = ReadFile(*it);
    if (!h.ok()) {
      const std::string path = PathOf(*it);
      Warn("rollups: " + h.status().message() +
                          "; set aside as .corrupt, this hour is rebuilt from the log");
      stats_.corrupt_files++;
      (void)fs_->Rename(path, path + ".corrupt");
      continue;
    }
    HourState& s = hours_[*it];
    s.file_through = h->through_seq;
    s.totals = h->Totals();
    s.summary = h->Summarize(options_.max_keys);
    newest_hour_ = std::max(newest_hour_, *it);
  }
}

Result<HourRollup> Rollups::ReadFile(int64_t hour) const {
  const std::string path = PathOf(hour);
  APITRAIL_ASSIGN_OR_RETURN(std::string bytes, fs_->ReadAll(path));
  APITRAIL_ASSIGN_OR_RETURN(HourRollup h, HourRollup::Decode(bytes, path));
  if (h.hour != hour) {
    return Status::Corruption(path + ": holds hour " + std::to_string(h.hour) + ", its name says " +
                              std::to_string(hour) + " at offset 16");
  }
  return h;
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

void Rollups::AddLocked(const RollupEvent& e, bool replay, uint64_t seq) {
  if (!e.counted) return;
  const int64_t hour = FloorDiv(e.time_ns, kNsPerHour);
  const int64_t window = static_cast<int64_t>(options_.retention_days) * 24;
  if (e.time_ns > NowNs() + kMaxFutureNs || (newest_hour_ != INT64_MIN && hour < newest_hour_ - window)) {
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
  // Most records at a restart are covered by a file: skip them before copying any string.
  auto it = hours_.find(FloorDiv(e.time_ns, kNsPerHour));
  if (it != hours_.end() && seq < it->second.file_through) return;
  AddLocked(RollupEvent::Copy(e), true, seq);
}

bool Rollups::FinishRecovery(uint64_t records) {
  std::lock_guard<std::mutex> lock(mu_);
  applied_seq_ = records;
  bool ahead = false;
  for (const auto& [hour, h] : hours_) ahead = ahead || h.file_through > records;
  if (!ahead) return false;
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
  {
    // O(1) for the writer: the batch moves as a whole, an emptied buffer comes back.
    std::lock_guard<std::mutex> lock(pending_mu_);
    pending_.push_back(std::move(*batch));
    pending_next_seq_ = next_seq;
    if (!spare_.empty()) {
      *batch = std::move(spare_.back());
      spare_.pop_back();
    }
  }
  batch->clear();
  pending_cv_.notify_one();
}

void Rollups::DrainLocked() {
  uint64_t next = 0;
  {
    std::lock_guard<std::mutex> lock(pending_mu_);
    drain_buf_.swap(pending_);
    next = pending_next_seq_;
  }
  if (drain_buf_.empty()) return;
  for (auto& batch : drain_buf_) {
    for (const RollupEvent& e : batch) AddLocked(e, false, e.seq);
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
  using Clock = std::chrono::steady_clock;
  const auto interval = std::chrono::milliseconds(options_.persist_interval_ms);
  auto last_persist = Clock::now();
  while (true) {
    {
      std::unique_lock<std::mutex> lock(pending_mu_);
      pending_cv_.wait_until(lock, last_persist + interval, [this] { return stop_ || !pending_.empty(); });
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
  const std::string path = PathOf(hour);
  const std::string tmp = path + ".tmp";
  if (fs_->Exists(tmp)) APITRAIL_RETURN_IF_ERROR(fs_->Remove(tmp));
  APITRAIL_ASSIGN_OR_RETURN(auto file, fs_->OpenForAppend(tmp));
  APITRAIL_RETURN_IF_ERROR(file->Append(bytes));
  APITRAIL_RETURN_IF_ERROR(file->Sync());
  APITRAIL_RETURN_IF_ERROR(file->Close());
  APITRAIL_RETURN_IF_ERROR(fs_->Rename(tmp, path));
  return fs_->SyncDir(dir_);
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
    Status st = WriteFile(j.hour, j.bytes);
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

std::shared_ptr<const RollupSummary> Rollups::DaySummaryLocked(int64_t day) const {
  if (auto it = day_cache_.find(day); it != day_cache_.end()) return it->second;
  const auto first = hours_.lower_bound(day * 24);
  const auto last = hours_.lower_bound((day + 1) * 24);
  if (first == last) return nullptr;
  for (auto it = first; it != last; ++it) {
    if (!it->second.summary) return nullptr;  // an hour still changing: go hour by hour
  }
  std::array<KeyMap, kRollupDims> maps;
  std::array<KeyCounts, kRollupDims> other{};
  for (auto it = first; it != last; ++it) MergeSummary(*it->second.summary, &maps, &other);
  auto s = CapSummary(std::move(maps), other, static_cast<size_t>(options_.max_keys) * 8);
  day_cache_[day] = s;
  return s;
}

std::shared_ptr<const RollupSummary> Rollups::RangeSummaryLocked(int64_t d0, int64_t d1) const {
  if (auto it = range_cache_.find({d0, d1}); it != range_cache_.end()) return it->second;
  std::array<KeyMap, kRollupDims> maps;
  std::array<KeyCounts, kRollupDims> other{};
  for (int64_t d = d0; d < d1; ++d) MergeSummary(*DaySummaryLocked(d), &maps, &other);
  // Not capped again: it is the exact sum of its days, so a cached answer equals an uncached one.
  auto s = CapSummary(std::move(maps), other, SIZE_MAX);
  if (range_cache_.size() >= kRangeCacheEntries) range_cache_.erase(range_cache_.begin());
  range_cache_[{d0, d1}] = s;
  return s;
}

void Rollups::InvalidateDayLocked(int64_t day) {
  day_cache_.erase(day);
  for (auto it = range_cache_.begin(); it != range_cache_.end();) {
    it = it->first.first <= day && day < it->first.second ? range_cache_.erase(it) : std::next(it);
  }
}

Result<TopResult> Rollups::Top(const TopQuery& q) {
  TopResult out;
  if (q.until_ns <= q.since_ns ||
      q.until_ns - q.since_ns > (static_cast<int64_t>(options_.max_range_days) + 1) * 24 * kNsPerHour) {
    return Status::InvalidArgument("since/until: empty or longer than " +
                                   std::to_string(options_.max_range_days) + " days");
  }
  const int64_t m0 = FloorDiv(q.since_ns, kNsPerMinute);
  const int64_t m1 = CeilDiv(q.until_ns, kNsPerMinute);
  out.since_ns = m0 * kNsPerMinute;
  out.until_ns = m1 * kNsPerMinute;
  KeyMap acc;
  std::vector<std::shared_ptr<const RollupSummary>> sources;
  struct Edge {
    int64_t hour;
    int a, b;
  };
  std::vector<Edge> edges;
  {
    std::lock_guard<std::mutex> lock(mu_);
    DrainLocked();
    int64_t h = FloorDiv(m0, 60);
    while (h * 60 < m1) {
      if (FloorDiv(h, 24) * 24 == h && h * 60 >= m0 && (h + 24) * 60 <= m1) {
        // A run of whole, settled days: one (cached) summary for all of them.
        const int64_t d0 = FloorDiv(h, 24);
        int64_t d1 = d0;
        while ((d1 + 1) * 24 * 60 <= m1 && DaySummaryLocked(d1) != nullptr) ++d1;
        if (d1 > d0) {
          sources.push_back(d1 - d0 == 1 ? DaySummaryLocked(d0) : RangeSummaryLocked(d0, d1));
          for (auto it = hours_.lower_bound(h); it != hours_.end() && it->first < d1 * 24; ++it) {
            for (const auto& t : it->second.totals) out.total += t.Get(q.metric);
          }
          h = d1 * 24;
          continue;
        }
      }
      const int a = static_cast<int>(std::max(m0, h * 60) - h * 60);
      const int b = static_cast<int>(std::min(m1, (h + 1) * 60) - h * 60);
      auto it = hours_.find(h);
      if (it != hours_.end()) {
        const HourState& s = it->second;
        for (int m = a; m < b; ++m) out.total += s.totals[static_cast<size_t>(m)].Get(q.metric);
        if (s.detail) {
          MergeMinutes(*s.detail, a, b, q.dim, &acc, &out.other);
        } else if (a == 0 && b == 60) {
          sources.push_back(s.summary);
        } else {
          edges.push_back({h, a, b});
        }
      }
      ++h;
    }
  }
  for (const auto& s : sources) MergeOne(*s, q.dim, &acc, &out.other);
  for (const Edge& e : edges) {
    APITRAIL_ASSIGN_OR_RETURN(HourRollup h, ReadFile(e.hour));
    MergeMinutes(h, e.a, e.b, q.dim, &acc, &out.other);
  }
  std::vector<std::pair<std::string, KeyCounts>> items;
  items.reserve(acc.size());
  for (auto& kv : acc) {
    if (kv.second.Get(q.metric) > 0) items.emplace_back(kv.first, kv.second);
  }
  auto better = [&](const auto& x, const auto& y) {
    const uint64_t a = x.second.Get(q.metric), b = y.second.Get(q.metric);
    return a != b ? a > b : x.first < y.first;
  };
  const size_t k = std::min<size_t>(q.k, items.size());
  std::partial_sort(items.begin(), items.begin() + static_cast<std::ptrdiff_t>(k), items.end(), better);
  items.resize(k);
  out.items = std::move(items);
  return out;
}

Result<SeriesResult> Rollups::Series(const SeriesQuery& q) {
  SeriesResult out;
  const int64_t step = q.step_minutes;
  if (step < 1) return Status::InvalidArgument("step: must be at least one minute");
  const int64_t m0 = FloorDiv(FloorDiv(q.since_ns, kNsPerMinute), step) * step;
  const int64_t m1 = CeilDiv(CeilDiv(q.until_ns, kNsPerMinute), step) * step;
  out.since_ns = m0 * kNsPerMinute;
  out.until_ns = m1 * kNsPerMinute;
  out.step_minutes = step;
  const int64_t points = (m1 - m0) / step;
  if (points < 1) return Status::InvalidArgument("since: must be before until");
  if (points > static_cast<int64_t>(options_.max_points)) {
    return Status::InvalidArgument("step: " + std::to_string(points) + " points, at most " +
                                   std::to_string(options_.max_points) + "; use a larger step or a shorter range");
  }
  out.values.assign(static_cast<size_t>(points), 0);
  std::lock_guard<std::mutex> lock(mu_);
  DrainLocked();
  for (auto it = hours_.lower_bound(FloorDiv(m0, 60)); it != hours_.end() && it->first * 60 < m1; ++it) {
    for (int m = 0; m < 60; ++m) {
      const int64_t minute = it->first * 60 + m;
      if (minute < m0 || minute >= m1) continue;
      out.values[static_cast<size_t>((minute - m0) / step)] += it->second.totals[static_cast<size_t>(m)].Get(q.metric);
    }
  }
  return out;
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
