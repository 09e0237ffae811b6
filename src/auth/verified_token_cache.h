// VerifiedTokenCache remembers JWTs that passed full verification (signature and claims),
// keyed by the SHA-256 of the token, so a client reusing its token costs one hash and one
// shard lookup instead of a signature check. Only successes are cached: a refused token is
// verified again every time, and cannot displace anything because it is never inserted.
//
// Entries live until min(the token's exp, insertion + kMaxTtlNs); lookups compare against the
// caller's clock, so tests drive expiry with plain numbers. Bounded: at most `capacity`
// entries over kShards shards; a full shard evicts its oldest insertion first.
//
// Thread-safe. Each shard has its own mutex, held only for a hash-map probe and a shared_ptr
// copy, so workers rarely meet on the same lock (1/16 chance per pair of concurrent lookups).
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "auth/identity.h"
#include "core/crypto_util.h"

namespace apitrail {

class VerifiedTokenCache {
 public:
  static constexpr int64_t kMaxTtlNs = int64_t{5} * 60 * 1000000000;
  static constexpr size_t kDefaultCapacity = 10000;
  static constexpr size_t kShards = 16;

  // max_ttl_ns: the longest an entry lives (the introspection caches configure theirs).
  explicit VerifiedTokenCache(size_t capacity = kDefaultCapacity, int64_t max_ttl_ns = kMaxTtlNs);

  // SHA-256 of the token (one hasher per thread; no allocation).
  static Hash256 KeyOf(std::string_view token);

  // The cached identity if `key` was inserted and has not expired at now_ns; null otherwise
  // (an expired entry is dropped). The pointee is immutable and shared.
  std::shared_ptr<const Identity> Lookup(const Hash256& key, int64_t now_ns) const;

  // Caches `identity` until min(expires_ns, now_ns + max_ttl_ns). Does nothing if that is not
  // in the future. Replaces an existing entry for `key`.
  void Insert(const Hash256& key, Identity identity, int64_t expires_ns, int64_t now_ns);

  size_t Size() const;
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
    std::shared_ptr<const Identity> identity;
    int64_t expires_ns = 0;
    uint64_t seq = 0;  // matches the FIFO record that owns this entry
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

}  // namespace apitrail
