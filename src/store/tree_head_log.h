// tree_heads.log: after group commits (at most every 50 ms, and on flush/close) the writer
// appends (tree size, root, time) as one frame (docs/FORMAT.md §7), written after the
// segment's sync, so a head is never ahead of the
// durable records. Recovery and verification compare the log against it to catch
// truncation (head says 120 records, log has 100) and rewriting (root differs).
// Functions are thread-safe; a TreeHeadWriter belongs to the writer thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/crypto_util.h"
#include "core/status.h"
#include "store/fs/file_system.h"

namespace apitrail {

struct TreeHead {
  uint64_t size = 0;  // records covered: seqs 0..size-1
  Hash256 root{};
  int64_t time_ns = 0;
  uint64_t offset = 0;  // of its frame in tree_heads.log
};

struct TreeHeadFile {
  std::vector<TreeHead> heads;  // ascending size
  uint64_t valid_bytes = 0;     // end of the last good frame
  uint64_t file_bytes = 0;
  bool exists = false;
};

// Reads every head. A torn tail (bad or incomplete last frame, nothing valid after it) ends
// the list: valid_bytes < file_bytes tells the caller. Damage followed by valid frames, a
// bad header, or sizes that do not increase are Corruption naming the file and offset.
Result<TreeHeadFile> ReadTreeHeads(FileSystem* fs, const std::string& path);

// Appends heads to tree_heads.log, creating it with its header if needed.
class TreeHeadWriter {
 public:
  // `fs` must outlive the writer.
  static Result<std::unique_ptr<TreeHeadWriter>> Open(FileSystem* fs, const std::string& dir,
                                                      const std::string& node);
  // Appends one head; fdatasyncs it only when `sync` is set. A head is written after the
  // segment sync, so even unsynced it never covers records that are not durable; losing
  // the newest unsynced heads in a power cut only weakens truncation detection for that
  // last moment.
  Status Append(uint64_t size, const Hash256& root, int64_t time_ns, bool sync);
  Status Sync() { return file_->Sync(); }

 private:
  explicit TreeHeadWriter(std::unique_ptr<WritableFile> file) : file_(std::move(file)) {}
  std::unique_ptr<WritableFile> file_;
  std::string buffer_;
};

std::string TreeHeadsPath(const std::string& data_dir);

}  // namespace apitrail
