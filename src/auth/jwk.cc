#include "auth/jwk.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include <boost/json.hpp>

#include <algorithm>
#include <cstring>

#include "auth/openssl_ptr.h"
#include "core/crypto_util.h"

namespace apitrail {
namespace json = boost::json;

namespace {

struct AlgInfo {
  JwsAlg alg;
  const char* name;
  KeyFamily family;
};
constexpr AlgInfo kAlgs[] = {
    {JwsAlg::kHs256, "HS256", KeyFamily::kHmac},    {JwsAlg::kHs384, "HS384", KeyFamily::kHmac},
    {JwsAlg::kHs512, "HS512", KeyFamily::kHmac},    {JwsAlg::kRs256, "RS256", KeyFamily::kRsa},
    {JwsAlg::kRs384, "RS384", KeyFamily::kRsa},     {JwsAlg::kRs512, "RS512", KeyFamily::kRsa},
    {JwsAlg::kPs256, "PS256", KeyFamily::kRsa},     {JwsAlg::kPs384, "PS384", KeyFamily::kRsa},
    {JwsAlg::kPs512, "PS512", KeyFamily::kRsa},     {JwsAlg::kEs256, "ES256", KeyFamily::kEcP256},
    {JwsAlg::kEs384, "ES384", KeyFamily::kEcP384},  {JwsAlg::kEs512, "ES512", KeyFamily::kEcP521},
    {JwsAlg::kEdDsa, "EdDSA", KeyFamily::kEd25519},
};

constexpr JwsAlgSet kRsDefault =
    AlgBit(JwsAlg::kRs256) | AlgBit(JwsAlg::kRs384) | AlgBit(JwsAlg::kRs512);

JwsAlgSet FamilyAlgs(KeyFamily f) {
  JwsAlgSet s = 0;
  for (const auto& a : kAlgs) {
    if (a.family == f) s |= AlgBit(a.alg);
  }
  return s;
}

// The algorithms a key of `family` may verify when nothing pinned it further.
JwsAlgSet DefaultAlgs(KeyFamily family) {
  return family == KeyFamily::kRsa ? kRsDefault : FamilyAlgs(family);
}

struct Curve {
  const char* jwk_crv;
  const char* group;  // OpenSSL group name
  const char* alias;  // the NIST name OpenSSL may report instead
  KeyFamily family;
  size_t coord_bytes;
};
constexpr Curve kCurves[] = {
    {"P-256", "prime256v1", "P-256", KeyFamily::kEcP256, 32},
    {"P-384", "secp384r1", "P-384", KeyFamily::kEcP384, 48},
    {"P-521", "secp521r1", "P-521", KeyFamily::kEcP521, 66},
};

// Decides the family from the key itself and enforces our minimums.
Result<VerificationKey> PinPublicKey(std::shared_ptr<EVP_PKEY> pkey) {
  VerificationKey key;
  if (EVP_PKEY_is_a(pkey.get(), "RSA")) {
    int bits = EVP_PKEY_get_bits(pkey.get());
    if (bits < kMinRsaBits) return Status::InvalidArgument("RSA key is shorter than 2048 bits");
    if (bits > kMaxRsaBits) return Status::InvalidArgument("RSA key is longer than 8192 bits");
    key.family = KeyFamily::kRsa;
  } else if (EVP_PKEY_is_a(pkey.get(), "EC")) {
    char group[64] = {};
    size_t len = 0;
    const Curve* curve = nullptr;
    if (EVP_PKEY_get_group_name(pkey.get(), group, sizeof(group), &len) == 1) {
      for (const auto& c : kCurves) {
        if (std::strcmp(group, c.group) == 0 || std::strcmp(group, c.alias) == 0) curve = &c;
      }
    }
    if (curve == nullptr) {
      return Status::InvalidArgument("EC key is not on curve P-256, P-384 or P-521");
    }
    key.family = curve->family;
  } else if (EVP_PKEY_is_a(pkey.get(), "ED25519")) {
    key.family = KeyFamily::kEd25519;
  } else {
    return Status::InvalidArgument(
        "unsupported key type (expected RSA, EC P-256/P-384/P-521 or Ed25519)");
  }
  // Neither a JWK import nor a PEM or certificate decode validates the key: an off-curve EC
  // point enables invalid-curve attacks, and an RSA exponent of 1 makes the padded digest its
  // own signature, so anyone could sign. Checked after the size limits, which bound its cost.
  ossl::PkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1) {
    ERR_clear_error();
    return Status::InvalidArgument(std::string("invalid ") + KeyFamilyName(key.family) +
                                   " public key");
  }
  key.algs = DefaultAlgs(key.family);
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
  return ossl::SharePkey(raw);  // validated by PinPublicKey
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
  if (!bn_n || !bn_e || !bld ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) != 1) {
    return Status::InvalidArgument("invalid RSA key");
  }
  return FromData("RSA", bld.get());
}

Result<std::shared_ptr<EVP_PKEY>> EcFromJwk(const json::object& o, const Curve& curve) {
  APITRAIL_ASSIGN_OR_RETURN(std::string x, B64Field(o, "x"));
  APITRAIL_ASSIGN_OR_RETURN(std::string y, B64Field(o, "y"));
  if (x.size() != curve.coord_bytes || y.size() != curve.coord_bytes) {
    return Status::InvalidArgument(std::string(curve.jwk_crv) + " \"x\" and \"y\" must be " +
                                   std::to_string(curve.coord_bytes) + " bytes each");
  }
  std::string point = "\x04" + x + y;  // uncompressed SEC1 point
  ossl::ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, curve.group, 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) != 1) {
    return Status::InvalidArgument("invalid EC key");
  }
  return FromData("EC", bld.get());
}

Result<std::shared_ptr<EVP_PKEY>> Ed25519FromJwk(const json::object& o) {
  APITRAIL_ASSIGN_OR_RETURN(std::string x, B64Field(o, "x"));
  if (x.size() != 32) return Status::InvalidArgument("Ed25519 \"x\" must be 32 bytes");
  ossl::ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld || OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, x.data(),
                                               x.size()) != 1) {
    return Status::InvalidArgument("invalid Ed25519 key");
  }
  return FromData("ED25519", bld.get());
}

// One JWK: a key, nullopt if unsupported (skipped), or an error if malformed.
Result<std::optional<VerificationKey>> ParseJwk(const json::value& v) {
  using Skip = std::optional<VerificationKey>;
  if (!v.is_object()) return Status::InvalidArgument("must be an object");
  const json::object& o = v.get_object();
  const json::value* kty = o.if_contains("kty");
  if (kty == nullptr || !kty->is_string()) return Status::InvalidArgument("missing \"kty\"");
  if (const json::value* use = o.if_contains("use");
      use && (!use->is_string() || use->get_string() != "sig")) {
    return Skip();  // an encryption key published in the same set
  }
  // RFC 7517 §4.3: key_ops says the same as `use`, per operation; a key that does not list
  // "verify" (an encryption or key-wrapping key) must not check signatures either.
  if (const json::value* ops = o.if_contains("key_ops")) {
    bool verify = false;
    if (ops->is_array()) {
      for (const auto& op : ops->get_array()) {
        verify = verify || (op.is_string() && op.get_string() == "verify");
      }
    }
    if (!verify) return Skip();
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
  // A known `alg` pins the key; an unknown one (RSA-OAEP, ES256K, …) is not for us.
  std::optional<JwsAlg> pinned;
  if (alg) {
    pinned = ParseJwsAlg(*alg);
    if (!pinned) return Skip();
  }

  VerificationKey key;
  std::string_view type = kty->get_string();
  if (type == "RSA") {
    APITRAIL_ASSIGN_OR_RETURN(auto pkey, RsaFromJwk(o));
    APITRAIL_ASSIGN_OR_RETURN(key, PinPublicKey(std::move(pkey)));
  } else if (type == "EC" || type == "OKP") {
    const json::value* crv = o.if_contains("crv");
    if (crv == nullptr || !crv->is_string()) return Status::InvalidArgument("missing \"crv\"");
    std::string_view crv_name = crv->get_string();
    if (type == "OKP") {
      if (crv_name != "Ed25519") return Skip();  // Ed448, X25519, …
      APITRAIL_ASSIGN_OR_RETURN(auto pkey, Ed25519FromJwk(o));
      APITRAIL_ASSIGN_OR_RETURN(key, PinPublicKey(std::move(pkey)));
    } else {
      const Curve* curve = nullptr;
      for (const auto& c : kCurves) {
        if (crv_name == c.jwk_crv) curve = &c;
      }
      if (curve == nullptr) return Skip();  // secp256k1, …
      APITRAIL_ASSIGN_OR_RETURN(auto pkey, EcFromJwk(o, *curve));
      APITRAIL_ASSIGN_OR_RETURN(key, PinPublicKey(std::move(pkey)));
    }
  } else if (type == "oct") {
    APITRAIL_ASSIGN_OR_RETURN(std::string k, B64Field(o, "k"));
    APITRAIL_ASSIGN_OR_RETURN(key, KeyFromSecret(std::move(k)));
  } else {
    return Skip();
  }
  if (pinned) {
    if (FamilyOf(*pinned) != key.family) {
      return Status::InvalidArgument(std::string("\"alg\" ") + JwsAlgName(*pinned) +
                                     " does not fit a " + KeyFamilyName(key.family) + " key");
    }
    if (key.family == KeyFamily::kHmac && key.secret.size() < MinHmacSecretBytes(*pinned)) {
      return Status::InvalidArgument(std::string("\"k\" is shorter than ") + JwsAlgName(*pinned) +
                                     " requires (" + std::to_string(MinHmacSecretBytes(*pinned)) +
                                     " bytes)");
    }
    key.algs = AlgBit(*pinned);
    key.alg_pinned = true;
  }
  key.kid = std::move(kid);
  return std::optional<VerificationKey>(std::move(key));
}

}  // namespace

std::optional<JwsAlg> ParseJwsAlg(std::string_view name) {
  for (const auto& a : kAlgs) {
    if (name == a.name) return a.alg;
  }
  return std::nullopt;
}

const char* JwsAlgName(JwsAlg alg) {
  for (const auto& a : kAlgs) {
    if (a.alg == alg) return a.name;
  }
  return "?";
}

const char* SupportedJwsAlgNames() {
  return "HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, "
         "EdDSA";
}

KeyFamily FamilyOf(JwsAlg alg) {
  for (const auto& a : kAlgs) {
    if (a.alg == alg) return a.family;
  }
  return KeyFamily::kHmac;
}

const char* KeyFamilyName(KeyFamily family) {
  switch (family) {
    case KeyFamily::kHmac:
      return "HMAC";
    case KeyFamily::kRsa:
      return "RSA";
    case KeyFamily::kEcP256:
      return "EC P-256";
    case KeyFamily::kEcP384:
      return "EC P-384";
    case KeyFamily::kEcP521:
      return "EC P-521";
    case KeyFamily::kEd25519:
      return "Ed25519";
  }
  return "?";
}

size_t MinHmacSecretBytes(JwsAlg alg) {
  switch (alg) {
    case JwsAlg::kHs256:
      return 32;
    case JwsAlg::kHs384:
      return 48;
    case JwsAlg::kHs512:
      return 64;
    default:
      return 0;
  }
}

bool RestrictToIssuer(VerificationKey* key, JwsAlgSet allowed, bool explicit_list) {
  JwsAlgSet algs = key->algs;
  if (key->family == KeyFamily::kRsa && !key->alg_pinned && explicit_list) {
    algs = FamilyAlgs(KeyFamily::kRsa);  // the issuer decides between RS* and PS*
  }
  key->algs = algs & allowed;
  return key->algs != 0;
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
    return Status::InvalidArgument(
        "not a PEM public key (-----BEGIN PUBLIC KEY-----) or certificate");
  }
  return PinPublicKey(ossl::SharePkey(raw));
}

Result<VerificationKey> KeyFromSecret(std::string secret) {
  if (secret.size() < kMinHmacSecretBytes) {
    return Status::InvalidArgument("HMAC secret must be at least 32 bytes");
  }
  VerificationKey key;
  key.family = KeyFamily::kHmac;
  for (JwsAlg a : {JwsAlg::kHs256, JwsAlg::kHs384, JwsAlg::kHs512}) {
    if (secret.size() >= MinHmacSecretBytes(a)) key.algs |= AlgBit(a);
  }
  key.secret = std::move(secret);
  return key;
}

Result<std::vector<VerificationKey>> ParseJwks(std::string_view text,
                                               std::vector<std::string>* skipped) {
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
      std::string what = "keys[" + std::to_string(i) + "]";
      const json::value* kid = arr[i].is_object() ? arr[i].get_object().if_contains("kid") : nullptr;
      const auto printable = [](std::string_view v) {
        return std::all_of(v.begin(), v.end(), [](char c) { return c > 0x20 && c < 0x7f; });
      };
      if (kid != nullptr && kid->is_string() && kid->get_string().size() <= 64 &&
          printable(kid->get_string())) {
        what += " (kid " + std::string(kid->get_string()) + ")";
      }
      what += ": " + k.status().message();
      if (skipped == nullptr) return Status::InvalidArgument(what);
      if (skipped->size() < 8) skipped->push_back(std::move(what));
      continue;
    }
    if (k->has_value()) out.push_back(std::move(**k));
  }
  if (out.empty()) {
    std::string why = "JWKS has no usable signature key (RSA, EC P-256/384/521, Ed25519, oct)";
    if (skipped != nullptr && !skipped->empty()) why += "; skipped " + skipped->front();
    return Status::InvalidArgument(why);
  }
  return out;
}

}  // namespace apitrail
