// JWS signature verification (RFC 7515/7518, RFC 8037) over OpenSSL 3 EVP: HS256/384/512,
// RS256/384/512 (PKCS#1 v1.5), PS256/384/512 (PSS, MGF1 with the same hash, salt = hash
// length), ES256/384/512 (raw R||S) and EdDSA (Ed25519). Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "auth/jwk.h"

namespace apitrail {

// True if `signature` (raw bytes, base64url-decoded) is valid for `signing_input`
// ("<header>.<payload>" as sent) under `key`. False if the key is not pinned to `alg`
// (algorithm pinning: key.Allows(alg)), if the signature has the wrong length (HS*: the hash
// size; RS*/PS*: the modulus size; ES256/384/512: 64/96/132 bytes R||S; EdDSA: 64 bytes), or if
// it does not verify.
bool VerifyJwsSignature(const VerificationKey& key, JwsAlg alg, std::string_view signing_input,
                        std::string_view signature);

// ES* transport form (R||S, coord_bytes each) → DER ECDSA-Sig-Value for EVP_DigestVerify.
// Empty string if `raw` is not exactly 2 * coord_bytes long.
std::string EcdsaRawToDer(std::string_view raw, size_t coord_bytes = 32);

}  // namespace apitrail
