// FetchUrl: the URLs the gateway fetches from as a client (JWKS, OIDC discovery, token
// introspection; net/https_client.h), parsed once here so that config validation refuses
// exactly what the client would. Pure; any thread.
#pragma once

#include <cstdint>
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
Result<FetchUrl> ParseFetchUrl(std::string_view url, bool allow_http);

}  // namespace apitrail
