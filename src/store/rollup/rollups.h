// Rollups: per-minute counters by route, subject and client IP (with status class and
// decision counts), fed by the store's writer after each committed batch, persisted per UTC
// hour in <data_dir>/rollups/ (docs/FORMAT.md §14) and queried as top-k and time series
// without reading events (issue #3 item 7, docs/OPERATIONS.md "Rollups").
//
// Derived data: the log stays the source of truth. At open the hour files are loaded (a
// damaged one is reported, renamed *.corrupt and rebuilt from the log), then recovery
// replays each record that no loaded file covers (a file covers the records with seq below
// its through_seq), so a restart never counts a record twice.
//
// Memory: an hour keeps its minute detail (at most max_keys keys per minute and dimension,
// the rest in "other") while it may still change; once persisted and two hours old it keeps
// only minute totals and a summary capped at max_keys keys per dimension, and minute detail
// for a query's ragged edges is read back from its file. Hours older than retention_days
// behind the newest event are dropped from memory.
//
// Threads: AddCommitted from the store's writer thread costs one short lock and a move of
// the batch vector (an emptied one comes back): the counting happens on Rollups' own thread (which also writes dirty
// hours), and every query first counts what is still pending, so an answer always includes
// every batch committed before it. Replay/FinishRecovery before Start; Top, Series, Stats,
// Persist from any thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/status.h"
#include "store/fs/file_system.h"
#include "store/rollup/hour_rollup.h"
#include "store/rollup/rollup_types.h"

namespace apitrail {

struct RollupOptions {
  bool enabled = true;
  uint32_t max_keys = 1000;              // per minute and per hour, each dimension (x8 per day)
  uint32_t retention_days = 35;          // kept in memory behind the newest event
  uint32_t persist_interval_ms = 60000;  // a changed hour is written at most this much later
  uint32_t max_range_days = 31;          // widest since..until a query may ask for
  uint32_t max_k = 1000;
  uint32_t max_points = 10080;           // series points per answer
};

struct TopQuery {
  RollupDim dim = RollupDim::kRoute;
  RollupMetric metric = RollupMetric::kRequests;
  int64_t since_ns = 0;
  int64_t until_ns = 0;
  uint32_t k = 10;
};

struct TopResult {
  int64_t since_ns = 0;  // the range actually counted: whole minutes
  int64_t until_ns = 0;
  std::vector<std::pair<std::string, KeyCounts>> items;  // best first, ties by key
  KeyCounts other;       // events whose key fell beyond a cap (docs/OPERATIONS.md)
  uint64_t total = 0;    // the metric over all events in range
};

struct SeriesQuery {
  RollupMetric metric = RollupMetric::kRequests;
  int64_t step_minutes = 1;  // 1, 5, 15, 60 or 1440
  int64_t since_ns = 0;
  int64_t until_ns = 0;
};

struct SeriesResult {
  int64_t since_ns = 0;  // aligned to the step
  int64_t until_ns = 0;
  int64_t step_minutes = 1;
  std::vector<uint64_t> values;  // one per step from since_ns
};

struct RollupStats {
  uint64_t events = 0;            // counted (this run, including replay)
  uint64_t dropped = 0;           // outside the window (too old, or > 1 day in the future)
  uint64_t corrupt_files = 0;     // found at open, set aside and rebuilt
  uint64_t files_written = 0;
  uint64_t write_errors = 0;
  uint64_t hours_in_memory = 0;
  uint64_t hours_with_detail = 0;
};

class Rollups {
 public:
  static constexpr std::string_view kDir = "rollups";

  // Loads <data_dir>/rollups/*.rollup. Damaged files are renamed to *.corrupt and listed in
  // TakeWarnings(). Fails only when the directory cannot be created or listed.
  static Result<std::unique_ptr<Rollups>> Open(FileSystem* fs, const std::string& data_dir,
                                               const RollupOptions& options);
  ~Rollups();

  // Recovery (before Start): counts `e` unless a loaded file already covers `seq`.
  void Replay(uint64_t seq, const AuditEvent& e);
  // After the recovery scan of `records` records. True when the caller must Replay every
  // record again, the sealed parts' included: when a loaded file claims records the log
  // does not have (an older log put back: all loaded counts are dropped), or when records
  // lie before the first one replayed (in parts) while no rollup file was found or one was
  // set aside as damaged (the counts go back to what the valid files hold). Asks once.
  bool FinishRecovery(uint64_t records);
  // Starts the thread that counts handed-over batches and writes changed hours.
  void Start();

  // Writer thread, after a batch became durable: hands it over to be counted; `next_seq` =
  // log size after it. Leaves *batch empty (possibly with a recycled buffer's capacity).
  void AddCommitted(std::vector<RollupEvent>* batch, uint64_t next_seq);

  Result<TopResult> Top(const TopQuery& q);
  Result<SeriesResult> Series(const SeriesQuery& q);

  // Writes every changed hour now (tests, Close).
  Status Persist();
  // Persists and stops the thread. Idempotent; queries keep working.
  void Close();

  RollupStats Stats();
  // Problems met since the last call (damaged files at open, failed writes), for the log.
  std::vector<std::string> TakeWarnings();
  const RollupOptions& options() const { return options_; }

 private:
  struct HourState {
    uint64_t file_through = 0;  // records below it are counted in the loaded file
    std::unique_ptr<HourRollup> detail;            // resident minute detail, or null
    std::shared_ptr<const RollupSummary> summary;  // when detail is null
    std::array<MinuteTotals, 60> totals{};
    bool dirty = false;
    uint64_t gen = 0;  // bumped on every change
  };

  Rollups(FileSystem* fs, std::string dir, const RollupOptions& options);
  void Load();
  void Warn(std::string message);  // mu_ held (or before Start)
  // `now_ns`: the wall clock, read once per batch by the caller (events further ahead of it
  // than kMaxFutureNs are dropped).
  void AddLocked(const RollupEvent& e, bool replay, uint64_t seq, int64_t now_ns);
  // Counts everything AddCommitted handed over so far (in commit order: only under mu_).
  void DrainLocked();
  // Makes the hour's minute detail resident (reads its file if it was closed).
  bool ReopenLocked(int64_t hour, HourState* h);
  void CloseOldHoursLocked();
  // Null when the day has no hours or one of them still changes. Cached.
  std::shared_ptr<const RollupSummary> DaySummaryLocked(int64_t day) const;
  // Days [d0, d1) merged, each of which has a DaySummaryLocked. A few ranges are cached (a
  // "last 30 days" query moves to a new range once a day), so repeated top-k over a month
  // costs one summary's keys, not thirty.
  std::shared_ptr<const RollupSummary> RangeSummaryLocked(int64_t d0, int64_t d1) const;
  void InvalidateDayLocked(int64_t day);
  Status WriteFile(int64_t hour, const std::string& bytes);
  Result<HourRollup> ReadFile(int64_t hour) const;
  Result<HourSummary> ReadSummary(int64_t hour) const;  // what Load keeps of an hour
  void ApplierLoop();
  std::string PathOf(int64_t hour) const;

  FileSystem* const fs_;
  const std::string dir_;
  const RollupOptions options_;

  mutable std::mutex mu_;
  std::map<int64_t, HourState> hours_;  // guarded by mu_
  static constexpr size_t kRangeCacheEntries = 4;
  mutable std::map<int64_t, std::shared_ptr<const RollupSummary>> day_cache_;  // guarded by mu_
  mutable std::map<std::pair<int64_t, int64_t>, std::shared_ptr<const RollupSummary>>
      range_cache_;  // guarded by mu_
  int64_t newest_hour_ = INT64_MIN;     // guarded by mu_
  size_t loaded_files_ = 0;             // by the last Load; guarded by mu_ (or before Start)
  uint64_t first_replayed_ = UINT64_MAX;  // lowest seq Replay saw; guarded by mu_
  bool replay_all_asked_ = false;         // FinishRecovery returned true; guarded by mu_
  uint64_t applied_seq_ = 0;            // guarded by mu_
  RollupStats stats_;                   // guarded by mu_
  static constexpr size_t kMaxWarnings = 64;
  std::vector<std::string> warnings_;   // guarded by mu_; the newest kMaxWarnings

  std::vector<std::vector<RollupEvent>> drain_buf_;  // guarded by mu_; swapped with pending_
  bool hour_rolled_ = false;            // guarded by mu_

  std::mutex pending_mu_;  // the only lock the writer takes; never held while taking mu_
  std::condition_variable pending_cv_;
  static constexpr size_t kWakeAfterBatches = 256;
  static constexpr int kApplyEveryMs = 100;
  std::vector<std::vector<RollupEvent>> pending_;  // batches, guarded by pending_mu_
  std::vector<std::vector<RollupEvent>> spare_;    // emptied batch buffers, guarded by pending_mu_
  uint64_t pending_next_seq_ = 0;     // guarded by pending_mu_
  bool stop_ = false;                 // guarded by pending_mu_

  std::mutex persist_mu_;  // one Persist at a time
  std::thread applier_;
};

}  // namespace apitrail
