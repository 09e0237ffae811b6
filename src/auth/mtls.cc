// mTLS identities (mtls.h): field extraction with OpenSSL's own X509 accessors.
#include "auth/mtls.h"

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <string>

#include "auth/openssl_ptr.h"
#include "core/crypto_util.h"

namespace apitrail {
namespace {

// A subject must be at most this long and printable ASCII. A value that is not is not used
// at all (the next subject_from source is tried): cutting or replacing bytes would give two
// different certificates one identity (two URIs sharing their first 256 bytes; "Zoë" and
// "Zoé").
constexpr size_t kMaxField = 256;

bool IsPrintableAscii(const unsigned char* data, size_t len) {
  for (size_t i = 0; i < len; ++i) {
    if (data[i] < 0x20 || data[i] >= 0x7f) return false;
  }
  return true;
}

// "" when the value is empty, too long or not printable ASCII.
std::string Usable(const unsigned char* data, size_t len) {
  if (len == 0 || len > kMaxField || !IsPrintableAscii(data, len)) return "";
  return std::string(reinterpret_cast<const char*>(data), len);
}

// The issuer DN is only recorded, never an identity on its own (credential_id, the
// fingerprint, is what tells certificates apart): cut and cleaned rather than dropped.
std::string CleanForRecord(const unsigned char* data, size_t len) {
  std::string out;
  len = std::min(len, kMaxField);
  out.reserve(len);
  for (size_t i = 0; i < len; ++i) {
    unsigned char c = data[i];
    out.push_back(c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '?');
  }
  return out;
}

// The first SAN entry of `type`, or "" when there is none or it is not usable.
std::string FromSan(X509* cert, int type) {
  auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) return "";
  std::string out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* n = sk_GENERAL_NAME_value(names, i);
    if (n->type != type) continue;
    const ASN1_IA5STRING* s = n->d.ia5;  // uniformResourceIdentifier, dNSName, rfc822Name
    out = Usable(ASN1_STRING_get0_data(s), static_cast<size_t>(ASN1_STRING_length(s)));
    break;
  }
  GENERAL_NAMES_free(names);
  return out;
}

// The subject's CN, or "" when there is none or it is not usable. *several is set when the
// subject has more than one CN: which of them names the client is then anyone's guess.
std::string FromCn(X509* cert, bool* several) {
  X509_NAME* name = X509_get_subject_name(cert);
  int idx = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (idx < 0) return "";
  if (X509_NAME_get_index_by_NID(name, NID_commonName, idx) >= 0) {
    *several = true;
    return "";
  }
  ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
  unsigned char* utf8 = nullptr;
  int len = ASN1_STRING_to_UTF8(&utf8, data);
  if (len < 0) return "";
  std::string out = Usable(utf8, static_cast<size_t>(len));
  OPENSSL_free(utf8);
  return out;
}

std::string IssuerDn(X509* cert) {
  ossl::BioPtr bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(bio.get(), X509_get_issuer_name(cert), 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return len > 0 ? CleanForRecord(reinterpret_cast<unsigned char*>(data), static_cast<size_t>(len))
                 : "";
}

// SHA-256 over the DER certificate; empty if OpenSSL cannot encode it.
std::string CertificateSha256(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (X509_digest(cert, EVP_sha256(), md, &len) != 1) return "";
  return std::string(reinterpret_cast<const char*>(md), len);
}

}  // namespace

std::string CertificateFingerprint(X509* cert) {
  std::string md = CertificateSha256(cert);
  return HexEncode(md.data(), md.size());
}

std::string CertificateThumbprint(X509* cert) {
  std::string md = CertificateSha256(cert);
  return md.empty() ? "" : Base64UrlEncode(md);
}

AuthOutcome MtlsOutcome(X509* cert, const MtlsAuthConfig& config) {
  AuthOutcome out;
  out.identity.auth_method = "mtls";
  out.identity.credential_id = CertificateFingerprint(cert);
  out.identity.issuer = IssuerDn(cert);
  for (const std::string& from : config.subject_from) {
    bool several_cns = false;
    if (from == "uri") out.identity.subject = FromSan(cert, GEN_URI);
    else if (from == "dns") out.identity.subject = FromSan(cert, GEN_DNS);
    else if (from == "email") out.identity.subject = FromSan(cert, GEN_EMAIL);
    else if (from == "cn") out.identity.subject = FromCn(cert, &several_cns);
    if (several_cns) {
      out.deny_reason = "invalid_client_certificate";
      out.detail = "the client certificate has more than one CN (auth.mtls.subject_from: cn)";
      return out;
    }
    if (!out.identity.subject.empty()) break;
  }
  if (out.identity.subject.empty()) {
    out.deny_reason = "invalid_client_certificate";
    out.detail = "the client certificate names no usable subject (auth.mtls.subject_from: at "
                 "most 256 printable ASCII characters)";
    return out;
  }
  out.allowed = true;
  return out;
}

}  // namespace apitrail
