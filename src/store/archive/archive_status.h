// ArchiveStatus: which files archive_command has copied successfully, kept durably as one
// marker file per archived file in DATA_DIR/archive/done/ (docs/FORMAT.md §17), in the manner
// of PostgreSQL's archive_status/*.done. A marker is written (tmp, fdatasync, rename, directory
// fsync) only after the command exited 0, so after a crash a file is either marked or is
// archived again — never marked without having been archived. Retention deletes a part only
// when its marker exists, and removes the marker after the part.
// Not thread-safe: owned by the Archiver's thread. `fs` must outlive it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "store/fs/file_system.h"

namespace apitrail::archive {

// What makes "the same file": a replaced file has another inode and modification time.
struct FileIdentity {
  uint64_t size = 0;
  uint64_t inode = 0;
  int64_t mtime_ns = 0;
  bool operator==(const FileIdentity&) const = default;
};

class ArchiveStatus {
 public:
  ArchiveStatus(FileSystem* fs, const std::string& data_dir);

  // Creates archive/done and archive/outbox if missing and removes *.tmp left by a crash;
  // loads the markers.
  Status Open();
  // A marker exists for `name` (whatever file it was written for).
  bool IsDone(const std::string& name) const { return done_.count(name) != 0; }
  // A marker exists and was written for this very file (a marker without an identity, from
  // an older or hand-made file, matches any).
  bool IsArchived(const std::string& name, const FileIdentity& file) const;
  // Records that `name` (a file name in parts/ or archive/outbox/) was archived, with the
  // time and the file's identity. Durable when this returns OK.
  Status MarkDone(const std::string& name, const FileIdentity& file, int64_t now_ns);
  // Removes the marker of a file that no longer exists (deleted by retention).
  Status Forget(const std::string& name);
  std::vector<std::string> DoneNames() const;

 private:
  FileSystem* fs_;
  std::string dir_;
  std::string outbox_;
  std::map<std::string, std::optional<FileIdentity>> done_;
};

}  // namespace apitrail::archive
