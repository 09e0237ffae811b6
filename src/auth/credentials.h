// CredentialExtractor finds the one credential a request carries — `Authorization: Bearer <v>`
// or a configured API key header (X-API-Key: <v>) — and classifies it by shape: `atk_` prefix
// → API key, exactly two dots → JWT, any other Bearer value → opaque (OAuth 2.0 token for
// introspection). Immutable after construction; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "auth/authenticator.h"

namespace apitrail {

enum class CredentialKind { kNone, kMalformed, kApiKey, kJwt, kOpaque };

struct ExtractedCredential {
  CredentialKind kind = CredentialKind::kNone;
  std::string_view value;  // views the request's header value
  std::string error;       // kMalformed: why, safe to show the client
  // False for an API key sent as a Bearer token when "Authorization" is not among the
  // configured api_keys.headers.
  bool api_key_header_allowed = true;
};

class CredentialExtractor {
 public:
  // `api_key_headers`: ApiKeyAuthConfig::headers (names, case-insensitive). "Authorization"
  // in the list means Bearer may carry an API key; it is always read for Bearer JWTs.
  explicit CredentialExtractor(const std::vector<std::string>& api_key_headers);

  // Empty header values count as absent. Several credentials with different values are
  // kMalformed: we would not know which identity to audit. Identical repeats are accepted.
  ExtractedCredential Extract(const HeaderView& headers) const;

 private:
  std::vector<std::string> key_headers_;  // lower-case, without "authorization"
  bool bearer_api_keys_ = false;
};

// ASCII case-insensitive equality, for header names and auth schemes.
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

}  // namespace apitrail
