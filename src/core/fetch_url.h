// FetchUrl: the URLs the gateway fetches from as a client (JWKS, OIDC discovery, token
// introspection; net/https_client.h), parsed once here so that config validation refuses
// exactly what the client would. Pure; any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace apitrail {

struct FetchUrl {
  bool tls = true;
  std::string host;  // without brackets for IPv6
  uint16_t port = 443;
  std::string target;  // origin-form: "/path?query"
  std::string origin;  // "https://host:port" as written (for messages and identities)
};
// Only https:// (and http:// when allow_http); no userinfo, no fragment; at most 2048 bytes.
// Messages never quote more of the URL than RedactedUrl keeps.
Result<FetchUrl> ParseFetchUrl(std::string_view url, bool allow_http);

// Where "scheme://user:pw@host…" has user info: `begin` is its first byte (after "://") and
// `at` the '@' that ends it (the last one before the authority ends). nullopt without "://"
// or without an '@' in the authority.
struct UserinfoSpan {
  size_t begin;
  size_t at;
};
std::optional<UserinfoSpan> FindUserinfo(std::string_view url);

// A URL (or an origin-form target "/path?query") as logs and messages may show it: the
// userinfo of "scheme://user:pw@host" becomes "[redacted]@", and a query or fragment
// "?[redacted]" / "#[redacted]" — a JWKS URL's or webhook's "?access_token=…" is a
// credential as much as a password in the userinfo. At most 256 bytes of what is kept.
std::string RedactedUrl(std::string_view url);

}  // namespace apitrail
