// Edge cases of credential verification: what an attacker would try against the JWT decoder,
// the key loaders, the verified-token cache, API keys and introspection answers.
#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include <chrono>
#include <thread>

#include "auth/introspector.h"
#include "auth/jwk.h"
#include "auth/jws_signature.h"
#include "auth/jwt_verifier.h"
#include "auth/key_store.h"
#include "auth/remote_key_set.h"
#include "core/crypto_util.h"
#include "testutil/canned_http_server.h"
#include "testutil/temp_dir.h"
#include "unit/auth/jwt_test_signer.h"
#include "unit/auth/jwt_verifier_fixture.h"

namespace apitrail {
namespace {

using namespace apitrail::testing;  // NOLINT: test helpers

class AuthEdgesTest : public JwtVerifierFixture {};

// An RSA public key with exponent 1 (which OpenSSL imports without complaint): n taken from
// `like`, so it has the right size.
PkeyPtr RsaExponentOne(EVP_PKEY* like) {
  BIGNUM* n = nullptr;
  EXPECT_EQ(EVP_PKEY_get_bn_param(like, OSSL_PKEY_PARAM_RSA_N, &n), 1);
  BIGNUM* e = BN_new();
  BN_set_word(e, 1);
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n);
  OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e);
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr);
  EVP_PKEY* key = nullptr;
  EXPECT_EQ(EVP_PKEY_fromdata_init(ctx), 1);
  EXPECT_EQ(EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params), 1);
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(bld);
  BN_free(e);
  BN_free(n);
  return PkeyPtr(key, EVP_PKEY_free);
}

// With e = 1 an RS256 "signature" is the padded digest itself: anyone can make one.
std::string ForgeRs256ForExponentOne(const std::string& signing_input, size_t modulus_bytes) {
  static const unsigned char kSha256Prefix[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60,
                                                0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                                                0x01, 0x05, 0x00, 0x04, 0x20};
  Hash256 h = Sha256(signing_input);
  std::string t(reinterpret_cast<const char*>(kSha256Prefix), sizeof(kSha256Prefix));
  t.append(reinterpret_cast<const char*>(h.data()), h.size());
  std::string em("\x00\x01", 2);
  em.append(modulus_bytes - 3 - t.size(), '\xff');
  em.push_back('\0');
  em += t;
  return em;
}

TEST_F(AuthEdgesTest, RsaPemKeyWithExponentOneIsRefused) {
  PkeyPtr weak = RsaExponentOne(rsa_.get());
  ASSERT_TRUE(weak);
  const std::string pem = PublicKeyPem(weak.get());
  auto key = KeyFromPem(pem);
  ASSERT_FALSE(key.ok()) << "an RSA key with e = 1 was accepted";
  EXPECT_NE(key.status().message().find("invalid RSA public key"), std::string::npos)
      << key.status().message();
  JwtIssuerConfig c = Base();
  c.key_file = dir_.Write("e1.pem", pem);
  auto v = JwtVerifier::Create({c});
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.status().message().find("auth.jwt[0].key_file"), std::string::npos);
  // The JWK route refuses the same key, and a sound key still loads from either.
  std::string jwk = PublicJwk(rsa_.get(), "k", "RS256");
  const size_t e = jwk.find("\"e\":\"") + 5;
  EXPECT_FALSE(
      ParseJwks("{\"keys\":[" + jwk.substr(0, e) + "AQ" + jwk.substr(jwk.find('"', e)) + "]}")
          .ok());
  EXPECT_TRUE(ParseJwks("{\"keys\":[" + jwk + "]}").ok());
  EXPECT_TRUE(KeyFromPem(PublicKeyPem(rsa_.get())).ok());
  EXPECT_TRUE(KeyFromPem(PublicKeyPem(ec_.get())).ok());
}

TEST_F(AuthEdgesTest, WhyExponentOneMustNotLoad) {
  // A "signature" made without any private key: the padded digest itself.
  const std::string input = SigningInput(R"({"alg":"RS256"})", Claims());
  const std::string forged = ForgeRs256ForExponentOne(input, 256);
  VerificationKey weak;
  weak.family = KeyFamily::kRsa;
  weak.algs = AlgBit(JwsAlg::kRs256);
  weak.pkey = RsaExponentOne(rsa_.get());
  EXPECT_TRUE(VerifyJwsSignature(weak, JwsAlg::kRs256, input, forged));  // the loader is the guard
  auto sound = KeyFromPem(PublicKeyPem(rsa_.get()));
  ASSERT_TRUE(sound.ok());
  EXPECT_FALSE(VerifyJwsSignature(*sound, JwsAlg::kRs256, input, forged));
}

// `jwk` with `"key_ops":<ops>` added.
std::string WithKeyOps(std::string jwk, const std::string& ops) {
  jwk.pop_back();
  return jwk + ",\"key_ops\":" + ops + "}";
}

TEST_F(AuthEdgesTest, JwkWhoseKeyOpsLackVerifyIsNotASigningKey) {
  // An issuer's encryption key (RFC 7517 §4.3 key_ops instead of use) in the same set.
  const std::string token = MakeSigned(R"({"alg":"RS256","kid":"k1"})", Claims(), rsa_.get());
  for (const char* ops : {R"(["encrypt","wrapKey"])", "[]", R"("verify")", R"([1])"}) {
    JwtIssuerConfig c = Base();
    c.jwks_file =
        dir_.Write("jwks.json", "{\"keys\":[" + WithKeyOps(PublicJwk(rsa_.get(), "k1", ""), ops) +
                                    "," + PublicJwk(ec_.get(), "e1", "") + "]}");
    auto v = Make({c});
    ASSERT_TRUE(v) << ops;
    AuthOutcome o = v->Verify(token, kNow);
    EXPECT_FALSE(o.allowed) << ops;
    EXPECT_EQ(o.deny_reason, "alg_key_mismatch") << ops;  // the set has no RS256 key left
  }
  for (const char* ops : {R"(["verify"])", R"(["sign","verify"])"}) {
    JwtIssuerConfig c = Base();
    c.jwks_file = dir_.Write(
        "jwks.json", "{\"keys\":[" + WithKeyOps(PublicJwk(rsa_.get(), "k1", ""), ops) + "]}");
    auto v = Make({c});
    ASSERT_TRUE(v) << ops;
    EXPECT_TRUE(v->Verify(token, kNow).allowed) << ops;
  }
  EXPECT_FALSE(
      ParseJwks("{\"keys\":[" + WithKeyOps(PublicJwk(ec_.get(), "", ""), R"(["encrypt"])") + "]}")
          .ok());
}

template <typename F>
bool WaitFor(F done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

TEST_F(AuthEdgesTest, CachedTokenIsCheckedAgainOnceItsRemoteKeyIsGone) {
  PkeyPtr next = GenerateRsa2048();
  CannedHttpServer server("{\"keys\":[" + PublicJwk(rsa_.get(), "k1", "RS256") + "]}");
  JwtIssuerConfig c = Base();
  c.algorithms = {"RS256"};
  c.jwks_url = server.url("/jwks");
  c.allow_insecure_http = true;
  c.jwks_refresh_min_interval_ms = 100;
  auto v = Make({c});
  ASSERT_TRUE(v);
  auto* keys = const_cast<RemoteKeySet*>(v->remote_keys(0));
  ASSERT_TRUE(WaitFor([&] { return keys->fetch_count() == 1 && keys->Keys(); }));

  const std::string old_token = MakeSigned(R"({"alg":"RS256","kid":"k1"})", Claims(), rsa_.get());
  ASSERT_TRUE(v->Verify(old_token, kNow).allowed);
  ASSERT_TRUE(v->Verify(old_token, kNow).allowed);  // from the cache
  EXPECT_EQ(v->cache()->Size(), 1u);

  // A key added: nothing verified so far is in doubt, the cache stays.
  const std::string both = "{\"keys\":[" + PublicJwk(rsa_.get(), "k1", "RS256") + "," +
                           PublicJwk(next.get(), "k2", "RS256") + "]}";
  server.SetBody(both);
  std::this_thread::sleep_for(std::chrono::milliseconds(150));  // past the minimum interval
  keys->RequestRefresh();
  ASSERT_TRUE(WaitFor([&] { return keys->fetch_count() == 2; }));
  EXPECT_EQ(keys->generation(), 0u);
  EXPECT_TRUE(v->Verify(old_token, kNow).allowed);

  // The issuer revokes k1 (say it leaked): tokens signed with it must stop working as soon
  // as the gateway has the new set, cached or not.
  server.SetBody("{\"keys\":[" + PublicJwk(next.get(), "k2", "RS256") + "]}");
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  keys->RequestRefresh();
  ASSERT_TRUE(WaitFor([&] { return keys->fetch_count() == 3; }));
  AuthOutcome o = v->Verify(old_token, kNow);
  EXPECT_FALSE(o.allowed) << "a token of a revoked key was served from the cache";
  EXPECT_EQ(o.deny_reason, "unknown_kid");
  // Tokens of the remaining key are verified and cached as before.
  const std::string new_token = MakeSigned(R"({"alg":"RS256","kid":"k2"})", Claims(), next.get());
  EXPECT_TRUE(v->Verify(new_token, kNow).allowed);
  EXPECT_TRUE(v->Verify(new_token, kNow).allowed);
}

TEST(AuthEdgesCache, EntriesOfAnotherEpochMiss) {
  VerifiedTokenCache cache(64);
  Identity id;
  id.subject = "alice";
  const Hash256 key = VerifiedTokenCache::KeyOf("tok");
  cache.Insert(key, id, kNow + 60'000'000'000, kNow, 3);
  EXPECT_TRUE(cache.Lookup(key, kNow, 3));
  EXPECT_FALSE(cache.Lookup(key, kNow, 4));
  EXPECT_FALSE(cache.Lookup(key, kNow, 3));  // dropped, not kept for the old epoch
}

IntrospectionConfig IntrospectionAt(const std::string& endpoint) {
  IntrospectionConfig c;
  c.endpoint = endpoint;
  c.client_id = "gateway";
  c.client_secret = "s3cret";
  c.allow_insecure_http = true;
  return c;
}

TEST(AuthEdgesIntrospection, ActiveAnswerWithAFutureNbfIsRefused) {
  auto in = Introspector::Create(IntrospectionAt("https://as.example/introspect"));
  ASSERT_TRUE(in.ok()) << in.status().ToString();
  int64_t until = 0;
  const std::string later = std::to_string(kNowS + 600);
  AuthOutcome o = (*in)->Interpret(200, R"({"active":true,"sub":"bob","nbf":)" + later + "}", "tok",
                                   kNow, &until);
  EXPECT_FALSE(o.allowed);
  EXPECT_EQ(o.deny_reason, "inactive_token");
  EXPECT_EQ(o.identity.subject, "bob");          // audited as whose it was
  EXPECT_EQ(until, (kNowS + 600) * 1000000000);  // refused no longer than it is true
  o = (*in)->Interpret(200, R"({"active":true,"sub":"bob","nbf":"soon"})", "tok", kNow, &until);
  EXPECT_EQ(o.deny_reason, "invalid_claims");
  // A past nbf, a null one, or none: accepted.
  for (const std::string& nbf :
       {",\"nbf\":" + std::to_string(kNowS - 5), std::string(",\"nbf\":null"), std::string()}) {
    o = (*in)->Interpret(200, R"({"active":true,"sub":"bob")" + nbf + "}", "tok", kNow, &until);
    EXPECT_TRUE(o.allowed) << nbf << ": " << o.deny_reason;
  }
}

TEST(AuthEdgesIntrospection, UnusableSubjectIsNotReplacedByTheNextClaim) {
  auto in = Introspector::Create(IntrospectionAt("https://as.example/introspect"));
  ASSERT_TRUE(in.ok()) << in.status().ToString();
  int64_t until = 0;
  // subject_claims [sub, client_id, username]: the user's sub is unusable, the client's id is
  // not. The request is the user's; recording it as the client's would name someone else.
  for (const std::string& sub :
       {std::string(R"("a\r\nX-Evil: 1")"), "\"" + std::string(300, 'u') + "\"", std::string("42"),
        std::string(R"("")"), std::string(R"(["bob"])")}) {
    AuthOutcome o = (*in)->Interpret(200, R"({"active":true,"client_id":"app","sub":)" + sub + "}",
                                     "tok", kNow, &until);
    EXPECT_FALSE(o.allowed) << sub << " became " << o.identity.subject;
    EXPECT_EQ(o.deny_reason, "invalid_claims") << sub;
  }
  // Absent or null: the next claim names the subject, as before.
  for (const std::string& sub : {std::string(), std::string(R"(,"sub":null)")}) {
    AuthOutcome o = (*in)->Interpret(200, R"({"active":true,"client_id":"app")" + sub + "}", "tok",
                                     kNow, &until);
    ASSERT_TRUE(o.allowed) << sub << ": " << o.detail;
    EXPECT_EQ(o.identity.subject, "app");
  }
}

TEST(AuthEdgesIntrospection, TokenUseThatIsNotTheStringAccessTokenIsRefused) {
  auto in = Introspector::Create(IntrospectionAt("https://as.example/introspect"));
  ASSERT_TRUE(in.ok()) << in.status().ToString();
  int64_t until = 0;
  for (const char* use : {R"(["refresh_token"])", R"({"v":"refresh_token"})", "1", "true",
                          R"("refresh_token")", R"("Access_Token")"}) {
    AuthOutcome o =
        (*in)->Interpret(200, std::string(R"({"active":true,"sub":"bob","token_use":)") + use + "}",
                         "tok", kNow, &until);
    EXPECT_FALSE(o.allowed) << use;
    EXPECT_EQ(o.deny_reason, "wrong_token_type") << use;
  }
  for (const char* use : {R"(,"token_use":"access_token")", R"(,"token_use":null)", ""}) {
    EXPECT_TRUE((*in)
                    ->Interpret(200, std::string(R"({"active":true,"sub":"bob")") + use + "}",
                                "tok", kNow, &until)
                    .allowed)
        << use;
  }
}

TEST(AuthEdgesKeys, RotateOverlapPast2262IsRefusedNotWrappedIntoThePast) {
  TempDir dir;
  const std::string path = dir.path() + "/keys.json";
  auto a = CreateKey(path, "svc", {}, std::nullopt, "", kNow);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  auto b = RotateKey(path, a->id, kNow, INT64_MAX - kNow + 1);
  EXPECT_EQ(b.status().code(), StatusCode::kInvalidArgument);
  auto keys = ListKeys(path);
  ASSERT_TRUE(keys.ok());
  ASSERT_EQ(keys->size(), 1u);  // nothing written
  EXPECT_FALSE((*keys)[0].expires_ns.has_value());
  // The longest overlap there is still works.
  auto c = RotateKey(path, a->id, kNow, INT64_MAX - kNow);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  keys = ListKeys(path);
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ((*keys)[0].expires_ns, INT64_MAX);
}

TEST_F(AuthEdgesTest, IdLogoutAndRefreshTokensOfTheIssuerAreNotAccessTokens) {
  auto v = MakeWithSecret();
  auto verify = [&](const std::string& header, const std::string& extra) {
    return v->Verify(MakeHs256(header, Claims(extra), kSecret), kNow);
  };
  const std::string plain = R"({"alg":"HS256"})";
  // Signed by the issuer, audience and expiry fine: only their kind is wrong.
  for (const char* typ : {"logout+jwt", "application/logout+jwt", "secevent+jwt", "DPoP+JWT"}) {
    AuthOutcome o = verify(std::string(R"({"alg":"HS256","typ":")") + typ + "\"}", "");
    EXPECT_FALSE(o.allowed) << typ;
    EXPECT_EQ(o.deny_reason, "wrong_token_type") << typ;
    EXPECT_EQ(o.identity.subject, "alice");  // audited as whose it was
  }
  for (const char* claim :
       {R"("typ":"ID")", R"("typ":"Refresh")", R"("typ":"offline")", R"("typ":"Logout")",
        R"("token_use":"id")", R"("token_use":["access"])",
        R"("events":{"http://schemas.openid.net/event/backchannel-logout":{}})"}) {
    AuthOutcome o = verify(plain, claim);
    EXPECT_FALSE(o.allowed) << claim;
    EXPECT_EQ(o.deny_reason, "wrong_token_type") << claim;
  }
  // What access tokens say about themselves is accepted.
  for (const char* typ : {"JWT", "at+jwt", "application/at+jwt"}) {
    EXPECT_TRUE(verify(std::string(R"({"alg":"HS256","typ":")") + typ + "\"}", "").allowed) << typ;
  }
  for (const char* claim :
       {R"("typ":"Bearer")", R"("token_use":"access")", R"("token_use":"access_token")"}) {
    EXPECT_TRUE(verify(plain, claim).allowed) << claim;
  }
}

}  // namespace
}  // namespace apitrail
