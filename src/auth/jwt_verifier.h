// JwtVerifier checks bearer JWTs against the configured issuers (auth.jwt[]): signature with
// a key pinned to its algorithm, then exp/nbf (with leeway), iss, aud, and the subject claim.
// Built once by Create(); immutable afterwards, so Verify() is thread-safe and lock-free.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "auth/identity.h"
#include "auth/jwk.h"
#include "config/config.h"
#include "core/status.h"

namespace apitrail {

struct DecodedJwt;

class JwtVerifier {
 public:
  // Loads every issuer's keys (key_file, jwks_file, secret, secret_file — any combination,
  // at least one). Errors name the config key: "auth.jwt[1].jwks_file: /etc/jwks.json: ...".
  static Result<std::unique_ptr<JwtVerifier>> Create(const std::vector<JwtIssuerConfig>& issuers);

  // Verifies one token. Allowed: identity {subject, "jwt", jti or a token hash, iss, scopes}.
  // Denied: deny_reason invalid_token | expired_token | token_not_yet_valid | wrong_issuer |
  // wrong_audience, and claims are copied into the identity only once the signature is valid.
  AuthOutcome Verify(std::string_view token, int64_t now_ns) const;

 private:
  struct Issuer {
    JwtIssuerConfig config;
    std::vector<JwsAlg> algorithms;  // allowed; from config or every supported one
    std::vector<VerificationKey> keys;
  };
  explicit JwtVerifier(std::vector<Issuer> issuers);
  // *signature_valid tells a bad signature (try another issuer) from a claim failure (final).
  AuthOutcome VerifyWithIssuer(const Issuer& issuer, std::string_view token,
                               const DecodedJwt& jwt, int64_t now_ns, bool* signature_valid) const;

  std::vector<Issuer> issuers_;
  size_t max_token_bytes_ = 0;  // the largest of the issuers' limits, checked before decoding
};

}  // namespace apitrail
