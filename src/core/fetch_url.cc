#include "core/fetch_url.h"

#include <algorithm>

namespace apitrail {

std::optional<UserinfoSpan> FindUserinfo(std::string_view url) {
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return std::nullopt;
  const size_t authority = scheme_end + 3;
  const size_t authority_end = std::min(url.find('/', authority), url.size());
  const size_t at = url.substr(authority, authority_end - authority).rfind('@');
  if (at == std::string_view::npos) return std::nullopt;
  return UserinfoSpan{authority, authority + at};
}

std::string RedactedUrl(std::string_view url) {
  const size_t cut = url.find_first_of("?#");
  std::string_view kept = url.substr(0, cut);
  std::string out;
  if (auto userinfo = FindUserinfo(kept)) {
    out = std::string(kept.substr(0, userinfo->begin)) + "[redacted]";
    kept.remove_prefix(userinfo->at);
  }
  out += kept.substr(0, 256);
  if (cut != std::string_view::npos) out += url[cut] == '?' ? "?[redacted]" : "#[redacted]";
  return out;
}

Result<FetchUrl> ParseFetchUrl(std::string_view url, bool allow_http) {
  if (url.size() > 2048) return Status::InvalidArgument("URL longer than 2048 bytes");
  FetchUrl out;
  std::string_view rest;
  if (url.substr(0, 8) == "https://") {
    rest = url.substr(8);
  } else if (url.substr(0, 7) == "http://") {
    if (!allow_http)
      return Status::InvalidArgument("http:// URL refused (https required): " + RedactedUrl(url));
    out.tls = false;
    out.port = 80;
    rest = url.substr(7);
  } else {
    return Status::InvalidArgument("not an https:// URL: " + RedactedUrl(url.substr(0, 128)));
  }
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      return Status::InvalidArgument("URL contains whitespace or control characters");
    }
  }
  size_t slash = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, slash);
  std::string_view target =
      slash == std::string_view::npos ? std::string_view("/") : rest.substr(slash);
  if (authority.find('@') != std::string_view::npos) {
    return Status::InvalidArgument("URL must not contain credentials (user@host)");
  }
  if (target.find('#') != std::string_view::npos) {
    return Status::InvalidArgument("URL must not contain a fragment");
  }
  std::string_view host = authority, port;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return Status::InvalidArgument("URL has a bad IPv6 host");
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return Status::InvalidArgument("URL has a bad port");
      port = after.substr(1);
    }
  } else if (size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
    if (port.empty()) return Status::InvalidArgument("URL has a bad port");
  }
  if (host.empty()) return Status::InvalidArgument("URL has no host");
  if (!port.empty()) {
    unsigned v = 0;
    for (char c : port) {
      if (c < '0' || c > '9' || v > 65535) return Status::InvalidArgument("URL has a bad port");
      v = v * 10 + static_cast<unsigned>(c - '0');
    }
    if (v == 0 || v > 65535 || port.size() > 5)
      return Status::InvalidArgument("URL has a bad port");
    out.port = static_cast<uint16_t>(v);
  }
  out.host = std::string(host);
  out.target = target.front() == '?' ? "/" + std::string(target) : std::string(target);
  out.origin = std::string(url.substr(0, url.size() - rest.size())) + std::string(authority);
  return out;
}

}  // namespace apitrail
