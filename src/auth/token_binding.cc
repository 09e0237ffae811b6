#include "auth/token_binding.h"

#include "core/crypto_util.h"

namespace apitrail {

namespace json = boost::json;

namespace {

// base64url without padding of a SHA-256: 43 characters decoding to 32 bytes.
bool IsSha256Thumbprint(std::string_view s) {
  auto raw = Base64UrlDecode(s);
  return raw.ok() && raw->size() == 32;
}

}  // namespace

bool ReadTokenBinding(const json::object& claims, std::string* certificate_thumbprint,
                      std::string* why) {
  certificate_thumbprint->clear();
  const json::value* cnf = claims.if_contains("cnf");
  if (cnf == nullptr) return true;
  if (!cnf->is_object()) {
    *why = "the token's confirmation (cnf) is not an object";
    return false;
  }
  const json::object& o = cnf->get_object();
  if (o.size() == 1) {
    if (const json::value* x5t = o.if_contains("x5t#S256"); x5t != nullptr) {
      if (x5t->is_string() && IsSha256Thumbprint(x5t->get_string())) {
        *certificate_thumbprint = std::string(x5t->get_string());
        return true;
      }
      *why = "the token's certificate thumbprint (cnf x5t#S256) is malformed";
      return false;
    }
  }
  if (o.empty()) {
    *why = "the token has an empty confirmation (cnf)";
  } else if (o.contains("jkt")) {
    *why =
        "the token is DPoP-bound (cnf jkt); the gateway accepts bearer and certificate-bound "
        "tokens only";
  } else {
    *why = "the token is bound by a confirmation method the gateway cannot check (cnf)";
  }
  return false;
}

bool CertificateBindingHolds(std::string_view bound, std::string_view presented) {
  return !bound.empty() && ConstantTimeEquals(bound, presented);
}

}  // namespace apitrail
