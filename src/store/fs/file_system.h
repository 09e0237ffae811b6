// FileSystem: the seam between the store and the operating system (STYLE §3.2.10), so tests
// can fail writes, fail syncs and simulate crashes (tests/testutil/fault_file_system.h).
// Implementations are thread-safe; a WritableFile is used by one thread at a time, a
// RandomAccessFile by any number of threads at once (Read is positional).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace apitrail {

class IoRing;  // store/fs/io_ring.h

// An append-only file handle. Not thread-safe: the store's writer thread owns it.
class WritableFile {
 public:
  virtual ~WritableFile() = default;
  // Appends all of `data` at Size() (retrying short writes), over reserved zeros if any.
  // On error some prefix may have been written.
  virtual Status Append(std::string_view data) = 0;
  // Makes the file physically hold at least Size() + bytes, writing real zero bytes (not a
  // hole, not fallocate's unwritten extents) past its current physical end. Appends into
  // such a reserve overwrite allocated blocks, so their fdatasync flushes data only, with no
  // size or extent change to journal: one device write per sync instead of two. The zeros
  // are durable after the next Sync and are not part of Size(). Implementations may
  // reserve more than asked.
  virtual Status Reserve(uint64_t bytes) = 0;
  // Cuts the file to Size(), dropping any reserve, and syncs it.
  virtual Status DropReserve() = 0;
  // fdatasync: on OK everything appended so far survives a crash.
  virtual Status Sync() = 0;
  // Sync in two halves, for a caller that waits for the write in an event loop (only
  // DirectWritableFile can; the others say false here and callers use Sync()). StartSync
  // submits the write of everything appended since the last sync to `ring` and returns at
  // once: true when a write was submitted, false when there was nothing to write. Once the
  // ring reports its result, FinishSync(result) completes it; on OK the bytes are as
  // durable as after Sync(). Nothing may be appended, synced or closed in between.
  virtual bool CanSyncAsync() const { return false; }
  virtual Result<bool> StartSync(IoRing& ring);
  virtual Status FinishSync(int result);
  virtual Status Close() = 0;
  // Bytes appended to the file (as this handle knows it: initial size + appended), not
  // counting a reserve.
  virtual uint64_t Size() const = 0;
};

// A read-only handle for positional reads. Thread-safe.
class RandomAccessFile {
 public:
  virtual ~RandomAccessFile() = default;
  // Reads up to n bytes at offset into scratch; returns the count read (short only at EOF).
  virtual Result<size_t> Read(uint64_t offset, size_t n, char* scratch) const = 0;
  virtual Result<uint64_t> Size() const = 0;
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;

  // Opens `path` for appending, creating it if missing; writes go to the end.
  virtual Result<std::unique_ptr<WritableFile>> OpenForAppend(const std::string& path) = 0;
  // Like OpenForAppend, for a file synced after every batch of appends: an implementation
  // may keep unsynced appends in memory and write them with the sync (POSIX: O_DIRECT|O_DSYNC,
  // fs/direct_writable_file.h), so appends not yet synced do not survive a process crash.
  virtual Result<std::unique_ptr<WritableFile>> OpenForSyncedAppend(const std::string& path) {
    return OpenForAppend(path);
  }
  virtual Result<std::unique_ptr<RandomAccessFile>> OpenForRead(const std::string& path) = 0;
  // Shrinks (or extends with zeros) `path` to `size` bytes and syncs it.
  virtual Status Truncate(const std::string& path, uint64_t size) = 0;
  virtual Status Rename(const std::string& from, const std::string& to) = 0;
  // Names (not paths) of the entries in `dir`, without "." and "..", in no particular order.
  virtual Result<std::vector<std::string>> ListDir(const std::string& dir) = 0;
  // Creates `dir` and missing parents; OK if it exists.
  virtual Status CreateDirs(const std::string& dir) = 0;
  virtual Status Remove(const std::string& path) = 0;
  // fsync on the directory, so created/renamed/removed entries survive a crash.
  virtual Status SyncDir(const std::string& dir) = 0;
  virtual bool Exists(const std::string& path) = 0;

  // Convenience: the whole file.
  Result<std::string> ReadAll(const std::string& path);
  // Convenience for small files whose size is not ours to trust: the whole file when it
  // holds at most `max` bytes; else ResourceExhausted ("N bytes"), and nothing is read.
  Result<std::string> ReadAllAtMost(const std::string& path, uint64_t max);
  // Convenience: makes DIR/NAME hold exactly `contents`, all or nothing across a crash:
  // written to NAME.tmp (a stale one is replaced), synced, renamed, the directory synced.
  Status WriteFileDurably(const std::string& dir, const std::string& name, std::string_view contents);
};

// The process-wide POSIX implementation; never null, never deleted.
FileSystem* DefaultFileSystem();

}  // namespace apitrail
