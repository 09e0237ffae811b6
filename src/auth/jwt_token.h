// Structural decoding of a compact JWS (RFC 7515 §7.1) carrying a JWT: three base64url parts,
// a JSON object header with a supported `alg` and no `crit`, a JSON object payload. Nothing
// here is trusted: the signature is checked afterwards (jwt_verifier.h). Pure; thread-safe.
#pragma once

#include <boost/json/object.hpp>
#include <string>
#include <string_view>

#include "auth/jwk.h"
#include "core/status.h"

namespace apitrail {

struct DecodedJwt {
  boost::json::object header;
  boost::json::object claims;
  std::string_view signing_input;  // "<header>.<payload>" exactly as sent; views the token
  std::string signature;           // raw signature bytes
  JwsAlg alg = JwsAlg::kHs256;
  std::string kid;                 // empty if the header has none
};

// kInvalidArgument with a message safe to show the client (names what is wrong, never echoes
// token contents): wrong number of parts, bad base64url, non-object JSON, missing/`none`/
// unsupported alg, a `crit` header (we implement no extensions, so RFC 7515 §4.1.11 says reject).
// The result's signing_input views `token`, which must outlive it.
Result<DecodedJwt> DecodeJwt(std::string_view token);

}  // namespace apitrail
