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
    : path_(std::move(path)), loaded_version_(version) {
  // A broken side file only loses history; it never stops the gateway.
  auto persisted = LoadLastUsed(path_);
  const LastUsedMap* p = persisted.ok() ? &*persisted : nullptr;
  if (p) flushed_ = *p;
  state_.store(MakeState(std::move(keys), nullptr, p));
}

std::shared_ptr<const ApiKeyVerifier::State> ApiKeyVerifier::MakeState(
    KeySet keys, const State* prev, const LastUsedMap* persisted) {
  auto st = std::make_shared<State>();
  st->keys = std::move(keys);
  for (const auto& rec : st->keys.keys()) {
    Slot slot;
    if (prev != nullptr) {
      if (const ApiKeyRecord* old = prev->keys.Find(rec.id)) {
        slot = prev->last_used[static_cast<size_t>(old - prev->keys.keys().data())];
      }
    }
    if (!slot) {
      slot = std::make_shared<std::atomic<int64_t>>(0);
      if (persisted != nullptr) {
        auto it = persisted->find(rec.id);
        if (it != persisted->end()) slot->store(it->second, std::memory_order_relaxed);
      }
    }
    st->last_used.push_back(std::move(slot));
  }
  return st;
}

std::shared_ptr<const KeySet> ApiKeyVerifier::Snapshot() const {
  std::shared_ptr<const State> st = state_.load(std::memory_order_acquire);
  return std::shared_ptr<const KeySet>(st, &st->keys);
}

int64_t ApiKeyVerifier::LastUsedForTest(std::string_view id) const {
  std::shared_ptr<const State> st = state_.load(std::memory_order_acquire);
  const ApiKeyRecord* rec = st->keys.Find(id);
  if (rec == nullptr) return 0;
  return st->last_used[static_cast<size_t>(rec - st->keys.keys().data())]->load();
}

Status ApiKeyVerifier::FlushLastUsed(int64_t now_mono_ns, int64_t min_interval_ns) {
  if (min_interval_ns > 0 && now_mono_ns - last_flush_mono_ns_ < min_interval_ns) {
    return Status::Ok();
  }
  last_flush_mono_ns_ = now_mono_ns;
  std::shared_ptr<const State> st = state_.load(std::memory_order_acquire);
  LastUsedMap changed;
  std::vector<std::string> ids;
  for (size_t i = 0; i < st->last_used.size(); ++i) {
    const std::string& id = st->keys.keys()[i].id;
    ids.push_back(id);
    int64_t t = st->last_used[i]->load(std::memory_order_relaxed);
    auto it = flushed_.find(id);
    if (t != 0 && (it == flushed_.end() || it->second < t)) changed[id] = t;
  }
  if (changed.empty()) return Status::Ok();
  Status s = MergeLastUsed(path_, changed, &ids);
  if (s.ok()) {
    for (const auto& [id, t] : changed) flushed_[id] = t;
  }
  return s;
}

AuthOutcome ApiKeyVerifier::Verify(std::string_view key, int64_t now_ns) const {
  Identity identity;
  identity.auth_method = "api_key";
  auto id = ParseApiKey(key);
  if (!id.ok()) return Deny("invalid_key_format", "API key is malformed (bad format or checksum)", identity);
  identity.credential_id = *id;  // the id is not secret, and tells the audit which key was tried

  std::shared_ptr<const State> st = state_.load(std::memory_order_acquire);
  const ApiKeyRecord* rec = st->keys.Find(*id);
  if (rec == nullptr) return Deny("unknown_key", "API key is not known", identity);
  // Constant time: the stored hash is fixed, so timing must not reveal how much of it matched.
  if (!ConstantTimeEquals(HashApiKey(key), rec->hash)) {
    return Deny("unknown_key", "API key is not known", identity);
  }
  identity.subject = rec->subject;
  identity.scopes = rec->scopes;
  // `keys create` refuses role-like scopes, but a key file edited by hand or written by an
  // older version may hold one; it would be recorded exactly like a role the key does not hold.
  std::erase_if(identity.scopes, IsRoleLikeScope);
  identity.roles = rec->roles;
  identity.tenant = rec->tenant;
  if (rec->revoked_ns) {  // immediate, whatever the revoking host's clock said
    return Deny("revoked_key", "API key has been revoked", identity);
  }
  if (rec->expires_ns && *rec->expires_ns <= now_ns) {
    return Deny("expired_key", "API key has expired", identity);
  }
  // Last use: a store only when the second changed, so a busy key stays a shared read.
  std::atomic<int64_t>& used = *st->last_used[static_cast<size_t>(rec - st->keys.keys().data())];
  if (now_ns - used.load(std::memory_order_relaxed) >= kLastUsedResolutionNs) {
    used.store(now_ns, std::memory_order_relaxed);
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
  std::shared_ptr<const State> prev = state_.load(std::memory_order_acquire);
  state_.store(MakeState(std::move(loaded->first), prev.get(), nullptr), std::memory_order_release);
  loaded_version_ = loaded->second;
  failed_status_ = Status::Ok();
  return Status::Ok();
}

}  // namespace apitrail
