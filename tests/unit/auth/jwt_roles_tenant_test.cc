// roles_claim / tenant_claim (claim_path.h) through the JWT verifier.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "auth/claim_path.h"
#include "auth/jwt_verifier.h"
#include "unit/auth/jwt_test_signer.h"

namespace apitrail {
namespace {

using testing::kNow;
using testing::kNowS;
using testing::kSecret;
using testing::MakeHs256;

std::string Token(const std::string& extra, int64_t exp = kNowS + 600) {
  std::string claims = "{\"sub\":\"alice\",\"exp\":" + std::to_string(exp);
  if (!extra.empty()) claims += "," + extra;
  return MakeHs256(R"({"alg":"HS256"})", claims + "}", kSecret);
}

std::unique_ptr<JwtVerifier> Make(std::string roles_claim, std::string tenant_claim) {
  JwtIssuerConfig c;
  c.secret = kSecret;
  c.algorithms = {"HS256"};
  c.roles_claim = std::move(roles_claim);
  c.tenant_claim = std::move(tenant_claim);
  auto v = JwtVerifier::Create({c}, 0);
  EXPECT_TRUE(v.ok()) << v.status().ToString();
  return std::move(v).value();
}

TEST(ClaimPath, ExactNameFirstThenDottedPath) {
  auto claims = boost::json::parse(
                    R"({"https://ex.com/roles":["a"],"realm_access":{"roles":["b","c"]},"x":1})")
                    .as_object();
  ASSERT_NE(FindClaim(claims, "https://ex.com/roles"), nullptr);
  const boost::json::value* v = FindClaim(claims, "realm_access.roles");
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(ClaimNames(*v, "r").value(), (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(FindClaim(claims, "realm_access.missing"), nullptr);
  EXPECT_EQ(FindClaim(claims, "x.y"), nullptr);  // x is not an object
  EXPECT_EQ(FindClaim(claims, "nope"), nullptr);
}

TEST(ClaimPath, NamesAndTenantValidation) {
  EXPECT_EQ(ClaimNames(boost::json::value("a b  c"), "r").value(),
            (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_FALSE(ClaimNames(boost::json::parse(R"(["a",1])"), "r").ok());
  EXPECT_FALSE(ClaimNames(boost::json::parse(R"(["a b"])"), "r").ok());
  EXPECT_FALSE(ClaimNames(boost::json::parse(R"({"a":1})"), "r").ok());
  EXPECT_EQ(ClaimTenant(boost::json::value(42), "t").value(), "42");
  EXPECT_EQ(ClaimTenant(boost::json::value("acme"), "t").value(), "acme");
  EXPECT_FALSE(ClaimTenant(boost::json::value(""), "t").ok());
  EXPECT_FALSE(ClaimTenant(boost::json::value("a\nb"), "t").ok());
  EXPECT_FALSE(ClaimTenant(boost::json::parse("[1]"), "t").ok());
}

TEST(JwtRolesTenant, RolesFromDefaultClaimAndFromAPath) {
  auto v = Make("roles", "");
  AuthOutcome o = v->Verify(Token(R"("roles":["admin","ops"],"scope":"orders:read")"), kNow);
  ASSERT_TRUE(o.allowed) << o.deny_reason;
  EXPECT_EQ(o.identity.roles, (std::vector<std::string>{"admin", "ops"}));
  EXPECT_EQ(o.identity.scopes, (std::vector<std::string>{"orders:read"}));

  auto kc = Make("realm_access.roles", "");
  o = kc->Verify(Token(R"("realm_access":{"roles":["auditor"]},"roles":["admin"])"), kNow);
  ASSERT_TRUE(o.allowed) << o.deny_reason;
  EXPECT_EQ(o.identity.roles, (std::vector<std::string>{"auditor"}));

  auto none = Make("", "");
  o = none->Verify(Token(R"("roles":["admin"])"), kNow);
  ASSERT_TRUE(o.allowed);
  EXPECT_TRUE(o.identity.roles.empty());
}

TEST(JwtRolesTenant, SubjectFromAnyClaimNameOrAPath) {
  for (const auto& [claim, want] : std::vector<std::pair<std::string, std::string>>{
           {"sub", "alice"}, {"azp", "svc-azp"}, {"email", "a@example.com"}, {"ext.user.id", "u-42"}}) {
    JwtIssuerConfig c;
    c.secret = kSecret;
    c.algorithms = {"HS256"};
    c.subject_claim = claim;
    auto v = JwtVerifier::Create({c}, 0);
    ASSERT_TRUE(v.ok());
    AuthOutcome o = (*v)->Verify(
        Token(R"("azp":"svc-azp","email":"a@example.com","ext":{"user":{"id":"u-42"}})"), kNow);
    ASSERT_TRUE(o.allowed) << claim << ": " << o.deny_reason;
    EXPECT_EQ(o.identity.subject, want) << claim;
  }
}

TEST(JwtRolesTenant, MalformedRolesAreInvalidClaims) {
  auto v = Make("roles", "");
  AuthOutcome o = v->Verify(Token(R"("roles":[{"name":"admin"}])"), kNow);
  EXPECT_FALSE(o.allowed);
  EXPECT_EQ(o.deny_reason, "invalid_claims");
  EXPECT_EQ(o.identity.subject, "alice");  // still recorded
}

TEST(JwtRolesTenant, TenantClaimIsRequiredWhenConfigured) {
  auto v = Make("roles", "org.id");
  AuthOutcome o = v->Verify(Token(R"("org":{"id":"acme"})"), kNow);
  ASSERT_TRUE(o.allowed) << o.deny_reason;
  EXPECT_EQ(o.identity.tenant, "acme");
  o = v->Verify(Token(""), kNow);
  EXPECT_FALSE(o.allowed);
  EXPECT_EQ(o.deny_reason, "invalid_claims");
}

TEST(JwtRolesTenant, ExpiredTokenKeepsTenantRolesAndSubject) {
  auto v = Make("roles", "tid");
  AuthOutcome o =
      v->Verify(Token(R"("tid":"acme","roles":["admin"],"jti":"t-1")", kNowS - 3600), kNow);
  EXPECT_FALSE(o.allowed);
  EXPECT_EQ(o.deny_reason, "expired_token");
  EXPECT_EQ(o.identity.subject, "alice");
  EXPECT_EQ(o.identity.tenant, "acme");
  EXPECT_EQ(o.identity.credential_id, "t-1");
  EXPECT_EQ(o.identity.roles, (std::vector<std::string>{"admin"}));
}

}  // namespace
}  // namespace apitrail
