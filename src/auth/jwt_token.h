// Structural decoding of a compact JWS (RFC 7515 §7.1) carrying a JWT: three base64url parts,
// a JSON object header with a supported `alg` and no `crit`, a JSON object payload. Nothing
// here is trusted: the signature is checked afterwards (jwt_verifier.h). Pure; thread-safe.
// Also the JWT deny_reason vocabulary, shared by the decoder and the verifier.
#pragma once

#include <boost/json/object.hpp>
#include <string>
#include <string_view>

#include "auth/jwk.h"
#include "core/status.h"

namespace apitrail {

// deny_reason values of a refused JWT (audited, and returned to the client in the 401 body).
namespace jwt_deny {
inline constexpr char kMalformed[] = "malformed_token";        // parts, base64url, JSON
inline constexpr char kAlgNone[] = "alg_none";                 // unsigned token
inline constexpr char kAlgNotAllowed[] = "alg_not_allowed";    // unknown, or not the issuer's
inline constexpr char kAlgKeyMismatch[] = "alg_key_mismatch";  // allowed, but no key is for it
inline constexpr char kUnsupportedCrit[] = "unsupported_crit";
inline constexpr char kTooLarge[] = "token_too_large";
inline constexpr char kUnknownKid[] = "unknown_kid";
inline constexpr char kBadSignature[] = "bad_signature";
inline constexpr char kExpired[] = "expired_token";
inline constexpr char kNotYetValid[] = "token_not_yet_valid";
inline constexpr char kWrongIssuer[] = "wrong_issuer";
inline constexpr char kWrongAudience[] = "wrong_audience";
inline constexpr char kInvalidClaims[] = "invalid_claims";  // exp not a number, no subject, …
inline constexpr char kMissingClaim[] = "missing_required_claim";  // auth.jwt[].required_claims
// Verified, but an ID, refresh, logout or other security event token (typ, token_use, events).
inline constexpr char kWrongTokenType[] = "wrong_token_type";
// The issuer's keys come from a JWKS URL and no fetch has succeeded yet (answered with 503).
inline constexpr char kKeysUnavailable[] = "keys_unavailable";
}  // namespace jwt_deny

struct DecodedJwt {
  boost::json::object header;
  boost::json::object claims;
  std::string_view signing_input;  // "<header>.<payload>" exactly as sent; views the token
  std::string signature;           // raw signature bytes
  JwsAlg alg = JwsAlg::kHs256;
  std::string kid;  // empty if the header has none
};

// kInvalidArgument with a message safe to show the client (names what is wrong, never echoes
// token contents): wrong number of parts, bad base64url, non-object JSON, missing/`none`/
// unsupported alg, a `crit` header (we implement no extensions, so RFC 7515 §4.1.11 says reject).
// On failure *deny_reason (if not null) is set to malformed_token, alg_none, alg_not_allowed or
// unsupported_crit. The result's signing_input views `token`, which must outlive it.
Result<DecodedJwt> DecodeJwt(std::string_view token, const char** deny_reason = nullptr);

}  // namespace apitrail
