// Recovery: what Store::Open does before accepting appends (DESIGN §3, docs/FORMAT.md §6).
// Scans tree_heads.log and every segment in seq order, cuts a torn tail of the LAST segment
// (and of tree_heads.log) at the last whole frame, and refuses to open — Corruption naming
// file and offset — on anything that could mean losing acknowledged records: damage
// followed by valid frames, damage in a non-last segment, a damaged record covered by a
// tree head, seq gaps, or a tree head beyond the log or with a different root.
// Not thread-safe; runs once, before the writer thread starts.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "store/fs/file_system.h"
#include "store/merkle/compact_range.h"
#include "store/part/part_reader.h"
#include "store/tree_head_log.h"

namespace apitrail {

struct SegmentInfo {
  uint64_t first_seq = 0;
  std::string path;
  uint32_t version = 0;  // from the file header; 0 until Recover has read it
  merkle::CompactRange start;  // Recover: the Merkle state at first_seq
  uint64_t end_seq = 0;        // Recover: one past its last record
};

struct RecoveryResult {
  // Sealed parts, ascending, contiguous; opened from footer and index only (no block read).
  std::vector<std::unique_ptr<part::PartReader>> parts;
  uint64_t parts_end = 0;             // one past the last sealed record (0 without parts)
  uint64_t segments_removed = 0;      // already sealed into a verified part (crash after sealing)
  std::vector<SegmentInfo> segments;  // ascending first_seq, all >= parts_end; may be empty
  merkle::CompactRange frontier;      // over all records
  uint64_t records = 0;               // = next seq
  uint64_t truncated_bytes = 0;       // cut from torn tails (segment + tree heads)
  std::optional<TreeHead> last_head;
};

// Called for each record in seq order with its segment (index into
// RecoveryResult::segments, and path), the frame offset in that segment and the payload
// (valid only during the call). A non-OK return aborts recovery with that status.
struct RecordRef {
  uint64_t seq;
  uint32_t segment;
  const std::string& path;
  uint64_t offset;
  std::string_view payload;
};
using RecordVisitor = std::function<Status(const RecordRef& record)>;

// Recovers `data_dir` (which must exist with its segments/ subdirectory); may truncate files.
// Sealed parts are opened without reading their blocks and never visited; a segment that a
// part already holds (a crash between sealing and deleting it) is removed once the part's
// records are shown equal to it, and is Corruption otherwise (both are kept).
// `checkpointed` is the size of the newest signed checkpoint (checkpoints.log): its records
// were acknowledged as surely as a tree head's, and tree heads are synced less often, so a
// damaged record below it is Corruption, never a torn tail to cut.
Result<RecoveryResult> Recover(FileSystem* fs, const std::string& data_dir,
                               const RecordVisitor& visit, uint64_t checkpointed = 0);

// Segment files of a data dir, ascending first_seq (shared with verification).
Result<std::vector<SegmentInfo>> ListSegments(FileSystem* fs, const std::string& data_dir);

struct PartFileInfo {
  uint64_t first_seq = 0;
  std::string path;
};
// Part files (DATA_DIR/parts/*.part), ascending first_seq; leftover *.tmp names in
// *tmp_files when given. A missing parts/ directory is an empty list.
Result<std::vector<PartFileInfo>> ListParts(FileSystem* fs, const std::string& data_dir,
                                            std::vector<std::string>* tmp_files = nullptr);

}  // namespace apitrail
