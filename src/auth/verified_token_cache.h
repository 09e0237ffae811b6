// TokenCache<V> remembers what was decided about a bearer token, keyed by the SHA-256 of the
// token (never the token). VerifiedTokenCache (V = Identity) holds JWTs that passed full
// verification and active introspection answers, so a client reusing its token costs one hash
// and one shard lookup instead of a signature check or a call. The JWT verifier caches only
// successes: a refused JWT is verified again every time (it costs no call to anyone) and
// cannot displace anything. The introspector also keeps the refusals the authorization
// server's answer implies (V = AuthOutcome, briefly), so a replayed refresh token or a token
// for another audience does not cost a call per request.
//
// Entries live until min(the token's exp, insertion + kMaxTtlNs); lookups compare against the
// caller's clock, so tests drive expiry with plain numbers. Bounded: at most `capacity`
// entries over kShards shards; a full shard evicts its oldest insertion first.
//
// Thread-safe. Each shard has its own mutex, held only for a hash-map probe and a shared_ptr
// copy, so workers rarely meet on the same lock (1/16 chance per pair of concurrent lookups).
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <string_view>
#include <unordered_map>

#include "auth/identity.h"
#include "core/crypto_util.h"

namespace apitrail {

// SHA-256 of the token (one hasher per thread; no allocation).
Hash256 TokenCacheKey(std::string_view token);

template <typename V>
class TokenCache {
 public:
  static constexpr int64_t kMaxTtlNs = int64_t{5} * 60 * 1000000000;
  static constexpr size_t kDefaultCapacity = 10000;
  static constexpr size_t kShards = 16;

  // max_ttl_ns: the longest an entry lives (the introspection caches configure theirs).
  explicit TokenCache(size_t capacity = kDefaultCapacity, int64_t max_ttl_ns = kMaxTtlNs)
      : per_shard_(std::max<size_t>(1, capacity / kShards)), max_ttl_ns_(max_ttl_ns) {}

  static Hash256 KeyOf(std::string_view token) { return TokenCacheKey(token); }

  // The cached value if `key` was inserted with this `epoch` and has not expired at now_ns;
  // null otherwise (an expired entry, or one of another epoch, is dropped). The pointee is
  // immutable and shared.
  std::shared_ptr<const V> Lookup(const Hash256& key, int64_t now_ns, uint64_t epoch = 0) const {
    Shard& s = ShardOf(key);
    std::lock_guard<std::mutex> lock(s.mu);
    auto it = s.map.find(key);
    if (it == s.map.end()) return nullptr;
    if (now_ns >= it->second.expires_ns || it->second.epoch != epoch) {
      s.map.erase(it);  // its FIFO record becomes stale and is skipped when popped
      return nullptr;
    }
    return it->second.value;
  }

  // Caches `value` until min(expires_ns, now_ns + max_ttl_ns). Does nothing if that is not
  // in the future. Replaces an existing entry for `key`. `epoch`: what the value was decided
  // under (JwtVerifier: its key sets' generation, read before verifying); a lookup in another
  // epoch misses, so a change of keys takes effect at once instead of after the TTL.
  void Insert(const Hash256& key, V value, int64_t expires_ns, int64_t now_ns,
              uint64_t epoch = 0) {
    const int64_t until = std::min(expires_ns, now_ns + max_ttl_ns_);
    if (until <= now_ns) return;
    auto shared = std::make_shared<const V>(std::move(value));
    Shard& s = ShardOf(key);
    std::lock_guard<std::mutex> lock(s.mu);
    const uint64_t seq = s.next_seq++;
    s.map[key] = Entry{std::move(shared), until, seq, epoch};
    s.fifo.emplace_back(key, seq);
    // Every live entry has exactly one FIFO record (the one with its seq), so bounding the
    // FIFO bounds the map; stale records (replaced or expired entries) are dropped on the way.
    while (s.fifo.size() > per_shard_) {
      auto [old_key, old_seq] = s.fifo.front();
      s.fifo.pop_front();
      auto it = s.map.find(old_key);
      if (it != s.map.end() && it->second.seq == old_seq) s.map.erase(it);
    }
  }

  size_t Size() const {
    size_t n = 0;
    for (const Shard& s : shards_) {
      std::lock_guard<std::mutex> lock(s.mu);
      n += s.map.size();
    }
    return n;
  }
  size_t capacity() const { return per_shard_ * kShards; }

 private:
  struct KeyHash {
    size_t operator()(const Hash256& h) const {
      size_t v;
      std::memcpy(&v, h.data(), sizeof(v));  // already uniformly distributed
      return v;
    }
  };
  struct Entry {
    std::shared_ptr<const V> value;
    int64_t expires_ns = 0;
    uint64_t seq = 0;  // matches the FIFO record that owns this entry
    uint64_t epoch = 0;
  };
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<Hash256, Entry, KeyHash> map;  // GUARDED_BY(mu)
    std::deque<std::pair<Hash256, uint64_t>> fifo;    // GUARDED_BY(mu); oldest first
    uint64_t next_seq = 0;                            // GUARDED_BY(mu)
  };
  Shard& ShardOf(const Hash256& key) const { return shards_[key[8] % kShards]; }

  size_t per_shard_;
  int64_t max_ttl_ns_;
  mutable std::array<Shard, kShards> shards_;
};

using VerifiedTokenCache = TokenCache<Identity>;

}  // namespace apitrail
