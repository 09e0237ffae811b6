// JWT verification keys: loading from a PEM public key, a JWKS document or an HMAC secret,
// each pinned to one key family (HMAC, RSA, EC P-256 / P-384 / P-521, Ed25519) and, within it,
// to the JWS algorithms it may verify:
//   - a JWK with an `alg` is pinned to exactly that algorithm;
//   - an HMAC secret to the HS* algorithms whose hash output it is at least as long as;
//   - an EC key to its curve's algorithm (P-256 → ES256, P-384 → ES384, P-521 → ES512);
//   - an Ed25519 key to EdDSA;
//   - an RSA key without `alg` to RS256/RS384/RS512, or to exactly the RS*/PS* algorithms an
//     issuer lists (RestrictToIssuer).
// Pinning is what defeats algorithm confusion: a token's `alg` header only selects among keys
// already bound to that algorithm, so an HS256 token can never be checked against RSA key
// bytes used as an HMAC secret, and an ES256 key never verifies ES384. VerificationKey is
// immutable after loading and safe to share between threads (EVP_PKEY verification does not
// mutate the key).
#pragma once

#include <openssl/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace apitrail {

enum class JwsAlg : uint8_t {
  kHs256,
  kHs384,
  kHs512,
  kRs256,
  kRs384,
  kRs512,
  kPs256,
  kPs384,
  kPs512,
  kEs256,
  kEs384,
  kEs512,
  kEdDsa,
};
inline constexpr JwsAlg kAllJwsAlgs[] = {
    JwsAlg::kHs256, JwsAlg::kHs384, JwsAlg::kHs512, JwsAlg::kRs256, JwsAlg::kRs384,
    JwsAlg::kRs512, JwsAlg::kPs256, JwsAlg::kPs384, JwsAlg::kPs512, JwsAlg::kEs256,
    JwsAlg::kEs384, JwsAlg::kEs512, JwsAlg::kEdDsa};

enum class KeyFamily : uint8_t { kHmac, kRsa, kEcP256, kEcP384, kEcP521, kEd25519 };

// A set of algorithms as a bit mask (bit = 1 << alg).
using JwsAlgSet = uint32_t;
inline constexpr JwsAlgSet AlgBit(JwsAlg a) { return JwsAlgSet{1} << static_cast<int>(a); }

// "HS256" … "EdDSA" (exact case, as RFC 7518 / RFC 8037 spell them); anything else, including
// "none", is nullopt.
std::optional<JwsAlg> ParseJwsAlg(std::string_view name);
const char* JwsAlgName(JwsAlg alg);
// "HS256, HS384, …, EdDSA": for error messages.
const char* SupportedJwsAlgNames();
// The family a key must belong to for `alg` (RS* and PS* → kRsa).
KeyFamily FamilyOf(JwsAlg alg);
const char* KeyFamilyName(KeyFamily family);
// HS256/384/512: the hash output size (32/48/64), which RFC 7518 §3.2 makes the minimum key
// size; 0 for other algorithms.
size_t MinHmacSecretBytes(JwsAlg alg);

// RFC 7518 §3.2: an HMAC key must be at least as long as the hash output (HS256: 32 bytes).
inline constexpr size_t kMinHmacSecretBytes = 32;
// Smaller RSA moduli are refused (NIST SP 800-131A); larger ones than kMaxRsaBits too, since
// verifying with a huge modulus costs the gateway CPU an attacker-chosen JWKS could inflate.
inline constexpr int kMinRsaBits = 2048;
inline constexpr int kMaxRsaBits = 8192;

struct VerificationKey {
  std::string kid;  // empty: the key matches tokens with any (or no) kid
  KeyFamily family = KeyFamily::kHmac;
  JwsAlgSet algs = 0;              // the algorithms this key may verify; all of `family`
  bool alg_pinned = false;         // true if a JWK `alg` fixed algs to exactly one algorithm
  std::string secret;              // kHmac only
  std::shared_ptr<EVP_PKEY> pkey;  // every other family

  bool Allows(JwsAlg a) const { return (algs & AlgBit(a)) != 0; }
};

// A PEM "PUBLIC KEY" (SubjectPublicKeyInfo) or certificate: RSA 2048..8192 bits, EC P-256,
// P-384 or P-521, or Ed25519. Errors name what is wrong with the key, never its bytes.
Result<VerificationKey> KeyFromPem(std::string_view pem);
// An HMAC secret of at least kMinHmacSecretBytes bytes, allowed for every HS* whose hash
// output it is at least as long as.
Result<VerificationKey> KeyFromSecret(std::string secret);
// A JWKS document {"keys":[...]}: kty RSA (n, e), EC (crv P-256/P-384/P-521, x, y), OKP (crv
// Ed25519, x), oct (k). A key's `alg`, if present, pins it and must agree with its type and
// curve; `use`, if present, must be "sig", and `key_ops`, if present, must list "verify" (else
// the key is skipped). Keys of types, curves or algorithms we do not support (RSA-OAEP,
// secp256k1, Ed448, …) are skipped; no usable key at all is an error. A malformed supported
// key (a 1024-bit RSA key, a point off its curve, an alg that does not fit) is an error, or,
// with `skipped` (a set fetched from an issuer: RFC 7517 §5 asks to ignore such keys, and one
// legacy key must not take every other key down with it), skipped and described there
// ("keys[1] (kid old): RSA key is shorter than 2048 bits").
Result<std::vector<VerificationKey>> ParseJwks(std::string_view json,
                                               std::vector<std::string>* skipped = nullptr);

// Narrows `key` to an issuer's allowed algorithms. `explicit_list`: the issuer named them
// (auth.jwt[].algorithms, `jwt verify --alg`); only then may an RSA key without a JWK `alg` be
// used for PS*. Returns false if the key can verify none of them (the caller drops it).
bool RestrictToIssuer(VerificationKey* key, JwsAlgSet allowed, bool explicit_list);

}  // namespace apitrail
