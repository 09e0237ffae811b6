#include "gateway/path_check.h"

#include <algorithm>
#include <cstring>

#include "core/crypto_util.h"
#include "core/fetch_url.h"

namespace apitrail {
namespace {

bool IsPrintable(char c) { return c > 0x20 && c < 0x7f; }

bool IsAsciiAlnum(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// True if the raw segment decodes to "." or "..".
bool IsDotSegment(std::string_view seg) {
  size_t dots = 0;
  for (size_t i = 0; i < seg.size();) {
    if (seg[i] == '.') {
      ++i;
    } else if (seg[i] == '%' && i + 2 < seg.size() && seg[i + 1] == '2' &&
               (seg[i + 2] == 'e' || seg[i + 2] == 'E')) {
      i += 3;
    } else {
      return false;
    }
    if (++dots > 2) return false;
  }
  return dots == 1 || dots == 2;
}

}  // namespace

bool IsValidHostField(std::string_view v) {
  size_t i = 0;
  if (!v.empty() && v[0] == '[') {
    const size_t close = v.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    for (char c : v.substr(1, close - 1)) {
      // IPv6 and IPvFuture ("v1.x") alike: hex digits, ':' and '.', and IPvFuture's other
      // unreserved and sub-delim characters.
      const bool ok = IsAsciiAlnum(c) || std::strchr(":.-_~!$&'()*+,;=", c) != nullptr;
      if (!ok || c == '\0') return false;
    }
    i = close + 1;
  } else {
    for (; i < v.size() && v[i] != ':'; ++i) {
      const char c = v[i];
      if (c == '%') {
        if (i + 2 >= v.size() || HexDigitValue(v[i + 1]) < 0 || HexDigitValue(v[i + 2]) < 0)
          return false;
        i += 2;
        continue;
      }
      const bool ok = IsAsciiAlnum(c) || std::strchr("-._~!$&'()*+,;=", c) != nullptr;
      if (!ok || c == '\0') return false;
    }
  }
  if (i == v.size()) return true;
  if (v[i] != ':') return false;
  for (char c : v.substr(i + 1)) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

std::string PercentDecode(std::string_view s, bool plus_as_space) {
  // Most names and values have nothing to decode: one scan (memchr-speed) and a copy.
  if (s.find_first_of(plus_as_space ? std::string_view("%+") : std::string_view("%")) ==
      std::string_view::npos) {
    return std::string(s);
  }
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%' && i + 2 < s.size() && HexDigitValue(s[i + 1]) >= 0 &&
        HexDigitValue(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexDigitValue(s[i + 1]) * 16 + HexDigitValue(s[i + 2])));
      i += 2;
    } else if (c == '+' && plus_as_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

void SplitRefusedTarget(std::string_view target, std::string* path, std::string_view* query) {
  constexpr size_t kMaxRecordedPathBytes = 2048;
  const size_t path_end = target.find_first_of("?#");
  std::string_view p = target.substr(0, path_end);
  *query = std::string_view();
  if (path_end != std::string_view::npos && target[path_end] == '?') {
    std::string_view rest = target.substr(path_end + 1);
    *query = rest.substr(0, rest.find('#'));
  }
  if (auto userinfo = FindUserinfo(p)) {  // "scheme://user:pw@host/…"
    *path = std::string(p.substr(0, userinfo->begin)) + "[REDACTED]" +
            std::string(p.substr(userinfo->at, kMaxRecordedPathBytes));
    path->resize(std::min(path->size(), kMaxRecordedPathBytes));
    return;
  }
  *path = std::string(p.substr(0, kMaxRecordedPathBytes));
}

std::string HostForRecord(std::string_view host) {
  const size_t at = host.rfind('@');
  if (at == std::string_view::npos) return std::string(host.substr(0, 256));
  return "[REDACTED]" + std::string(host.substr(at, 256));
}

Status CheckRequestTarget(std::string_view target, std::string_view* path,
                          std::string_view* query) {
  if (target.empty() || target[0] != '/') {
    return Status::InvalidArgument("request target must start with '/'");
  }
  if (target.size() > kMaxRequestTargetBytes) {
    return Status::InvalidArgument("request target too long");
  }
  size_t q = target.find('?');
  std::string_view p = target.substr(0, q);
  std::string_view qs = q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
  for (char c : qs) {
    if (!IsPrintable(c) || c == '#') {
      return Status::InvalidArgument("query contains a forbidden character");
    }
  }
  size_t seg_start = 1;  // after the '/' that opens the current segment
  for (size_t i = 0; i <= p.size(); ++i) {
    if (i == p.size() || p[i] == '/') {
      if (i > 0) {
        std::string_view seg = p.substr(seg_start, i - seg_start);
        // A trailing '/' (empty last segment) is allowed: it is a distinct path that the
        // route table matches literally. Empty segments elsewhere are merged by some servers.
        if (seg.empty() && i != p.size()) {
          return Status::InvalidArgument("path contains an empty segment ('//')");
        }
        if (IsDotSegment(seg)) return Status::InvalidArgument("path contains a dot segment");
      }
      seg_start = i + 1;
      continue;
    }
    char c = p[i];
    if (!IsPrintable(c) || c == '#') {
      return Status::InvalidArgument("path contains a forbidden character");
    }
    if (c == '\\' || c == ';') {
      return Status::InvalidArgument("path contains '\\' or ';'");
    }
    if (c == '%') {
      if (i + 2 >= p.size() || HexDigitValue(p[i + 1]) < 0 || HexDigitValue(p[i + 2]) < 0) {
        return Status::InvalidArgument("path contains a malformed percent-escape");
      }
      int v = HexDigitValue(p[i + 1]) * 16 + HexDigitValue(p[i + 2]);
      if (v == '/' || v == '\\' || v == 0) {
        return Status::InvalidArgument("path contains an encoded '/', '\\' or NUL");
      }
      i += 2;
    }
  }
  *path = p;
  *query = qs;
  return Status::Ok();
}

}  // namespace apitrail
