#include "gateway/route_grants.h"

#include <gtest/gtest.h>

#include "gateway/forward_headers.h"

namespace apitrail {
namespace {

Identity Id(std::vector<std::string> scopes, std::vector<std::string> roles) {
  Identity id;
  id.subject = "alice";
  id.auth_method = "jwt";
  id.scopes = std::move(scopes);
  id.roles = std::move(roles);
  return id;
}

TEST(RouteGrants, ScopesAndRolesAreBothRequired) {
  RouteConfig r;
  r.scopes = {"orders:read"};
  r.roles = {"admin"};
  EXPECT_FALSE(CheckRouteGrants(r, Id({"orders:read"}, {"admin"})));
  auto no_scope = CheckRouteGrants(r, Id({}, {"admin"}));
  ASSERT_TRUE(no_scope);
  EXPECT_EQ(no_scope->message, "missing scope 'orders:read'");
  EXPECT_NE(no_scope->challenge.find("scope=\"orders:read\""), std::string::npos);
  auto no_role = CheckRouteGrants(r, Id({"orders:read"}, {}));
  ASSERT_TRUE(no_role);
  EXPECT_EQ(no_role->message, "missing role 'admin'");
  EXPECT_NE(no_role->challenge.find("insufficient_scope"), std::string::npos);
  EXPECT_FALSE(CheckRouteGrants(RouteConfig{}, Id({}, {})));
}

TEST(RouteGrants, AScopeNamedLikeARoleGrantsNothing) {
  RouteConfig r;
  r.roles = {"admin"};
  EXPECT_TRUE(CheckRouteGrants(r, Id({"admin", "role:admin"}, {})));
  RouteConfig s;
  s.scopes = {"admin"};
  EXPECT_TRUE(CheckRouteGrants(s, Id({}, {"admin"})));
}

TEST(RouteGrants, RecordIdentityPutsRolesIntoScopesAndKeepsTenant) {
  Identity id = Id({"orders:read"}, {"admin", "ops"});
  id.credential_id = "k1";
  id.issuer = "iss";
  id.tenant = "acme";
  AuditEvent e;
  RecordIdentity(id, &e);
  EXPECT_EQ(e.subject, "alice");
  EXPECT_EQ(e.credential_id, "k1");
  EXPECT_EQ(e.issuer, "iss");
  EXPECT_EQ(e.tenant, "acme");
  EXPECT_EQ(e.scopes, (std::vector<std::string>{"orders:read", "role:admin", "role:ops"}));
}

TEST(RouteGrants, RolesAndTenantGoUpstreamAndClientCopiesAreDropped) {
  Config c;
  HeaderPolicy policy = HeaderPolicy::FromConfig(c);
  Identity id = Id({"a"}, {"admin", "ops"});
  id.tenant = "acme";
  HeaderFields fields = {
      {"Host", "x"}, {"X-Apitrail-Tenant", "evil"}, {"x-apitrail-roles", "root"}};
  UpstreamHeadInput in;
  in.method = "GET";
  in.path = "/";
  in.fields = &fields;
  in.peer_ip = "127.0.0.1";
  in.request_id = "r";
  in.traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
  in.identity = &id;
  std::string head = BuildUpstreamHead(in, c.gateway, c.auth.identity_headers, policy).text;
  EXPECT_NE(head.find("X-Apitrail-Tenant: acme\r\n"), std::string::npos) << head;
  EXPECT_NE(head.find("X-Apitrail-Roles: admin ops\r\n"), std::string::npos) << head;
  EXPECT_EQ(head.find("evil"), std::string::npos);
  EXPECT_EQ(head.find("root"), std::string::npos);
  // Not configured: not sent; no tenant: not sent.
  c.auth.identity_headers.tenant = "";
  id.roles.clear();
  head =
      BuildUpstreamHead(in, c.gateway, c.auth.identity_headers, HeaderPolicy::FromConfig(c)).text;
  EXPECT_EQ(head.find("Tenant"), std::string::npos) << head;
  EXPECT_EQ(head.find("Roles"), std::string::npos) << head;
}

}  // namespace
}  // namespace apitrail
