// ArchiveStatus: which files archive_command has copied successfully, kept durably as one
// marker file per archived file in DATA_DIR/archive/done/ (docs/FORMAT.md §17), in the manner
// of PostgreSQL's archive_status/*.done. A marker is written (tmp, fdatasync, rename, directory
// fsync) only after the command exited 0, so after a crash a file is either marked or is
// archived again — never marked without having been archived. Retention deletes a part only
// when its marker exists, and removes the marker after the part.
// Not thread-safe: owned by the Archiver's thread. `fs` must outlive it.
#pragma once

#include <cstdint>
#include <set>
#include <string>

#include "core/status.h"
#include "store/fs/file_system.h"

namespace apitrail::archive {

class ArchiveStatus {
 public:
  ArchiveStatus(FileSystem* fs, std::string data_dir);

  // Creates archive/done and archive/outbox if missing and removes *.tmp left by a crash;
  // loads the markers.
  Status Open();
  bool IsDone(const std::string& name) const { return done_.count(name) != 0; }
  // Records that `name` (a file name in parts/ or archive/outbox/) was archived; the marker
  // holds the time and the file's size (informative). Durable when this returns OK.
  Status MarkDone(const std::string& name, uint64_t size, int64_t now_ns);
  // Removes the marker of a file that no longer exists (deleted by retention).
  Status Forget(const std::string& name);
  const std::set<std::string>& done() const { return done_; }

 private:
  FileSystem* fs_;
  std::string dir_;
  std::string outbox_;
  std::set<std::string> done_;
};

}  // namespace apitrail::archive
