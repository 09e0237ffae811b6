// Archiver: copies every sealed part (DATA_DIR/parts/*.part) and the checkpoints that cover
// them to cold storage with archive_command, and applies retention (DESIGN §3, docs/CONFIG.md
// `audit.archive`, `audit.retention`; files in docs/FORMAT.md §17).
//
// One background thread scans parts/ every scan interval (or when Poke()d):
//  1. when parts appear that it has not seen, it cuts the checkpoints signed since the last
//     slice into a checkpoint slice in archive/outbox (checkpoint_slices.h); with a part
//     reader it keeps cutting (at most once per pass, only when checkpoints.log grew) until
//     a slice holds a checkpoint covering the new part's last record;
//  2. it runs the command for each file not yet archived, oldest first (parts by name, then
//     outbox files), one at a time with a timeout; exit 0 is recorded durably
//     (archive_status.h). A failure stops the pass and is retried with exponential backoff
//     (retry_min doubling up to retry_max); each failure is logged with the file name, the
//     exit code or signal and the tail of the command's output, never the command line (it
//     may hold credentials), and counted;
//  3. it deletes parts that retention expires, only once archived (unless not required),
//     through `remove_part`, so the store stops serving a part before its file goes.
// Thread-safety: Stats() and Poke() from any thread; Stop() from one control thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "core/status.h"
#include "store/archive/archive_status.h"
#include "store/archive/part_access.h"
#include "store/archive/retention.h"
#include "store/fs/file_system.h"

namespace apitrail::archive {

struct ArchiverOptions {
  std::string data_dir;
  std::string command;  // empty: no archiving (retention with require_archive false only)
  std::chrono::milliseconds timeout{600000};
  std::chrono::milliseconds retry_min{1000};
  std::chrono::milliseconds retry_max{300000};
  std::chrono::milliseconds scan_interval{10000};
  size_t max_output = 4096;  // bytes of the command's output kept for the log
  RetentionPolicy retention;
  // The node's verifier key text (checkpoint.h), archived once as
  // outbox/verifier-key-<hash>.txt so `verify --archive` can run without --key.
  std::string verifier_key_text;
  // Exact part extents and days, when the store can read parts; may be null.
  PartAccess* parts = nullptr;
  // Removes one part: the store must drop it from its readers and indexes, then delete the
  // file (durably). Default: delete the file and fsync parts/.
  std::function<Status(const std::string& path)> remove_part;
  std::function<int64_t()> now_ns;  // wall clock (default NowNs)
  FileSystem* fs = nullptr;         // default DefaultFileSystem()
};

struct ArchiverStats {
  uint64_t archived = 0;              // files the command copied (since start)
  uint64_t failures = 0;              // failed attempts, timeouts included
  uint64_t timeouts = 0;              // attempts killed at the timeout
  uint64_t pending = 0;               // files waiting to be archived now
  uint64_t oldest_pending_age_s = 0;  // age of the oldest of them (by its mtime)
  int64_t last_success_unix_s = 0;    // 0: none since start
  uint64_t slices = 0;                // checkpoint slices written
  uint64_t slice_errors = 0;
  uint64_t retention_deleted = 0;  // parts deleted by retention
  uint64_t retention_deleted_bytes = 0;
  uint64_t retention_waiting = 0;  // expired parts kept because not archived yet
  uint64_t retention_errors = 0;
  bool enabled = false;  // a command is configured
};

class Archiver {
 public:
  // Prepares archive/ in the data dir and starts the thread.
  static Result<std::unique_ptr<Archiver>> Start(ArchiverOptions options);
  ~Archiver();  // Stop()
  Archiver(const Archiver&) = delete;
  Archiver& operator=(const Archiver&) = delete;

  ArchiverStats Stats() const;
  // Scan now instead of at the next interval (a backoff still waits).
  void Poke();
  // Kills a running command (the file stays pending), ends the thread. Idempotent.
  void Stop();

 private:
  struct FileEntry {
    std::string name;
    std::string path;
    uint64_t size = 0;
    int64_t mtime_ns = 0;
    uint64_t inode = 0;
    FileIdentity identity() const { return {size, inode, mtime_ns}; }
  };
  using Clock = std::chrono::steady_clock;

  explicit Archiver(ArchiverOptions options);
  void Run();
  void Pass();
  std::vector<FileEntry> ListFiles(const std::string& dir, bool parts);
  void CutSlices(const std::vector<FileEntry>& parts);
  // Archived, and the marker was written for this very file (warns once when not).
  bool Archived(const FileEntry& f);
  bool ArchiveOne(const FileEntry& f);  // false: failed, back off
  void ApplyRetention(const std::vector<FileEntry>& parts, const std::vector<FileEntry>& outbox);
  int64_t PartNewestTime(const FileEntry& f);
  // One past the part's last seq (0 when unknown: no part reader, or unreadable).
  uint64_t PartEnd(const FileEntry& f);

  ArchiverOptions options_;
  ArchiveStatus status_;                       // archiver thread only
  std::set<std::string> seen_parts_;           // archiver thread only
  std::map<std::string, int64_t> part_times_;  // archiver thread only: Describe() cache
  std::map<std::string, uint64_t> part_ends_;  // archiver thread only: Describe() cache
  uint64_t sliced_size_ = 0;  // archiver thread only: largest tree size cut into a slice
  std::set<std::string> warned_waiting_;  // archiver thread only
  std::set<std::string> warned_changed_;  // archiver thread only
  uint64_t failures_in_row_ = 0;          // archiver thread only
  std::chrono::milliseconds backoff_;     // archiver thread only

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;                                  // guarded by mu_
  bool poked_ = false;                                     // guarded by mu_
  Clock::time_point retry_at_ = Clock::time_point::min();  // guarded by mu_
  ArchiverStats stats_;                                    // guarded by mu_
  std::atomic<bool> cancel_{false};
  std::thread thread_;
};

}  // namespace apitrail::archive
