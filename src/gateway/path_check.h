// Request-target safety checks and percent-decoding for the gateway.
//
// Why: a route's sensitivity and required scopes are decided on the path apitrail sees.
// If the upstream normalises a path differently ("/v1/x/../admin/export", "/v1/admin%2Fexport",
// "/v1//admin/export"), a request could be audited and authorised as one route and served
// as another. So every path that an upstream might read differently is rejected (400)
// instead of normalised. Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/status.h"

namespace apitrail {

// Longest request target accepted (path + '?' + query), in bytes.
inline constexpr size_t kMaxRequestTargetBytes = 8192;

// Checks an origin-form request target ("/path?query") and splits it. On success *path is
// the raw path (still percent-encoded, never empty, starts with '/') and *query the raw
// query without '?' (empty if none); both view `target`. On failure returns
// InvalidArgument with a short reason (the target itself is not echoed) and leaves the
// outputs untouched. Rejected:
//   - empty, not starting with '/', longer than kMaxRequestTargetBytes, containing '#'
//   - bytes outside printable ASCII (controls, space, DEL, non-ASCII) anywhere
//   - in the path: empty segments ("//"), dot segments ("." / "..", also written as
//     %2e/%2E), '\' and %5C (some servers treat it as '/'), ';' (Tomcat/Jetty strip
//     ";params" from segments), %2F/%2f (encoded '/'), %00, malformed escapes ("%4", "%zz")
Status CheckRequestTarget(std::string_view target, std::string_view* path,
                          std::string_view* query);

// What a refused request target (CheckRequestTarget failed) may be recorded as. A refused
// target carries its query and fragment like any other ("//v1/x?access_token=…", an
// absolute-form "http://user:pw@host/x"), and the audit record must not hold the secrets in
// them. *path: the target up to its first '?' or '#', at most 2048 bytes, with the userinfo of
// an absolute-form target ("scheme://user:pw@") replaced by "[REDACTED]"; *query: the raw query
// between the first '?' and the first '#' after it (views `target`; empty if none), for the
// Redactor. The fragment (never sent by a conforming client; OAuth implicit-flow tokens live
// there) is not recorded at all.
void SplitRefusedTarget(std::string_view target, std::string* path, std::string_view* query);

// A Host field value as it may be recorded (at most 256 bytes): a valid one is unchanged; the
// userinfo of a refused "user:pw@api.example" becomes "[REDACTED]@api.example".
std::string HostForRecord(std::string_view host);

// A Host field value as RFC 9110 §7.2 defines it: uri-host [":" port], where uri-host is
// an IP-literal ("[...]"), or a reg-name / IPv4 address (letters, digits, "-._~", the
// sub-delims "!$&'()*+,;=" and %XX escapes), and port is digits. Empty is valid (a target
// without authority). Refused values (a list "a, b", "host/path", "user@host", a port with
// letters) would let the record, the upstream and a cache each read another host.
bool IsValidHostField(std::string_view value);

// Decodes %XX escapes; with plus_as_space also '+' → ' ' (form encoding, queries only).
// A '%' not followed by two hex digits is kept literally.
std::string PercentDecode(std::string_view s, bool plus_as_space);

}  // namespace apitrail
