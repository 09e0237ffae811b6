#include "gateway/auth_failure_limiter.h"

#include <arpa/inet.h>

#include <cstring>
#include <string>

#include "core/ids.h"

namespace apitrail {
namespace {

uint64_t Mix(uint64_t x) {  // splitmix64 finaliser
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

uint64_t RandomSeed() {
  uint64_t v = 0;
  RandomBytes(&v, sizeof v);
  return v;
}

uint64_t Load64(const unsigned char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

AuthFailureLimiter::Options AuthFailureLimiter::FromConfig(const AuthFailureLimitConfig& c) {
  Options o;
  o.max_failures = c.max_failures;
  o.window_ns = int64_t{c.window_s} * 1'000'000'000;
  o.block_ns = int64_t{c.block_s} * 1'000'000'000;
  o.capacity = c.max_tracked;
  o.ipv6_prefix_len = static_cast<int>(c.ipv6_prefix_len);
  return o;
}

size_t AuthFailureLimiter::KeyHash::operator()(const Key& k) const {
  // Seeded per process: a client cannot pick addresses that pile into one shard or slot.
  return static_cast<size_t>(Mix(Mix(k.hi ^ seed0) ^ k.lo ^ seed1));
}

AuthFailureLimiter::AuthFailureLimiter(Options options)
    : options_(options),
      hash_{RandomSeed(), RandomSeed()},
      per_shard_(std::max<size_t>(1, options.capacity / kShards)),
      hints_(new std::atomic<int64_t>[kHints]) {
  for (auto& s : shards_) s = std::make_unique<Shard>(hash_);
  for (size_t i = 0; i < kHints; ++i) hints_[i].store(0, std::memory_order_relaxed);
}

bool AuthFailureLimiter::Counts(std::string_view reason, int http_status) {
  return http_status == 401 && !reason.empty() && reason != "missing_credentials";
}

AuthFailureLimiter::Key AuthFailureLimiter::KeyOf(std::string_view ip) const {
  unsigned char a[16] = {};
  char buf[INET6_ADDRSTRLEN + 1];
  Key k;
  if (ip.empty() || ip.size() >= sizeof buf) return k;
  std::memcpy(buf, ip.data(), ip.size());
  buf[ip.size()] = '\0';
  if (::inet_pton(AF_INET, buf, a + 12) == 1) {
    a[10] = a[11] = 0xff;  // IPv4-mapped: one key space for both families
  } else if (::inet_pton(AF_INET6, buf, a) == 1) {
    bool mapped = std::memcmp(a, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0;
    int keep = mapped ? 128 : options_.ipv6_prefix_len;
    for (int bit = keep; bit < 128; ++bit)
      a[bit / 8] &= static_cast<unsigned char>(~(0x80u >> (bit % 8)));
  } else {
    return k;
  }
  k.hi = Load64(a);
  k.lo = Load64(a + 8);
  return k;
}

int64_t AuthFailureLimiter::Blocked(std::string_view ip, int64_t now_ns) const {
  Key k = KeyOf(ip);
  size_t h = hash_(k);
  if (hints_[h % kHints].load(std::memory_order_relaxed) <= now_ns) return 0;
  Shard& s = *shards_[h % kShards];
  std::lock_guard<std::mutex> lock(s.mu);
  auto it = s.index.find(k);
  if (it == s.index.end()) return 0;
  int64_t until = it->second->blocked_until_ns;
  return until > now_ns ? until - now_ns : 0;
}

bool AuthFailureLimiter::RecordFailure(std::string_view ip, int64_t now_ns) {
  Key k = KeyOf(ip);
  size_t h = hash_(k);
  Shard& s = *shards_[h % kShards];
  std::lock_guard<std::mutex> lock(s.mu);
  auto it = s.index.find(k);
  if (it != s.index.end()) {
    if (it->second->blocked_until_ns > now_ns) return false;  // raced a request admitted just before
    s.lru.splice(s.lru.begin(), it->second->in_blocked ? s.blocked : s.lru, it->second);  // now the most recent
    it->second->in_blocked = false;
  } else {
    if (s.index.size() >= per_shard_ && !Evict(s, now_ns)) return false;
    s.lru.push_front(Entry{k});
    it = s.index.emplace(k, s.lru.begin()).first;
  }
  Entry& e = *it->second;
  if (e.failures == 0 || now_ns - e.window_start_ns >= options_.window_ns) {
    e.window_start_ns = now_ns;
    e.failures = 0;
  }
  if (++e.failures < options_.max_failures) return false;
  e.failures = 0;  // after the block, a fresh window
  e.blocked_until_ns = now_ns + options_.block_ns;
  e.in_blocked = true;
  s.blocked.splice(s.blocked.end(), s.lru, it->second);
  std::atomic<int64_t>& hint = hints_[h % kHints];
  if (hint.load(std::memory_order_relaxed) < e.blocked_until_ns) {
    hint.store(e.blocked_until_ns, std::memory_order_relaxed);
  }
  return true;
}

bool AuthFailureLimiter::Evict(Shard& s, int64_t now_ns) {
  std::list<Entry>* from = nullptr;
  if (!s.blocked.empty() && s.blocked.front().blocked_until_ns <= now_ns) {
    from = &s.blocked;
  } else if (!s.lru.empty()) {
    from = &s.lru;
  } else {
    return false;
  }
  auto victim = from == &s.blocked ? from->begin() : std::prev(from->end());
  s.index.erase(victim->key);
  from->erase(victim);
  return true;
}

size_t AuthFailureLimiter::TrackedForTest() const {
  size_t n = 0;
  for (const auto& s : shards_) {
    std::lock_guard<std::mutex> lock(s->mu);
    n += s->index.size();
  }
  return n;
}

}  // namespace apitrail
