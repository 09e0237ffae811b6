// ApiKeyVerifier checks API keys against the key file (key_store.h), and reloads that file when
// it changes. The key set is an immutable snapshot behind an atomic shared_ptr: Verify() is
// thread-safe and takes no lock (many workers), MaybeReload() must be called from one thread
// at a time (the gateway's housekeeping timer), and a Verify() racing a reload sees either the
// old or the new set, never a mix.
//
// Last use: each key has an atomic timestamp, kept across reloads (by id) and written at most
// once a second per key by Verify() — a relaxed load otherwise, so workers sharing a key do
// not bounce its cache line. FlushLastUsed() (reloader thread) persists the changed ones to
// the side file next to the key file (key_store.h), never the key file itself.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "auth/file_util.h"
#include "auth/identity.h"
#include "auth/key_store.h"
#include "core/status.h"

namespace apitrail {

class ApiKeyVerifier {
 public:
  // Loads `path` (missing file = no keys yet). Errors name the file.
  static Result<std::unique_ptr<ApiKeyVerifier>> Create(std::string path);

  // Format/checksum → invalid_key_format; unknown id or wrong secret → unknown_key (the hash is
  // compared in constant time); revoked → revoked_key; expired → expired_key. On a deny the
  // identity carries the key id, and the subject when the secret matched.
  AuthOutcome Verify(std::string_view key, int64_t now_ns) const;

  // Re-reads the file if its inode, size or mtime changed. OK when unchanged or reloaded; on
  // error the previous key set stays in force and the same file version is not retried until
  // it changes again. A deleted file is an empty key set (fail closed: revocation wins).
  Status MaybeReload();

  // Writes the last-use times that changed since the previous flush into the side file,
  // at most every `min_interval_ns` unless it is 0. Reloader thread only.
  Status FlushLastUsed(int64_t now_mono_ns, int64_t min_interval_ns);

  // The key set in force (never null).
  std::shared_ptr<const KeySet> Snapshot() const;
  // Last use of key `id` as seen by this process (0: never), for tests.
  int64_t LastUsedForTest(std::string_view id) const;
  const std::string& path() const { return path_; }

  static constexpr int64_t kLastUsedResolutionNs = 1'000'000'000;

 private:
  using Slot = std::shared_ptr<std::atomic<int64_t>>;
  struct State {
    KeySet keys;
    std::vector<Slot> last_used;  // by position in keys.keys()
  };
  ApiKeyVerifier(std::string path, KeySet keys, FileVersion version);
  // A State for `keys` that reuses `prev`'s slot for every id it already had.
  static std::shared_ptr<const State> MakeState(KeySet keys, const State* prev,
                                                const LastUsedMap* persisted);

  const std::string path_;
  std::atomic<std::shared_ptr<const State>> state_;
  // Reloader thread only.
  FileVersion loaded_version_;
  FileVersion failed_version_;
  Status failed_status_;
  std::unordered_map<std::string, int64_t> flushed_;  // id → last use written to the side file
  int64_t last_flush_mono_ns_ = 0;
};

}  // namespace apitrail
