// ApiKeyVerifier checks API keys against the key file (key_store.h), and reloads that file when
// it changes. The key set is an immutable snapshot behind an atomic shared_ptr: Verify() is
// thread-safe and takes no lock (many workers), MaybeReload() must be called from one thread
// at a time (the gateway's housekeeping timer), and a Verify() racing a reload sees either the
// old or the new set, never a mix.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

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

  std::shared_ptr<const KeySet> Snapshot() const { return keys_.load(std::memory_order_acquire); }
  const std::string& path() const { return path_; }

 private:
  ApiKeyVerifier(std::string path, KeySet keys, FileVersion version);

  const std::string path_;
  std::atomic<std::shared_ptr<const KeySet>> keys_;
  // Reloader thread only.
  FileVersion loaded_version_;
  FileVersion failed_version_;
  Status failed_status_;
};

}  // namespace apitrail
