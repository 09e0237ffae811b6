// checkpoints.log: every signed checkpoint the writer made, oldest first, kept forever
// (docs/FORMAT.md §12). Same file header and frames as tree_heads.log: frame seq = tree
// size, payload = time_ns (i64 LE, when it was signed) ‖ the signed note text. Sizes never
// decrease; a heartbeat repeats the previous size. A torn last frame is tolerated (the
// reader stops before it; the store cuts it at open).
// Functions are thread-safe and read-only; a CheckpointWriter belongs to the writer thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "store/checkpoint.h"
#include "store/fs/file_system.h"

namespace apitrail {

struct CheckpointRecord {
  uint64_t size = 0;
  int64_t time_ns = 0;
  std::string note;      // signed note text
  Checkpoint checkpoint;  // parsed from `note` (signature not checked here)
  uint64_t offset = 0;   // of its frame in checkpoints.log
};

struct CheckpointFile {
  std::vector<CheckpointRecord> checkpoints;  // ascending size
  std::string node;          // from the file header
  uint64_t valid_bytes = 0;  // end of the last good frame
  uint64_t file_bytes = 0;
  bool exists = false;
};

std::string CheckpointsPath(const std::string& data_dir);

// Reads every checkpoint. A torn tail ends the list (valid_bytes < file_bytes); damage
// followed by a valid frame, a note that does not parse, a frame size that differs from its
// note's size, or sizes that decrease are Corruption naming the file and offset.
Result<CheckpointFile> ReadCheckpoints(FileSystem* fs, const std::string& path);

class CheckpointWriter {
 public:
  // Opens (creating with its header if needed) <dir>/checkpoints.log. `fs` must outlive it.
  static Result<std::unique_ptr<CheckpointWriter>> Open(FileSystem* fs, const std::string& dir,
                                                        const std::string& node);
  // Appends one checkpoint and fdatasyncs it.
  Status Append(uint64_t size, int64_t time_ns, const std::string& note);

 private:
  explicit CheckpointWriter(std::unique_ptr<WritableFile> file) : file_(std::move(file)) {}
  std::unique_ptr<WritableFile> file_;
  std::string buffer_;
};

}  // namespace apitrail
