// RoutePattern: the parsed form of a route's `match` ("GET /v1/orders/{order_id}",
// "* /internal/**"). Parsed once by config validation and again by the gateway's route
// table, so both agree on what a pattern means. Plain value type; functions are pure.
//
// Grammar (docs/CONFIG.md, "Routes"):
//   match   = METHOD 1*SP path
//   METHOD  = HTTP token (RFC 9110 tchar) | "*"
//   path    = "/" | 1*( "/" segment ) [ "/**" ] | "/**"
//   segment = literal (unreserved / sub-delims / ":" / "@", no "*" or "%") | "{" name "}"
//   name    = identifier, unique within the route
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace apitrail {

struct RoutePattern {
  enum class SegmentKind { kLiteral, kParam };
  struct Segment {
    SegmentKind kind = SegmentKind::kLiteral;
    std::string text;  // literal text, or the parameter name without braces
  };

  std::string method;             // "GET" or "*"
  std::vector<Segment> segments;  // before a final "/**"
  bool prefix = false;            // ends with "/**": matches any remaining segments

  // "/v1/orders/{order_id}", "/internal/**", "/".
  std::string Path() const;
  // "GET /v1/orders/{order_id}": method and path separated by one space.
  std::string Template() const { return method + " " + Path(); }
  // Like Template() with parameter names blanked ("GET /v1/orders/{}"): two routes with
  // the same shape are ambiguous, whatever their parameter names.
  std::string ShapeKey() const;
};

// Limits that keep matching cheap and bounded (the route table recurses per segment).
inline constexpr size_t kMaxRouteSegments = 32;
inline constexpr size_t kMaxRouteParams = 16;

// Parses "METHOD /path". On failure returns false and sets *error (no key path).
bool ParseRouteMatch(std::string_view match, RoutePattern* out, std::string* error);
// Parses only the path part ("/v1/orders/{order_id}").
bool ParseRoutePath(std::string_view path, RoutePattern* out, std::string* error);
// Checks a route's strip_prefix against its pattern: only on "/**" routes, and it must be
// a segment-aligned prefix of the pattern written the same way ("/internal" or
// "/internal/" for "/internal/**"). On success *segments is how many leading path
// segments the gateway removes before forwarding.
bool ParseStripPrefix(const RoutePattern& pattern, std::string_view strip_prefix,
                      size_t* segments, std::string* error);

// RFC 9110 token character (methods and header names).
bool IsHttpTokenChar(char c);
// Non-empty and only token characters.
bool IsHttpToken(std::string_view s);

}  // namespace apitrail
