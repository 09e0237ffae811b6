// The API key file (DESIGN §4): model, JSON codec, and the read-modify-write operations behind
// `apitrail keys create|list|rotate|revoke`. Only SHA-256 hashes of keys are ever written.
//
//   {"version":1,"keys":[
//     {"id":"3fG7kQ2z","hash":"<64 hex>","subject":"billing-service","scopes":["orders:read"],
//      "roles":["admin"],"tenant":"acme","created":"2026-01-31T12:00:00.000000000Z",
//      "expires":"...","revoked":"...","rotated_from":"<id>","description":"..."}
//   ]}
// `roles`, `tenant`, `expires`, `revoked`, `rotated_from` and `description` may be absent.
// Unknown fields are ignored. docs/FORMAT.md describes the file and its last-used side file.
//
// Thread-safety: the functions are safe to call from any thread; writers in different
// processes are serialised by flock on "<path>.lock", and each write replaces the file
// atomically (file_util.h), so the gateway's reloader never sees a partial file.
// A KeySet is immutable once built and may be shared across threads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "auth/api_key.h"
#include "config/config.h"
#include "core/status.h"
#include "core/time_util.h"

namespace apitrail {

struct ApiKeyRecord {
  std::string id;
  std::string hash;  // lower-case hex SHA-256 of the full key text (HashApiKey)
  std::string subject;
  std::vector<std::string> scopes;
  std::vector<std::string> roles;
  std::string tenant;
  int64_t created_ns = 0;
  std::optional<int64_t> expires_ns;
  std::optional<int64_t> revoked_ns;
  std::string rotated_from;  // the key this one replaced (`keys rotate`), else empty
  std::string description;
};

// What `keys create` asks for.
struct NewKeySpec {
  std::string subject;
  std::vector<std::string> scopes;
  std::vector<std::string> roles;
  std::string tenant;
  std::optional<int64_t> expires_ns;  // must be after now
  std::string description;
};

// The parsed key file: records in file order plus an index by id.
class KeySet {
 public:
  KeySet() = default;
  // Fails (kInvalidArgument) on a duplicate id.
  static Result<KeySet> Build(std::vector<ApiKeyRecord> keys);

  const ApiKeyRecord* Find(std::string_view id) const;
  const std::vector<ApiKeyRecord>& keys() const { return keys_; }

 private:
  std::vector<ApiKeyRecord> keys_;
  std::unordered_map<std::string, size_t> index_;  // id → position in keys_
};

// ApiKeyAuthConfig::file, or <data_dir>/keys.json when that is empty.
std::string KeyFilePath(const ApiKeyAuthConfig& config, const std::string& data_dir);

// Parses and validates file contents. Errors are kCorruption naming `path` and the entry
// ("keys.json: keys[2].hash: ..."); they never contain a hash.
Result<KeySet> ParseKeyFile(std::string_view json, const std::string& path);
// Canonical file contents: one key per line, trailing newline.
std::string SerializeKeyFile(const std::vector<ApiKeyRecord>& keys);

// Reads `path`; a missing file is an empty KeySet ("no keys yet"). A group/world-writable
// file is refused (kPermissionDenied): whoever can write it can mint credentials.
Result<KeySet> LoadKeyFile(const std::string& path);

// --- Operations for the CLI. Each takes the lock, re-reads the file, writes it atomically
// with mode 0600 (creating the file, and its directory with 0700, if missing).

// Adds a new key and returns its id and plaintext. The plaintext exists only in the result:
// the caller prints it once. `scopes` must not contain whitespace (they travel space-joined);
// `expires_ns`, if set, must be after now_ns.
Result<GeneratedApiKey> CreateKey(const std::string& path, const NewKeySpec& spec,
                                  int64_t now_ns = NowNs());
// The same, for a key without roles or tenant.
Result<GeneratedApiKey> CreateKey(const std::string& path, const std::string& subject,
                                  const std::vector<std::string>& scopes,
                                  std::optional<int64_t> expires_ns,
                                  const std::string& description, int64_t now_ns = NowNs());

// All records in file order (hashes included; they are not secrets, but need not be shown).
Result<std::vector<ApiKeyRecord>> ListKeys(const std::string& path);

// Marks key `id` revoked at now_ns. kNotFound for an unknown id. Revoking an already revoked
// key is OK and keeps the first revocation time. Running gateways pick it up on reload.
Status RevokeKey(const std::string& path, const std::string& id, int64_t now_ns = NowNs());

// Creates a new key with the subject, scopes, roles, tenant, expiry and description of key
// `id` (its `rotated_from` names `id`). With `overlap_ns`, the old key expires at
// now + overlap (or its own earlier expiry), in the same write; without, it stays valid until
// revoked. kNotFound for an unknown id, kInvalidArgument if it is revoked or expired.
// *previous_expires_ns, when given, receives the old key's expiry before the rotation.
Result<GeneratedApiKey> RotateKey(const std::string& path, const std::string& id,
                                  int64_t now_ns = NowNs(),
                                  std::optional<int64_t> overlap_ns = std::nullopt,
                                  std::optional<int64_t>* previous_expires_ns = nullptr);

// Takes back a rotation whose new key never reached its holder (`keys rotate` could not
// print it): key `new_id` is revoked and the key it replaced gets back `old_expires_ns`, the
// expiry it had before (RotateKey's *previous_expires_ns), unless it was revoked since.
Status UndoRotation(const std::string& path, const std::string& new_id,
                    std::optional<int64_t> old_expires_ns, int64_t now_ns = NowNs());

// --- Last use of each key (`keys list`), kept apart from the key file so that recording a
// use never rewrites the credentials: "<key file>.last_used", {"version":1,"last_used":
// {"<id>":"<RFC 3339>",...}}, written by running gateways (ApiKeyVerifier::FlushLastUsed).
using LastUsedMap = std::unordered_map<std::string, int64_t>;
std::string LastUsedPath(const std::string& key_file);
// Missing file: empty map. Malformed: kCorruption naming the file.
Result<LastUsedMap> LoadLastUsed(const std::string& key_file);
// Under the key file's lock: reads the side file, keeps the later time per id (several
// gateways may share a key file), drops ids not in `keep_ids` when given, writes atomically.
Status MergeLastUsed(const std::string& key_file, const LastUsedMap& used,
                     const std::vector<std::string>* keep_ids = nullptr);

}  // namespace apitrail
