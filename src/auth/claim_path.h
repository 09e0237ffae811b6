// Reading configured claims (roles_claim, tenant_claim) out of verified JWT claims and
// introspection answers. Pure functions; thread-safe.
//
// A claim is named by its exact top-level name first ("roles", or a namespaced
// "https://example.com/roles" that itself contains dots); if no such claim exists and the
// name contains '.', it is read as a path of object members ("realm_access.roles" for
// Keycloak, "resource_access.orders-api.roles").
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace apitrail {

// The claim's value, or null when absent (or a path member is not an object).
const boost::json::value* FindClaim(const boost::json::object& claims, std::string_view name);

// A list of names from a string (space-separated) or an array of strings. Each name must be
// 1..128 printable ASCII characters without spaces, at most 64 of them: anything else is
// kInvalidArgument naming the claim (the names travel in headers and records).
Result<std::vector<std::string>> ClaimNames(const boost::json::value& v, std::string_view name);

// A tenant id: a string, or an integer (written in decimal). 1..128 printable ASCII
// characters; anything else is kInvalidArgument naming the claim.
Result<std::string> ClaimTenant(const boost::json::value& v, std::string_view name);

// Fills id->roles from `roles_claim` and id->tenant from `tenant_claim` (either may be "":
// not read). A configured tenant claim must be present. Whatever is well-formed is kept even
// when the other is not, so a refusal still records as much identity as could be read; the
// first problem is returned (kInvalidArgument, safe to show the client).
struct Identity;
Status ReadRolesAndTenant(const std::string& roles_claim, const std::string& tenant_claim,
                          const boost::json::object& claims, Identity* id);

// Whether a `typ` claim (Keycloak's) names a token that is not an access token: ID, Refresh,
// Offline or Logout, in any case. Local JWT verification and introspection refuse the same
// kinds (wrong_token_type).
bool TypClaimIsNotAccessToken(const boost::json::object& claims);

}  // namespace apitrail
