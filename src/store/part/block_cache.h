// BlockCache: decoded blocks of sealed parts, shared by every PartReader of one store and
// bounded in bytes; the least recently used block goes first (LevelDB's block cache).
//
// Why: reading a block from a part costs a read, a CRC, zstd and the column decode — ~100 µs
// for a 64 KiB block — and an investigation asks about the same subjects, hours and requests
// again and again (drill-down, paging, the dashboard's refresh). A per-part cache of a few
// blocks thrashed on "one subject's day", which touches one block per hour.
//
// Thread-safe: any thread may Lookup and Insert. One mutex; it is held for a hash probe and
// a list splice only — the block is decoded outside it, so two readers that miss the same
// block at once both decode it, and the second Insert keeps the first copy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "store/part/block.h"

namespace apitrail::part {

struct BlockCacheStats {
  uint64_t hits = 0;
  uint64_t misses = 0;
  uint64_t evictions = 0;
  uint64_t bytes = 0;   // charged by the blocks held now
  uint64_t blocks = 0;  // held now
  uint64_t capacity = 0;
};

class BlockCache {
 public:
  // `capacity_bytes` 0 disables the cache: every Lookup misses and Insert keeps nothing.
  explicit BlockCache(size_t capacity_bytes) : capacity_(capacity_bytes) {}
  BlockCache(const BlockCache&) = delete;
  BlockCache& operator=(const BlockCache&) = delete;

  // A process-unique id for one PartReader, the first half of every key it uses: a part
  // removed and one opened later never share entries.
  static uint64_t NewReaderId();

  // The block, now the most recently used; null on a miss (counted).
  std::shared_ptr<const Block> Lookup(uint64_t reader, uint32_t block);
  // Keeps `value` (unless a copy is already held, or it alone exceeds the capacity) and
  // evicts the least recently used blocks until the total fits. Returns what the cache
  // now holds for the key (the earlier copy, if there was one), or `value`.
  std::shared_ptr<const Block> Insert(uint64_t reader, uint32_t block,
                                      std::shared_ptr<const Block> value);
  // Drops one block (it went stale: a chunk of a segment read while it was written).
  void Erase(uint64_t reader, uint32_t block);
  // Drops every block of `reader` (its part is gone).
  void EraseReader(uint64_t reader);
  BlockCacheStats Stats() const;

 private:
  struct Entry {
    uint64_t reader;
    uint32_t block;
    size_t charge;
    std::shared_ptr<const Block> value;
  };
  static uint64_t KeyOf(uint64_t reader, uint32_t block) { return (reader << 32) ^ block; }

  const size_t capacity_;
  mutable std::mutex mu_;
  std::list<Entry> lru_;  // guarded by mu_; most recently used first
  std::unordered_map<uint64_t, std::list<Entry>::iterator> map_;  // guarded by mu_
  size_t bytes_ = 0;                                              // guarded by mu_
  uint64_t hits_ = 0;                                             // guarded by mu_
  uint64_t misses_ = 0;                                           // guarded by mu_
  uint64_t evictions_ = 0;                                        // guarded by mu_
};

}  // namespace apitrail::part
