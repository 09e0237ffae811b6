#include "auth/introspector.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "testutil/canned_http_server.h"

namespace apitrail {
namespace {

constexpr int64_t kNow = int64_t{1700000000} * 1000000000;

IntrospectionConfig Config() {
  IntrospectionConfig c;
  c.endpoint = "https://as.example/introspect";
  c.client_id = "gateway";
  c.client_secret = "s3cret";
  return c;
}

std::unique_ptr<Introspector> Make(IntrospectionConfig c = Config()) {
  auto in = Introspector::Create(c);
  EXPECT_TRUE(in.ok()) << in.status().message();
  return std::move(in).value();
}

TEST(Introspector, ActiveAnswerGivesIdentity) {
  auto in = Make();
  int64_t until = 0;
  AuthOutcome out = in->Interpret(
      200, R"({"active":true,"client_id":"app","scope":"a b","iss":"https://as","exp":1700000600})",
      "tok", kNow, &until);
  ASSERT_TRUE(out.allowed) << out.detail;
  EXPECT_EQ(out.identity.subject, "app");  // no sub: client_id is next in subject_claims
  EXPECT_EQ(out.identity.auth_method, "introspection");
  EXPECT_EQ(out.identity.issuer, "https://as");
  EXPECT_EQ(out.identity.scopes, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(out.identity.credential_id.size(), 16u);
  EXPECT_EQ(until, int64_t{1700000600} * 1000000000);
}

TEST(Introspector, RoleLikeScopesAreDropped) {
  auto in = Make();
  int64_t until = 0;
  AuthOutcome out = in->Interpret(
      200, R"({"active":true,"sub":"s1","scope":"role:admin a role:ops"})", "t", kNow, &until);
  ASSERT_TRUE(out.allowed) << out.detail;
  EXPECT_EQ(out.identity.scopes, std::vector<std::string>{"a"});
  EXPECT_TRUE(out.identity.roles.empty());
}

TEST(Introspector, SubjectClaimOrderAndIssuerOverride) {
  IntrospectionConfig c = Config();
  c.subject_claims = {"username", "sub"};
  c.issuer = "corp-as";
  auto in = Make(c);
  int64_t until = 0;
  AuthOutcome out =
      in->Interpret(200, R"({"active":true,"sub":"s1","username":"alice"})", "t", kNow, &until);
  ASSERT_TRUE(out.allowed);
  EXPECT_EQ(out.identity.subject, "alice");
  EXPECT_EQ(out.identity.issuer, "corp-as");
  EXPECT_EQ(until, INT64_MAX);  // no exp: bounded by cache_max_ttl_ms only
}

TEST(Introspector, RolesAndTenantClaims) {
  IntrospectionConfig c = Config();
  c.roles_claim = "realm_access.roles";
  c.tenant_claim = "tenant_id";
  auto in = Make(c);
  int64_t until = 0;
  AuthOutcome out = in->Interpret(
      200, R"({"active":true,"sub":"s1","tenant_id":"acme","realm_access":{"roles":["admin"]}})",
      "t", kNow, &until);
  ASSERT_TRUE(out.allowed) << out.detail;
  EXPECT_EQ(out.identity.tenant, "acme");
  EXPECT_EQ(out.identity.roles, (std::vector<std::string>{"admin"}));
  // The configured tenant claim is required; the refusal still names the caller.
  out = in->Interpret(200, R"({"active":true,"sub":"s1"})", "t2", kNow, &until);
  EXPECT_FALSE(out.allowed);
  EXPECT_EQ(out.deny_reason, "invalid_claims");
  EXPECT_EQ(out.identity.subject, "s1");
  // An expired answer keeps the tenant it carried.
  out = in->Interpret(200, R"({"active":true,"sub":"s1","tenant_id":"acme","exp":1})", "t3", kNow,
                      &until);
  EXPECT_FALSE(out.allowed);
  EXPECT_EQ(out.identity.tenant, "acme");
}

TEST(Introspector, RefusalsHavePreciseReasons) {
  auto in = Make();
  int64_t until = 0;
  auto reason = [&](int status, const char* body) {
    AuthOutcome o = in->Interpret(status, body, "t", kNow, &until);
    EXPECT_FALSE(o.allowed);
    return std::to_string(o.http_status) + " " + o.deny_reason;
  };
  EXPECT_EQ(reason(200, R"({"active":false})"), "401 inactive_token");
  EXPECT_EQ(reason(200, R"({"active":true,"sub":"x","exp":1600000000})"), "401 inactive_token");
  EXPECT_EQ(reason(200, R"({"active":true})"), "401 invalid_claims");
  EXPECT_EQ(reason(200, R"({"active":true,"sub":"x","exp":"soon"})"), "401 invalid_claims");
  EXPECT_EQ(reason(200, R"({"active":"true","sub":"x"})"), "503 introspection_unavailable");
  EXPECT_EQ(reason(200, "not json"), "503 introspection_unavailable");
  EXPECT_EQ(reason(401, R"({"error":"invalid_client"})"), "503 introspection_unavailable");
  EXPECT_EQ(reason(500, ""), "503 introspection_unavailable");
  // Control characters never become a subject.
  EXPECT_EQ(reason(200, R"({"active":true,"sub":"a\r\nX-Evil: 1"})"), "401 invalid_claims");
}

TEST(Introspector, AudienceChecked) {
  IntrospectionConfig c = Config();
  c.audiences = {"api-1"};
  auto in = Make(c);
  int64_t until = 0;
  EXPECT_TRUE(
      in->Interpret(200, R"({"active":true,"sub":"x","aud":["z","api-1"]})", "t", kNow, &until)
          .allowed);
  EXPECT_EQ(
      in->Interpret(200, R"({"active":true,"sub":"x","aud":"z"})", "t", kNow, &until).deny_reason,
      "wrong_audience");
}

TEST(Introspector, OnlyAccessTokensAreAccepted) {
  auto in = Make();
  int64_t until = 0;
  auto reason = [&](const char* body) {
    AuthOutcome o = in->Interpret(200, body, "t", kNow, &until);
    return o.allowed ? std::string("allowed") : o.deny_reason;
  };
  EXPECT_EQ(reason(R"({"active":true,"sub":"x","token_type":"Bearer"})"), "allowed");
  EXPECT_EQ(reason(R"({"active":true,"sub":"x","token_type":"bearer"})"), "allowed");
  EXPECT_EQ(reason(R"({"active":true,"sub":"x"})"), "allowed");
  // Refresh and ID tokens, however the server says so.
  EXPECT_EQ(reason(R"({"active":true,"sub":"x","token_type":"refresh_token"})"),
            "wrong_token_type");
  EXPECT_EQ(
      reason(
          R"({"active":true,"sub":"x","token_type":"urn:ietf:params:oauth:token-type:refresh_token"})"),
      "wrong_token_type");
  EXPECT_EQ(reason(R"({"active":true,"sub":"x","token_type":7})"), "wrong_token_type");
  EXPECT_EQ(reason(R"({"active":true,"sub":"x","token_use":"refresh_token"})"), "wrong_token_type");
  EXPECT_EQ(reason(R"({"active":true,"sub":"x","token_use":"access_token"})"), "allowed");
  EXPECT_EQ(reason(R"({"active":true,"sub":"x","typ":"Refresh"})"), "wrong_token_type");
  // A Keycloak logout token, refused by local JWT verification already.
  EXPECT_EQ(reason(R"({"active":true,"sub":"x","typ":"Logout"})"), "wrong_token_type");
  EXPECT_EQ(reason(R"({"active":true,"sub":"x","typ":"id"})"), "wrong_token_type");
  EXPECT_EQ(reason(R"({"active":true,"sub":"x","typ":"Offline"})"), "wrong_token_type");
  EXPECT_EQ(reason(R"({"active":true,"sub":"x","typ":"Bearer"})"), "allowed");
  // DPoP-bound: the proof cannot be checked here.
  EXPECT_EQ(reason(R"({"active":true,"sub":"x","token_type":"DPoP","cnf":{"jkt":"k"}})"),
            "wrong_token_type");
  EXPECT_EQ(reason(R"({"active":true,"sub":"x","token_type":"Bearer","cnf":{"jkt":"k"}})"),
            "token_binding_unsupported");
  // The refusal still names the caller.
  EXPECT_EQ(in->Interpret(200, R"({"active":true,"sub":"x","token_use":"refresh_token"})", "t",
                          kNow, &until)
                .identity.subject,
            "x");

  IntrospectionConfig c = Config();
  c.require_token_type = true;
  in = Make(c);
  EXPECT_EQ(reason(R"({"active":true,"sub":"x"})"), "wrong_token_type");
  EXPECT_EQ(reason(R"({"active":true,"sub":"x","token_type":"Bearer"})"), "allowed");
}

TEST(Introspector, CertificateBoundAnswerCarriesTheThumbprint) {
  auto in = Make();
  int64_t until = 0;
  const std::string x5t = std::string(42, 'b') + "A";
  AuthOutcome o = in->Interpret(
      200, R"({"active":true,"sub":"x","token_type":"Bearer","cnf":{"x5t#S256":")" + x5t + "\"}}",
      "t", kNow, &until);
  ASSERT_TRUE(o.allowed) << o.detail;
  EXPECT_EQ(o.identity.bound_certificate, x5t);
}

TEST(Introspector, ConfigErrorsAreNamed) {
  IntrospectionConfig c = Config();
  c.client_secret.clear();
  c.client_secret_file = "/nonexistent/secret";
  auto in = Introspector::Create(c);
  ASSERT_FALSE(in.ok());
  EXPECT_NE(in.status().message().find("auth.introspection.client_secret_file"), std::string::npos);
  c = Config();
  c.endpoint = "http://as/introspect";
  EXPECT_FALSE(Introspector::Create(c).ok());  // plain http needs allow_insecure_http
}

// Runs one Introspect to completion on its own io_context.
AuthOutcome IntrospectNow(const Introspector& in, const std::string& token, int64_t now_ns) {
  boost::asio::io_context ioc;
  AuthOutcome out;
  boost::asio::co_spawn(
      ioc, [&]() -> boost::asio::awaitable<void> { out = co_await in.Introspect(token, now_ns); },
      boost::asio::detached);
  ioc.run();
  return out;
}

TEST(Introspector, ServerDownFailsClosedAndIsNotCached) {
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::acceptor a(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
  uint16_t port = a.local_endpoint().port();
  a.close();
  IntrospectionConfig c = Config();
  c.endpoint = "https://127.0.0.1:" + std::to_string(port) + "/introspect";
  auto in = Make(c);
  AuthOutcome out = IntrospectNow(*in, "tok-1", kNow);
  EXPECT_FALSE(out.allowed);
  EXPECT_EQ(out.http_status, 503);
  EXPECT_EQ(out.deny_reason, "introspection_unavailable");
  EXPECT_EQ(out.detail.find("127.0.0.1"), std::string::npos);  // no internal address to clients
  EXPECT_FALSE(in->Cached("tok-1", kNow).has_value());
  EXPECT_EQ(in->calls(), 1u);
}

IntrospectionConfig ConfigAt(const testing::CannedHttpServer& server) {
  IntrospectionConfig c = Config();
  c.endpoint = server.url("/introspect");
  c.allow_insecure_http = true;
  c.negative_cache_ms = 1000;
  return c;
}

TEST(Introspector, RefusalsImpliedByTheAnswerAreCachedWithTheirReason) {
  // A refresh token (token_type refresh_token) replayed as a bearer token: the first request
  // asks the server, the next ones within negative_cache_ms get the same refusal, subject and
  // all, without a call; afterwards the server is asked again.
  testing::CannedHttpServer server(
      R"({"active":true,"sub":"alice","token_type":"refresh_token","exp":1700000600})");
  auto in = Make(ConfigAt(server));
  const int64_t ms = 1000000;
  for (int64_t t : {kNow, kNow + 10 * ms, kNow + 999 * ms}) {
    AuthOutcome out = IntrospectNow(*in, "refresh-1", t);
    EXPECT_FALSE(out.allowed);
    EXPECT_EQ(out.http_status, 401);
    EXPECT_EQ(out.deny_reason, "wrong_token_type");
    EXPECT_EQ(out.identity.subject, "alice");
    EXPECT_EQ(out.identity.credential_id.size(), 16u);
  }
  EXPECT_EQ(server.requests(), 1);
  EXPECT_EQ(in->calls(), 1u);
  EXPECT_EQ(in->cache_hits(), 2u);
  ASSERT_TRUE(in->Cached("refresh-1", kNow + 500 * ms).has_value());
  EXPECT_FALSE(in->Cached("other-token", kNow).has_value());  // keyed by the token
  EXPECT_EQ(IntrospectNow(*in, "refresh-1", kNow + 1000 * ms).deny_reason, "wrong_token_type");
  EXPECT_EQ(server.requests(), 2);
}

TEST(Introspector, AnsweredInactiveAndWrongAudienceAreCachedButServerErrorsAreNot) {
  {
    testing::CannedHttpServer server(R"({"active":false})");
    auto in = Make(ConfigAt(server));
    EXPECT_EQ(IntrospectNow(*in, "t", kNow).deny_reason, "inactive_token");
    EXPECT_EQ(IntrospectNow(*in, "t", kNow).deny_reason, "inactive_token");
    EXPECT_EQ(server.requests(), 1);
  }
  {
    testing::CannedHttpServer server(R"({"active":true,"sub":"bob","aud":"other-api"})");
    IntrospectionConfig c = ConfigAt(server);
    c.audiences = {"orders-api"};
    auto in = Make(c);
    EXPECT_EQ(IntrospectNow(*in, "t", kNow).deny_reason, "wrong_audience");
    AuthOutcome again = IntrospectNow(*in, "t", kNow);
    EXPECT_EQ(again.deny_reason, "wrong_audience");
    EXPECT_EQ(again.identity.subject, "bob");
    EXPECT_EQ(server.requests(), 1);
  }
  {
    // The gateway's own client credentials refused (or any non-200): 503, asked every time.
    testing::CannedHttpServer server(R"({"error":"invalid_client"})", std::chrono::milliseconds(0), 401);
    auto in = Make(ConfigAt(server));
    EXPECT_EQ(IntrospectNow(*in, "t", kNow).http_status, 503);
    EXPECT_EQ(IntrospectNow(*in, "t", kNow).http_status, 503);
    EXPECT_EQ(server.requests(), 2);
  }
}

TEST(Introspector, OversizeTokenRefusedWithoutCall) {
  IntrospectionConfig c = Config();
  c.max_token_bytes = 16;
  auto in = Make(c);
  auto out = in->Cached(std::string(17, 'a'), kNow);
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(out->deny_reason, "token_too_large");
}

TEST(FormUrlEncode, EncodesReserved) {
  EXPECT_EQ(FormUrlEncode("a b+c/d=e&f~"), "a+b%2Bc%2Fd%3De%26f%7E");
  EXPECT_EQ(FormUrlEncode("AZaz09-._*"), "AZaz09-._*");
}

}  // namespace
}  // namespace apitrail
