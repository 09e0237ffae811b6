// Identity: who a request was verified to come from (DESIGN §4), uniform for every
// credential type. AuthOutcome is what an Authenticator answers for one request.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace apitrail {

// The event has one grants field: roles are recorded in `scopes` as "role:<name>"
// (route_grants.h). A token scope spelled that way would be recorded exactly like a role the
// caller does not hold, so the token parsers (JWT, introspection) drop such scopes.
inline constexpr std::string_view kRoleScopePrefix = "role:";
inline bool IsRoleLikeScope(std::string_view scope) { return scope.starts_with(kRoleScopePrefix); }

// Appends the scopes of a token's space-separated list (RFC 6749 §3.3) to *out while it holds
// fewer than `max`, skipping empty and role-like ones: what JWT and introspection both read.
inline void AppendTokenScopes(std::string_view list, std::vector<std::string>* out, size_t max = SIZE_MAX) {
  size_t pos = 0;
  while (pos < list.size() && out->size() < max) {
    size_t end = list.find(' ', pos);
    if (end == std::string_view::npos) end = list.size();
    std::string_view scope = list.substr(pos, end - pos);
    if (!scope.empty() && !IsRoleLikeScope(scope)) out->emplace_back(scope);
    pos = end + 1;
  }
}

struct Identity {
  std::string subject;
  std::string auth_method;    // api_key | jwt | introspection
  std::string credential_id;  // key id, JWT jti, token hash prefix — never a secret
  std::string issuer;
  std::vector<std::string> scopes;  // from a token: never one that IsRoleLikeScope()
  std::vector<std::string> roles;  // JWT roles claim, API key roles; recorded as "role:<r>" scopes
  std::string tenant;              // JWT tenant claim, API key tenant; empty: none configured
  // RFC 8705: the x5t#S256 of the client certificate the token is bound to (its cnf claim,
  // token_binding.h); the gateway refuses the request on a connection without that
  // certificate. Part of the identity so that it is cached with it. Empty: a bearer credential.
  std::string bound_certificate;
};

struct AuthOutcome {
  bool allowed = false;
  Identity identity;        // on deny: whatever could be established before the failure
  std::string deny_reason;  // missing_credentials | invalid_token | unknown_key | revoked_key
                            // | expired_key | invalid_key_format | the JWT ones (jwt_deny in
                            // jwt_token.h: alg_none, bad_signature, expired_token, ...)
  std::string detail;       // human-readable, safe to return to the client (no secrets)
  // The status a denial is answered with: 401, or 503 when the failure is the gateway's or a
  // dependency's (keys not fetched yet, authorization server unreachable) — fail closed.
  int http_status = 401;
  // Set by Authenticator::Authenticate() for an opaque bearer token whose introspection answer
  // is not cached: the caller must co_await Authenticator::Introspect() (never a final answer).
  bool needs_introspection = false;
};

}  // namespace apitrail
