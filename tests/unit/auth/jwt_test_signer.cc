#include "unit/auth/jwt_test_signer.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <cstdlib>
#include <stdexcept>

#include "core/crypto_util.h"

namespace apitrail::testing {
namespace {

void Check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("test signer: ") + what);
}

std::string BnBytes(EVP_PKEY* key, const char* name, int pad = 0) {
  BIGNUM* bn = nullptr;
  Check(EVP_PKEY_get_bn_param(key, name, &bn) == 1, name);
  std::string out(pad > 0 ? static_cast<size_t>(pad) : static_cast<size_t>(BN_num_bytes(bn)), '\0');
  auto* p = reinterpret_cast<unsigned char*>(out.data());
  if (pad > 0) {
    BN_bn2binpad(bn, p, pad);
  } else {
    BN_bn2bin(bn, p);
  }
  BN_free(bn);
  return out;
}

std::string WithKidAlg(std::string json, std::string_view kid, std::string_view alg) {
  json.pop_back();  // '}'
  if (!kid.empty()) json += ",\"kid\":\"" + std::string(kid) + "\"";
  if (!alg.empty()) json += ",\"alg\":\"" + std::string(alg) + "\"";
  return json + "}";
}

}  // namespace

PkeyPtr GenerateRsa2048() {
  EVP_PKEY* k = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048));
  Check(k != nullptr, "RSA keygen");
  return PkeyPtr(k, EVP_PKEY_free);
}

PkeyPtr GenerateP256() {
  EVP_PKEY* k = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  Check(k != nullptr, "EC keygen");
  return PkeyPtr(k, EVP_PKEY_free);
}

PkeyPtr GenerateEc(const char* curve) {
  EVP_PKEY* k = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve);
  Check(k != nullptr, "EC keygen");
  return PkeyPtr(k, EVP_PKEY_free);
}

PkeyPtr GenerateEd25519() {
  EVP_PKEY* k = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  Check(k != nullptr, "Ed25519 keygen");
  return PkeyPtr(k, EVP_PKEY_free);
}

std::string PublicKeyPem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  Check(PEM_write_bio_PUBKEY(bio, key) == 1, "PEM write");
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(n));
  BIO_free(bio);
  return out;
}

std::string PublicJwk(EVP_PKEY* key, std::string_view kid, std::string_view alg) {
  std::string json;
  if (EVP_PKEY_is_a(key, "RSA")) {
    json = "{\"kty\":\"RSA\",\"n\":\"" + Base64UrlEncode(BnBytes(key, OSSL_PKEY_PARAM_RSA_N)) +
           "\",\"e\":\"" + Base64UrlEncode(BnBytes(key, OSSL_PKEY_PARAM_RSA_E)) + "\"}";
  } else if (EVP_PKEY_is_a(key, "ED25519")) {
    unsigned char raw[32];
    size_t len = sizeof(raw);
    Check(EVP_PKEY_get_raw_public_key(key, raw, &len) == 1, "Ed25519 raw");
    json = "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" +
           Base64UrlEncode(std::string_view(reinterpret_cast<char*>(raw), len)) + "\"}";
  } else {
    int bits = EVP_PKEY_get_bits(key);
    int n = (bits + 7) / 8;
    const char* crv = bits == 256 ? "P-256" : bits == 384 ? "P-384" : "P-521";
    json = "{\"kty\":\"EC\",\"crv\":\"" + std::string(crv) + "\",\"x\":\"" +
           Base64UrlEncode(BnBytes(key, OSSL_PKEY_PARAM_EC_PUB_X, n)) + "\",\"y\":\"" +
           Base64UrlEncode(BnBytes(key, OSSL_PKEY_PARAM_EC_PUB_Y, n)) + "\"}";
  }
  return WithKidAlg(json, kid, alg);
}

std::string SecretJwk(std::string_view secret, std::string_view kid, std::string_view alg) {
  return WithKidAlg("{\"kty\":\"oct\",\"k\":\"" + Base64UrlEncode(secret) + "\"}", kid, alg);
}

std::string SigningInput(std::string_view header_json, std::string_view payload_json) {
  return Base64UrlEncode(header_json) + "." + Base64UrlEncode(payload_json);
}

std::string SignJws(std::string_view alg, std::string_view data, EVP_PKEY* key,
                    std::string_view secret) {
  std::string a(alg);
  const char* md = a.ends_with("256") ? "SHA256" : a.ends_with("384") ? "SHA384" : "SHA512";
  const auto* in = reinterpret_cast<const unsigned char*>(data.data());
  if (a.starts_with("HS")) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    size_t len = 0;
    Check(EVP_Q_mac(nullptr, "HMAC", nullptr, md, nullptr, secret.data(), secret.size(), in,
                    data.size(), mac, sizeof(mac), &len) != nullptr,
          "HMAC");
    return std::string(reinterpret_cast<char*>(mac), len);
  }
  bool ed = a == "EdDSA";
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_PKEY_CTX* pctx = nullptr;
  Check(EVP_DigestSignInit_ex(ctx, &pctx, ed ? nullptr : md, nullptr, nullptr, key, nullptr) == 1,
        "sign init");
  if (a.starts_with("PS")) {
    Check(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
              EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1,
          "PSS");
  }
  size_t len = 0;
  Check(EVP_DigestSign(ctx, nullptr, &len, in, data.size()) == 1, "sign size");
  std::string sig(len, '\0');
  Check(
      EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len, in, data.size()) == 1,
      "sign");
  sig.resize(len);
  EVP_MD_CTX_free(ctx);
  if (!a.starts_with("ES")) return sig;
  int n = (EVP_PKEY_get_bits(key) + 7) / 8;
  const auto* p = reinterpret_cast<const unsigned char*>(sig.data());
  ECDSA_SIG* es = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size()));
  Check(es != nullptr, "DER decode");
  std::string raw(2 * static_cast<size_t>(n), '\0');
  BN_bn2binpad(ECDSA_SIG_get0_r(es), reinterpret_cast<unsigned char*>(raw.data()), n);
  BN_bn2binpad(ECDSA_SIG_get0_s(es), reinterpret_cast<unsigned char*>(raw.data()) + n, n);
  ECDSA_SIG_free(es);
  return raw;
}

std::string MakeJws(std::string_view header_json, std::string_view payload_json,
                    std::string_view alg, EVP_PKEY* key, std::string_view secret) {
  std::string input = SigningInput(header_json, payload_json);
  return input + "." + Base64UrlEncode(SignJws(alg, input, key, secret));
}

std::string MakeHs256(std::string_view header_json, std::string_view payload_json,
                      std::string_view secret) {
  return MakeJws(header_json, payload_json, "HS256", nullptr, secret);
}

std::string MakeSigned(std::string_view header_json, std::string_view payload_json, EVP_PKEY* key) {
  return MakeJws(header_json, payload_json, EVP_PKEY_is_a(key, "EC") ? "ES256" : "RS256", key, "");
}

}  // namespace apitrail::testing
