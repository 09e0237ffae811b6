#include "auth/credentials.h"

#include <algorithm>

#include "auth/api_key.h"

namespace apitrail {
namespace {

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

ExtractedCredential Malformed(std::string why) {
  ExtractedCredential c;
  c.kind = CredentialKind::kMalformed;
  c.error = std::move(why);
  return c;
}

}  // namespace

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

CredentialExtractor::CredentialExtractor(const std::vector<std::string>& api_key_headers) {
  for (const auto& h : api_key_headers) {
    if (EqualsIgnoreCase(h, "authorization")) {
      bearer_api_keys_ = true;
    } else {
      std::string lower(h);
      std::transform(lower.begin(), lower.end(), lower.begin(), Lower);
      key_headers_.push_back(std::move(lower));
    }
  }
}

ExtractedCredential CredentialExtractor::Extract(const HeaderView& headers) const {
  std::string_view found;
  bool in_key_header = false;  // seen in a configured API key header (not Bearer)
  int count = 0;
  for (const auto& [name, raw_value] : headers) {
    std::string_view value = Trim(raw_value);
    std::string_view token;
    bool bearer = false;
    if (EqualsIgnoreCase(name, "authorization")) {
      if (value.empty()) continue;
      size_t sp = value.find_first_of(" \t");
      std::string_view scheme = value.substr(0, sp);
      if (!EqualsIgnoreCase(scheme, "bearer")) {
        return Malformed("unsupported Authorization scheme (use Bearer)");
      }
      token = sp == std::string_view::npos ? std::string_view() : Trim(value.substr(sp));
      if (token.empty()) return Malformed("empty Bearer token");
      bearer = true;
    } else {
      bool is_key_header = std::any_of(key_headers_.begin(), key_headers_.end(),
                                       [&](const std::string& h) { return EqualsIgnoreCase(name, h); });
      if (!is_key_header || value.empty()) continue;
      token = value;
    }
    if (count > 0 && token != found) {
      return Malformed("more than one credential in the request");
    }
    in_key_header = in_key_header || !bearer;
    found = token;
    ++count;
  }
  if (count == 0) return {};

  ExtractedCredential c;
  c.value = found;
  if (found.substr(0, kApiKeyPrefix.size()) == kApiKeyPrefix) {
    c.kind = CredentialKind::kApiKey;
    c.api_key_header_allowed = bearer_api_keys_ || in_key_header;
    return c;
  }
  if (std::count(found.begin(), found.end(), '.') == 2) {
    c.kind = CredentialKind::kJwt;
    return c;
  }
  if (!in_key_header) {
    // RFC 6750 b64token syntax; anything else cannot be a bearer token.
    for (char ch : found) {
      bool ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
                ch == '-' || ch == '.' || ch == '_' || ch == '~' || ch == '+' || ch == '/' ||
                ch == '=';
      if (!ok) return Malformed("credential is neither an API key nor a JWT");
    }
    c.kind = CredentialKind::kOpaque;
    return c;
  }
  return Malformed("credential is neither an API key nor a JWT");
}

}  // namespace apitrail
