#include "auth/api_key_verifier.h"

#include "auth/api_key.h"
#include "core/crypto_util.h"

namespace apitrail {
namespace {

AuthOutcome Deny(const char* reason, const char* detail, Identity identity) {
  AuthOutcome out;
  out.identity = std::move(identity);
  out.deny_reason = reason;
  out.detail = detail;
  return out;
}

// stat before read: an update landing between the two is caught by the next check.
Result<std::pair<KeySet, FileVersion>> LoadVersioned(const std::string& path) {
  APITRAIL_ASSIGN_OR_RETURN(FileVersion version, StatFileVersion(path));
  APITRAIL_ASSIGN_OR_RETURN(KeySet keys, LoadKeyFile(path));
  return std::make_pair(std::move(keys), version);
}

}  // namespace

Result<std::unique_ptr<ApiKeyVerifier>> ApiKeyVerifier::Create(std::string path) {
  APITRAIL_ASSIGN_OR_RETURN(auto loaded, LoadVersioned(path));
  return std::unique_ptr<ApiKeyVerifier>(
      new ApiKeyVerifier(std::move(path), std::move(loaded.first), loaded.second));
}

ApiKeyVerifier::ApiKeyVerifier(std::string path, KeySet keys, FileVersion version)
    : path_(std::move(path)),
      keys_(std::make_shared<const KeySet>(std::move(keys))),
      loaded_version_(version) {}

AuthOutcome ApiKeyVerifier::Verify(std::string_view key, int64_t now_ns) const {
  Identity identity;
  identity.auth_method = "api_key";
  auto id = ParseApiKey(key);
  if (!id.ok()) return Deny("invalid_key_format", "API key is malformed (bad format or checksum)", identity);
  identity.credential_id = *id;  // the id is not secret, and tells the audit which key was tried

  std::shared_ptr<const KeySet> keys = Snapshot();
  const ApiKeyRecord* rec = keys->Find(*id);
  if (rec == nullptr) return Deny("unknown_key", "API key is not known", identity);
  // Constant time: the stored hash is fixed, so timing must not reveal how much of it matched.
  if (!ConstantTimeEquals(HashApiKey(key), rec->hash)) {
    return Deny("unknown_key", "API key is not known", identity);
  }
  identity.subject = rec->subject;
  identity.scopes = rec->scopes;
  if (rec->revoked_ns) {  // immediate, whatever the revoking host's clock said
    return Deny("revoked_key", "API key has been revoked", identity);
  }
  if (rec->expires_ns && *rec->expires_ns <= now_ns) {
    return Deny("expired_key", "API key has expired", identity);
  }
  AuthOutcome out;
  out.allowed = true;
  out.identity = std::move(identity);
  return out;
}

Status ApiKeyVerifier::MaybeReload() {
  auto version = StatFileVersion(path_);
  if (!version.ok()) return version.status();  // keep serving the old set
  if (*version == loaded_version_) return Status::Ok();
  if (!failed_status_.ok() && *version == failed_version_) return failed_status_;
  auto loaded = LoadVersioned(path_);
  if (!loaded.ok()) {
    failed_version_ = *version;
    failed_status_ = loaded.status();
    return failed_status_;
  }
  keys_.store(std::make_shared<const KeySet>(std::move(loaded->first)), std::memory_order_release);
  loaded_version_ = loaded->second;
  failed_status_ = Status::Ok();
  return Status::Ok();
}

}  // namespace apitrail
