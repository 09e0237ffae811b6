// PosixFileSystem: FileSystem over open/write/pread/fdatasync. Thread-safe (stateless).
// Errors carry the path and strerror(errno), e.g. "write seg-…log: No space left on device".
#pragma once

#include "store/fs/file_system.h"

namespace apitrail {

class PosixFileSystem final : public FileSystem {
 public:
  Result<std::unique_ptr<WritableFile>> OpenForAppend(const std::string& path) override;
  // O_DIRECT|O_DSYNC where the file system allows it, else OpenForAppend.
  Result<std::unique_ptr<WritableFile>> OpenForSyncedAppend(const std::string& path) override;
  Result<std::unique_ptr<RandomAccessFile>> OpenForRead(const std::string& path) override;
  Status Truncate(const std::string& path, uint64_t size) override;
  Status Rename(const std::string& from, const std::string& to) override;
  Result<std::vector<std::string>> ListDir(const std::string& dir) override;
  Status CreateDirs(const std::string& dir) override;
  Status Remove(const std::string& path) override;
  Status SyncDir(const std::string& dir) override;
  bool Exists(const std::string& path) override;
};

}  // namespace apitrail
