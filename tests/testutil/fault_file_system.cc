#include "testutil/fault_file_system.h"

#include <algorithm>

namespace apitrail::testing {

class FaultFileSystem::File final : public WritableFile {
 public:
  File(FaultFileSystem* fs, std::string path, std::unique_ptr<WritableFile> base,
       uint64_t generation)
      : fs_(fs), path_(std::move(path)), base_(std::move(base)), generation_(generation) {}

  Status Append(std::string_view data) override {
    std::shared_lock<std::shared_mutex> op(fs_->op_mu_);
    APITRAIL_RETURN_IF_ERROR(fs_->BeforeWrite(generation_));
    APITRAIL_RETURN_IF_ERROR(base_->Append(data));
    fs_->Wrote(path_, data.size());
    return Status::Ok();
  }
  Status Reserve(uint64_t bytes) override {
    std::shared_lock<std::shared_mutex> op(fs_->op_mu_);
    APITRAIL_RETURN_IF_ERROR(fs_->BeforeReserve(generation_));
    APITRAIL_RETURN_IF_ERROR(base_->Reserve(bytes));
    fs_->Reserved(path_, base_->Size() + bytes);
    return Status::Ok();
  }
  Status DropReserve() override {
    std::shared_lock<std::shared_mutex> op(fs_->op_mu_);
    APITRAIL_RETURN_IF_ERROR(fs_->BeforeSync(generation_));
    APITRAIL_RETURN_IF_ERROR(base_->DropReserve());
    fs_->Synced(path_);
    fs_->Reserved(path_, base_->Size(), /*drop=*/true);
    return Status::Ok();
  }
  Status Sync() override {
    std::shared_lock<std::shared_mutex> op(fs_->op_mu_);
    APITRAIL_RETURN_IF_ERROR(fs_->BeforeSync(generation_));
    APITRAIL_RETURN_IF_ERROR(base_->Sync());
    fs_->Synced(path_);
    return Status::Ok();
  }
  Status Close() override { return base_->Close(); }
  uint64_t Size() const override { return base_->Size(); }

 private:
  FaultFileSystem* fs_;
  std::string path_;
  std::unique_ptr<WritableFile> base_;
  uint64_t generation_;
};

class FaultFileSystem::ReadFile final : public RandomAccessFile {
 public:
  ReadFile(std::atomic<uint64_t>* reads, std::unique_ptr<RandomAccessFile> base)
      : reads_(reads), base_(std::move(base)) {}
  Result<size_t> Read(uint64_t offset, size_t n, char* scratch) const override {
    reads_->fetch_add(1);
    return base_->Read(offset, n, scratch);
  }
  Result<uint64_t> Size() const override { return base_->Size(); }

 private:
  std::atomic<uint64_t>* reads_;
  std::unique_ptr<RandomAccessFile> base_;
};

Result<std::unique_ptr<RandomAccessFile>> FaultFileSystem::OpenForRead(const std::string& path) {
  APITRAIL_ASSIGN_OR_RETURN(auto base, base_->OpenForRead(path));
  return std::unique_ptr<RandomAccessFile>(new ReadFile(&reads_, std::move(base)));
}

void FaultFileSystem::FailNthWrite(int n) {
  std::lock_guard<std::mutex> lock(mu_);
  writes_until_failure_ = n;
}

void FaultFileSystem::FailOpensUnder(std::string prefix) {
  std::lock_guard<std::mutex> lock(mu_);
  fail_opens_under_ = std::move(prefix);
}

void FaultFileSystem::SetSyncError(bool fail) {
  std::lock_guard<std::mutex> lock(mu_);
  sync_error_ = fail;
}

void FaultFileSystem::BlockSyncs() {
  std::lock_guard<std::mutex> lock(mu_);
  syncs_blocked_ = true;
}

void FaultFileSystem::UnblockSyncs() {
  std::lock_guard<std::mutex> lock(mu_);
  syncs_blocked_ = false;
  cv_.notify_all();
}

int FaultFileSystem::syncs() const {
  std::lock_guard<std::mutex> lock(mu_);
  return syncs_;
}

Status FaultFileSystem::Crash(uint64_t keep_unsynced_bytes) {
  {
    // First kill the old handles (and release a blocked sync), then wait for operations
    // already past their fault check.
    std::lock_guard<std::mutex> lock(mu_);
    ++generation_;
    dead_ = true;
    syncs_blocked_ = false;
    cv_.notify_all();
  }
  std::unique_lock<std::shared_mutex> op(op_mu_);
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [path, t] : files_) {
    if (t.size <= t.synced && t.reserved <= t.reserved_synced) continue;
    const uint64_t keep = t.synced + std::min(keep_unsynced_bytes, t.size - t.synced);
    APITRAIL_RETURN_IF_ERROR(base_->Truncate(path, keep));
    // Lost appends inside a synced reserve read back as its zeros; an unsynced reserve is
    // gone like any unsynced write.
    if (t.reserved_synced > keep) APITRAIL_RETURN_IF_ERROR(base_->Truncate(path, t.reserved_synced));
    t.size = t.synced = keep;
    t.reserved = t.reserved_synced = std::max(keep, t.reserved_synced);
  }
  return Status::Ok();
}

void FaultFileSystem::Restart() {
  std::lock_guard<std::mutex> lock(mu_);
  dead_ = false;
}

Status FaultFileSystem::CheckAlive() {
  std::lock_guard<std::mutex> lock(mu_);
  if (dead_) return Status::IoError("file system call after simulated crash");
  return Status::Ok();
}

Result<std::unique_ptr<WritableFile>> FaultFileSystem::OpenForAppend(const std::string& path) {
  // Like every operation, wholly before or wholly after a crash: a handle opened before it
  // must not get the new generation.
  std::shared_lock<std::shared_mutex> op(op_mu_);
  APITRAIL_RETURN_IF_ERROR(CheckAlive());
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!fail_opens_under_.empty() && path.rfind(fail_opens_under_, 0) == 0) {
      return Status::ResourceExhausted(path + ": open: No space left on device (injected ENOSPC)");
    }
  }
  APITRAIL_ASSIGN_OR_RETURN(auto base, base_->OpenForAppend(path));
  std::lock_guard<std::mutex> lock(mu_);
  auto [it, inserted] = files_.try_emplace(path);
  if (inserted) {  // existing bytes count as durable
    it->second.size = it->second.synced = base->Size();
    it->second.reserved = it->second.reserved_synced = base->Size();
  }
  return std::unique_ptr<WritableFile>(new File(this, path, std::move(base), generation_));
}

Status FaultFileSystem::Truncate(const std::string& path, uint64_t size) {
  std::shared_lock<std::shared_mutex> op(op_mu_);
  APITRAIL_RETURN_IF_ERROR(CheckAlive());
  APITRAIL_RETURN_IF_ERROR(base_->Truncate(path, size));
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = files_.find(path); it != files_.end()) {
    it->second.size = it->second.synced = size;
    it->second.reserved = it->second.reserved_synced = size;
  }
  return Status::Ok();
}

Status FaultFileSystem::Rename(const std::string& from, const std::string& to) {
  // The rename and its bookkeeping together, or Crash would truncate a name that is gone.
  std::shared_lock<std::shared_mutex> op(op_mu_);
  APITRAIL_RETURN_IF_ERROR(CheckAlive());
  APITRAIL_RETURN_IF_ERROR(base_->Rename(from, to));
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = files_.find(from); it != files_.end()) {
    files_[to] = it->second;
    files_.erase(from);
  }
  return Status::Ok();
}

Status FaultFileSystem::Remove(const std::string& path) {
  std::shared_lock<std::shared_mutex> op(op_mu_);
  APITRAIL_RETURN_IF_ERROR(CheckAlive());
  APITRAIL_RETURN_IF_ERROR(base_->Remove(path));
  std::lock_guard<std::mutex> lock(mu_);
  files_.erase(path);
  return Status::Ok();
}

Status FaultFileSystem::BeforeWrite(uint64_t generation) {
  std::lock_guard<std::mutex> lock(mu_);
  if (generation != generation_) return Status::IoError("write after simulated crash");
  if (writes_until_failure_ > 0 && --writes_until_failure_ == 0) {
    return Status::ResourceExhausted("write: No space left on device (injected ENOSPC)");
  }
  return Status::Ok();
}

Status FaultFileSystem::BeforeReserve(uint64_t generation) {
  std::lock_guard<std::mutex> lock(mu_);
  if (generation != generation_) return Status::IoError("write after simulated crash");
  if (reserve_error_) return Status::ResourceExhausted("write: No space left on device (injected ENOSPC in reserve)");
  return Status::Ok();
}

void FaultFileSystem::SetReserveError(bool fail) {
  std::lock_guard<std::mutex> lock(mu_);
  reserve_error_ = fail;
}

void FaultFileSystem::Reserved(const std::string& path, uint64_t end, bool drop) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& t = files_[path];
  t.reserved = drop ? end : std::max(t.reserved, end);
  if (drop) t.reserved_synced = end;
}

Status FaultFileSystem::BeforeSync(uint64_t generation) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return !syncs_blocked_ || generation != generation_; });
  if (generation != generation_) return Status::IoError("sync after simulated crash");
  if (sync_error_) return Status::IoError("fdatasync: Input/output error (injected EIO)");
  ++syncs_;
  return Status::Ok();
}

void FaultFileSystem::Wrote(const std::string& path, uint64_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  files_[path].size += n;
}

void FaultFileSystem::Synced(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& t = files_[path];
  t.synced = t.size;
  t.reserved_synced = std::max(t.reserved_synced, t.reserved);
}

}  // namespace apitrail::testing
