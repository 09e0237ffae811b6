// Side logs: framed files beside the segments (tree_heads.log, checkpoints.log) whose frames
// carry a tree size in their seq field (docs/FORMAT.md). Shared reading and opening rules:
// a torn tail (bad or incomplete last frame, nothing valid after it) ends the scan, damage
// followed by a valid frame is Corruption, and a file torn while its header was written
// holds nothing. Functions are thread-safe; they keep no state.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"
#include "store/fs/file_system.h"
#include "store/log/record_reader.h"

namespace apitrail::log {

struct SideLogScan {
  bool exists = false;
  std::string node;          // from the file header
  uint64_t valid_bytes = 0;  // end of the last good frame
  uint64_t file_bytes = 0;
};

// Calls `on_frame` for every whole frame in order (an error from it ends the scan and is
// returned). `min_next_seq` gives the smallest seq a valid next frame may carry, used to
// tell a torn tail from damage; `what` names the frames in errors ("tree heads").
Result<SideLogScan> ScanSideLog(FileSystem* fs, const std::string& path, std::string_view magic,
                                std::string_view what,
                                const std::function<uint64_t()>& min_next_seq,
                                const std::function<Status(const Frame&)>& on_frame);

// Opens `path` in `dir` for appending, writing and syncing its header (and the directory)
// when the file is new.
Result<std::unique_ptr<WritableFile>> OpenSideLogForAppend(FileSystem* fs, const std::string& dir,
                                                           const std::string& path,
                                                           std::string_view magic,
                                                           const std::string& node);

}  // namespace apitrail::log
