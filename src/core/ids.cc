#include "core/ids.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <pthread.h>

#include <atomic>

#include <cstring>

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
  OPENSSL_cleanse(pool.buf + pool.pos, n);
  pool.pos += n;
}

std::string NewUuidV7(int64_t unix_ns) {
  uint8_t b[16];
  RandomBytes(b, sizeof(b));
  auto ms = static_cast<uint64_t>(unix_ns / 1000000);
  for (int i = 0; i < 6; ++i) b[i] = static_cast<uint8_t>(ms >> (40 - 8 * i));
  b[6] = static_cast<uint8_t>(0x70 | (b[6] & 0x0F));  // version 7
  b[8] = static_cast<uint8_t>(0x80 | (b[8] & 0x3F));  // variant 10
  std::string hex = HexEncode(b, sizeof(b));
  std::string out;
  out.reserve(36);
  out.append(hex, 0, 8).push_back('-');
  out.append(hex, 8, 4).push_back('-');
  out.append(hex, 12, 4).push_back('-');
  out.append(hex, 16, 4).push_back('-');
  out.append(hex, 20, 12);
  return out;
}

std::string RandomHexId(size_t n_bytes) {
  std::string raw(n_bytes, '\0');
  for (;;) {
    RandomBytes(raw.data(), n_bytes);
    if (raw.find_first_not_of('\0') != std::string::npos) break;
  }
  return HexEncode(raw.data(), raw.size());
}

}  // namespace apitrail
