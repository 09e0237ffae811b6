// mTLS identities: subject precedence, fingerprint, issuer DN, cleaning, and the denial for a
// certificate without a usable subject. Certificates are built here with OpenSSL's X509 API.
#include "auth/mtls.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <string>

#include "auth/openssl_ptr.h"
#include "core/crypto_util.h"

namespace apitrail {
namespace {

// A self-signed Ed25519 certificate with `cn` (if not empty), issuer "CN=Test CA,O=example" and
// the given subjectAltName (OpenSSL config syntax, "" for none); `second_cn`, if not empty, is
// added as another CN after the first.
ossl::X509Ptr MakeCert(const std::string& cn, const std::string& san,
                       const std::string& second_cn = "") {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  ossl::X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 42);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
  X509_NAME* subject = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(subject, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("example"), -1, -1, 0);
  if (!cn.empty()) {
    X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(cn.data()),
                               static_cast<int>(cn.size()), -1, 0);
  }
  if (!second_cn.empty()) {
    X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(second_cn.data()),
                               static_cast<int>(second_cn.size()), -1, 0);
  }
  X509_NAME* issuer = X509_get_issuer_name(cert.get());
  X509_NAME_add_entry_by_txt(issuer, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("example"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(issuer, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("Test CA"), -1, -1, 0);
  X509_set_pubkey(cert.get(), key);
  if (!san.empty()) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, san.c_str());
    EXPECT_NE(ext, nullptr) << san;
    X509_add_ext(cert.get(), ext, -1);
    X509_EXTENSION_free(ext);
  }
  X509_sign(cert.get(), key, nullptr);
  EVP_PKEY_free(key);
  return cert;
}

std::string Sha256HexOfDer(X509* cert) {
  unsigned char* der = nullptr;
  int len = i2d_X509(cert, &der);
  unsigned char md[32];
  unsigned int md_len = 0;
  EVP_Digest(der, static_cast<size_t>(len), md, &md_len, EVP_sha256(), nullptr);
  OPENSSL_free(der);
  std::string out;
  char buf[3];
  for (unsigned i = 0; i < md_len; ++i) {
    snprintf(buf, sizeof buf, "%02x", md[i]);
    out += buf;
  }
  return out;
}

TEST(MtlsTest, DefaultOrderPrefersSanUriThenDnsThenEmailThenCn) {
  MtlsAuthConfig config;
  auto all = MakeCert("the-cn", "URI:spiffe://prod/svc-a,DNS:svc-a.internal,email:a@example.com");
  AuthOutcome out = MtlsOutcome(all.get(), config);
  ASSERT_TRUE(out.allowed) << out.detail;
  EXPECT_EQ(out.identity.subject, "spiffe://prod/svc-a");
  EXPECT_EQ(out.identity.auth_method, "mtls");
  EXPECT_EQ(out.identity.issuer, "CN=Test CA,O=example");
  EXPECT_EQ(out.identity.credential_id, Sha256HexOfDer(all.get()));
  EXPECT_EQ(out.identity.credential_id.size(), 64u);

  EXPECT_EQ(MtlsOutcome(MakeCert("cn", "DNS:svc-b.internal,email:b@example.com").get(), config).identity.subject,
            "svc-b.internal");
  EXPECT_EQ(MtlsOutcome(MakeCert("cn", "email:c@example.com").get(), config).identity.subject,
            "c@example.com");
  EXPECT_EQ(MtlsOutcome(MakeCert("only-cn", "").get(), config).identity.subject, "only-cn");
}

TEST(MtlsTest, ThumbprintIsTheFingerprintInBase64Url) {
  auto cert = MakeCert("thumb", "DNS:thumb.internal");
  std::string hex = CertificateFingerprint(cert.get());
  ASSERT_EQ(hex, Sha256HexOfDer(cert.get()));
  std::string raw;
  for (size_t i = 0; i < hex.size(); i += 2)
    raw.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  std::string x5t = CertificateThumbprint(cert.get());
  EXPECT_EQ(x5t.size(), 43u);  // RFC 8705 x5t#S256: base64url, no padding
  EXPECT_EQ(x5t, Base64UrlEncode(raw));
  EXPECT_EQ(x5t.find_first_of("+/="), std::string::npos);
}

TEST(MtlsTest, ConfiguredOrderIsFollowed) {
  MtlsAuthConfig config;
  config.subject_from = {"cn", "uri"};
  auto cert = MakeCert("the-cn", "URI:spiffe://prod/svc-a");
  EXPECT_EQ(MtlsOutcome(cert.get(), config).identity.subject, "the-cn");
  config.subject_from = {"email"};
  AuthOutcome out = MtlsOutcome(cert.get(), config);
  EXPECT_FALSE(out.allowed);
  EXPECT_EQ(out.deny_reason, "invalid_client_certificate");
  // Whatever could be established is kept for the record.
  EXPECT_EQ(out.identity.auth_method, "mtls");
  EXPECT_EQ(out.identity.credential_id, Sha256HexOfDer(cert.get()));
}

void ExpectDenied(const AuthOutcome& out) {
  EXPECT_FALSE(out.allowed) << out.identity.subject;
  EXPECT_EQ(out.deny_reason, "invalid_client_certificate");
  EXPECT_EQ(out.identity.subject, "");
}

// Cutting or replacing bytes would give distinct certificates one identity; such values are
// not used at all.
TEST(MtlsTest, NonPrintableOrLongValuesAreNotUsed) {
  MtlsAuthConfig config;
  config.subject_from = {"cn"};
  ExpectDenied(MtlsOutcome(MakeCert("caf\xc3\xa9\x01", "").get(), config));  // é, a control char
  ExpectDenied(MtlsOutcome(MakeCert("Zo\xc3\xab", "").get(), config));       // "Zoë"
  ExpectDenied(MtlsOutcome(MakeCert("Zo\xc3\xa9", "").get(), config));       // "Zoé"
  ExpectDenied(MtlsOutcome(MakeCert("tab\there", "").get(), config));

  config.subject_from = {"uri"};
  const std::string prefix = "URI:https://example.com/" + std::string(400, 'a');
  ExpectDenied(MtlsOutcome(MakeCert("", prefix + "1").get(), config));
  ExpectDenied(MtlsOutcome(MakeCert("", prefix + "2").get(), config));
  // 256 bytes is the longest subject used.
  std::string uri256 = "https://example.com/" + std::string(236, 'b');
  ASSERT_EQ(uri256.size(), 256u);
  EXPECT_EQ(MtlsOutcome(MakeCert("", "URI:" + uri256).get(), config).identity.subject, uri256);
  ExpectDenied(MtlsOutcome(MakeCert("", "URI:" + uri256 + "b").get(), config));
}

TEST(MtlsTest, AnUnusableValueFallsToTheNextSource) {
  MtlsAuthConfig config;
  config.subject_from = {"uri", "cn"};
  auto cert = MakeCert("svc-a", "URI:https://example.com/" + std::string(400, 'a'));
  AuthOutcome out = MtlsOutcome(cert.get(), config);
  ASSERT_TRUE(out.allowed) << out.detail;
  EXPECT_EQ(out.identity.subject, "svc-a");
  config.subject_from = {"cn", "dns"};
  EXPECT_EQ(MtlsOutcome(MakeCert("Zo\xc3\xab", "DNS:zoe.internal").get(), config).identity.subject,
            "zoe.internal");
}

TEST(MtlsTest, SeveralCnsAreRefusedWhenCnIsTheSource) {
  MtlsAuthConfig config;
  config.subject_from = {"cn"};
  auto two = MakeCert("svc-a", "", "admin");
  AuthOutcome out = MtlsOutcome(two.get(), config);
  ExpectDenied(out);
  EXPECT_NE(out.detail.find("more than one CN"), std::string::npos) << out.detail;
  EXPECT_EQ(out.identity.credential_id, Sha256HexOfDer(two.get()));  // still recorded
  // Refused, not passed over: a later source does not make the ambiguous certificate usable.
  config.subject_from = {"cn", "uri"};
  ExpectDenied(MtlsOutcome(MakeCert("svc-a", "URI:spiffe://prod/svc-a", "admin").get(), config));
  // A source before `cn` that gives a subject decides; the CNs are never looked at.
  config.subject_from = {"uri", "cn"};
  EXPECT_EQ(MtlsOutcome(MakeCert("svc-a", "URI:spiffe://prod/svc-a", "admin").get(), config)
                .identity.subject,
            "spiffe://prod/svc-a");
}

}  // namespace
}  // namespace apitrail
