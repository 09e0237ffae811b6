// JWS signature verification (RFC 7515/7518) over OpenSSL 3 EVP for HS256, RS256 and ES256.
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "auth/jwk.h"

namespace apitrail {

// True if `signature` (raw bytes, base64url-decoded) is valid for `signing_input`
// ("<header>.<payload>" as sent) under `key`. False if key.alg != alg (algorithm pinning),
// if the signature has the wrong length (HS256: 32 bytes; RS256: the modulus size; ES256: 64
// bytes R||S), or if it does not verify.
bool VerifyJwsSignature(const VerificationKey& key, JwsAlg alg, std::string_view signing_input,
                        std::string_view signature);

// ES256 transport form (R||S, 32 bytes each) → DER ECDSA-Sig-Value for EVP_DigestVerify.
// Empty string if `raw` is not exactly 64 bytes.
std::string EcdsaRawToDer(std::string_view raw);

}  // namespace apitrail
