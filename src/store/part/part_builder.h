// PartBuilder writes one sealed part file (docs/FORMAT.md §16) front to back: header,
// zstd blocks, (version 2) the seq map, the summary (block table, Merkle state after the
// part), the index section and the footer.
// Version 2 (the default) clusters the records by (hour of time_ns, subject, time_ns, seq),
// so it writes every block in Finish: it keeps ~48 bytes per record until then, and the
// record bytes too unless they can be read back from a source file (ReadPayloadsFrom: the
// sealer's segment), so sealing a 256 MiB segment does not hold 256 MiB. Version 1 (kept so
// tests can write the old layout) writes each block as soon as it is full.
// It writes only the path it is given (the sealer's NAME.tmp) and syncs it in Finish; the
// caller renames it into place. One thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/event.h"
#include "core/status.h"
#include "store/fs/file_system.h"
#include "store/merkle/compact_range.h"
#include "store/part/part_format.h"
#include "store/part/part_index.h"
#include "store/part/part_values.h"
#include "store/part/zstd_frame.h"

namespace apitrail::part {

struct BlockMeta {
  uint64_t offset = 0;       // of the stored (compressed) bytes in the file
  uint32_t stored_size = 0;
  uint32_t raw_size = 0;
  uint32_t first = 0;        // index of its first record within the part
  uint32_t count = 0;
  int64_t min_time_ns = 0;   // over its records' time_ns
  int64_t max_time_ns = 0;
  uint32_t crc = 0;          // masked CRC32C of the stored bytes
  uint32_t codec = 0;       // kCodecZstdRows, kCodecZstdColumns or kCodecZstdSeqColumns
  // Lowest and highest seq - first_seq of its records (version 1: first, first+count-1).
  uint32_t min_rel = 0;
  uint32_t max_rel = 0;
};

class PartBuilder {
 public:
  // Creates `path` (it must not exist) and writes the header. `before` is the Merkle state
  // of the log just before `first_seq` (its size must be first_seq). `fs` must outlive it.
  static Result<std::unique_ptr<PartBuilder>> Create(FileSystem* fs, const std::string& path,
                                                     std::string_view node, uint64_t first_seq,
                                                     const merkle::CompactRange& before,
                                                     size_t block_raw_size = 0,
                                                     uint32_t version = kVersion5);
  ~PartBuilder();

  // Version 2: Add is then given each payload's offset in `source` and keeps no bytes; Finish
  // reads them back (the caller must make sure they are the same bytes: the sealer checks
  // every leaf of the finished part against the segment's).
  void ReadPayloadsFrom(const RandomAccessFile* source) { source_ = source; }
  // Adds the next record (seq = first_seq + records so far): its exact bytes, the event
  // they decode to (for the time range and the index) and, with a source, their offset in it.
  Status Add(std::string_view payload, const AuditEvent& event, uint64_t source_offset = 0);
  // Version 2 only needs the time and subject of a record at this point (it decodes the
  // record again when it writes the blocks): Add without building the event.
  Status AddV2(std::string_view payload, int64_t time_ns, std::string_view subject,
               uint64_t source_offset = 0);
  uint32_t version() const { return version_; }
  // Writes the rest; `after` is the Merkle state after the last record. Syncs and closes.
  Status Finish(const merkle::CompactRange& after);
  uint64_t records() const { return records_; }
  uint64_t file_size() const;

 private:
  PartBuilder(std::unique_ptr<WritableFile> file, std::string path, size_t block_raw_size, uint32_t version);
  Status FlushBlock();
  // Version 2: sorts the buffered records and writes the blocks and the seq map section.
  Status WriteClustered(std::string* seqmap_tail);
  // Trains the part's zstd dictionary (dict_, cdict_) on a sample of its blocks; leaves none
  // for a small part or when zstd cannot train one. `load` fills records/rels with a block.
  Status TrainDictionary(const std::vector<std::pair<size_t, size_t>>& ranges,
                         const std::function<Status(size_t, size_t)>& load,
                         const std::vector<std::string_view>& records, const std::vector<uint32_t>& rels);

  // A buffered record of a version 2 part.
  struct Pending {
    int64_t bucket;
    int64_t time_ns;
    uint32_t rel;
    uint32_t subject_len;
    uint64_t offset;  // of its bytes in arena_ (or in source_)
    uint64_t subject_offset;  // in subjects_
    uint32_t len;
  };
  uint32_t version_;
  const RandomAccessFile* source_ = nullptr;
  std::string dict_;       // version 2: the part's zstd dictionary (empty: none)
  PartValues::Counter value_counter_{kValueTableSampleEvery};  // version 2: as records are added
  PartValues values_;                  // version 2: the part's value table, made in Finish
  void* cdict_ = nullptr;  // ZSTD_CDict of dict_
  std::string arena_;
  std::string subjects_;
  std::vector<Pending> pending_;

  std::unique_ptr<WritableFile> file_;
  std::string path_;
  size_t block_raw_size_;
  void* cctx_ = nullptr;  // ZSTD_CCtx
  std::string payloads_;             // the block being built: its records back to back
  std::vector<uint32_t> record_ends_;  // end of each record in payloads_
  BlockMeta cur_;
  std::vector<BlockMeta> blocks_;
  PartIndexBuilder index_;
  uint64_t records_ = 0;
  int64_t min_time_ns_ = 0;
  int64_t max_time_ns_ = 0;
};

}  // namespace apitrail::part
