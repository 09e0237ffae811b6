// JWT verification keys: loading from a PEM public key, a JWKS document or an HMAC secret,
// each pinned to exactly one JWS algorithm (RSA → RS256, EC P-256 → ES256, secret → HS256).
// Pinning is what defeats algorithm confusion: a token's `alg` header only selects among keys
// already bound to that algorithm, so an HS256 token can never be checked against RSA key
// bytes used as an HMAC secret. VerificationKey is immutable after loading and safe to share
// between threads (EVP_PKEY verification does not mutate the key).
#pragma once

#include <openssl/types.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace apitrail {

enum class JwsAlg { kHs256, kRs256, kEs256 };

// "HS256" | "RS256" | "ES256" (exact case, as RFC 7518 spells them); anything else, including
// "none", is nullopt.
std::optional<JwsAlg> ParseJwsAlg(std::string_view name);
const char* JwsAlgName(JwsAlg alg);

// RFC 7518 §3.2: an HS256 key must be at least as long as the hash output.
inline constexpr size_t kMinHmacSecretBytes = 32;
// Smaller RSA moduli are refused (NIST SP 800-131A).
inline constexpr int kMinRsaBits = 2048;

struct VerificationKey {
  std::string kid;  // empty: the key matches tokens with any (or no) kid
  JwsAlg alg = JwsAlg::kHs256;
  std::string secret;              // HS256 only
  std::shared_ptr<EVP_PKEY> pkey;  // RS256 / ES256 only
};

// A PEM "PUBLIC KEY" (SubjectPublicKeyInfo): RSA ≥ 2048 bits → RS256, EC P-256 → ES256.
Result<VerificationKey> KeyFromPem(std::string_view pem);
// An HS256 secret of at least kMinHmacSecretBytes bytes.
Result<VerificationKey> KeyFromSecret(std::string secret);
// A JWKS document {"keys":[...]}: kty RSA (n, e), EC (crv P-256, x, y), oct (k). A key's `alg`,
// if present, must agree with its type; `use`, if present, must be "sig". Keys of types or
// algorithms we do not support (OKP, PS256, ...) are skipped; a malformed supported key is an
// error; no usable key at all is an error.
Result<std::vector<VerificationKey>> ParseJwks(std::string_view json);

}  // namespace apitrail
