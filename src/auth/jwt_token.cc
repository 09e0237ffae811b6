#include "auth/jwt_token.h"

#include <boost/json.hpp>

#include "core/crypto_util.h"

namespace apitrail {
namespace json = boost::json;

namespace {

Result<json::object> DecodeJsonPart(std::string_view b64, const char* what) {
  auto raw = Base64UrlDecode(b64);
  if (!raw.ok()) return Status::InvalidArgument(std::string("token ") + what + " is not base64url");
  std::error_code ec;
  json::value v = json::parse(*raw, ec);
  if (ec || !v.is_object()) {
    return Status::InvalidArgument(std::string("token ") + what + " is not a JSON object");
  }
  return std::move(v.get_object());
}

}  // namespace

Result<DecodedJwt> DecodeJwt(std::string_view token, const char** deny_reason) {
  const char* unused = nullptr;
  const char*& reason = deny_reason != nullptr ? *deny_reason : unused;
  reason = jwt_deny::kMalformed;
  size_t dot1 = token.find('.');
  size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return Status::InvalidArgument("token is not a compact JWS (three dot-separated parts)");
  }
  std::string_view header_b64 = token.substr(0, dot1);
  std::string_view payload_b64 = token.substr(dot1 + 1, dot2 - dot1 - 1);
  std::string_view sig_b64 = token.substr(dot2 + 1);
  if (header_b64.empty() || payload_b64.empty()) {
    return Status::InvalidArgument("token has an empty header or payload");
  }

  DecodedJwt jwt;
  APITRAIL_ASSIGN_OR_RETURN(jwt.header, DecodeJsonPart(header_b64, "header"));
  const json::value* alg = jwt.header.if_contains("alg");
  if (alg == nullptr || !alg->is_string()) {
    return Status::InvalidArgument("token header has no alg");
  }
  std::string_view alg_name = alg->get_string();
  if (alg_name.size() == 4 && (alg_name[0] | 0x20) == 'n' && (alg_name[1] | 0x20) == 'o' &&
      (alg_name[2] | 0x20) == 'n' && (alg_name[3] | 0x20) == 'e') {
    reason = jwt_deny::kAlgNone;
    return Status::InvalidArgument("unsigned tokens (alg none) are not accepted");
  }
  auto parsed = ParseJwsAlg(alg_name);
  if (!parsed) {
    reason = jwt_deny::kAlgNotAllowed;
    return Status::InvalidArgument(std::string("token alg is not supported (") +
                                   SupportedJwsAlgNames() + ")");
  }
  jwt.alg = *parsed;
  if (jwt.header.contains("crit")) {
    reason = jwt_deny::kUnsupportedCrit;
    return Status::InvalidArgument("token header has crit extensions, which are not supported");
  }
  if (const json::value* kid = jwt.header.if_contains("kid")) {
    if (!kid->is_string()) return Status::InvalidArgument("token header kid is not a string");
    jwt.kid = std::string(kid->get_string());
  }
  // The header's jwk/jku/x5u/x5c are deliberately ignored: keys come only from configuration.

  if (sig_b64.empty()) return Status::InvalidArgument("token has no signature");
  auto sig = Base64UrlDecode(sig_b64);
  if (!sig.ok()) return Status::InvalidArgument("token signature is not base64url");
  jwt.signature = std::move(sig).value();

  APITRAIL_ASSIGN_OR_RETURN(jwt.claims, DecodeJsonPart(payload_b64, "payload"));
  jwt.signing_input = token.substr(0, dot2);
  reason = nullptr;
  return jwt;
}

}  // namespace apitrail
