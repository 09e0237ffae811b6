#include "auth/jwk.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include <boost/json.hpp>
#include <cstring>

#include "auth/openssl_ptr.h"
#include "core/crypto_util.h"

namespace apitrail {
namespace json = boost::json;

namespace {

// Decides RS256 vs ES256 from the key itself and enforces our minimums.
Result<VerificationKey> PinPublicKey(std::shared_ptr<EVP_PKEY> pkey) {
  VerificationKey key;
  if (EVP_PKEY_is_a(pkey.get(), "RSA")) {
    if (EVP_PKEY_get_bits(pkey.get()) < kMinRsaBits) {
      return Status::InvalidArgument("RSA key is shorter than 2048 bits");
    }
    key.alg = JwsAlg::kRs256;
  } else if (EVP_PKEY_is_a(pkey.get(), "EC")) {
    char group[64] = {};
    size_t len = 0;
    if (EVP_PKEY_get_group_name(pkey.get(), group, sizeof(group), &len) != 1 ||
        (std::strcmp(group, "prime256v1") != 0 && std::strcmp(group, "P-256") != 0)) {
      return Status::InvalidArgument("EC key is not on curve P-256 (only ES256 is supported)");
    }
    key.alg = JwsAlg::kEs256;
  } else {
    return Status::InvalidArgument("unsupported key type (expected RSA or EC P-256)");
  }
  key.pkey = std::move(pkey);
  return key;
}

Result<std::string> B64Field(const json::object& o, std::string_view name) {
  const json::value* v = o.if_contains(name);
  if (v == nullptr || !v->is_string()) {
    return Status::InvalidArgument("missing or non-string \"" + std::string(name) + "\"");
  }
  auto raw = Base64UrlDecode(v->get_string());
  if (!raw.ok()) return Status::InvalidArgument("\"" + std::string(name) + "\" is not base64url");
  return raw;
}

Result<std::shared_ptr<EVP_PKEY>> FromData(const char* type, OSSL_PARAM_BLD* bld) {
  ossl::ParamPtr params(OSSL_PARAM_BLD_to_param(bld));
  ossl::PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    ERR_clear_error();
    return Status::InvalidArgument(std::string("invalid ") + type + " public key");
  }
  auto pkey = ossl::SharePkey(raw);
  // Import does not always validate; an off-curve EC point enables invalid-curve attacks.
  ossl::PkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1) {
    ERR_clear_error();
    return Status::InvalidArgument(std::string("invalid ") + type + " public key");
  }
  return pkey;
}

Result<std::shared_ptr<EVP_PKEY>> RsaFromJwk(const json::object& o) {
  APITRAIL_ASSIGN_OR_RETURN(std::string n, B64Field(o, "n"));
  APITRAIL_ASSIGN_OR_RETURN(std::string e, B64Field(o, "e"));
  if (n.empty() || e.empty()) return Status::InvalidArgument("empty \"n\" or \"e\"");
  ossl::BignumPtr bn_n(BN_bin2bn(reinterpret_cast<const unsigned char*>(n.data()),
                                 static_cast<int>(n.size()), nullptr));
  ossl::BignumPtr bn_e(BN_bin2bn(reinterpret_cast<const unsigned char*>(e.data()),
                                 static_cast<int>(e.size()), nullptr));
  ossl::ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bn_n || !bn_e || !bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) != 1) {
    return Status::InvalidArgument("invalid RSA key");
  }
  return FromData("RSA", bld.get());
}

Result<std::shared_ptr<EVP_PKEY>> EcFromJwk(const json::object& o) {
  APITRAIL_ASSIGN_OR_RETURN(std::string x, B64Field(o, "x"));
  APITRAIL_ASSIGN_OR_RETURN(std::string y, B64Field(o, "y"));
  if (x.size() != 32 || y.size() != 32) {
    return Status::InvalidArgument("P-256 \"x\" and \"y\" must be 32 bytes each");
  }
  std::string point = "\x04" + x + y;  // uncompressed SEC1 point
  ossl::ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) != 1) {
    return Status::InvalidArgument("invalid EC key");
  }
  return FromData("EC", bld.get());
}

// One JWK: a key, nullopt if unsupported (skipped), or an error if malformed.
Result<std::optional<VerificationKey>> ParseJwk(const json::value& v) {
  using Skip = std::optional<VerificationKey>;
  if (!v.is_object()) return Status::InvalidArgument("must be an object");
  const json::object& o = v.get_object();
  const json::value* kty = o.if_contains("kty");
  if (kty == nullptr || !kty->is_string()) return Status::InvalidArgument("missing \"kty\"");
  if (const json::value* use = o.if_contains("use"); use && (!use->is_string() || use->get_string() != "sig")) {
    return Skip();  // an encryption key published in the same set
  }
  std::string kid;
  if (const json::value* k = o.if_contains("kid")) {
    if (!k->is_string()) return Status::InvalidArgument("\"kid\" must be a string");
    kid = std::string(k->get_string());
  }
  std::optional<std::string> alg;
  if (const json::value* a = o.if_contains("alg")) {
    if (!a->is_string()) return Status::InvalidArgument("\"alg\" must be a string");
    alg = std::string(a->get_string());
  }
  auto alg_is = [&](const char* want) { return !alg || *alg == want; };

  VerificationKey key;
  std::string_view type = kty->get_string();
  if (type == "RSA") {
    if (!alg_is("RS256")) return Skip();  // PS256, RS384, ...: not supported
    APITRAIL_ASSIGN_OR_RETURN(auto pkey, RsaFromJwk(o));
    APITRAIL_ASSIGN_OR_RETURN(key, PinPublicKey(std::move(pkey)));
  } else if (type == "EC") {
    const json::value* crv = o.if_contains("crv");
    if (crv == nullptr || !crv->is_string()) return Status::InvalidArgument("missing \"crv\"");
    if (crv->get_string() != "P-256" || !alg_is("ES256")) return Skip();
    APITRAIL_ASSIGN_OR_RETURN(auto pkey, EcFromJwk(o));
    APITRAIL_ASSIGN_OR_RETURN(key, PinPublicKey(std::move(pkey)));
  } else if (type == "oct") {
    if (!alg_is("HS256")) return Skip();
    APITRAIL_ASSIGN_OR_RETURN(std::string k, B64Field(o, "k"));
    APITRAIL_ASSIGN_OR_RETURN(key, KeyFromSecret(std::move(k)));
  } else {
    return Skip();
  }
  key.kid = std::move(kid);
  return std::optional<VerificationKey>(std::move(key));
}

}  // namespace

std::optional<JwsAlg> ParseJwsAlg(std::string_view name) {
  if (name == "HS256") return JwsAlg::kHs256;
  if (name == "RS256") return JwsAlg::kRs256;
  if (name == "ES256") return JwsAlg::kEs256;
  return std::nullopt;
}

const char* JwsAlgName(JwsAlg alg) {
  switch (alg) {
    case JwsAlg::kHs256: return "HS256";
    case JwsAlg::kRs256: return "RS256";
    case JwsAlg::kEs256: return "ES256";
  }
  return "?";
}

Result<VerificationKey> KeyFromPem(std::string_view pem) {
  ossl::BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return Status::ResourceExhausted("out of memory");
  EVP_PKEY* raw = PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
  if (raw == nullptr) {
    // Also accept a certificate: its public key is what the issuer signs with.
    ERR_clear_error();
    ossl::BioPtr bio2(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    ossl::X509Ptr cert(bio2 ? PEM_read_bio_X509(bio2.get(), nullptr, nullptr, nullptr) : nullptr);
    if (cert) raw = X509_get_pubkey(cert.get());
    ERR_clear_error();
  }
  if (raw == nullptr) {
    return Status::InvalidArgument("not a PEM public key (-----BEGIN PUBLIC KEY-----) or certificate");
  }
  return PinPublicKey(ossl::SharePkey(raw));
}

Result<VerificationKey> KeyFromSecret(std::string secret) {
  if (secret.size() < kMinHmacSecretBytes) {
    return Status::InvalidArgument("HS256 secret must be at least 32 bytes");
  }
  VerificationKey key;
  key.alg = JwsAlg::kHs256;
  key.secret = std::move(secret);
  return key;
}

Result<std::vector<VerificationKey>> ParseJwks(std::string_view text) {
  std::error_code ec;
  json::value root = json::parse(text, ec);
  if (ec) return Status::InvalidArgument("JWKS is not valid JSON: " + ec.message());
  const json::value* keys = root.is_object() ? root.get_object().if_contains("keys") : nullptr;
  if (keys == nullptr || !keys->is_array()) {
    return Status::InvalidArgument("JWKS must be an object with a \"keys\" array");
  }
  std::vector<VerificationKey> out;
  const json::array& arr = keys->get_array();
  for (size_t i = 0; i < arr.size(); ++i) {
    auto k = ParseJwk(arr[i]);
    if (!k.ok()) {
      return Status::InvalidArgument("keys[" + std::to_string(i) + "]: " + k.status().message());
    }
    if (k->has_value()) out.push_back(std::move(**k));
  }
  if (out.empty()) return Status::InvalidArgument("JWKS has no usable RS256, ES256 or HS256 key");
  return out;
}

}  // namespace apitrail
