// ForwardingFileSystem: a FileSystem that passes every call to `base`, for test file
// systems that change one or two calls (record reads, fail a completion) and keep the rest;
// ForwardingWritableFile the same for one file they hand out.
// OpenForSyncedAppend is left to FileSystem's default (OpenForAppend) unless a subclass
// overrides it. Thread-safe as `base` is; `base` must outlive it.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "store/fs/file_system.h"

namespace apitrail::testing {

class ForwardingWritableFile : public WritableFile {
 public:
  explicit ForwardingWritableFile(std::unique_ptr<WritableFile> f) : f_(std::move(f)) {}
  Status Append(std::string_view d) override { return f_->Append(d); }
  Status Reserve(uint64_t n) override { return f_->Reserve(n); }
  Status DropReserve() override { return f_->DropReserve(); }
  Status Sync() override { return f_->Sync(); }
  bool CanSyncAsync() const override { return f_->CanSyncAsync(); }
  Result<bool> StartSync(IoRing& ring) override { return f_->StartSync(ring); }
  Status FinishSync(int result) override { return f_->FinishSync(result); }
  Status Close() override { return f_->Close(); }
  uint64_t Size() const override { return f_->Size(); }

 protected:
  WritableFile& base() { return *f_; }

 private:
  std::unique_ptr<WritableFile> f_;
};

class ForwardingFileSystem : public FileSystem {
 public:
  explicit ForwardingFileSystem(FileSystem* base) : base_(base) {}

  Result<std::unique_ptr<WritableFile>> OpenForAppend(const std::string& p) override {
    return base_->OpenForAppend(p);
  }
  Result<std::unique_ptr<RandomAccessFile>> OpenForRead(const std::string& p) override {
    return base_->OpenForRead(p);
  }
  Status Truncate(const std::string& p, uint64_t n) override { return base_->Truncate(p, n); }
  Status Rename(const std::string& a, const std::string& b) override { return base_->Rename(a, b); }
  Result<std::vector<std::string>> ListDir(const std::string& d) override {
    return base_->ListDir(d);
  }
  Status CreateDirs(const std::string& d) override { return base_->CreateDirs(d); }
  Status Remove(const std::string& p) override { return base_->Remove(p); }
  Status SyncDir(const std::string& d) override { return base_->SyncDir(d); }
  bool Exists(const std::string& p) override { return base_->Exists(p); }

 protected:
  FileSystem* base() const { return base_; }

 private:
  FileSystem* const base_;
};

}  // namespace apitrail::testing
