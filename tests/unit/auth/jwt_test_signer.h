// Test-only JWT signer: generates RSA-2048 / P-256 keys, exports them as PEM and JWK, and
// signs header.payload with HS256, RS256 or ES256 so tests need no fixtures on disk.
// Not for production: no validation of inputs. Thread-compatible.
#pragma once

#include <openssl/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace apitrail::testing {

// What the JWT tests share: "now" (2026-01-01T00:00:00Z), an HS256 secret and an issuer.
inline constexpr int64_t kNowS = 1767225600;
inline constexpr int64_t kNow = kNowS * 1000000000;
inline const std::string kSecret = "0123456789abcdef0123456789abcdef-hs256";
inline const std::string kIss = "https://idp.example";

// Claims of a token valid at kNowS: sub alice, iss kIss, aud orders-api, exp in 10 minutes,
// and `extra` members ("\"nbf\":1").
inline std::string Claims(const std::string& extra = "") {
  std::string c = "{\"sub\":\"alice\",\"iss\":\"" + kIss +
                  "\",\"aud\":\"orders-api\",\"exp\":" + std::to_string(kNowS + 600);
  if (!extra.empty()) c += "," + extra;
  return c + "}";
}

using PkeyPtr = std::shared_ptr<EVP_PKEY>;

PkeyPtr GenerateRsa2048();
PkeyPtr GenerateP256();
PkeyPtr GenerateEc(const char* curve);  // "P-256", "P-384", "P-521"
PkeyPtr GenerateEd25519();

std::string PublicKeyPem(EVP_PKEY* key);
// {"kty":"RSA","n":..,"e":..}, {"kty":"EC","crv":"P-256|P-384|P-521",..} or
// {"kty":"OKP","crv":"Ed25519","x":..} plus kid/alg if set.
std::string PublicJwk(EVP_PKEY* key, std::string_view kid, std::string_view alg);
// {"kty":"oct","k":..} plus kid/alg if set.
std::string SecretJwk(std::string_view secret, std::string_view kid, std::string_view alg);

// base64url(header) + "." + base64url(payload)
std::string SigningInput(std::string_view header_json, std::string_view payload_json);
// Any JWS algorithm by name ("PS384", "ES512", "EdDSA", "HS384" with `secret`): the raw
// signature in JWS form (ES* is R||S).
std::string SignJws(std::string_view alg, std::string_view data, EVP_PKEY* key,
                    std::string_view secret = {});

// Complete tokens.
std::string MakeJws(std::string_view header_json, std::string_view payload_json,
                    std::string_view alg, EVP_PKEY* key, std::string_view secret = {});
std::string MakeHs256(std::string_view header_json, std::string_view payload_json,
                      std::string_view secret);
std::string MakeSigned(std::string_view header_json, std::string_view payload_json, EVP_PKEY* key);

}  // namespace apitrail::testing
