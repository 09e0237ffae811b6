// unique_ptr aliases that free OpenSSL objects, so every early return in the JWT code releases
// what it allocated. Header-only; no state.
#pragma once

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/params.h>
#include <openssl/x509.h>

#include <memory>

namespace apitrail::ossl {

template <auto Fn>
struct Deleter {
  template <typename T>
  void operator()(T* p) const { Fn(p); }
};

using BioPtr = std::unique_ptr<BIO, Deleter<BIO_free>>;
using BignumPtr = std::unique_ptr<BIGNUM, Deleter<BN_free>>;
using ParamBldPtr = std::unique_ptr<OSSL_PARAM_BLD, Deleter<OSSL_PARAM_BLD_free>>;
using ParamPtr = std::unique_ptr<OSSL_PARAM, Deleter<OSSL_PARAM_free>>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX_free>>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, Deleter<EVP_MD_CTX_free>>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, Deleter<ECDSA_SIG_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509_free>>;

inline std::shared_ptr<EVP_PKEY> SharePkey(EVP_PKEY* p) {
  return std::shared_ptr<EVP_PKEY>(p, EVP_PKEY_free);
}

}  // namespace apitrail::ossl
