#include "core/ids.h"

#include <openssl/rand.h>
#include <pthread.h>
#include <string.h>

#include <atomic>
#include <charconv>
#include <cstring>
#include <mutex>

#include "core/assert.h"
#include "core/crypto_util.h"

namespace apitrail {

namespace {

// Ids are drawn on every request (event id, request id, trace and span ids). One RAND_bytes
// call per id costs a getpid() (OpenSSL's fork check) and the DRBG's locking, so each thread
// takes 4 KiB at a time from the CSPRNG and hands it out. Bytes are used once and wiped.
struct RandomPool {
  unsigned char buf[4096];
  size_t pos = sizeof(buf);
  uint64_t fork_generation = 0;
};

// Bumped in every forked child, so a pool filled before a fork is never reused after it.
// (getpid() on every draw would be a syscall per id: glibc no longer caches it.)
std::atomic<uint64_t> g_fork_generation{1};
void OnFork() { g_fork_generation.fetch_add(1); }
const bool kForkHandlerInstalled = pthread_atfork(nullptr, nullptr, OnFork) == 0;

}  // namespace

void RandomBytes(void* out, size_t n) {
  thread_local RandomPool pool;
  auto* dst = static_cast<unsigned char*>(out);
  if (n > sizeof(pool.buf) / 4) {
    APITRAIL_ASSERT(RAND_bytes(dst, static_cast<int>(n)) == 1, "the CSPRNG must work");
    return;
  }
  APITRAIL_ASSERT(kForkHandlerInstalled, "pthread_atfork registered");
  const uint64_t generation = g_fork_generation.load(std::memory_order_relaxed);
  if (pool.pos + n > sizeof(pool.buf) || pool.fork_generation != generation) {
    APITRAIL_ASSERT(RAND_bytes(pool.buf, sizeof(pool.buf)) == 1, "the CSPRNG must work");
    pool.pos = 0;
    pool.fork_generation = generation;
  }
  std::memcpy(dst, pool.buf + pool.pos, n);
  // glibc's memset that the compiler may not elide (OPENSSL_cleanse goes byte by byte).
  explicit_bzero(pool.buf + pool.pos, n);
  pool.pos += n;
}

std::string NewUuidV7(int64_t unix_ns) {
  uint8_t b[16];
  RandomBytes(b, sizeof(b));
  auto ms = static_cast<uint64_t>(unix_ns / 1000000);
  for (int i = 0; i < 6; ++i) b[i] = static_cast<uint8_t>(ms >> (40 - 8 * i));
  b[6] = static_cast<uint8_t>(0x70 | (b[6] & 0x0F));  // version 7
  b[8] = static_cast<uint8_t>(0x80 | (b[8] & 0x3F));  // variant 10
  // Formatted in place: two per request, one allocation each.
  std::string out(36, '\0');
  FormatUuid(b, out.data());
  return out;
}

namespace {

void FormatEventIdTo(int64_t unix_ns, uint64_t origin42, uint32_t counter, char* out) {
  const auto ms = static_cast<uint64_t>(unix_ns / 1000000);
  const uint64_t hi = (ms << 16) | 0x7000 | ((origin42 >> 30) & 0x0FFF);
  const uint64_t lo = 0x8000000000000000ULL | ((origin42 & 0x3FFFFFFFULL) << 32) | counter;
  uint8_t b[16];
  for (int i = 0; i < 8; ++i) {
    b[i] = static_cast<uint8_t>(hi >> (56 - 8 * i));
    b[8 + i] = static_cast<uint8_t>(lo >> (56 - 8 * i));
  }
  FormatUuid(b, out);
}

}  // namespace

std::string FormatEventId(int64_t unix_ns, uint64_t origin42, uint32_t counter) {
  std::string out(36, '\0');
  FormatEventIdTo(unix_ns, origin42, counter, out.data());
  return out;
}

namespace {

// The process's origin and counter. A forked child draws its own: parent and child must
// not mint the same ids.
struct EventIdState {
  std::atomic<uint64_t> generation{0};  // g_fork_generation the origin was drawn in
  std::atomic<uint64_t> origin{0};
  std::atomic<uint32_t> counter{0};
  std::mutex mu;  // drawing a new origin
};

EventIdState& IdState() {
  static EventIdState state;
  return state;
}

}  // namespace

MintedEventId MintEventId(int64_t unix_ns) {
  EventIdState& s = IdState();
  const uint64_t generation = g_fork_generation.load(std::memory_order_relaxed);
  if (s.generation.load(std::memory_order_acquire) != generation) {
    std::lock_guard lock(s.mu);
    if (s.generation.load(std::memory_order_relaxed) != generation) {
      uint64_t origin = 0;
      uint32_t start = 0;
      RandomBytes(&origin, sizeof(origin));
      RandomBytes(&start, sizeof(start));
      s.origin.store(origin & ((uint64_t{1} << 42) - 1), std::memory_order_relaxed);
      // Top bit clear (RFC 9562 §6.2's rollover guard): 2^31 ids before the counter wraps
      // and a later id of the same millisecond would sort before an earlier one.
      s.counter.store(start & 0x7FFFFFFFu, std::memory_order_relaxed);
      s.generation.store(generation, std::memory_order_release);
    }
  }
  MintedEventId id;
  id.counter = s.counter.fetch_add(1, std::memory_order_relaxed);
  FormatEventIdTo(unix_ns, s.origin.load(std::memory_order_relaxed), id.counter, id.text.data());
  return id;
}

std::string NewEventId(int64_t unix_ns) { return std::string(MintEventId(unix_ns).view()); }

uint32_t EventIdCounter(std::string_view id) {
  if (id.size() < 8) return 0;
  const char* end = id.data() + id.size();
  uint32_t counter = 0;
  const auto [ptr, ec] = std::from_chars(end - 8, end, counter, 16);
  return ec == std::errc() && ptr == end ? counter : 0;
}

void FormatUuid(const uint8_t* b, char* out) {
  HexEncodeTo(b, 4, out);
  out[8] = '-';
  HexEncodeTo(b + 4, 2, out + 9);
  out[13] = '-';
  HexEncodeTo(b + 6, 2, out + 14);
  out[18] = '-';
  HexEncodeTo(b + 8, 2, out + 19);
  out[23] = '-';
  HexEncodeTo(b + 10, 6, out + 24);
}

std::string RandomHexId(size_t n_bytes) {
  unsigned char stack[32];
  std::string heap;
  unsigned char* raw = stack;
  if (n_bytes > sizeof(stack)) {
    heap.resize(n_bytes);
    raw = reinterpret_cast<unsigned char*>(heap.data());
  }
  for (;;) {
    RandomBytes(raw, n_bytes);
    bool all_zero = true;
    for (size_t i = 0; i < n_bytes && all_zero; ++i) all_zero = raw[i] == 0;
    if (!all_zero) break;
  }
  return HexEncode(raw, n_bytes);
}

}  // namespace apitrail
