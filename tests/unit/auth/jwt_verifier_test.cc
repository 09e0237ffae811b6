#include "auth/jwt_verifier.h"

#include <gtest/gtest.h>

#include "auth/jws_signature.h"
#include "core/crypto_util.h"
#include "testutil/temp_dir.h"
#include "unit/auth/jwt_test_signer.h"
#include "unit/auth/jwt_verifier_fixture.h"

namespace apitrail {
namespace {

using namespace apitrail::testing;  // NOLINT: test helpers

class JwtVerifierTest : public JwtVerifierFixture {};

void ExpectAllowed(const AuthOutcome& o) {
  ASSERT_TRUE(o.allowed) << o.deny_reason << ": " << o.detail;
  EXPECT_EQ(o.identity.subject, "alice");
  EXPECT_EQ(o.identity.auth_method, "jwt");
  EXPECT_EQ(o.identity.issuer, kIss);
}

TEST_F(JwtVerifierTest, Hs256WithSecret) {
  auto v = MakeWithSecret();
  ExpectAllowed(v->Verify(MakeHs256(R"({"alg":"HS256"})", Claims(), kSecret), kNow));
  EXPECT_EQ(v->Verify(MakeHs256(R"({"alg":"HS256"})", Claims(), kSecret + "x"), kNow).deny_reason,
            "bad_signature");
}

TEST_F(JwtVerifierTest, CertificateBoundTokenCarriesItsThumbprintThroughTheCache) {
  auto v = MakeWithSecret();
  const std::string x5t = std::string(42, 'A') + "Q";
  std::string token =
      MakeHs256(R"({"alg":"HS256"})", Claims(R"("cnf":{"x5t#S256":")" + x5t + "\"}"), kSecret);
  for (int i = 0; i < 2; ++i) {  // the second answer comes from the verified-token cache
    AuthOutcome o = v->Verify(token, kNow);
    ExpectAllowed(o);
    EXPECT_EQ(o.identity.bound_certificate, x5t) << "pass " << i;
  }
  EXPECT_EQ(v->Verify(MakeHs256(R"({"alg":"HS256"})", Claims(), kSecret), kNow)
                .identity.bound_certificate,
            "");
  // A binding the gateway cannot check (DPoP) is refused, never taken as a bearer token.
  AuthOutcome dpop =
      v->Verify(MakeHs256(R"({"alg":"HS256"})", Claims(R"("cnf":{"jkt":"abc"})"), kSecret), kNow);
  EXPECT_FALSE(dpop.allowed);
  EXPECT_EQ(dpop.deny_reason, "token_binding_unsupported");
  EXPECT_EQ(dpop.identity.subject, "alice");
}

TEST_F(JwtVerifierTest, Hs256WithSecretFileTrimsNewline) {
  JwtIssuerConfig c = Base();
  c.secret_file = dir_.Write("secret", kSecret + "\n");
  auto v = Make({c});
  ExpectAllowed(v->Verify(MakeHs256(R"({"alg":"HS256"})", Claims(), kSecret), kNow));
}

TEST_F(JwtVerifierTest, Rs256FromPem) {
  auto v = MakeWithPem(rsa_.get());
  ExpectAllowed(
      v->Verify(MakeSigned(R"({"alg":"RS256","typ":"JWT"})", Claims(), rsa_.get()), kNow));
}

TEST_F(JwtVerifierTest, Es256FromPem) {
  auto v = MakeWithPem(ec_.get());
  ExpectAllowed(v->Verify(MakeSigned(R"({"alg":"ES256"})", Claims(), ec_.get()), kNow));
}

TEST_F(JwtVerifierTest, AllAlgorithmsFromJwksWithKid) {
  std::string jwks = "{\"keys\":[" + PublicJwk(rsa_.get(), "r1", "RS256") + "," +
                     PublicJwk(ec_.get(), "e1", "") + "," + SecretJwk(kSecret, "h1", "HS256") +
                     "," + R"({"kty":"OKP","crv":"Ed448","x":"AAAA"})" + "]}";
  auto v = MakeWithJwks(jwks);
  ASSERT_TRUE(v);
  ExpectAllowed(v->Verify(MakeSigned(R"({"alg":"RS256","kid":"r1"})", Claims(), rsa_.get()), kNow));
  ExpectAllowed(v->Verify(MakeSigned(R"({"alg":"ES256","kid":"e1"})", Claims(), ec_.get()), kNow));
  ExpectAllowed(v->Verify(MakeHs256(R"({"alg":"HS256","kid":"h1"})", Claims(), kSecret), kNow));
  // No kid: every key of the alg is tried.
  ExpectAllowed(v->Verify(MakeSigned(R"({"alg":"RS256"})", Claims(), rsa_.get()), kNow));
  // Unknown kid, and a kid naming a key of another type.
  AuthOutcome o =
      v->Verify(MakeSigned(R"({"alg":"RS256","kid":"zz"})", Claims(), rsa_.get()), kNow);
  EXPECT_EQ(o.deny_reason, "unknown_kid");
  EXPECT_NE(o.detail.find("kid"), std::string::npos);
  EXPECT_EQ(v->Verify(MakeSigned(R"({"alg":"RS256","kid":"e1"})", Claims(), rsa_.get()), kNow)
                .deny_reason,
            "alg_key_mismatch");
}

TEST_F(JwtVerifierTest, AlgNoneRejected) {
  auto v = MakeWithSecret();
  for (const char* h : {R"({"alg":"none"})", R"({"alg":"None"})", R"({"alg":"NONE"})"}) {
    std::string unsigned_token = SigningInput(h, Claims()) + ".";
    AuthOutcome o = v->Verify(unsigned_token, kNow);
    EXPECT_EQ(o.deny_reason, "alg_none") << h;
    // Even with a (meaningless) signature attached.
    EXPECT_EQ(v->Verify(MakeHs256(h, Claims(), kSecret), kNow).deny_reason, "alg_none") << h;
  }
}

TEST_F(JwtVerifierTest, AlgorithmConfusionRejected) {
  // Classic attack: HS256 with the RSA public key's PEM text as the HMAC secret.
  std::string pem = PublicKeyPem(rsa_.get());
  JwtIssuerConfig c = Base();
  c.key_file = dir_.Write("key.pem", pem);
  c.algorithms = {"RS256", "HS256"};  // even when the issuer allows HS256
  auto v = Make({c});
  AuthOutcome o = v->Verify(MakeHs256(R"({"alg":"HS256"})", Claims(), pem), kNow);
  EXPECT_FALSE(o.allowed);
  EXPECT_EQ(o.deny_reason, "alg_key_mismatch");
  EXPECT_TRUE(o.identity.subject.empty());
  // And the pinned key itself refuses another algorithm at the lowest level.
  auto key = KeyFromPem(pem);
  ASSERT_TRUE(key.ok());
  std::string input = SigningInput(R"({"alg":"HS256"})", Claims());
  EXPECT_FALSE(VerifyJwsSignature(*key, JwsAlg::kHs256, input, SignJws("HS256", input, nullptr, pem)));
}

TEST_F(JwtVerifierTest, AlgNotAllowedByIssuer) {
  JwtIssuerConfig c = Base();
  c.key_file = dir_.Write("key.pem", PublicKeyPem(ec_.get()));
  c.secret = kSecret;
  c.algorithms = {"HS256"};
  auto v = Make({c});
  AuthOutcome o = v->Verify(MakeSigned(R"({"alg":"ES256"})", Claims(), ec_.get()), kNow);
  EXPECT_EQ(o.deny_reason, "alg_not_allowed");
  EXPECT_NE(o.detail.find("not allowed"), std::string::npos);
  EXPECT_EQ(v->Verify(MakeHs256(R"({"alg":"RS384"})", Claims(), kSecret), kNow).deny_reason,
            "alg_not_allowed");
  EXPECT_EQ(v->Verify(MakeHs256(R"({"alg":"XS256"})", Claims(), kSecret), kNow).deny_reason,
            "alg_not_allowed");
}

TEST_F(JwtVerifierTest, WrongKey) {
  auto v = MakeWithPem(rsa_.get());
  AuthOutcome o = v->Verify(MakeSigned(R"({"alg":"RS256"})", Claims(), rsa2_.get()), kNow);
  EXPECT_EQ(o.deny_reason, "bad_signature");
  EXPECT_TRUE(o.identity.subject.empty());  // unverified claims are not reported
}

TEST_F(JwtVerifierTest, ExpiryWithLeeway) {
  auto v = MakeWithSecret();  // leeway_s = 60
  std::string base = "{\"sub\":\"alice\",\"iss\":\"" + kIss + "\",\"aud\":\"orders-api\",";
  auto token = [&](int64_t exp) {
    return MakeHs256(R"({"alg":"HS256"})", base + "\"exp\":" + std::to_string(exp) + "}", kSecret);
  };
  ExpectAllowed(v->Verify(token(kNowS - 30), kNow));  // expired, but within leeway
  AuthOutcome o = v->Verify(token(kNowS - 120), kNow);
  EXPECT_EQ(o.deny_reason, "expired_token");
  EXPECT_EQ(o.identity.subject, "alice");  // verified, so the audit knows who it was
  // Fractional NumericDate is allowed by RFC 7519.
  ExpectAllowed(
      v->Verify(MakeHs256(R"({"alg":"HS256"})", base + "\"exp\":1767225650.5}", kSecret), kNow));
  EXPECT_EQ(v->Verify(MakeHs256(R"({"alg":"HS256"})", base + "\"exp\":\"soon\"}", kSecret), kNow)
                .deny_reason,
            "invalid_claims");
}

TEST_F(JwtVerifierTest, TokenWithoutExpIsRefusedUnlessRequireExpIsOff) {
  const std::string no_exp =
      "{\"sub\":\"alice\",\"iss\":\"" + kIss + "\",\"aud\":\"orders-api\"}";
  const std::string token = MakeHs256(R"({"alg":"HS256"})", no_exp, kSecret);
  AuthOutcome o = MakeWithSecret()->Verify(token, kNow);
  EXPECT_FALSE(o.allowed);
  EXPECT_EQ(o.deny_reason, "invalid_claims");
  EXPECT_NE(o.detail.find("exp"), std::string::npos) << o.detail;
  EXPECT_EQ(o.identity.subject, "alice");  // authentic: the audit knows who it was
  JwtIssuerConfig c = Base();
  c.secret = kSecret;
  c.require_exp = false;
  auto lenient = Make({c});
  ExpectAllowed(lenient->Verify(token, kNow));
  // Opting out of the requirement does not stop a present exp from being checked.
  const int64_t in_an_hour = kNow + int64_t{3600} * 1000000000;
  EXPECT_EQ(lenient->Verify(MakeHs256(R"({"alg":"HS256"})", Claims(), kSecret), in_an_hour)
                .deny_reason,
            "expired_token");
}

TEST_F(JwtVerifierTest, NotBefore) {
  auto v = MakeWithSecret();
  auto token = [&](int64_t nbf) {
    return MakeHs256(R"({"alg":"HS256"})", Claims("\"nbf\":" + std::to_string(nbf)), kSecret);
  };
  EXPECT_EQ(v->Verify(token(kNowS + 120), kNow).deny_reason, "token_not_yet_valid");
  ExpectAllowed(v->Verify(token(kNowS + 30), kNow));
}

TEST_F(JwtVerifierTest, Audience) {
  auto v = MakeWithSecret();
  auto token = [&](const std::string& aud) {
    std::string claims = "{\"sub\":\"alice\",\"iss\":\"" + kIss +
                         "\",\"exp\":" + std::to_string(kNowS + 600) + aud + "}";
    return MakeHs256(R"({"alg":"HS256"})", claims, kSecret);
  };
  EXPECT_EQ(v->Verify(token(",\"aud\":\"other-api\""), kNow).deny_reason, "wrong_audience");
  EXPECT_EQ(v->Verify(token(""), kNow).deny_reason, "wrong_audience");
  EXPECT_EQ(v->Verify(token(",\"aud\":[\"a\",\"b\"]"), kNow).deny_reason, "wrong_audience");
  ExpectAllowed(v->Verify(token(",\"aud\":[\"a\",\"orders-api\"]"), kNow));
}

TEST_F(JwtVerifierTest, WrongIssuer) {
  auto v = MakeWithSecret();
  std::string claims =
      R"({"sub":"alice","iss":"https://evil.example","aud":"orders-api","exp":1767226200})";
  AuthOutcome o = v->Verify(MakeHs256(R"({"alg":"HS256"})", claims, kSecret), kNow);
  EXPECT_EQ(o.deny_reason, "wrong_issuer");
  EXPECT_EQ(o.detail.find("evil"), std::string::npos);  // details do not echo claims
}

TEST_F(JwtVerifierTest, TamperedPayload) {
  auto v = MakeWithPem(rsa_.get());
  std::string token = MakeSigned(R"({"alg":"RS256"})", Claims(), rsa_.get());
  size_t d1 = token.find('.'), d2 = token.rfind('.');
  std::string forged =
      token.substr(0, d1 + 1) + Base64UrlEncode(Claims("\"scope\":\"admin\"")) + token.substr(d2);
  EXPECT_EQ(v->Verify(forged, kNow).deny_reason, "bad_signature");
  std::string flipped = token;
  flipped[d2 + 5] = flipped[d2 + 5] == 'A' ? 'B' : 'A';
  EXPECT_EQ(v->Verify(flipped, kNow).deny_reason, "bad_signature");
}

TEST_F(JwtVerifierTest, MalformedTokens) {
  auto v = MakeWithSecret();
  std::string good = MakeHs256(R"({"alg":"HS256"})", Claims(), kSecret);
  std::string sig = good.substr(good.rfind('.'));
  std::string payload = Base64UrlEncode(Claims());
  for (const std::string& t : {
           std::string("a.b"), good + ".x", std::string(".."), "." + payload + sig,
           "e30" + std::string("=") + "." + payload + sig,     // padded
           "eyJhbGciOiJIUzI1NiJ9+." + payload + sig,           // '+' is not base64url
           Base64UrlEncode("not json") + "." + payload + sig,  // header not JSON
           Base64UrlEncode("[1,2]") + "." + payload + sig,     // header not an object
           Base64UrlEncode(R"({"alg":"HS256"})") + "." + Base64UrlEncode("{\"sub\":") + sig,
           Base64UrlEncode(R"({"alg":"HS256"})") + "." + payload + ".",  // empty signature
           Base64UrlEncode(R"({"alg":"HS256"})") + "." + payload + ".!!",
           Base64UrlEncode(R"({"typ":"JWT"})") + "." + payload + sig,  // no alg
       }) {
    AuthOutcome o = v->Verify(t, kNow);
    EXPECT_FALSE(o.allowed) << t;
    EXPECT_EQ(o.deny_reason, "malformed_token") << t;
  }
}

TEST_F(JwtVerifierTest, OversizeToken) {
  JwtIssuerConfig c = Base();
  c.secret = kSecret;
  c.max_token_bytes = 256;
  auto v = Make({c});
  std::string padding(300, 'x');
  std::string big = MakeHs256(R"({"alg":"HS256"})", Claims("\"pad\":\"" + padding + "\""), kSecret);
  AuthOutcome o = v->Verify(big, kNow);
  EXPECT_EQ(o.deny_reason, "token_too_large");
  EXPECT_NE(o.detail.find("too large"), std::string::npos);
}

TEST_F(JwtVerifierTest, UnknownCritRejected) {
  auto v = MakeWithSecret();
  std::string t = MakeHs256(R"({"alg":"HS256","crit":["exp-ext"],"exp-ext":1})", Claims(), kSecret);
  AuthOutcome o = v->Verify(t, kNow);
  EXPECT_EQ(o.deny_reason, "unsupported_crit");
  EXPECT_NE(o.detail.find("crit"), std::string::npos);
}

TEST_F(JwtVerifierTest, Es256SignatureMustBeRaw64Bytes) {
  auto v = MakeWithPem(ec_.get());
  std::string good = MakeSigned(R"({"alg":"ES256"})", Claims(), ec_.get());
  size_t d2 = good.rfind('.');
  std::string input = good.substr(0, d2);
  std::string raw = *Base64UrlDecode(good.substr(d2 + 1));
  ASSERT_EQ(raw.size(), 64u);
  std::string der = EcdsaRawToDer(raw);  // the DER form some libraries emit by mistake
  for (const std::string& sig : {der, raw.substr(0, 63), raw + std::string(1, '\0'),
                                 std::string(1, '\0') + raw, std::string(64, '\0')}) {
    EXPECT_EQ(v->Verify(input + "." + Base64UrlEncode(sig), kNow).deny_reason, "bad_signature");
  }
  ExpectAllowed(v->Verify(good, kNow));
}

// The event records roles as "role:<r>" scopes: a token scope spelled so would be recorded
// as a role the caller does not hold.
TEST_F(JwtVerifierTest, RoleLikeScopesAreDropped) {
  auto v = MakeWithSecret();
  AuthOutcome o = v->Verify(
      MakeHs256(R"({"alg":"HS256"})", Claims(R"("scope":"role:admin orders:read role:")"), kSecret),
      kNow);
  ExpectAllowed(o);
  EXPECT_EQ(o.identity.scopes, std::vector<std::string>{"orders:read"});
  EXPECT_TRUE(o.identity.roles.empty());
  o = v->Verify(MakeHs256(R"({"alg":"HS256"})",
                          Claims(R"("scp":["role:admin","orders:write"],"roles":["viewer"])"),
                          kSecret),
                kNow);
  ExpectAllowed(o);
  EXPECT_EQ(o.identity.scopes, std::vector<std::string>{"orders:write"});
  EXPECT_EQ(o.identity.roles, std::vector<std::string>{"viewer"});
}

TEST_F(JwtVerifierTest, SubjectClaimAndScopesAndCredentialId) {
  JwtIssuerConfig c = Base();
  c.secret = kSecret;
  c.subject_claim = "client_id";
  auto v = Make({c});
  std::string token =
      MakeHs256(R"({"alg":"HS256"})",
                Claims(R"("client_id":"svc-7","scp":["orders:read","orders:write"])"), kSecret);
  AuthOutcome o = v->Verify(token, kNow);
  ASSERT_TRUE(o.allowed) << o.detail;
  EXPECT_EQ(o.identity.subject, "svc-7");
  EXPECT_EQ(o.identity.scopes, (std::vector<std::string>{"orders:read", "orders:write"}));
  // No jti: a short hash of the token, not any part of it.
  EXPECT_EQ(o.identity.credential_id, HexEncode(Sha256(token)).substr(0, 16));
  EXPECT_EQ(token.find(o.identity.credential_id), std::string::npos);

  // Missing subject claim.
  AuthOutcome missing = v->Verify(MakeHs256(R"({"alg":"HS256"})", Claims(), kSecret), kNow);
  EXPECT_EQ(missing.deny_reason, "invalid_claims");
  // A subject with a control character would be header injection upstream.
  AuthOutcome ctl = v->Verify(
      MakeHs256(R"({"alg":"HS256"})", Claims(R"("client_id":"a\r\nX-Admin: 1")"), kSecret), kNow);
  EXPECT_EQ(ctl.deny_reason, "invalid_claims");
}

TEST_F(JwtVerifierTest, MultipleIssuersPickedByIss) {
  JwtIssuerConfig a = Base();
  a.secret = kSecret;
  JwtIssuerConfig b;
  b.issuer = "https://other.example";
  b.key_file = dir_.Write("b.pem", PublicKeyPem(rsa_.get()));
  auto v = Make({a, b});
  ExpectAllowed(v->Verify(MakeHs256(R"({"alg":"HS256"})", Claims(), kSecret), kNow));
  std::string other = R"({"sub":"alice","iss":"https://other.example","exp":1767226200})";
  AuthOutcome o = v->Verify(MakeSigned(R"({"alg":"RS256"})", other, rsa_.get()), kNow);
  EXPECT_TRUE(o.allowed) << o.detail;
  EXPECT_EQ(o.identity.issuer, "https://other.example");
  // A token from issuer b signed with issuer a's secret must not pass.
  EXPECT_EQ(v->Verify(MakeHs256(R"({"alg":"HS256"})", other, kSecret), kNow).deny_reason,
            "alg_key_mismatch");
  std::string unknown = R"({"sub":"alice","iss":"https://nobody.example"})";
  EXPECT_EQ(v->Verify(MakeHs256(R"({"alg":"HS256"})", unknown, kSecret), kNow).deny_reason,
            "wrong_issuer");
}

TEST_F(JwtVerifierTest, ConfigErrorsNameTheKey) {
  JwtIssuerConfig c = Base();
  c.key_file = dir_.File("missing.pem");
  auto r = JwtVerifier::Create({c});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("auth.jwt[0].key_file"), std::string::npos)
      << r.status().message();

  JwtIssuerConfig s = Base();
  s.secret = "short";
  r = JwtVerifier::Create({s});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("auth.jwt[0].secret"), std::string::npos);
  EXPECT_EQ(r.status().message().find("short"), std::string::npos);  // secret never echoed

  JwtIssuerConfig alg = Base();
  alg.secret = kSecret;
  alg.algorithms = {"none"};
  EXPECT_FALSE(JwtVerifier::Create({alg}).ok());

  JwtIssuerConfig nokey = Base();
  EXPECT_FALSE(JwtVerifier::Create({nokey}).ok());

  JwtIssuerConfig bad_jwks = Base();
  bad_jwks.jwks_file =
      dir_.Write("bad.json", R"({"keys":[{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}]})");
  r = JwtVerifier::Create({bad_jwks});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("auth.jwt[0].jwks_file"), std::string::npos);
}

TEST_F(JwtVerifierTest, OffCurveJwkRejected) {
  // A valid-length point that is not on P-256 (invalid-curve attack input).
  std::string x(32, '\0'), y(32, '\0');
  x[31] = 1;
  y[31] = 1;
  std::string jwk = "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" + Base64UrlEncode(x) +
                    "\",\"y\":\"" + Base64UrlEncode(y) + "\"}]}";
  EXPECT_FALSE(ParseJwks(jwk).ok());
}

}  // namespace
}  // namespace apitrail

namespace apitrail {
namespace {

using namespace apitrail::testing;  // NOLINT: test helpers

class JwtAlgorithmsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    rsa_ = GenerateRsa2048();
    p256_ = GenerateEc("P-256");
    p384_ = GenerateEc("P-384");
    p521_ = GenerateEc("P-521");
    ed_ = GenerateEd25519();
  }
  static void TearDownTestSuite() { rsa_ = p256_ = p384_ = p521_ = ed_ = nullptr; }

  std::unique_ptr<JwtVerifier> Make(JwtIssuerConfig c) {
    c.issuer = kIss;
    auto v = JwtVerifier::Create({c}, 0);
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return v.ok() ? std::move(v).value() : nullptr;
  }
  std::unique_ptr<JwtVerifier> WithPem(EVP_PKEY* key, std::vector<std::string> algs = {}) {
    JwtIssuerConfig c;
    c.key_file = dir_.Write("k.pem", PublicKeyPem(key));
    c.algorithms = std::move(algs);
    return Make(c);
  }
  static std::string Token(const std::string& alg, EVP_PKEY* key, std::string_view secret = {},
                           const std::string& kid = "") {
    std::string h =
        "{\"alg\":\"" + alg + "\"" + (kid.empty() ? "" : ",\"kid\":\"" + kid + "\"") + "}";
    return MakeJws(h, Claims(), alg, key, secret);
  }

  static PkeyPtr rsa_, p256_, p384_, p521_, ed_;
  TempDir dir_;
};
PkeyPtr JwtAlgorithmsTest::rsa_, JwtAlgorithmsTest::p256_, JwtAlgorithmsTest::p384_,
    JwtAlgorithmsTest::p521_, JwtAlgorithmsTest::ed_;

TEST_F(JwtAlgorithmsTest, EveryAsymmetricAlgorithmFromPem) {
  struct Case {
    const char* alg;
    EVP_PKEY* key;
  };
  for (Case c : {Case{"RS256", rsa_.get()},
                 {"RS384", rsa_.get()},
                 {"RS512", rsa_.get()},
                 {"PS256", rsa_.get()},
                 {"PS384", rsa_.get()},
                 {"PS512", rsa_.get()},
                 {"ES256", p256_.get()},
                 {"ES384", p384_.get()},
                 {"ES512", p521_.get()},
                 {"EdDSA", ed_.get()}}) {
    auto v = WithPem(c.key, {c.alg});
    ASSERT_TRUE(v) << c.alg;
    AuthOutcome o = v->Verify(Token(c.alg, c.key), kNow);
    EXPECT_TRUE(o.allowed) << c.alg << ": " << o.deny_reason << " " << o.detail;
  }
}

TEST_F(JwtAlgorithmsTest, EcSignaturesHaveTheCurveRawLength) {
  auto v = WithPem(p521_.get());
  std::string good = Token("ES512", p521_.get());
  size_t d2 = good.rfind('.');
  std::string raw = *Base64UrlDecode(good.substr(d2 + 1));
  ASSERT_EQ(raw.size(), 132u);
  EXPECT_TRUE(v->Verify(good, kNow).allowed);
  for (const std::string& sig : {EcdsaRawToDer(raw, 66), raw.substr(0, 131), raw + '\0'}) {
    EXPECT_EQ(v->Verify(good.substr(0, d2 + 1) + Base64UrlEncode(sig), kNow).deny_reason,
              "bad_signature");
  }
}

TEST_F(JwtAlgorithmsTest, KeysArePinnedToFamilyAndCurve) {
  // A P-256 key never verifies ES384 (even a valid P-384 signature), nor EdDSA.
  auto p256 = WithPem(p256_.get());
  EXPECT_EQ(p256->Verify(Token("ES384", p384_.get()), kNow).deny_reason, "alg_key_mismatch");
  EXPECT_EQ(p256->Verify(Token("EdDSA", ed_.get()), kNow).deny_reason, "alg_key_mismatch");
  // An RSA PEM key serves RS* by default; PS* only when listed.
  auto rs = WithPem(rsa_.get());
  EXPECT_TRUE(rs->Verify(Token("RS384", rsa_.get()), kNow).allowed);
  EXPECT_EQ(rs->Verify(Token("PS256", rsa_.get()), kNow).deny_reason, "alg_key_mismatch");
  auto ps = WithPem(rsa_.get(), {"PS256"});
  EXPECT_TRUE(ps->Verify(Token("PS256", rsa_.get()), kNow).allowed);
  EXPECT_EQ(ps->Verify(Token("RS256", rsa_.get()), kNow).deny_reason, "alg_not_allowed");
  // A PKCS#1 v1.5 signature presented as PS256 does not verify (and vice versa).
  std::string input = SigningInput(R"({"alg":"PS256"})", Claims());
  EXPECT_EQ(ps->Verify(input + "." + Base64UrlEncode(SignJws("RS256", input, rsa_.get())), kNow)
                .deny_reason,
            "bad_signature");
  // The RSA public key as an HMAC secret, with every HS*.
  std::string pem = PublicKeyPem(rsa_.get());
  auto rs_hs = WithPem(rsa_.get(), {"RS256", "HS256", "HS384", "HS512"});
  for (const char* hs : {"HS256", "HS384", "HS512"}) {
    EXPECT_EQ(rs_hs->Verify(Token(hs, nullptr, pem), kNow).deny_reason, "alg_key_mismatch") << hs;
  }
}

TEST_F(JwtAlgorithmsTest, HmacSecretMustCoverTheHashLength) {
  std::string s48(48, 'k');
  JwtIssuerConfig c;
  c.secret = s48;
  auto v = Make(c);  // no explicit list: HS256 and HS384 only
  EXPECT_TRUE(v->Verify(Token("HS384", nullptr, s48), kNow).allowed);
  EXPECT_TRUE(v->Verify(Token("HS256", nullptr, s48), kNow).allowed);
  EXPECT_EQ(v->Verify(Token("HS512", nullptr, s48), kNow).deny_reason, "alg_key_mismatch");
  c.algorithms = {"HS512"};
  auto r = JwtVerifier::Create({c});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("too short for HS512"), std::string::npos)
      << r.status().message();
  EXPECT_EQ(r.status().message().find(s48), std::string::npos);
}

TEST_F(JwtAlgorithmsTest, JwksPinsByAlgAndCurve) {
  std::string s64(64, 'z');
  std::string jwks = "{\"keys\":[" + PublicJwk(rsa_.get(), "rsa-ps", "PS384") + "," +
                     PublicJwk(p384_.get(), "ec384", "") + "," +
                     PublicJwk(p521_.get(), "", "ES512") + "," +
                     PublicJwk(ed_.get(), "ed", "EdDSA") + "," + SecretJwk(s64, "h5", "HS512") +
                     "," + R"({"kty":"EC","crv":"secp256k1","x":"AA","y":"AA"})" + "]}";
  auto keys = ParseJwks(jwks);
  ASSERT_TRUE(keys.ok()) << keys.status().ToString();
  EXPECT_EQ(keys->size(), 5u);  // secp256k1 skipped
  JwtIssuerConfig c;
  c.jwks_file = dir_.Write("jwks.json", jwks);
  auto v = Make(c);
  EXPECT_TRUE(v->Verify(Token("PS384", rsa_.get(), {}, "rsa-ps"), kNow).allowed);
  EXPECT_EQ(v->Verify(Token("PS256", rsa_.get(), {}, "rsa-ps"), kNow).deny_reason,
            "alg_key_mismatch");
  EXPECT_EQ(v->Verify(Token("RS384", rsa_.get(), {}, "rsa-ps"), kNow).deny_reason,
            "alg_key_mismatch");
  EXPECT_TRUE(v->Verify(Token("ES384", p384_.get(), {}, "ec384"), kNow).allowed);
  EXPECT_TRUE(v->Verify(Token("ES512", p521_.get()), kNow).allowed);
  EXPECT_TRUE(v->Verify(Token("EdDSA", ed_.get(), {}, "ed"), kNow).allowed);
  EXPECT_TRUE(v->Verify(Token("HS512", nullptr, s64, "h5"), kNow).allowed);
  EXPECT_EQ(v->Verify(Token("HS256", nullptr, s64, "h5"), kNow).deny_reason, "alg_key_mismatch");

  // An `alg` that does not fit the key, or an oct key too short for its alg, is an error.
  EXPECT_FALSE(ParseJwks("{\"keys\":[" + PublicJwk(p256_.get(), "", "ES384") + "]}").ok());
  EXPECT_FALSE(ParseJwks("{\"keys\":[" + PublicJwk(ed_.get(), "", "ES256") + "]}").ok());
  EXPECT_FALSE(ParseJwks("{\"keys\":[" + PublicJwk(rsa_.get(), "", "HS256") + "]}").ok());
  EXPECT_FALSE(ParseJwks("{\"keys\":[" + SecretJwk(std::string(40, 'x'), "", "HS384") + "]}").ok());
  EXPECT_FALSE(ParseJwks(R"({"keys":[{"kty":"OKP","crv":"Ed25519","x":"AAAA"}]})").ok());
}

}  // namespace
}  // namespace apitrail

namespace apitrail {
namespace {

TEST(JwtVerifierRemote, RequiredClaims) {
  JwtIssuerConfig c;
  c.secret = kSecret;
  c.required_claims = {"tenant"};
  auto v = JwtVerifier::Create({c});
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  const std::string h = R"({"alg":"HS256"})";
  EXPECT_EQ((*v)->Verify(MakeHs256(h, Claims(), kSecret), kNow).deny_reason,
            "missing_required_claim");
  EXPECT_EQ((*v)->Verify(MakeHs256(h, Claims(R"("tenant":null)"), kSecret), kNow).deny_reason,
            "missing_required_claim");
  AuthOutcome ok = (*v)->Verify(MakeHs256(h, Claims(R"("tenant":"t1")"), kSecret), kNow);
  EXPECT_TRUE(ok.allowed) << ok.deny_reason << ": " << ok.detail;
}

TEST(JwtVerifierRemote, NoKeysYetFailsClosedWith503) {
  // jwks_url at a port where nothing listens: Create succeeds (the gateway starts), tokens
  // for the issuer are refused with keys_unavailable until a fetch works.
  JwtIssuerConfig c;
  c.issuer = kIss;
  c.algorithms = {"RS256"};
  c.jwks_url = "https://127.0.0.1:1/jwks";
  c.fetch_timeout_ms = 200;
  auto v = JwtVerifier::Create({c});
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  ASSERT_NE((*v)->remote_keys(0), nullptr);
  EXPECT_EQ((*v)->remote_keys(0)->Keys(), nullptr);
  EXPECT_GE((*v)->remote_keys(0)->fetch_count(), 1u);
  EXPECT_FALSE((*v)->remote_keys(0)->LastError().empty());
  auto key = GenerateRsa2048();
  AuthOutcome out = (*v)->Verify(MakeSigned(R"({"alg":"RS256","kid":"k1"})", Claims(), key.get()), kNow);
  EXPECT_FALSE(out.allowed);
  EXPECT_EQ(out.deny_reason, "keys_unavailable");
  EXPECT_EQ(out.http_status, 503);
  EXPECT_NE(out.detail.find("could not be fetched"), std::string::npos) << out.detail;
  // The detail is sent to the unauthenticated client: no internal URL, no fetch error.
  EXPECT_EQ(out.detail.find("127.0.0.1"), std::string::npos) << out.detail;
  EXPECT_EQ(out.detail.find("/jwks"), std::string::npos) << out.detail;
  EXPECT_EQ(out.detail.find((*v)->remote_keys(0)->LastError()), std::string::npos) << out.detail;
  // The operator still learns why, from the log.
  EXPECT_NE((*v)->RemoteKeyProblems().find("auth.jwt[0]"), std::string::npos);
}

TEST(JwtVerifierRemote, BadCaFileIsAConfigError) {
  JwtIssuerConfig c;
  c.algorithms = {"RS256"};
  c.jwks_url = "https://127.0.0.1:1/jwks";
  c.ca_file = "/nonexistent/ca.pem";
  auto v = JwtVerifier::Create({c});
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.status().message().find("auth.jwt[0].ca_file"), std::string::npos)
      << v.status().message();
}

}  // namespace
}  // namespace apitrail
