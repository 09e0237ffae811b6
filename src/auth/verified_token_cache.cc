#include "auth/verified_token_cache.h"

#include <algorithm>

namespace apitrail {

VerifiedTokenCache::VerifiedTokenCache(size_t capacity, int64_t max_ttl_ns)
    : per_shard_(std::max<size_t>(1, capacity / kShards)), max_ttl_ns_(max_ttl_ns) {}

Hash256 VerifiedTokenCache::KeyOf(std::string_view token) {
  thread_local Sha256Hasher hasher;
  return hasher.Digest(token);
}

std::shared_ptr<const Identity> VerifiedTokenCache::Lookup(const Hash256& key,
                                                           int64_t now_ns) const {
  Shard& s = ShardOf(key);
  std::lock_guard<std::mutex> lock(s.mu);
  auto it = s.map.find(key);
  if (it == s.map.end()) return nullptr;
  if (now_ns >= it->second.expires_ns) {
    s.map.erase(it);  // its FIFO record becomes stale and is skipped when popped
    return nullptr;
  }
  return it->second.identity;
}

void VerifiedTokenCache::Insert(const Hash256& key, Identity identity, int64_t expires_ns,
                                int64_t now_ns) {
  int64_t until = std::min(expires_ns, now_ns + max_ttl_ns_);
  if (until <= now_ns) return;
  auto shared = std::make_shared<const Identity>(std::move(identity));
  Shard& s = ShardOf(key);
  std::lock_guard<std::mutex> lock(s.mu);
  uint64_t seq = s.next_seq++;
  s.map[key] = Entry{std::move(shared), until, seq};
  s.fifo.emplace_back(key, seq);
  // Every live entry has exactly one FIFO record (the one with its seq), so bounding the FIFO
  // bounds the map; stale records (replaced or expired entries) are dropped on the way.
  while (s.fifo.size() > per_shard_) {
    auto [old_key, old_seq] = s.fifo.front();
    s.fifo.pop_front();
    auto it = s.map.find(old_key);
    if (it != s.map.end() && it->second.seq == old_seq) s.map.erase(it);
  }
}

size_t VerifiedTokenCache::Size() const {
  size_t n = 0;
  for (const Shard& s : shards_) {
    std::lock_guard<std::mutex> lock(s.mu);
    n += s.map.size();
  }
  return n;
}

}  // namespace apitrail
