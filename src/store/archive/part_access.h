// PartAccess: what the archiver and `verify --archive` need to know about a sealed part,
// without depending on the part's internal format. The store's part code implements it
// (its part reader); until then the archiver falls back to the file's modification time
// (the sealing time, never earlier than the part's newest record) for retention, and
// `verify --archive` reports parts as not checked.
// Implementations must be thread-safe for concurrent calls on different paths.
//
// With the store's part reader (store/part/part_reader.h) the implementation is a few lines:
//   Describe:      PartReader::Open(fs, path) → {first_seq(), end_seq(), max_time_ns(), node(),
//                  before()}
//   ForEachRecord: PartReader::Open(fs, path), then part::ForEachRecord(*reader, record)
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"
#include "store/merkle/compact_range.h"

namespace apitrail::archive {

struct PartInfo {
  uint64_t first_seq = 0;      // seq of the part's first record
  uint64_t end_seq = 0;        // one past its last record
  int64_t newest_time_ns = 0;  // the largest record `time_ns` in the part (its UTC day)
  std::string node;            // the node that wrote it, when the part records it
  // The Merkle state (compact range) over records 0 … first_seq-1, when the part stores it:
  // lets `verify --archive` check an archive whose older parts were pruned. Not trusted by
  // itself — a signed root over later records confirms it. Size must equal first_seq.
  std::optional<merkle::CompactRange> before;
};

class PartAccess {
 public:
  virtual ~PartAccess() = default;
  // The part's extent and newest record time, from its header or footer (cheap).
  // Corruption naming the file and offset when the part is damaged.
  virtual Result<PartInfo> Describe(const std::string& path) = 0;
  // Calls `record` for every record in seq order with the exact record bytes the Merkle
  // leaf hash covers (docs/FORMAT.md §6). An error from `record` ends the walk and is
  // returned; damage is Corruption naming the file and offset.
  virtual Status ForEachRecord(
      const std::string& path,
      const std::function<Status(uint64_t seq, std::string_view record)>& record) = 0;
};

}  // namespace apitrail::archive
