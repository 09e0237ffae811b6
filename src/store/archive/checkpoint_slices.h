// Checkpoint slices: the unit in which checkpoints.log is archived (docs/FORMAT.md §17).
// checkpoints.log only grows and is kept forever, so it cannot be archived as one immutable
// file; instead, each time new parts appear, the archiver cuts the frames added since the
// previous slice into DATA_DIR/archive/outbox/checkpoints-<start>-<end>.ckpt: a copy of
// checkpoints.log's header followed by its bytes [start, end), byte for byte. A slice is
// therefore itself a valid checkpoints.log-format file (ReadCheckpoints reads it), the slices
// tile checkpoints.log without gaps or overlaps, and an auditor holding all of them holds
// every checkpoint the node signed up to the newest slice.
// Functions are thread-safe given distinct data dirs; the Archiver's thread is the only writer.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "store/fs/file_system.h"

namespace apitrail::archive {

struct SliceInfo {
  std::string name;
  uint64_t start = 0;  // byte range of checkpoints.log the slice holds
  uint64_t end = 0;
  uint64_t checkpoints = 0;    // frames in it (0 when only listed, not read)
  uint64_t max_tree_size = 0;  // the largest tree size signed in it (0 when only listed)
};

// Slices in `dir` (by name), ordered by start.
Result<std::vector<SliceInfo>> ListSlices(FileSystem* fs, const std::string& dir);

// Cuts new slices from DATA_DIR/checkpoints.log into DATA_DIR/archive/outbox: from the end of
// the newest slice there (or the end of the file header) to the end of the last whole frame
// now (a frame being appended at this moment is left for the next slice). A slice holds at
// most `max_frame_bytes` of frames (unless one frame alone is larger; more become several slices),
// which bounds memory. Each is written durably before the next. Returns the slices written, none
// when nothing is new. Corruption when checkpoints.log does not continue where the slices end (a
// data dir put back from an older backup, or damage) or holds a frame that is not a checkpoint.
Result<std::vector<SliceInfo>> WriteCheckpointSlices(FileSystem* fs, const std::string& data_dir,
                                                     size_t max_frame_bytes = 16u << 20);

}  // namespace apitrail::archive
