// AuthFailureLimiter: counts failed authentications per client address and refuses further
// attempts from an address that failed too often (auth.failure_limit, CONFIG.md), so the
// gateway cannot be used to guess credentials. One instance shared by all workers.
//
// Thread-safety: both methods are thread-safe. Blocked() is what every request pays: one
// address parse, one hash and one relaxed atomic load from a read-mostly array; it takes a
// (sharded) lock only when that hint slot holds a block still in force. RecordFailure() — the
// failure path only — takes the lock of one of 64 shards. Memory is bounded: at most
// `capacity` addresses are tracked. To make room, an expired block is forgotten first, then
// the least recently failing unblocked address; a block in force never is (failures from
// other addresses must not lift it), so a shard full of blocks tracks no new address until
// one expires.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string_view>
#include <unordered_map>

#include "config/config.h"

namespace apitrail {

class AuthFailureLimiter {
 public:
  struct Options {
    uint32_t max_failures = 10;  // failures within `window_ns` that start a block
    int64_t window_ns = 60'000'000'000;
    int64_t block_ns = 60'000'000'000;
    size_t capacity = 65536;   // addresses tracked, over all shards
    int ipv6_prefix_len = 64;  // IPv6 clients are counted per prefix
  };
  static Options FromConfig(const AuthFailureLimitConfig& config);

  explicit AuthFailureLimiter(Options options);
  AuthFailureLimiter(const AuthFailureLimiter&) = delete;
  AuthFailureLimiter& operator=(const AuthFailureLimiter&) = delete;

  // 0 if `ip` may try to authenticate at `now_ns` (a monotonic clock); otherwise how long, in
  // ns (> 0), until it may. `ip` is the textual client address; an unparsable one is counted
  // under one shared key.
  int64_t Blocked(std::string_view ip, int64_t now_ns) const;

  // Counts one failed authentication from `ip`. True when this failure starts a block.
  bool RecordFailure(std::string_view ip, int64_t now_ns);

  // True for the refusals that count: a credential was presented and refused (401). Not
  // counted: no credential at all (a client that forgot it is not guessing) and 503s such as
  // keys_unavailable or introspection_unavailable (the gateway's failure, not the client's).
  static bool Counts(std::string_view deny_reason, int http_status);

  size_t TrackedForTest() const;

 private:
  struct Key {
    uint64_t hi = 0, lo = 0;
    bool operator==(const Key& o) const { return hi == o.hi && lo == o.lo; }
  };
  struct Entry {
    Key key;
    int64_t window_start_ns = 0;
    uint32_t failures = 0;
    int64_t blocked_until_ns = 0;
    bool in_blocked = false;  // in Shard::blocked, not Shard::lru
  };
  struct KeyHash {
    uint64_t seed0, seed1;
    size_t operator()(const Key& k) const;
  };
  struct Shard {
    std::mutex mu;
    std::list<Entry> lru;      // not blocked; front: most recently failing
    std::list<Entry> blocked;  // blocked, in the order blocks started (= the order they end)
    std::unordered_map<Key, std::list<Entry>::iterator, KeyHash> index;
    explicit Shard(KeyHash h) : index(16, h) {}
  };
  static constexpr size_t kShards = 64;
  static constexpr size_t kHints = 4096;  // a multiple of kShards: a hint slot has one shard

  Key KeyOf(std::string_view ip) const;
  // Frees one slot of a full shard; false when every entry is a block in force.
  static bool Evict(Shard& s, int64_t now_ns);

  const Options options_;
  const KeyHash hash_;
  const size_t per_shard_;
  std::array<std::unique_ptr<Shard>, kShards> shards_;
  // hints_[h % kHints]: the latest blocked_until of any address hashing there (written under
  // that slot's shard lock). A value in the past means "nobody here is blocked".
  std::unique_ptr<std::atomic<int64_t>[]> hints_;
};

}  // namespace apitrail
