#include "auth/jws_signature.h"

#include <openssl/err.h>

#include "auth/openssl_ptr.h"
#include "core/crypto_util.h"

namespace apitrail {
namespace {

constexpr size_t kEs256CoordBytes = 32;

bool VerifyHs256(const VerificationKey& key, std::string_view input, std::string_view sig) {
  if (sig.size() != 32) return false;
  unsigned char mac[EVP_MAX_MD_SIZE];
  size_t mac_len = 0;
  if (EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, key.secret.data(), key.secret.size(),
                reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac,
                sizeof(mac), &mac_len) == nullptr ||
      mac_len != 32) {
    ERR_clear_error();
    return false;
  }
  // Constant time: a timing oracle on the MAC would let an attacker forge it byte by byte.
  return ConstantTimeEquals(std::string_view(reinterpret_cast<const char*>(mac), mac_len), sig);
}

bool VerifyDigestSha256(EVP_PKEY* pkey, std::string_view input, std::string_view der_sig) {
  ossl::MdCtxPtr ctx(EVP_MD_CTX_new());
  bool ok = ctx &&
            EVP_DigestVerifyInit_ex(ctx.get(), nullptr, "SHA256", nullptr, nullptr, pkey,
                                    nullptr) == 1 &&
            EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(der_sig.data()),
                             der_sig.size(), reinterpret_cast<const unsigned char*>(input.data()),
                             input.size()) == 1;
  ERR_clear_error();  // failures leave entries in the thread's error queue
  return ok;
}

}  // namespace

std::string EcdsaRawToDer(std::string_view raw) {
  if (raw.size() != 2 * kEs256CoordBytes) return {};
  const auto* p = reinterpret_cast<const unsigned char*>(raw.data());
  ossl::EcdsaSigPtr sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(p, kEs256CoordBytes, nullptr);
  BIGNUM* s = BN_bin2bn(p + kEs256CoordBytes, kEs256CoordBytes, nullptr);
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
  if (key.alg != alg) return false;  // the key decides the algorithm, never the token
  switch (alg) {
    case JwsAlg::kHs256:
      return !key.secret.empty() && VerifyHs256(key, signing_input, signature);
    case JwsAlg::kRs256:
      if (!key.pkey || !EVP_PKEY_is_a(key.pkey.get(), "RSA")) return false;
      if (signature.size() != static_cast<size_t>(EVP_PKEY_get_size(key.pkey.get()))) return false;
      return VerifyDigestSha256(key.pkey.get(), signing_input, signature);
    case JwsAlg::kEs256: {
      if (!key.pkey || !EVP_PKEY_is_a(key.pkey.get(), "EC")) return false;
      std::string der = EcdsaRawToDer(signature);  // rejects anything but 64 bytes
      if (der.empty()) return false;
      return VerifyDigestSha256(key.pkey.get(), signing_input, der);
    }
  }
  return false;
}

}  // namespace apitrail
