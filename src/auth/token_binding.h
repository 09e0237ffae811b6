// Token binding: what a token's confirmation claim (RFC 7800 `cnf`) asks of the connection that
// presents it. A token bound to a client certificate (RFC 8705 `x5t#S256`) is honoured only on a
// TLS connection whose client certificate has that thumbprint; a token bound to a key the client
// must prove it holds (DPoP `jkt`, RFC 9449; `jwk`, `kid`, ...) is refused, because the gateway
// does not check such proofs and taking the token as a plain bearer token would defeat the point
// of binding it (a stolen token would work).
//
// Used by the JWT verifier and the introspector when they read a token's claims, and by the
// gateway's session when it compares the binding with the connection. Pure functions; any thread.
#pragma once

#include <boost/json/object.hpp>
#include <string>
#include <string_view>

namespace apitrail {

namespace binding_deny {
// The token carries a confirmation the gateway cannot check (DPoP, a proof-of-possession key).
inline constexpr char kUnsupported[] = "token_binding_unsupported";
// The token is bound to a client certificate this connection did not present.
inline constexpr char kCertificateMismatch[] = "certificate_binding_mismatch";
}  // namespace binding_deny

// Reads `cnf` from a token's claims (a JWT payload or an introspection answer). No `cnf`: a
// plain bearer token, *certificate_thumbprint left empty, true. `cnf` holding exactly one
// member, `x5t#S256`, a base64url SHA-256 (43 characters): *certificate_thumbprint is set, true.
// Anything else (jkt, jwk, several members, a malformed thumbprint, cnf not an object): false,
// and *why says what was found (safe to show the client: no token bytes).
bool ReadTokenBinding(const boost::json::object& claims, std::string* certificate_thumbprint,
                      std::string* why);

// Whether a certificate-bound token may be used on a connection whose client certificate has
// thumbprint `presented` (CertificateThumbprint() in mtls.h; empty: no certificate). Constant
// time in the thumbprint bytes.
bool CertificateBindingHolds(std::string_view bound, std::string_view presented);

}  // namespace apitrail
