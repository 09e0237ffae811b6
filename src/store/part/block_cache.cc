#include "store/part/block_cache.h"

#include <atomic>

namespace apitrail::part {

uint64_t BlockCache::NewReaderId() {
  // Starts at 1; 2^32 readers would wrap into the block half of a key, far beyond the number
  // of parts a process ever opens.
  static std::atomic<uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

std::shared_ptr<const Block> BlockCache::Lookup(uint64_t reader, uint32_t block) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = map_.find(KeyOf(reader, block));
  if (it == map_.end() || it->second->reader != reader || it->second->block != block) {
    ++misses_;
    return nullptr;
  }
  ++hits_;
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->value;
}

std::shared_ptr<const Block> BlockCache::Insert(uint64_t reader, uint32_t block,
                                                std::shared_ptr<const Block> value) {
  const size_t charge = value->MemoryBytes();
  std::lock_guard<std::mutex> lock(mu_);
  const uint64_t key = KeyOf(reader, block);
  if (auto it = map_.find(key); it != map_.end()) {
    if (it->second->reader == reader && it->second->block == block) return it->second->value;
    // A key collision cannot happen below 2^32 readers; were it to, the newer block wins.
    bytes_ -= it->second->charge;
    lru_.erase(it->second);
    map_.erase(it);
  }
  if (charge > capacity_) return value;
  lru_.push_front(Entry{reader, block, charge, value});
  map_.emplace(key, lru_.begin());
  bytes_ += charge;
  while (bytes_ > capacity_) {
    const Entry& victim = lru_.back();
    bytes_ -= victim.charge;
    map_.erase(KeyOf(victim.reader, victim.block));
    lru_.pop_back();
    ++evictions_;
  }
  return value;
}

void BlockCache::Erase(uint64_t reader, uint32_t block) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = map_.find(KeyOf(reader, block));
  if (it == map_.end() || it->second->reader != reader || it->second->block != block) return;
  bytes_ -= it->second->charge;
  lru_.erase(it->second);
  map_.erase(it);
}

void BlockCache::EraseReader(uint64_t reader) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = lru_.begin(); it != lru_.end();) {
    if (it->reader == reader) {
      bytes_ -= it->charge;
      map_.erase(KeyOf(it->reader, it->block));
      it = lru_.erase(it);
    } else {
      ++it;
    }
  }
}

BlockCacheStats BlockCache::Stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  BlockCacheStats s;
  s.hits = hits_;
  s.misses = misses_;
  s.evictions = evictions_;
  s.bytes = bytes_;
  s.blocks = lru_.size();
  s.capacity = capacity_;
  return s;
}

}  // namespace apitrail::part
