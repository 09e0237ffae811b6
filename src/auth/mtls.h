// mTLS identities: turns a client certificate the TLS handshake already verified (against
// gateway.tls.client_ca_file) into the uniform Identity of DESIGN §4 — auth_method "mtls",
// subject from a SAN URI/DNS/email entry or the CN (auth.mtls.subject_from, first usable
// wins), credential_id the certificate's SHA-256 fingerprint (lower-case hex, no colons),
// issuer the issuer DN (RFC 2253).
//
// The gateway computes this once per connection, after the handshake, and uses it for a
// request that carries no other credential (a bearer token or API key on the request is
// checked instead, and a bad one is not excused by the certificate). Pure functions; any thread.
#pragma once

#include <openssl/types.h>

#include <string>

#include "auth/identity.h"
#include "config/config.h"

namespace apitrail {

// `cert` must be the verified peer certificate. A subject field is used only when it is at
// most 256 bytes of printable ASCII (else the next configured source is tried); a SAN source
// takes the first entry of its type. Denied (invalid_client_certificate) when no source gives
// a usable subject, or when `cn` is reached and the subject has more than one CN.
AuthOutcome MtlsOutcome(X509* cert, const MtlsAuthConfig& config);

// SHA-256 over the DER certificate, lower-case hex (what `openssl x509 -fingerprint -sha256`
// prints, without colons and lower-cased).
std::string CertificateFingerprint(X509* cert);

// The same digest as base64url without padding: RFC 8705's `x5t#S256`, what a certificate-bound
// token's `cnf` names (token_binding.h).
std::string CertificateThumbprint(X509* cert);

}  // namespace apitrail
