// FaultFileSystem wraps another FileSystem and breaks it on request, to prove the store's
// durability and failure claims (STYLE §3.2.10, after leveldb's fault_injection_test):
//   - FailNthWrite(n): the n-th Append from now fails with ENOSPC (nothing written);
//   - FailOpensUnder(prefix): every OpenForAppend of a path starting with `prefix` fails
//     with ENOSPC ("" stops it);
//   - SetSyncError(true): every Sync fails with EIO;
//   - SetReserveError(true): every WritableFile::Reserve fails with ENOSPC;
//   - BlockSyncs()/UnblockSyncs(): Sync waits, to hold the writer mid-batch;
//   - Crash(keep): every file loses what was appended since its last successful Sync,
//     except the first `keep` unsynced bytes (a torn write); handles opened before the
//     crash fail from then on, and so does every call that changes the file system (open
//     for append, rename, remove, truncate, sync dir), as if their process had died: a
//     store still running on it cannot start a segment after its crash. Restart() lets a
//     new "process" use it again. Lost bytes inside a synced zero reserve
//     (WritableFile::Reserve) read back as zeros, as on a real disk.
// It also counts positional reads (reads()), so tests can prove a query did not scan.
// Thread-safe. `base` must outlive it.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <string>

#include "store/fs/file_system.h"

namespace apitrail::testing {

class FaultFileSystem final : public FileSystem {
 public:
  explicit FaultFileSystem(FileSystem* base) : base_(base) {}

  void FailNthWrite(int n);
  void FailOpensUnder(std::string prefix);
  void SetSyncError(bool fail);
  void SetReserveError(bool fail);
  void BlockSyncs();
  void UnblockSyncs();
  Status Crash(uint64_t keep_unsynced_bytes = 0);
  void Restart();
  int syncs() const;
  uint64_t reads() const { return reads_.load(); }

  Result<std::unique_ptr<WritableFile>> OpenForAppend(const std::string& path) override;
  Result<std::unique_ptr<RandomAccessFile>> OpenForRead(const std::string& path) override;
  Status Truncate(const std::string& path, uint64_t size) override;
  Status Rename(const std::string& from, const std::string& to) override;
  Result<std::vector<std::string>> ListDir(const std::string& dir) override {
    return base_->ListDir(dir);
  }
  Status CreateDirs(const std::string& dir) override {
    APITRAIL_RETURN_IF_ERROR(CheckAlive());
    return base_->CreateDirs(dir);
  }
  Status Remove(const std::string& path) override;
  Status SyncDir(const std::string& dir) override {
    APITRAIL_RETURN_IF_ERROR(CheckAlive());
    return base_->SyncDir(dir);
  }
  bool Exists(const std::string& path) override { return base_->Exists(path); }

 private:
  class File;
  class ReadFile;
  friend class File;
  struct Tracked {
    uint64_t size = 0;
    uint64_t synced = 0;
    uint64_t reserved = 0;         // physical end asked for by Reserve
    uint64_t reserved_synced = 0;  // ... as of the last successful Sync
  };

  Status CheckAlive();  // an error after Crash() until Restart()
  // Called by File; return the injected error, if any.
  Status BeforeWrite(uint64_t generation);
  Status BeforeSync(uint64_t generation);
  Status BeforeReserve(uint64_t generation);
  void Reserved(const std::string& path, uint64_t end, bool drop = false);
  void Wrote(const std::string& path, uint64_t n);
  void Synced(const std::string& path);

  FileSystem* base_;
  // File operations hold it shared from the fault check to the bookkeeping, Crash holds it
  // exclusively: an operation happens wholly before or wholly after a crash.
  std::shared_mutex op_mu_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, Tracked> files_;
  int writes_until_failure_ = 0;  // 0: no failure armed
  std::string fail_opens_under_;  // "": none
  bool sync_error_ = false;
  bool reserve_error_ = false;
  bool syncs_blocked_ = false;
  int syncs_ = 0;
  uint64_t generation_ = 0;  // bumped by Crash()
  bool dead_ = false;        // set by Crash(), cleared by Restart()
  std::atomic<uint64_t> reads_{0};
};

}  // namespace apitrail::testing
