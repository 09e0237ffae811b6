// ValidateConfig (config_loader.h): the semantic checks that apply however a Config was
// built (from YAML or in code by `demo`). The limits here are the ones docs/CONFIG.md lists.
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <iterator>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "config/archive_command.h"
#include "core/fetch_url.h"
#include "config/config_loader.h"
#include "config/route_pattern.h"

namespace apitrail {
namespace {

constexpr uint64_t kKiB = 1024;
constexpr uint64_t kMiB = 1024 * kKiB;
constexpr uint64_t kGiB = 1024 * kMiB;
constexpr uint64_t kHourMs = 3600 * 1000;
// RFC 7518 §3.2: an HS256 key must be at least as long as the hash output.
constexpr size_t kMinHs256SecretBytes = 32;
constexpr size_t kMinAdminTokenBytes = 16;

class Checker {
 public:
  explicit Checker(std::vector<ConfigError>* errors) : errors_(errors) {}

  void Error(std::string path, std::string message) {
    errors_->push_back({std::move(path), std::move(message)});
  }

  void Range(const std::string& path, int64_t v, int64_t min, int64_t max) {
    if (v < min || v > max) {
      Error(path, "must be between " + std::to_string(min) + " and " + std::to_string(max) +
                      ", got " + std::to_string(v));
    }
  }

  void OneOf(const std::string& path, const std::string& v,
             std::initializer_list<const char*> allowed) {
    std::string list;
    for (const char* a : allowed) {
      if (v == a) return;
      list += list.empty() ? a : std::string(", ") + a;
    }
    Error(path, "must be one of " + list + ", got '" + v + "'");
  }

  void HeaderName(const std::string& path, const std::string& v) {
    if (!IsHttpToken(v) || v.size() > 64) {
      Error(path, "'" + v + "' is not a valid header name (1..64 token characters)");
    }
  }

  // Free text that ends up in headers or records: printable ASCII, bounded.
  void Printable(const std::string& path, const std::string& v, size_t max, bool secret) {
    bool ok = !v.empty() && v.size() <= max;
    for (char c : v) ok = ok && c > 0x20 && c < 0x7f;
    if (!ok) {
      Error(path, secret ? "must be 1.." + std::to_string(max) +
                               " printable ASCII characters without spaces"
                         : "'" + v + "' must be 1.." + std::to_string(max) +
                               " printable ASCII characters without spaces");
    }
  }

 private:
  std::vector<ConfigError>* errors_;
};

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '.' || c == '_' || c == '-';
}

bool IsName(const std::string& s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), IsNameChar);
}

void CheckGateway(Checker& ck, const GatewayConfig& g) {
  const std::string p = "gateway.";
  ck.Range(p + "workers", g.workers, 0, 256);
  ck.Range(p + "max_header_bytes", g.max_header_bytes, kKiB, kMiB);
  ck.Range(p + "max_headers", g.max_headers, 1, 10000);
  ck.Range(p + "max_body_bytes", static_cast<int64_t>(g.max_body_bytes), 0, kGiB);
  ck.Range(p + "header_timeout_ms", g.header_timeout_ms, 1, kHourMs);
  ck.Range(p + "idle_timeout_ms", g.idle_timeout_ms, 1, kHourMs);
  ck.Range(p + "body_timeout_ms", g.body_timeout_ms, 1, kHourMs);
  ck.Range(p + "upstream_connect_timeout_ms", g.upstream_connect_timeout_ms, 1, kHourMs);
  ck.Range(p + "upstream_response_timeout_ms", g.upstream_response_timeout_ms, 1, kHourMs);
  ck.Range(p + "drain_timeout_ms", g.drain_timeout_ms, 1, kHourMs);
  ck.Range(p + "max_connections", g.max_connections, 1, 1000000);
  if (g.listen.host.empty()) ck.Error(p + "listen", "host must not be empty");
  for (size_t i = 0; i < g.trusted_proxies.size(); ++i) {
    if (g.trusted_proxies[i].prefix_len < 0 || g.trusted_proxies[i].prefix_len > 128) {
      ck.Error(p + "trusted_proxies[" + std::to_string(i) + "]", "invalid prefix length");
    }
  }
  ck.OneOf(p + "unmatched", g.unmatched, {"reject", "pass"});
  ck.HeaderName(p + "request_id_header", g.request_id_header);
  // The files themselves are read (and cert/key matched) when the gateway starts; errors
  // there name the same keys.
  const GatewayTlsConfig& t = g.tls;
  ck.OneOf(p + "tls.client_auth", t.client_auth, {"none", "optional", "required"});
  if (!t.enabled()) {
    if (!t.client_ca_file.empty() || t.client_auth != "none") {
      ck.Error(p + "tls.cert_file", "required: client certificates need TLS on the listener");
    }
    return;
  }
  if (t.cert_file.empty()) ck.Error(p + "tls.cert_file", "required when gateway.tls is set");
  if (t.key_file.empty()) ck.Error(p + "tls.key_file", "required when gateway.tls is set");
  ck.OneOf(p + "tls.min_version", t.min_version, {"1.2", "1.3"});
  if (t.client_auth != "none" && t.client_ca_file.empty()) {
    ck.Error(p + "tls.client_ca_file", "required when client_auth is '" + t.client_auth + "'");
  }
  if (t.client_auth == "none" && !t.client_ca_file.empty()) {
    ck.Error(p + "tls.client_auth", "set to optional or required to use client_ca_file");
  }
}

void CheckUpstreams(Checker& ck, const Config& c, std::map<std::string, size_t>* by_name) {
  for (size_t i = 0; i < c.upstreams.size(); ++i) {
    const UpstreamConfig& u = c.upstreams[i];
    const std::string p = "upstreams[" + std::to_string(i) + "].";
    if (u.name.empty()) {
      ck.Error(p + "name", "required");
    } else if (!IsName(u.name)) {
      ck.Error(p + "name", "'" + u.name + "' must be 1..64 of [A-Za-z0-9._-]");
    } else if (auto [it, inserted] = by_name->emplace(u.name, i); !inserted) {
      ck.Error(p + "name", "duplicate upstream name '" + u.name + "' (also upstreams[" +
                               std::to_string(it->second) + "])");
    }
    if (u.address.host.empty() || u.address.port == 0) {
      ck.Error(p + "address", "required: 'host:port' with a port in 1..65535");
    }
    ck.Range(p + "max_idle_connections", u.max_idle_connections, 0, 10000);
    const std::string& sn = u.tls.server_name;
    bool sn_ok = sn.size() <= 253;
    for (char ch : sn) sn_ok = sn_ok && (IsNameChar(ch) || ch == ':');
    if (!sn_ok) ck.Error(p + "tls.server_name", "'" + sn.substr(0, 64) + "' is not a host name or IP address");
    if (!u.tls.verify && !u.tls.ca_file.empty()) {
      ck.Error(p + "tls.verify", "false ignores ca_file; remove one of them");
    }
  }
}

std::string KnownUpstreams(const std::map<std::string, size_t>& by_name) {
  std::string out;
  for (const auto& [name, i] : by_name) out += (out.empty() ? "" : ", ") + name;
  return out.empty() ? "no upstreams are defined" : "known: " + out;
}

void CheckRoutes(Checker& ck, Config& c, const std::map<std::string, size_t>& upstreams) {
  std::map<std::string, size_t> shapes;
  for (size_t i = 0; i < c.routes.size(); ++i) {
    RouteConfig& r = c.routes[i];
    const std::string p = "routes[" + std::to_string(i) + "].";
    // `demo` may build routes from method + pattern; YAML always gives `match`.
    if (r.match.empty() && !r.pattern.empty()) {
      r.match = (r.method.empty() ? std::string("*") : r.method) + " " + r.pattern;
    }
    RoutePattern pattern;
    std::string error;
    bool parsed = false;
    if (r.match.empty()) {
      ck.Error(p + "match", "required ('METHOD /path')");
    } else if (!ParseRouteMatch(r.match, &pattern, &error)) {
      ck.Error(p + "match", error);
    } else {
      parsed = true;
      r.method = pattern.method;
      r.pattern = pattern.Path();
      auto [it, inserted] = shapes.emplace(pattern.ShapeKey(), i);
      if (!inserted) {
        ck.Error(p + "match", "same method and path as routes[" + std::to_string(it->second) +
                                  "] ('" + c.routes[it->second].match + "')");
      }
    }
    if (r.upstream.empty()) {
      ck.Error(p + "upstream", "required");
    } else if (!upstreams.count(r.upstream)) {
      ck.Error(p + "upstream",
               "unknown upstream '" + r.upstream + "' (" + KnownUpstreams(upstreams) + ")");
    }
    if (parsed && !r.strip_prefix.empty()) {
      size_t segments = 0;
      if (!ParseStripPrefix(pattern, r.strip_prefix, &segments, &error)) {
        ck.Error(p + "strip_prefix", error);
      }
    }
    for (size_t j = 0; j < r.scopes.size(); ++j) {
      ck.Printable(p + "scopes[" + std::to_string(j) + "]", r.scopes[j], 128, false);
      // Role-like scopes are dropped from every credential (kRoleScopePrefix in
      // auth/identity.h, which config/ does not include): such a route could never be reached.
      if (r.scopes[j].starts_with("role:")) {
        ck.Error(p + "scopes[" + std::to_string(j) + "]",
                 "a scope cannot start with 'role:' (no credential carries one); use roles: [" +
                     r.scopes[j].substr(5, 64) + "]");
      }
    }
    for (size_t j = 0; j < r.roles.size(); ++j) {
      ck.Printable(p + "roles[" + std::to_string(j) + "]", r.roles[j], 128, false);
    }
  }
  const GatewayConfig& g = c.gateway;
  if (g.unmatched == "pass" && g.default_upstream.empty()) {
    ck.Error("gateway.default_upstream", "required when gateway.unmatched is 'pass'");
  }
  if (!g.default_upstream.empty() && !upstreams.count(g.default_upstream)) {
    ck.Error("gateway.default_upstream", "unknown upstream '" + g.default_upstream + "' (" +
                                             KnownUpstreams(upstreams) + ")");
  }
}

// RFC 7518 / RFC 8037 names; the HMAC ones with their minimum key size (the hash output).
struct JwtAlgRule {
  const char* name;
  size_t min_secret_bytes;  // 0: not an HMAC algorithm
};
constexpr JwtAlgRule kJwtAlgs[] = {
    {"HS256", 32}, {"HS384", 48}, {"HS512", 64}, {"RS256", 0}, {"RS384", 0},
    {"RS512", 0},  {"PS256", 0},  {"PS384", 0},  {"PS512", 0}, {"ES256", 0},
    {"ES384", 0},  {"ES512", 0},  {"EdDSA", 0},
};
constexpr char kJwtAlgList[] =
    "HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA";

// An empty audience or claim name names nothing: audiences: [""] would pass the "audiences
// required" rule and accept exactly the tokens whose aud is "".
void NoEmptyElements(Checker& ck, const std::string& path, const std::vector<std::string>& list) {
  for (size_t i = 0; i < list.size(); ++i) {
    if (list[i].empty()) ck.Error(path + "[" + std::to_string(i) + "]", "must not be empty");
  }
}

bool IsHttpUrl(const std::string& u, bool allow_http) {
  return u.rfind("https://", 0) == 0 || (allow_http && u.rfind("http://", 0) == 0);
}

// What the HTTPS client refuses in a URL whose scheme IsHttpUrl accepted, or "": checked
// here so such a URL is a config error, not a warning at start followed by 503s for every
// token. The URL itself is not echoed.
std::string FetchUrlProblem(const std::string& url) {
  auto parsed = ParseFetchUrl(url, /*allow_http=*/true);
  return parsed.ok() ? "" : parsed.status().message();
}

void CheckRemoteKeys(Checker& ck, const JwtIssuerConfig& j, const std::string& p, bool hs) {
  if (!j.jwks_url.empty() && j.discovery) {
    ck.Error(p + ".jwks_url", "set jwks_url or discovery, not both");
  }
  if (!j.jwks_url.empty() && !IsHttpUrl(j.jwks_url, j.allow_insecure_http)) {
    ck.Error(p + ".jwks_url", j.allow_insecure_http ? "must be an https:// or http:// URL"
                                                    : "must be an https:// URL");
  } else if (!j.jwks_url.empty()) {
    if (std::string why = FetchUrlProblem(j.jwks_url); !why.empty()) ck.Error(p + ".jwks_url", why);
  }
  if (j.discovery && !IsHttpUrl(j.issuer, j.allow_insecure_http)) {
    ck.Error(p + ".issuer", "discovery needs the issuer as an https:// URL");
  } else if (j.discovery) {
    if (std::string why = FetchUrlProblem(j.issuer); !why.empty()) ck.Error(p + ".issuer", why);
  }
  // Shared secrets are never fetched over the network.
  if (j.has_remote_keys() && hs) {
    ck.Error(p + ".algorithms", "HS256/HS384/HS512 cannot use jwks_url or discovery");
  }
  if (!j.has_remote_keys()) return;
  ck.Range(p + ".fetch_timeout_ms", j.fetch_timeout_ms, 100, 60000);
  ck.Range(p + ".max_jwks_bytes", j.max_jwks_bytes, 1024, 4 << 20);
  ck.Range(p + ".jwks_refresh_min_interval_ms", j.jwks_refresh_min_interval_ms, 100, 86400000);
  ck.Range(p + ".jwks_max_age_min_ms", j.jwks_max_age_min_ms, 100, 86400000);
  ck.Range(p + ".jwks_max_age_max_ms", j.jwks_max_age_max_ms, 1000, 7 * 86400000u);
  if (j.jwks_max_age_max_ms < j.jwks_max_age_min_ms) {
    ck.Error(p + ".jwks_max_age_max_ms", "must be at least jwks_max_age_min_ms");
  }
}

void CheckIntrospection(Checker& ck, const IntrospectionConfig& c) {
  const std::string p = "auth.introspection";
  if (!c.enabled()) return;
  if (!IsHttpUrl(c.endpoint, c.allow_insecure_http)) {
    ck.Error(p + ".endpoint", c.allow_insecure_http ? "must be an https:// or http:// URL"
                                                    : "must be an https:// URL");
  } else if (std::string why = FetchUrlProblem(c.endpoint); !why.empty()) {
    ck.Error(p + ".endpoint", why);
  }
  if (c.client_id.empty()) ck.Error(p + ".client_id", "required: the client the gateway authenticates as");
  if (c.client_secret.empty() == c.client_secret_file.empty()) {
    ck.Error(p + ".client_secret", "set exactly one of client_secret and client_secret_file");
  }
  if (c.client_auth != "basic" && c.client_auth != "body") {
    ck.Error(p + ".client_auth", "must be basic or body");
  }
  if (c.tokens != "opaque" && c.tokens != "all") ck.Error(p + ".tokens", "must be opaque or all");
  // Recorded as the issuer of every identity introspection gives, where an answer's own iss
  // is used only within these bounds (auth/introspector.cc).
  bool issuer_ok = c.issuer.size() <= 256;
  for (char ch : c.issuer) issuer_ok = issuer_ok && !((ch >= 0 && ch < 0x20) || ch == 0x7f);
  if (!issuer_ok) ck.Error(p + ".issuer", "must be at most 256 bytes without control characters");
  if (c.subject_claims.empty()) ck.Error(p + ".subject_claims", "at least one claim");
  NoEmptyElements(ck, p + ".subject_claims", c.subject_claims);
  NoEmptyElements(ck, p + ".audiences", c.audiences);
  ck.Range(p + ".timeout_ms", c.timeout_ms, 100, 60000);
  ck.Range(p + ".max_response_bytes", c.max_response_bytes, 1024, 1 << 20);
  ck.Range(p + ".max_token_bytes", c.max_token_bytes, 16, 65536);
  ck.Range(p + ".cache_max_ttl_ms", c.cache_max_ttl_ms, 0, 3600000);
  ck.Range(p + ".negative_cache_ms", c.negative_cache_ms, 0, 60000);
  ck.Range(p + ".max_concurrent", c.max_concurrent, 1, 10000);
  ck.Range(p + ".cache_capacity", c.cache_capacity, 0, 10000000);
}

void CheckJwt(Checker& ck, const JwtIssuerConfig& j, const std::string& p) {
  if (j.key_file.empty() && j.jwks_file.empty() && j.secret.empty() && j.secret_file.empty() &&
      !j.has_remote_keys()) {
    ck.Error(p, "needs a key source: key_file, jwks_file, jwks_url, discovery, secret or "
                "secret_file");
  }
  if (j.algorithms.empty()) {
    ck.Error(p + ".algorithms",
             std::string("required: the algorithms to accept (") + kJwtAlgList + ")");
  }
  bool hs = false, asym = false;
  size_t min_secret = kMinHs256SecretBytes;
  std::string longest_hs = "HS256";
  for (size_t k = 0; k < j.algorithms.size(); ++k) {
    const std::string& a = j.algorithms[k];
    const JwtAlgRule* rule = nullptr;
    for (const auto& r : kJwtAlgs) {
      if (a == r.name) rule = &r;
    }
    if (rule == nullptr) {
      ck.Error(p + ".algorithms[" + std::to_string(k) + "]",
               "unsupported algorithm '" + a.substr(0, 32) + "' (supported: " + kJwtAlgList + ")");
    } else if (rule->min_secret_bytes > 0) {
      hs = true;
      if (rule->min_secret_bytes > min_secret) {
        min_secret = rule->min_secret_bytes;
        longest_hs = rule->name;
      }
    } else {
      asym = true;
    }
  }
  // One entry verifying both HMAC and public-key signatures invites algorithm confusion
  // (a public key used as an HMAC secret); pinning algorithms per key source avoids it.
  if (hs && asym) {
    ck.Error(p + ".algorithms", "HS256/HS384/HS512 cannot be combined with RS*/PS*/ES*/EdDSA in "
                                "one entry; use one jwt entry per key type");
  }
  if (hs && j.secret.empty() && j.secret_file.empty() && j.jwks_file.empty()) {
    ck.Error(p, "HS* needs secret, secret_file or a jwks_file with oct keys");
  }
  if (asym && j.key_file.empty() && j.jwks_file.empty() && !j.has_remote_keys()) {
    ck.Error(p, "RS*/PS*/ES*/EdDSA need key_file, jwks_file, jwks_url or discovery");
  }
  CheckRemoteKeys(ck, j, p, hs);
  if (!j.secret.empty() && !j.secret_file.empty()) {
    ck.Error(p + ".secret", "set either secret or secret_file, not both");
  }
  // RFC 7518 §3.2: at least as long as the hash output of every HS* accepted.
  if (!j.secret.empty() && j.secret.size() < min_secret) {
    ck.Error(p + ".secret", "too short: at least " + std::to_string(min_secret) +
                                " bytes are required for " + longest_hs);
  }
  if (j.audiences.empty() && !j.allow_any_audience) {
    ck.Error(p + ".audiences", "required (tokens for other APIs of the same issuer would be "
                               "accepted); set allow_any_audience: true to accept any");
  }
  if (!j.audiences.empty() && j.allow_any_audience) {
    ck.Error(p + ".allow_any_audience", "set audiences or allow_any_audience, not both");
  }
  if (j.subject_claim.empty()) ck.Error(p + ".subject_claim", "must not be empty");
  NoEmptyElements(ck, p + ".audiences", j.audiences);
  NoEmptyElements(ck, p + ".required_claims", j.required_claims);
  ck.Range(p + ".leeway_s", j.leeway_s, 0, 3600);
  ck.Range(p + ".max_token_bytes", j.max_token_bytes, 256, 65536);
}

void CheckMtls(Checker& ck, const Config& c) {
  const MtlsAuthConfig& m = c.auth.mtls;
  if (m.subject_from.empty()) ck.Error("auth.mtls.subject_from", "at least one of uri, dns, email, cn");
  for (size_t i = 0; i < m.subject_from.size(); ++i) {
    ck.OneOf("auth.mtls.subject_from[" + std::to_string(i) + "]", m.subject_from[i],
             {"uri", "dns", "email", "cn"});
  }
  if (m.enabled && c.gateway.tls.client_auth == "none") {
    ck.Error("auth.mtls.enabled", "needs gateway.tls with client_auth optional or required");
  }
}

void CheckAuth(Checker& ck, const AuthConfig& a) {
  if (a.api_keys.enabled && a.api_keys.headers.empty()) {
    ck.Error("auth.api_keys.headers", "at least one header is required when enabled");
  }
  for (size_t i = 0; i < a.api_keys.headers.size(); ++i) {
    ck.HeaderName("auth.api_keys.headers[" + std::to_string(i) + "]", a.api_keys.headers[i]);
  }
  for (size_t i = 0; i < a.jwt.size(); ++i) {
    CheckJwt(ck, a.jwt[i], "auth.jwt[" + std::to_string(i) + "]");
  }
  CheckIntrospection(ck, a.introspection);
  ck.HeaderName("auth.identity_headers.subject", a.identity_headers.subject);
  ck.HeaderName("auth.identity_headers.auth_method", a.identity_headers.auth_method);
  ck.HeaderName("auth.identity_headers.scopes", a.identity_headers.scopes);
  // roles/tenant may be "" (not sent).
  if (!a.identity_headers.roles.empty()) {
    ck.HeaderName("auth.identity_headers.roles", a.identity_headers.roles);
  }
  if (!a.identity_headers.tenant.empty()) {
    ck.HeaderName("auth.identity_headers.tenant", a.identity_headers.tenant);
  }
  const AuthFailureLimitConfig& fl = a.failure_limit;
  ck.Range("auth.failure_limit.max_failures", fl.max_failures, 1, 1000000);
  ck.Range("auth.failure_limit.window_s", fl.window_s, 1, 86400);
  ck.Range("auth.failure_limit.block_s", fl.block_s, 1, 86400);
  ck.Range("auth.failure_limit.max_tracked", fl.max_tracked, 64, 10000000);
  ck.Range("auth.failure_limit.ipv6_prefix_len", fl.ipv6_prefix_len, 32, 128);
  // The realm is sent inside a quoted string in WWW-Authenticate.
  bool realm_ok = !a.realm.empty() && a.realm.size() <= 128;
  for (char c : a.realm) realm_ok = realm_ok && c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
  if (!realm_ok) ck.Error("auth.realm", "must be 1..128 printable ASCII characters without '\"'");
}

// The headers the gateway adds to every forwarded request under configured names. A name
// the gateway also writes itself, or one that frames the message, would reach the upstream
// twice or with the wrong meaning (identity_headers.subject: Content-Length puts a second,
// subject-valued Content-Length next to the real one); two of them sharing a name would
// give the upstream two values for one header. Names compare as the gateway's forwarding
// does: case-insensitively, '_' as '-'.
void CheckAddedHeaderNames(Checker& ck, const Config& c) {
  static constexpr const char* kGatewayOwned[] = {
      "host", "content-length", "transfer-encoding", "connection", "keep-alive",
      "proxy-connection", "te", "trailer", "upgrade", "expect", "traceparent", "tracestate",
      "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "forwarded"};
  const IdentityHeadersConfig& ih = c.auth.identity_headers;
  const std::pair<const char*, const std::string*> added[] = {
      {"gateway.request_id_header", &c.gateway.request_id_header},
      {"auth.identity_headers.subject", &ih.subject},
      {"auth.identity_headers.auth_method", &ih.auth_method},
      {"auth.identity_headers.scopes", &ih.scopes},
      {"auth.identity_headers.roles", &ih.roles},
      {"auth.identity_headers.tenant", &ih.tenant}};
  auto owned = [](std::string* name) {
    for (char& ch : *name) {
      ch = ch == '_' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    }
    return std::any_of(std::begin(kGatewayOwned), std::end(kGatewayOwned),
                       [&](const char* o) { return *name == o; });
  };
  // A key header is removed before forwarding: api_keys.headers: [Host] sent the upstream an
  // empty Host for every request with a key.
  const std::vector<std::string>& key_headers = c.auth.api_keys.headers;
  for (size_t i = 0; i < key_headers.size(); ++i) {
    std::string name = key_headers[i];
    if (owned(&name)) {
      ck.Error("auth.api_keys.headers[" + std::to_string(i) + "]",
               "'" + key_headers[i] + "' is a header the gateway sets or removes itself; choose "
               "another name");
    }
  }
  std::map<std::string, const char*> seen;
  for (const auto& [path, value] : added) {
    if (value->empty()) continue;
    std::string name = *value;
    if (owned(&name)) {
      ck.Error(path, "'" + *value + "' is a header the gateway sets or removes itself; choose "
                     "another name");
    } else if (auto [it, inserted] = seen.emplace(name, path); !inserted) {
      ck.Error(path, "'" + *value + "' is already used by " + it->second);
    }
  }
  // The correlation id is echoed in the answer, passed upstream and, when malformed, recorded
  // as invalid_request_id: read from a header that carries a credential, it put the caller's
  // "Bearer …", cookie or API key into the audit log.
  std::string request_id = c.gateway.request_id_header;
  owned(&request_id);  // normalises it as forwarding compares names
  std::vector<std::string> credential_headers = {"authorization", "proxy-authorization", "cookie"};
  for (std::string name : key_headers) {
    owned(&name);
    credential_headers.push_back(std::move(name));
  }
  if (std::find(credential_headers.begin(), credential_headers.end(), request_id) !=
      credential_headers.end()) {
    ck.Error("gateway.request_id_header",
             "'" + c.gateway.request_id_header + "' carries credentials (Authorization, "
             "Proxy-Authorization, Cookie or an auth.api_keys.headers name); its value would be "
             "recorded and echoed; choose another name");
  }
}

// "http://host[:port][/path]" → address and target. Webhook witnesses speak plain HTTP by
// design: the note is public and signed, so transport security adds no integrity; an
// https:// URL is refused with a clear error pointing at a local TLS relay (docs/CONFIG.md).
bool ParseWebhookUrl(const std::string& url, WitnessConfig* w, std::string* error) {
  constexpr std::string_view kScheme = "http://";
  if (url.rfind("https://", 0) == 0) {
    *error = "https is not supported yet: use http:// to a local relay (docs/CONFIG.md)";
    return false;
  }
  if (url.rfind(kScheme, 0) != 0 || url.size() > 2048) {
    *error = "must be an http:// URL of at most 2048 characters";
    return false;
  }
  for (char ch : url) {
    if (ch <= 0x20 || ch >= 0x7f) {
      *error = "must be printable ASCII without spaces";
      return false;
    }
  }
  const size_t slash = url.find('/', kScheme.size());
  std::string authority = url.substr(kScheme.size(), slash == std::string::npos ? std::string::npos
                                                                                : slash - kScheme.size());
  w->url_target = slash == std::string::npos ? "/" : url.substr(slash);
  if (authority.empty() || authority[0] == ':' || authority.find('@') != std::string::npos) {
    *error = "needs a host (and no user info)";
    return false;
  }
  const size_t bracket = authority.rfind(']');
  const bool has_port = authority.find(':', bracket == std::string::npos ? 0 : bracket) != std::string::npos;
  if (!has_port) authority += ":80";
  std::string why;
  if (!ParseHostPort(authority, &w->url_address, &why) || w->url_address.port == 0) {
    *error = "bad host:port: " + (why.empty() ? "port 0" : why);
    return false;
  }
  return true;
}

void CheckWitness(Checker& ck, const std::string& p, size_t index, WitnessConfig& w,
                  std::map<std::string, size_t>* names) {
  ck.OneOf(p + ".type", w.type, {"file", "syslog", "webhook"});
  if (w.name.empty()) w.name = w.type + "-" + std::to_string(index);
  if (!IsName(w.name)) {
    ck.Error(p + ".name", "'" + w.name + "' must be 1..64 of [A-Za-z0-9._-]");
  } else if (!names->emplace(w.name, index).second) {
    ck.Error(p + ".name", "duplicate witness name '" + w.name + "'");
  }
  auto only = [&](bool set, const char* key, const char* type) {
    if (set && w.type != type) ck.Error(p + "." + key, std::string("only for ") + type + " witnesses");
  };
  only(!w.dir.empty(), "dir", "file");
  only(w.address.port != 0, "address", "syslog");
  only(!w.url.empty(), "url", "webhook");
  if (w.type == "file" && w.dir.empty()) ck.Error(p + ".dir", "required for a file witness");
  if (w.type == "syslog") {
    if (w.address.port == 0) ck.Error(p + ".address", "required for a syslog witness (host:port)");
    ck.OneOf(p + ".protocol", w.protocol, {"udp", "tcp"});
    ck.Range(p + ".facility", w.facility, 0, 23);
  }
  if (w.type == "webhook") {
    std::string error;
    if (w.url.empty()) {
      ck.Error(p + ".url", "required for a webhook witness");
    } else if (!ParseWebhookUrl(w.url, &w, &error)) {
      ck.Error(p + ".url", error);
    }
  }
  ck.Range(p + ".timeout_ms", w.timeout_ms, 1, 600000);
}

void CheckCheckpoints(Checker& ck, CheckpointConfig& c) {
  const std::string p = "audit.checkpoints.";
  ck.Range(p + "every_events", c.every_events, 0, 10000000);
  ck.Range(p + "max_lag_ms", c.max_lag_ms, 1, kHourMs);
  ck.Range(p + "heartbeat_ms", c.heartbeat_ms, 1000, 24 * kHourMs);
  ck.Range(p + "witness_queue", c.witness_queue, 1, 1000000);
  ck.Range(p + "witness_retry_max_ms", c.witness_retry_max_ms, 100, kHourMs);
  if (c.witnesses.size() > 16) ck.Error(p + "witnesses", "at most 16 witnesses");
  std::map<std::string, size_t> names;
  for (size_t i = 0; i < c.witnesses.size(); ++i) {
    CheckWitness(ck, p + "witnesses[" + std::to_string(i) + "]", i, c.witnesses[i], &names);
  }
}

void CheckArchiveAndRetention(Checker& ck, const AuditConfig& a) {
  const ArchiveConfig& ar = a.archive;
  if (ar.enabled()) {
    if (Status st = ValidateArchiveCommand(ar.command); !st.ok()) {
      ck.Error("audit.archive.command", st.message());
    }
  }
  ck.Range("audit.archive.timeout_ms", ar.timeout_ms, 1000, 24 * kHourMs);
  ck.Range("audit.archive.retry_min_ms", ar.retry_min_ms, 10, kHourMs);
  ck.Range("audit.archive.retry_max_ms", ar.retry_max_ms, 10, 24 * kHourMs);
  if (ar.retry_max_ms < ar.retry_min_ms) {
    ck.Error("audit.archive.retry_max_ms", "must not be smaller than audit.archive.retry_min_ms (" +
                                               std::to_string(ar.retry_min_ms) + ")");
  }
  ck.Range("audit.archive.scan_interval_ms", ar.scan_interval_ms, 100, kHourMs);
  ck.Range("audit.retention.days", a.retention.days, 0, 36500);
  // PostgreSQL's rule: what was never archived is never deleted, unless the operator says so.
  if (a.retention.days > 0 && a.retention.require_archive && !ar.enabled()) {
    ck.Error("audit.retention.days",
             "deletes only parts that were archived, but audit.archive.command is not set: set "
             "it, or set audit.retention.require_archive: false to delete parts that were "
             "never archived");
  }
}

void CheckAuditAndAdmin(Checker& ck, Config& c) {
  const AuditConfig& a = c.audit;
  if (a.data_dir.empty()) ck.Error("audit.data_dir", "must not be empty");
  ck.OneOf("audit.durability", a.durability, {"response", "strict", "batch"});
  ck.Range("audit.batch_interval_ms", a.batch_interval_ms, 1, 60000);
  ck.Range("audit.queue_capacity", a.queue_capacity, 1, 10000000);
  ck.Range("audit.max_segment_bytes", static_cast<int64_t>(a.max_segment_bytes), 64 * kKiB,
           64 * kGiB);
  ck.Range("audit.block_cache_mb", a.block_cache_mb, 0, 65536);
  CheckCheckpoints(ck, c.audit.checkpoints);
  ck.Range("audit.rollups.max_keys", a.rollups.max_keys, 10, 100000);
  ck.Range("audit.rollups.retention_days", a.rollups.retention_days, 1, 400);
  ck.Range("audit.rollups.persist_interval_ms", a.rollups.persist_interval_ms, 100, 3600000);
  CheckArchiveAndRetention(ck, a);

  const AdminConfig& ad = c.admin;
  if (ad.enabled && ad.tokens.empty() && ad.token_file.empty()) {
    ck.Error("admin", "enabled but has no credentials: set tokens or token_file");
  }
  for (size_t i = 0; i < ad.tokens.size(); ++i) {
    const std::string p = "admin.tokens[" + std::to_string(i) + "]";
    if (ad.tokens[i].size() < kMinAdminTokenBytes) {
      ck.Error(p, "too short: at least " + std::to_string(kMinAdminTokenBytes) +
                      " characters are required");
    } else {
      ck.Printable(p, ad.tokens[i], 1024, /*secret=*/true);
    }
  }
  if (ad.enabled && ad.listen.port != 0 && ad.listen.port == c.gateway.listen.port &&
      ad.listen.host == c.gateway.listen.host) {
    ck.Error("admin.listen", "same address as gateway.listen (" + ad.listen.ToString() + ")");
  }
}

}  // namespace

std::vector<ConfigError> CheckWitnessDirs(const Config& config) {
  std::vector<ConfigError> errors;
  const std::filesystem::path data = std::filesystem::path(config.audit.data_dir).lexically_normal();
  const auto& ws = config.audit.checkpoints.witnesses;
  for (size_t i = 0; i < ws.size(); ++i) {
    if (ws[i].type != "file" || ws[i].dir.empty()) continue;
    const std::filesystem::path dir = std::filesystem::path(ws[i].dir).lexically_normal();
    const std::string rel = dir.lexically_relative(data).string();
    if (!rel.empty() && rel != ".." && rel.rfind("../", 0) != 0) {
      errors.push_back({"audit.checkpoints.witnesses[" + std::to_string(i) + "].dir",
                        "'" + ws[i].dir + "' is inside audit.data_dir: a witness must be elsewhere "
                        "(another disk or machine), or it falls with the data dir"});
    }
  }
  return errors;
}

std::vector<ConfigError> ValidateConfig(Config& config) {
  std::vector<ConfigError> errors;
  Checker ck(&errors);
  if (!IsName(config.node)) ck.Error("node", "'" + config.node + "' must be 1..64 of [A-Za-z0-9._-]");
  ck.OneOf("log_level", config.log_level,
           {"trace", "debug", "info", "warn", "error", "critical", "off"});
  CheckGateway(ck, config.gateway);
  std::map<std::string, size_t> upstreams;
  CheckUpstreams(ck, config, &upstreams);
  CheckRoutes(ck, config, upstreams);
  CheckAuth(ck, config.auth);
  CheckMtls(ck, config);
  CheckAddedHeaderNames(ck, config);
  for (size_t i = 0; i < config.redaction.extra.size(); ++i) {
    const std::string& e = config.redaction.extra[i];
    if (e.empty() || e.size() > 128) {
      ck.Error("redaction.extra[" + std::to_string(i) + "]", "must be 1..128 characters");
    }
  }
  CheckAuditAndAdmin(ck, config);
  return errors;
}

}  // namespace apitrail
