// JwtVerifier checks bearer JWTs against the configured issuers (auth.jwt[]): signature with
// a key pinned to its algorithm, then exp/nbf (with leeway; exp required unless the issuer's
// require_exp is false), iss, aud, and the subject claim.
// Built once by Create(); immutable afterwards except for its VerifiedTokenCache, so Verify()
// is thread-safe; a repeated valid token costs a SHA-256 and one sharded-cache probe.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "auth/identity.h"
#include "auth/jwk.h"
#include "auth/remote_key_set.h"
#include "auth/verified_token_cache.h"
#include "config/config.h"
#include "core/status.h"

namespace apitrail {

struct DecodedJwt;

class JwtVerifier {
 public:
  // Loads every issuer's keys (key_file, jwks_file, secret, secret_file, jwks_url or discovery
  // — any combination, at least one). Issuers with remote keys get a background KeyRefresher;
  // Create waits for its first fetch (bounded by fetch_timeout_ms) but does not fail if it
  // fails: that issuer's tokens are refused with keys_unavailable (503) until a fetch works. Errors name the config key: "auth.jwt[1].jwks_file: /etc/jwks.json: ...".
  // An issuer's `algorithms` names what it accepts (every supported one if empty). An RSA key
  // without a JWK `alg` serves the RS*/PS* algorithms listed, or RS256/384/512 if the list is
  // empty. `cache_capacity` 0 disables the verified-token cache.
  static Result<std::unique_ptr<JwtVerifier>> Create(
      const std::vector<JwtIssuerConfig>& issuers,
      size_t cache_capacity = VerifiedTokenCache::kDefaultCapacity);

  // Verifies one token. Allowed: identity {subject, "jwt", jti or a token hash, iss, scopes};
  // cached until min(exp, now + 5 min), or until a JWKS refresh drops a key. Denied: a
  // jwt_deny reason (jwt_token.h) — token_too_large | malformed_token | alg_none |
  // alg_not_allowed | unsupported_crit | alg_key_mismatch | unknown_kid | bad_signature |
  // expired_token | token_not_yet_valid | wrong_issuer | wrong_audience | invalid_claims |
  // missing_required_claim | wrong_token_type | keys_unavailable, or token_binding_unsupported
  // (token_binding.h). Claims are copied into the identity only once the signature is valid. A
  // certificate-bound token comes back allowed with identity.bound_certificate set: the caller
  // checks the connection's certificate.
  AuthOutcome Verify(std::string_view token, int64_t now_ns) const;

  // What `apitrail jwt verify` prints. header/claims are set only once the signature verified.
  struct Detailed {
    AuthOutcome outcome;
    bool signature_valid = false;
    boost::json::object header;
    boost::json::object claims;
  };
  // Like Verify() but never cached. check_claims false: only the JWS structure, the algorithm
  // and key rules and the signature are checked (not exp, nbf, iss, aud or the subject).
  Detailed VerifyDetailed(std::string_view token, int64_t now_ns, bool check_claims) const;

  const VerifiedTokenCache* cache() const { return cache_.get(); }
  // "auth.jwt[1]: <why the latest key fetch failed> (…)" for each issuer whose latest JWKS or
  // discovery fetch failed, one per line; "" when all are fine. For the operational log.
  std::string RemoteKeyProblems() const;
  // The remote key set of issuer `i` (auth.jwt[i]), or null: for status and tests.
  const RemoteKeySet* remote_keys(size_t i) const {
    return i < issuers_.size() ? issuers_[i].remote.get() : nullptr;
  }

 private:
  struct Issuer {
    JwtIssuerConfig config;
    JwsAlgSet algorithms = 0;           // allowed; from config or every supported one
    std::vector<VerificationKey> keys;  // each narrowed to `algorithms`
    std::shared_ptr<RemoteKeySet> remote;  // jwks_url / discovery; null: none
  };
  JwtVerifier(std::vector<Issuer> issuers, size_t cache_capacity);
 public:
  ~JwtVerifier();

 private:
  // Decodes into *jwt (which views `token`), picks the issuer, verifies. *signature_valid and
  // *expires_ns (exp in ns; INT64_MAX if none) are set once the signature verified.
  AuthOutcome VerifyUncached(std::string_view token, int64_t now_ns, bool check_claims,
                             DecodedJwt* jwt, bool* signature_valid, int64_t* expires_ns) const;
  // The sum of the remote key sets' generations: the verified-token cache's epoch.
  uint64_t KeysGeneration() const;
  // *signature_valid tells a bad signature (try another issuer) from a claim failure (final).
  AuthOutcome VerifyWithIssuer(const Issuer& issuer, std::string_view token, const DecodedJwt& jwt,
                               int64_t now_ns, bool check_claims, bool* signature_valid,
                               int64_t* expires_ns) const;

  std::vector<Issuer> issuers_;
  size_t max_token_bytes_ = 0;  // the largest of the issuers' limits, checked before decoding
  std::unique_ptr<VerifiedTokenCache> cache_;  // null: disabled
  std::unique_ptr<KeyRefresher> refresher_;    // null: no remote keys; stopped first
};

}  // namespace apitrail
