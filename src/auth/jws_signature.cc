#include "auth/jws_signature.h"

#include <openssl/err.h>
#include <openssl/rsa.h>

#include "auth/openssl_ptr.h"
#include "core/crypto_util.h"

namespace apitrail {
namespace {

const char* DigestName(JwsAlg alg) {
  switch (alg) {
    case JwsAlg::kHs256:
    case JwsAlg::kRs256:
    case JwsAlg::kPs256:
    case JwsAlg::kEs256:
      return "SHA256";
    case JwsAlg::kHs384:
    case JwsAlg::kRs384:
    case JwsAlg::kPs384:
    case JwsAlg::kEs384:
      return "SHA384";
    case JwsAlg::kHs512:
    case JwsAlg::kRs512:
    case JwsAlg::kPs512:
    case JwsAlg::kEs512:
      return "SHA512";
    case JwsAlg::kEdDsa:
      return nullptr;  // Ed25519 hashes internally (PureEdDSA)
  }
  return nullptr;
}

int DigestBytes(JwsAlg alg) {
  const char* d = DigestName(alg);
  if (d == nullptr) return 0;
  return d[3] == '2' ? 32 : d[3] == '3' ? 48 : 64;
}

bool IsPss(JwsAlg alg) {
  return alg == JwsAlg::kPs256 || alg == JwsAlg::kPs384 || alg == JwsAlg::kPs512;
}

size_t EcCoordBytes(KeyFamily f) {
  switch (f) {
    case KeyFamily::kEcP256:
      return 32;
    case KeyFamily::kEcP384:
      return 48;
    case KeyFamily::kEcP521:
      return 66;
    default:
      return 0;
  }
}

bool VerifyHmac(const VerificationKey& key, JwsAlg alg, std::string_view input,
                std::string_view sig) {
  size_t want = static_cast<size_t>(DigestBytes(alg));
  if (sig.size() != want || key.secret.empty()) return false;
  unsigned char mac[EVP_MAX_MD_SIZE];
  size_t mac_len = 0;
  if (EVP_Q_mac(nullptr, "HMAC", nullptr, DigestName(alg), nullptr, key.secret.data(),
                key.secret.size(), reinterpret_cast<const unsigned char*>(input.data()),
                input.size(), mac, sizeof(mac), &mac_len) == nullptr ||
      mac_len != want) {
    ERR_clear_error();
    return false;
  }
  // Constant time: a timing oracle on the MAC would let an attacker forge it byte by byte.
  return ConstantTimeEquals(std::string_view(reinterpret_cast<const char*>(mac), mac_len), sig);
}

// `digest` null for Ed25519. `pss`: RSASSA-PSS with MGF1(digest) and salt = digest length
// (RFC 7518 §3.5).
bool VerifyDigest(EVP_PKEY* pkey, const char* digest, bool pss, std::string_view input,
                  std::string_view sig) {
  ossl::MdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
  bool ok = ctx &&
            EVP_DigestVerifyInit_ex(ctx.get(), &pctx, digest, nullptr, nullptr, pkey, nullptr) == 1;
  if (ok && pss) {
    ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
         EVP_PKEY_CTX_set_rsa_mgf1_md_name(pctx, digest, nullptr) == 1 &&
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1;
  }
  ok = ok &&
       EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                        reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
  ERR_clear_error();  // failures leave entries in the thread's error queue
  return ok;
}

}  // namespace

std::string EcdsaRawToDer(std::string_view raw, size_t coord_bytes) {
  if (coord_bytes == 0 || raw.size() != 2 * coord_bytes) return {};
  const auto* p = reinterpret_cast<const unsigned char*>(raw.data());
  ossl::EcdsaSigPtr sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(p, static_cast<int>(coord_bytes), nullptr);
  BIGNUM* s = BN_bin2bn(p + coord_bytes, static_cast<int>(coord_bytes), nullptr);
  if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return {};
  }
  int len = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (len <= 0) return {};
  std::string der(static_cast<size_t>(len), '\0');
  auto* out = reinterpret_cast<unsigned char*>(der.data());
  if (i2d_ECDSA_SIG(sig.get(), &out) != len) return {};
  return der;
}

bool VerifyJwsSignature(const VerificationKey& key, JwsAlg alg, std::string_view signing_input,
                        std::string_view signature) {
  // The key decides the algorithm, never the token.
  if (!key.Allows(alg) || FamilyOf(alg) != key.family) return false;
  switch (key.family) {
    case KeyFamily::kHmac:
      return VerifyHmac(key, alg, signing_input, signature);
    case KeyFamily::kRsa:
      if (!key.pkey || !EVP_PKEY_is_a(key.pkey.get(), "RSA")) return false;
      if (signature.size() != static_cast<size_t>(EVP_PKEY_get_size(key.pkey.get()))) return false;
      return VerifyDigest(key.pkey.get(), DigestName(alg), IsPss(alg), signing_input, signature);
    case KeyFamily::kEcP256:
    case KeyFamily::kEcP384:
    case KeyFamily::kEcP521: {
      if (!key.pkey || !EVP_PKEY_is_a(key.pkey.get(), "EC")) return false;
      // Rejects anything but exactly 2 * coord bytes (DER, truncated, padded).
      std::string der = EcdsaRawToDer(signature, EcCoordBytes(key.family));
      if (der.empty()) return false;
      return VerifyDigest(key.pkey.get(), DigestName(alg), false, signing_input, der);
    }
    case KeyFamily::kEd25519:
      if (!key.pkey || !EVP_PKEY_is_a(key.pkey.get(), "ED25519") || signature.size() != 64) {
        return false;
      }
      return VerifyDigest(key.pkey.get(), nullptr, false, signing_input, signature);
  }
  return false;
}

}  // namespace apitrail
