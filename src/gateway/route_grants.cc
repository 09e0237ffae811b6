#include "gateway/route_grants.h"

#include <algorithm>

namespace apitrail {
namespace {

bool Has(const std::vector<std::string>& held, const std::string& need) {
  return std::find(held.begin(), held.end(), need) != held.end();
}

}  // namespace

std::optional<GrantDenial> CheckRouteGrants(const RouteConfig& route, const Identity& id) {
  for (const auto& need : route.scopes) {
    if (!Has(id.scopes, need)) {
      return GrantDenial{
          "missing scope '" + need + "'",
          "WWW-Authenticate: Bearer error=\"insufficient_scope\", scope=\"" + need + "\"\r\n"};
    }
  }
  for (const auto& need : route.roles) {
    if (!Has(id.roles, need)) {
      return GrantDenial{"missing role '" + need + "'",
                         "WWW-Authenticate: Bearer error=\"insufficient_scope\"\r\n"};
    }
  }
  return std::nullopt;
}

void RecordIdentity(const Identity& id, AuditEvent* e) {
  e->subject = id.subject;
  e->auth_method = id.auth_method;
  e->credential_id = id.credential_id;
  e->issuer = id.issuer;
  e->scopes = id.scopes;
  for (const auto& r : id.roles) e->scopes.push_back(std::string(kRoleScopePrefix) + r);
  e->tenant = id.tenant;
}

}  // namespace apitrail
