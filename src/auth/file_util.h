// Small POSIX file helpers for the auth module: read a whole (bounded) file, replace a file
// atomically, take an exclusive advisory lock, and identify a file version for reload checks.
// Thread-safe (no shared state); every error names the file.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace apitrail {

// Reads all of `path`. kNotFound if it does not exist; kResourceExhausted if it is larger
// than max_bytes (key and JWKS files are small; this bounds a mistaken path like /dev/zero).
Result<std::string> ReadSmallFile(const std::string& path, size_t max_bytes = 16 << 20);

// Replaces `path` with `contents` so a reader sees the old or the new file, never a mix, and
// the new one survives a crash once this returns: write <path>.tmp.<pid> in the same directory
// with `mode` (umask does not apply), fsync it, rename over `path`, fsync the directory.
Status WriteFileAtomically(const std::string& path, std::string_view contents, mode_t mode);

// An exclusive flock(2) on `lock_path` (created 0600 if missing), released on destruction.
// Serialises read-modify-write cycles between processes (two `apitrail keys create` at once).
class FileLock {
 public:
  static Result<FileLock> Acquire(const std::string& lock_path);
  FileLock(FileLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  FileLock& operator=(FileLock&&) = delete;
  FileLock(const FileLock&) = delete;
  ~FileLock();

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_;
};

// What changes when a file is replaced or edited in place: inode (rename), size, mtime.
struct FileVersion {
  bool exists = false;
  uint64_t dev = 0;
  uint64_t inode = 0;
  int64_t size = 0;
  int64_t mtime_ns = 0;
  bool operator==(const FileVersion&) const = default;
};

// kNotFound is reported as {exists=false}; other stat errors as a Status.
Result<FileVersion> StatFileVersion(const std::string& path);

// The directory part of `path` ("." if none).
std::string DirName(const std::string& path);

}  // namespace apitrail
