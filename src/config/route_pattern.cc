#include "config/route_pattern.h"

#include <array>
#include <cctype>
#include <set>

namespace apitrail {
namespace {

bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// pchar without '%' (patterns are written decoded; the matcher decodes requests) and
// without '*' (reserved for "/**", so a literal can never be mistaken for a glob).
bool IsLiteralChar(char c) {
  if (IsAlpha(c) || IsDigit(c)) return true;
  switch (c) {
    case '-': case '.': case '_': case '~':                       // unreserved
    case '!': case '$': case '&': case '\'': case '(': case ')':  // sub-delims
    case '+': case ',': case ';': case '=':
    case ':': case '@':
      return true;
    default:
      return false;
  }
}

bool IsIdentifier(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  if (!IsAlpha(s[0]) && s[0] != '_') return false;
  for (char c : s) {
    if (!IsAlpha(c) && !IsDigit(c) && c != '_') return false;
  }
  return true;
}

// Standard methods are case-sensitive; "get" is almost always a typo for "GET".
bool IsLowercaseStandardMethod(std::string_view m) {
  static constexpr std::array<std::string_view, 9> kLower = {
      "get", "head", "post", "put", "delete", "connect", "options", "trace", "patch"};
  for (auto l : kLower) {
    if (m == l) return true;
  }
  return false;
}

}  // namespace

bool IsHttpTokenChar(char c) {
  if (IsAlpha(c) || IsDigit(c)) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
    case '-': case '.': case '^': case '_': case '`': case '|': case '~':
      return true;
    default:
      return false;
  }
}

bool IsHttpToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!IsHttpTokenChar(c)) return false;
  }
  return true;
}

std::string RoutePattern::Path() const {
  std::string out;
  for (const auto& seg : segments) {
    out += '/';
    if (seg.kind == SegmentKind::kParam) {
      out += '{' + seg.text + '}';
    } else {
      out += seg.text;
    }
  }
  if (prefix) out += "/**";
  if (out.empty()) out = "/";
  return out;
}

std::string RoutePattern::ShapeKey() const {
  std::string out = method + " ";
  for (const auto& seg : segments) {
    out += '/';
    out += seg.kind == SegmentKind::kParam ? "{}" : seg.text;
  }
  if (prefix) out += "/**";
  if (segments.empty() && !prefix) out += '/';
  return out;
}

bool ParseRoutePath(std::string_view path, RoutePattern* out, std::string* error) {
  out->segments.clear();
  out->prefix = false;
  if (path.empty() || path[0] != '/') {
    *error = "path must start with '/'";
    return false;
  }
  if (path == "/") return true;
  std::set<std::string_view> names;
  size_t pos = 0;
  while (pos < path.size()) {
    size_t end = path.find('/', pos + 1);
    if (end == std::string_view::npos) end = path.size();
    std::string_view seg = path.substr(pos + 1, end - pos - 1);
    bool last = end == path.size();
    if (seg.empty()) {
      *error = last ? "trailing '/' not allowed (a request path with a trailing '/' is a "
                      "different path)"
                    : "empty segment ('//') not allowed";
      return false;
    }
    if (seg == "**") {
      if (!last) {
        *error = "'/**' is only allowed as the final segment";
        return false;
      }
      out->prefix = true;
      break;
    }
    RoutePattern::Segment s;
    if (seg.front() == '{' || seg.back() == '}') {
      if (seg.size() < 2 || seg.front() != '{' || seg.back() != '}') {
        *error = "parameter '" + std::string(seg) + "' must be a whole segment: {name}";
        return false;
      }
      std::string_view name = seg.substr(1, seg.size() - 2);
      if (!IsIdentifier(name)) {
        *error = "parameter name '" + std::string(name) +
                 "' must be an identifier ([A-Za-z_][A-Za-z0-9_]*, at most 64 chars)";
        return false;
      }
      if (!names.insert(name).second) {
        *error = "parameter '{" + std::string(name) + "}' appears twice";
        return false;
      }
      s.kind = RoutePattern::SegmentKind::kParam;
      s.text = std::string(name);
    } else {
      for (char c : seg) {
        if (!IsLiteralChar(c)) {
          *error = "segment '" + std::string(seg) + "' contains '" + std::string(1, c) +
                   "'; literal segments allow letters, digits and -._~!$&'()+,;=:@ "
                   "(write them decoded, '*' only in a final '/**')";
          return false;
        }
      }
      if (seg == "." || seg == "..") {
        *error = "dot segments ('.', '..') not allowed";
        return false;
      }
      s.kind = RoutePattern::SegmentKind::kLiteral;
      s.text = std::string(seg);
    }
    out->segments.push_back(std::move(s));
    pos = end;
  }
  if (out->segments.size() > kMaxRouteSegments) {
    *error = "more than " + std::to_string(kMaxRouteSegments) + " segments";
    return false;
  }
  if (names.size() > kMaxRouteParams) {
    *error = "more than " + std::to_string(kMaxRouteParams) + " parameters";
    return false;
  }
  return true;
}

bool ParseRouteMatch(std::string_view match, RoutePattern* out, std::string* error) {
  auto is_space = [](char c) { return c == ' ' || c == '\t'; };
  size_t b = 0, e = match.size();
  while (b < e && is_space(match[b])) ++b;
  while (e > b && is_space(match[e - 1])) --e;
  match = match.substr(b, e - b);
  size_t sp = 0;
  while (sp < match.size() && !is_space(match[sp])) ++sp;
  std::string_view method = match.substr(0, sp);
  size_t p = sp;
  while (p < match.size() && is_space(match[p])) ++p;
  std::string_view path = match.substr(p);
  if (method.empty() || path.empty()) {
    *error = "must be 'METHOD /path' (e.g. 'GET /v1/orders/{order_id}' or '* /internal/**')";
    return false;
  }
  if (method != "*" && !IsHttpToken(method)) {
    *error = "method '" + std::string(method) + "' is not an HTTP token or '*'";
    return false;
  }
  if (IsLowercaseStandardMethod(method)) {
    std::string upper(method);
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    *error = "methods are case-sensitive: '" + std::string(method) + "' (did you mean '" +
             upper + "'?)";
    return false;
  }
  for (char c : path) {
    if (is_space(c)) {
      *error = "path must not contain spaces";
      return false;
    }
  }
  out->method = std::string(method);
  return ParseRoutePath(path, out, error);
}

bool ParseStripPrefix(const RoutePattern& pattern, std::string_view strip_prefix,
                      size_t* segments, std::string* error) {
  *segments = 0;
  if (strip_prefix.empty()) return true;
  if (!pattern.prefix) {
    *error = "only allowed on '/**' routes";
    return false;
  }
  if (strip_prefix.size() > 1 && strip_prefix.back() == '/') strip_prefix.remove_suffix(1);
  RoutePattern sp;
  std::string sub_error;
  if (!ParseRoutePath(strip_prefix, &sp, &sub_error) || sp.prefix) {
    *error = "'" + std::string(strip_prefix) + "' is not a prefix of the route's path";
    return false;
  }
  bool is_prefix = sp.segments.size() <= pattern.segments.size();
  for (size_t i = 0; is_prefix && i < sp.segments.size(); ++i) {
    is_prefix = sp.segments[i].kind == pattern.segments[i].kind &&
                sp.segments[i].text == pattern.segments[i].text;
  }
  if (!is_prefix) {
    *error = "'" + std::string(strip_prefix) + "' is not a prefix of the route's path '" +
             pattern.Path() + "'";
    return false;
  }
  *segments = sp.segments.size();
  return true;
}

}  // namespace apitrail
