// PartReader: one sealed part (version 1 or 2), opened by reading only its footer, header,
// summary and index section (docs/FORMAT.md §16) — never a block — so a restart costs no
// decompression. A version 2 part's seq map (seq -> block) is read on the first lookup by seq.
// Blocks are read on demand, checked against their CRC, decompressed and split into
// records; a few recently used blocks are cached. Every problem is a Corruption naming the
// file and the byte offset of the damaged piece; nothing crashes and nothing is allocated
// from an unchecked size.
// Thread-safe after Open (and SetBlockCache; the cache has its own lock).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "query/event_query.h"
#include "store/fs/file_system.h"
#include "store/merkle/compact_range.h"
#include "store/part/block.h"
#include "store/part/block_cache.h"
#include "store/part/part_builder.h"
#include "store/part/part_index.h"
#include "store/part/part_values.h"

struct ZSTD_DDict_s;

namespace apitrail::part {

class PartReader {
 public:
  // `fs` must outlive the reader.
  static Result<std::unique_ptr<PartReader>> Open(FileSystem* fs, const std::string& path);
  ~PartReader();

  // Keeps decoded blocks in `cache` (shared with the store's other parts) instead of the
  // reader's own small one, which goes with the blocks it held (sealing's read-back leaves
  // some; they would sit outside the shared budget for the part's life). Call before the
  // reader is shared between threads. Null keeps the reader's own.
  void SetBlockCache(std::shared_ptr<BlockCache> cache) {
    if (cache) cache_ = std::move(cache);
  }

  const std::string& path() const { return path_; }
  const std::string& node() const { return node_; }
  uint32_t version() const { return version_; }
  uint64_t first_seq() const { return first_seq_; }
  uint64_t count() const { return count_; }
  uint64_t end_seq() const { return first_seq_ + count_; }
  int64_t min_time_ns() const { return min_time_ns_; }
  int64_t max_time_ns() const { return max_time_ns_; }
  uint64_t file_size() const { return file_size_; }
  const merkle::CompactRange& before() const { return before_; }
  const merkle::CompactRange& after() const { return after_; }
  const std::vector<BlockMeta>& blocks() const { return blocks_; }
  const PartIndex& index() const { return index_; }
  uint64_t summary_offset() const { return blocks_end_; }
  uint64_t index_offset() const { return index_offset_; }
  uint64_t seqmap_offset() const { return seqmap_offset_; }  // version 2
  // Version 2: bytes of the dictionary section (value table and zstd dictionary); 0: none.
  uint32_t dictionary_size() const { return dict_size_; }
  const PartValues& values() const { return values_; }  // version 2; empty: none

  // The raw (decompressed, not yet decoded) bytes of block `i`, CRC checked; no cache.
  Result<std::string> ReadRawBlock(uint32_t i) const;
  // Block `i` (checked and decompressed), from the cache when it is there (the store's
  // BlockCache if one was set, else the reader's own ~1 MiB).
  Result<std::shared_ptr<const Block>> ReadBlock(uint32_t i) const;
  // The block holding `seq` (first_seq() <= seq < end_seq()). Version 2 reads the seq map
  // on first use (Corruption naming its offset when damaged).
  Result<uint32_t> BlockOf(uint64_t seq) const;
  // Offset of the block holding `seq`, for messages (0 when it cannot be told).
  uint64_t BlockOffsetOf(uint64_t seq) const;
  // The exact bytes of record `seq`.
  Result<std::string> Record(uint64_t seq) const;

  // The index keys of a query's equality filters, hashed once for every part (a
  // correlation-id query asks each part; hashing the id each time was 7% of it).
  struct IndexKeys {
    explicit IndexKeys(const EventQuery& q);
    std::vector<std::pair<Field, uint32_t>> keys;  // (field, KeyHash), in intersection order
  };
  // Blocks that may hold events matching the query's equality filters and time range,
  // ascending. The index rules out the rest; time ranges use each block's min/max.
  std::vector<uint32_t> CandidateBlocks(const EventQuery& q, const IndexKeys& keys) const;
  std::vector<uint32_t> CandidateBlocks(const EventQuery& q) const {
    return CandidateBlocks(q, IndexKeys(q));
  }
  // Blocks that may hold a record whose `field` equals `value`, ascending. A seq-keyed
  // table (version 4 event ids) names records, whose blocks the seq map gives: an error
  // when it cannot be read.
  Result<std::vector<uint32_t>> BlocksWith(Field field, std::string_view value) const;

 private:
  PartReader() = default;
  Status Load();
  Status LoadSeqMap() const;

  FileSystem* fs_ = nullptr;
  std::string path_;
  std::unique_ptr<RandomAccessFile> file_;
  uint64_t file_size_ = 0;
  std::string node_;
  uint64_t first_seq_ = 0;
  uint64_t count_ = 0;
  int64_t min_time_ns_ = 0;
  int64_t max_time_ns_ = 0;
  uint64_t blocks_end_ = 0;  // where the summary starts
  uint64_t index_offset_ = 0;
  merkle::CompactRange before_;
  merkle::CompactRange after_;
  std::vector<BlockMeta> blocks_;
  PartIndex index_;
  uint32_t version_ = 0;
  // Version 2 seq map section (in the summary tail) and, once read, the block of each record.
  uint64_t seqmap_offset_ = 0;
  uint32_t seqmap_size_ = 0;
  uint32_t seqmap_raw_size_ = 0;
  uint32_t seqmap_crc_ = 0;
  mutable std::mutex seqmap_mu_;
  // Guarded by seqmap_mu_, filled on first use: the block of each rel, 2 bytes each when a
  // part has at most 65,536 blocks (seqmap16_), else 4 (seqmap_).
  mutable bool seqmap_loaded_ = false;
  mutable std::vector<uint16_t> seqmap16_;
  mutable std::vector<uint32_t> seqmap_;
  // Version 2: the part's zstd dictionary, loaded at open (its blocks need it).
  struct DDictFree {
    void operator()(ZSTD_DDict_s* d) const;
  };
  std::unique_ptr<ZSTD_DDict_s, DDictFree> ddict_;
  uint32_t dict_size_ = 0;
  PartValues values_;  // version 2: the part's value table, loaded at open (empty: none)

  // Until SetBlockCache: a cache of the reader's own, about 4 version 2 blocks (one of
  // version 1), for tools and sealing's read-back.
  static constexpr size_t kOwnCacheBytes = 1u << 20;
  std::shared_ptr<BlockCache> cache_ = std::make_shared<BlockCache>(kOwnCacheBytes);
  const uint64_t reader_id_ = BlockCache::NewReaderId();
};

}  // namespace apitrail::part

namespace apitrail::part {

// Calls fn(seq, bytes) for every record of the part in seq order, reading each block once
// (bypassing the cache). Stops at the first error: a damaged block (naming file and offset),
// a seq missing or held twice (version 2), or fn's own. Version 2 blocks are clustered, so
// records that arrive ahead of their turn wait in memory: about one time bucket's worth. At
// most max_waiting_bytes of records wait; a part ordered so that more would (never one this
// code writes) is read in several passes instead, each reading every block again.
inline constexpr size_t kMaxWaitingRecordBytes = size_t{64} << 20;
Status ForEachRecord(const PartReader& reader,
                     const std::function<Status(uint64_t seq, std::string_view record)>& fn,
                     size_t max_waiting_bytes = kMaxWaitingRecordBytes);
// Every record once, with the same checks, in the order the blocks hold them (nothing waits,
// each block read once): for callers that do not need seq order.
Status ForEachRecordInBlockOrder(const PartReader& reader,
                                 const std::function<Status(uint64_t seq, std::string_view record)>& fn);

}  // namespace apitrail::part
