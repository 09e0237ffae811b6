// The Authenticator implementation: finds the request's credential, tells an API key from a
// JWT, and delegates to ApiKeyVerifier / JwtVerifier. Thread-safety as in authenticator.h.
#include "auth/authenticator.h"

#include <mutex>

#include "auth/api_key.h"
#include "auth/api_key_verifier.h"
#include "auth/credentials.h"
#include "auth/introspector.h"
#include "auth/jwt_verifier.h"
#include "auth/key_store.h"
#include "core/time_util.h"

namespace apitrail {
namespace {

constexpr int64_t kLastUsedFlushIntervalNs = 10'000'000'000;

AuthOutcome Deny(const char* reason, std::string detail, const char* method = "") {
  AuthOutcome out;
  out.deny_reason = reason;
  out.detail = std::move(detail);
  out.identity.auth_method = method;
  return out;
}

class AuthenticatorImpl final : public Authenticator {
 public:
  AuthenticatorImpl(const AuthConfig& config, std::unique_ptr<ApiKeyVerifier> keys,
                    std::unique_ptr<JwtVerifier> jwt, std::unique_ptr<Introspector> introspector)
      : extractor_(config.api_keys.headers),
        keys_(std::move(keys)),
        jwt_(std::move(jwt)),
        introspector_(std::move(introspector)) {}

  AuthOutcome Authenticate(const HeaderView& headers, int64_t now_ns) const override {
    ExtractedCredential cred = extractor_.Extract(headers);
    switch (cred.kind) {
      case CredentialKind::kNone:
        return Deny("missing_credentials",
                    "no credentials: send Authorization: Bearer <token> or an API key header");
      case CredentialKind::kMalformed:
        return Deny("invalid_token", cred.error);
      case CredentialKind::kApiKey:
        if (!keys_) return Deny("unknown_key", "API keys are not enabled", "api_key");
        if (!cred.api_key_header_allowed) {
          return Deny("unknown_key", "API keys are not accepted in the Authorization header", "api_key");
        }
        return keys_->Verify(cred.value, now_ns);
      case CredentialKind::kJwt:
        if (introspector_ && (introspector_->introspects_jwts() || !jwt_)) {
          return FromCacheOrPending(cred.value, now_ns);
        }
        if (!jwt_) return Deny("invalid_token", "JWT authentication is not configured", "jwt");
        return jwt_->Verify(cred.value, now_ns);
      case CredentialKind::kOpaque:
        if (!introspector_) {
          return Deny("invalid_token", "credential is neither an API key nor a JWT");
        }
        return FromCacheOrPending(cred.value, now_ns);
    }
    return Deny("invalid_token", "unrecognised credential");
  }

  boost::asio::awaitable<AuthOutcome> Introspect(const HeaderView& headers,
                                                 int64_t now_ns) const override {
    ExtractedCredential cred = extractor_.Extract(headers);
    if (!introspector_ ||
        (cred.kind != CredentialKind::kOpaque && cred.kind != CredentialKind::kJwt)) {
      co_return Authenticate(headers, now_ns);
    }
    std::string token(cred.value);
    co_return co_await introspector_->Introspect(std::move(token), now_ns);
  }

  AuthOutcome FromCacheOrPending(std::string_view token, int64_t now_ns) const {
    if (auto cached = introspector_->Cached(token, now_ns)) return *std::move(cached);
    AuthOutcome out = Deny("introspection_pending", "token introspection did not complete",
                           "introspection");
    out.needs_introspection = true;
    return out;
  }

  void MaybeReload() override {
    if (!keys_) return;
    Status st = keys_->MaybeReload();
    std::lock_guard<std::mutex> lock(status_mu_);
    last_reload_status_ = std::move(st);
  }

  std::shared_ptr<const KeySet> KeySnapshot() const override {
    return keys_ ? keys_->Snapshot() : nullptr;
  }

  Status FlushKeyUsage(bool force) override {
    if (!keys_) return Status::Ok();
    return keys_->FlushLastUsed(MonotonicNowNs(), force ? 0 : kLastUsedFlushIntervalNs);
  }

  std::string RemoteKeyProblems() const override {
    return jwt_ ? jwt_->RemoteKeyProblems() : std::string();
  }

  Status LastReloadStatus() const override {
    std::lock_guard<std::mutex> lock(status_mu_);
    return last_reload_status_;
  }

 private:
  const CredentialExtractor extractor_;
  const std::unique_ptr<ApiKeyVerifier> keys_;  // null: api_keys.enabled is false
  const std::unique_ptr<JwtVerifier> jwt_;      // null: no auth.jwt issuers
  const std::unique_ptr<Introspector> introspector_;  // null: no auth.introspection
  mutable std::mutex status_mu_;  // not on the request path
  Status last_reload_status_;     // GUARDED_BY(status_mu_)
};

}  // namespace

Result<std::unique_ptr<Authenticator>> Authenticator::Create(const AuthConfig& config,
                                                             const std::string& data_dir) {
  std::unique_ptr<ApiKeyVerifier> keys;
  if (config.api_keys.enabled) {
    auto v = ApiKeyVerifier::Create(KeyFilePath(config.api_keys, data_dir));
    if (!v.ok()) {
      return Status(v.status().code(), "auth.api_keys.file: " + v.status().message());
    }
    keys = std::move(v).value();
  }
  std::unique_ptr<JwtVerifier> jwt;
  if (!config.jwt.empty()) {
    APITRAIL_ASSIGN_OR_RETURN(jwt, JwtVerifier::Create(config.jwt));
  }
  std::unique_ptr<Introspector> introspector;
  if (config.introspection.enabled()) {
    APITRAIL_ASSIGN_OR_RETURN(introspector, Introspector::Create(config.introspection));
  }
  return std::unique_ptr<Authenticator>(
      new AuthenticatorImpl(config, std::move(keys), std::move(jwt), std::move(introspector)));
}

}  // namespace apitrail
