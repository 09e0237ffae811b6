// Authorization by route (routes[].scopes, routes[].roles) and the identity part of the audit
// event. Pure functions; called on worker threads.
#pragma once

#include <optional>
#include <string>

#include "auth/identity.h"
#include "config/config.h"
#include "core/event.h"

namespace apitrail {

// Why a verified identity may not use a route: answered 403, audited `insufficient_scope`.
struct GrantDenial {
  std::string message;    // "missing scope 'orders:write'" / "missing role 'admin'"
  std::string challenge;  // the WWW-Authenticate line (with CRLF), RFC 6750 §3.1
};

// nullopt when `id` holds every scope and every role the route requires. Scopes are matched
// against Identity::scopes only and roles against Identity::roles only: a scope named like a
// role never grants it.
std::optional<GrantDenial> CheckRouteGrants(const RouteConfig& route, const Identity& id);

// Copies who the caller is into the event. Roles join `scopes` as "role:<name>" (the event
// has one grants field, DESIGN §2), after the scopes.
void RecordIdentity(const Identity& id, AuditEvent* event);

}  // namespace apitrail
