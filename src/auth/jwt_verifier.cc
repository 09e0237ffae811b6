#include "auth/jwt_verifier.h"

#include <algorithm>
#include <boost/json.hpp>
#include <climits>
#include <cmath>

#include "auth/claim_path.h"
#include "auth/credentials.h"
#include "auth/file_util.h"
#include "auth/jws_signature.h"
#include "auth/jwt_token.h"
#include "auth/token_binding.h"
#include "core/crypto_util.h"

namespace apitrail {
namespace json = boost::json;

namespace {

constexpr size_t kMaxSubjectBytes = 256;
constexpr size_t kMaxJtiBytes = 128;

AuthOutcome Deny(const char* reason, std::string detail) {
  AuthOutcome out;
  out.identity.auth_method = "jwt";
  out.deny_reason = reason;
  out.detail = std::move(detail);
  return out;
}

// Claim values become audit fields and upstream identity headers: no control characters.
bool IsHeaderSafe(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

std::string TrimSecret(std::string s) {
  // A trailing newline from `echo secret > file` must not become part of the key.
  while (!s.empty() &&
         (s.back() == '\n' || s.back() == '\r' || s.back() == ' ' || s.back() == '\t')) {
    s.pop_back();
  }
  return s;
}

// A secret must be long enough for every HS* the issuer names (RFC 7518 §3.2).
Status CheckSecretLength(const VerificationKey& key, JwsAlgSet algorithms, bool explicit_list) {
  if (!explicit_list) return Status::Ok();
  for (JwsAlg a : {JwsAlg::kHs256, JwsAlg::kHs384, JwsAlg::kHs512}) {
    if ((algorithms & AlgBit(a)) && key.secret.size() < MinHmacSecretBytes(a)) {
      return Status::InvalidArgument(std::string("too short for ") + JwsAlgName(a) + ": at least " +
                                     std::to_string(MinHmacSecretBytes(a)) + " bytes");
    }
  }
  return Status::Ok();
}

Status LoadIssuerKeys(const JwtIssuerConfig& c, const std::string& where, JwsAlgSet algorithms,
                      std::vector<VerificationKey>* keys) {
  const bool explicit_list = !c.algorithms.empty();
  auto named = [&](const char* field, const Status& st) {
    return Status(st.code() == StatusCode::kOk ? StatusCode::kInvalidArgument : st.code(),
                  where + "." + field + ": " + st.message());
  };
  if (!c.key_file.empty()) {
    auto pem = ReadSmallFile(c.key_file, 1 << 20);
    if (!pem.ok()) return named("key_file", pem.status());
    auto key = KeyFromPem(*pem);
    if (!key.ok())
      return named("key_file", Status::InvalidArgument(c.key_file + ": " + key.status().message()));
    keys->push_back(std::move(key).value());
  }
  if (!c.jwks_file.empty()) {
    auto text = ReadSmallFile(c.jwks_file, 1 << 20);
    if (!text.ok()) return named("jwks_file", text.status());
    auto set = ParseJwks(*text);
    if (!set.ok())
      return named("jwks_file",
                   Status::InvalidArgument(c.jwks_file + ": " + set.status().message()));
    for (auto& k : *set) keys->push_back(std::move(k));
  }
  if (!c.secret.empty() && !c.secret_file.empty()) {
    return Status::InvalidArgument(where + ": set secret or secret_file, not both");
  }
  if (!c.secret.empty()) {
    auto key = KeyFromSecret(c.secret);  // the message never contains the secret
    if (!key.ok()) return named("secret", key.status());
    if (Status len = CheckSecretLength(*key, algorithms, explicit_list); !len.ok()) {
      return named("secret", len);
    }
    keys->push_back(std::move(key).value());
  }
  if (!c.secret_file.empty()) {
    auto text = ReadSmallFile(c.secret_file, 64 << 10);
    if (!text.ok()) return named("secret_file", text.status());
    auto key = KeyFromSecret(TrimSecret(std::move(text).value()));
    if (!key.ok())
      return named("secret_file",
                   Status::InvalidArgument(c.secret_file + ": " + key.status().message()));
    Status len = CheckSecretLength(*key, algorithms, explicit_list);
    if (!len.ok())
      return named("secret_file", Status::InvalidArgument(c.secret_file + ": " + len.message()));
    keys->push_back(std::move(key).value());
  }
  if (keys->empty()) {
    if (c.has_remote_keys()) return Status::Ok();
    return Status::InvalidArgument(
        where + ": no key configured (key_file, jwks_file, jwks_url, discovery, secret or "
                "secret_file)");
  }
  // Pin every key to the issuer's algorithms; a key left with none is unusable here.
  std::erase_if(
      *keys, [&](VerificationKey& k) { return !RestrictToIssuer(&k, algorithms, explicit_list); });
  return Status::Ok();
}

// exp/nbf: a JSON number of seconds (RFC 7519 NumericDate). Absent → nullopt.
Result<std::optional<double>> NumericDate(const json::object& claims, std::string_view name) {
  const json::value* v = claims.if_contains(name);
  if (v == nullptr) return std::optional<double>();
  if (v->is_int64()) return std::optional<double>(static_cast<double>(v->get_int64()));
  if (v->is_uint64()) return std::optional<double>(static_cast<double>(v->get_uint64()));
  if (v->is_double() && std::isfinite(v->get_double()))
    return std::optional<double>(v->get_double());
  return Status::InvalidArgument("token claim " + std::string(name) + " is not a number");
}

int64_t SecondsToNs(double s) {
  if (!(s < 9.2e9)) return INT64_MAX;
  if (s < 0) return 0;
  return static_cast<int64_t>(s * 1e9);
}

bool AudienceMatches(const json::value* aud, const std::vector<std::string>& allowed) {
  if (aud == nullptr) return false;
  auto ok = [&](const json::value& v) {
    return v.is_string() && std::find(allowed.begin(), allowed.end(),
                                      std::string_view(v.get_string())) != allowed.end();
  };
  if (aud->is_string()) return ok(*aud);
  if (aud->is_array()) return std::any_of(aud->get_array().begin(), aud->get_array().end(), ok);
  return false;
}

// Why a verified JWT is another kind of token than an access token, or null. The issuer's
// keys also sign its ID tokens, refresh tokens (Keycloak), logout and other security event
// tokens, and the audience check does not tell them apart (an ID token's aud is the client,
// which may be among this API's audiences): the cross-JWT confusion of RFC 8725 §2.8. The
// kinds are named by the header's typ (RFC 8725 §3.11), Keycloak's typ claim, Cognito's
// token_use claim, or a SET's events claim (RFC 8417 §2.2).
const char* OtherKindOfToken(const json::object& header, const json::object& claims) {
  if (const json::value* typ = header.if_contains("typ"); typ && typ->is_string()) {
    std::string_view t = typ->get_string();
    if (t.size() > 12 && EqualsIgnoreCase(t.substr(0, 12), "application/")) t.remove_prefix(12);
    for (std::string_view other : {"logout+jwt", "secevent+jwt", "dpop+jwt"}) {
      if (EqualsIgnoreCase(t, other)) return "the token is not an access token (typ header)";
    }
  }
  if (TypClaimIsNotAccessToken(claims)) return "the token is not an access token (typ)";
  if (const json::value* use = claims.if_contains("token_use"); use && !use->is_null()) {
    if (!use->is_string() ||
        (use->get_string() != "access" && use->get_string() != "access_token")) {
      return "the token is not an access token (token_use)";
    }
  }
  if (claims.contains("events")) return "the token is a security event token (events)";
  return nullptr;
}

// `scope` (RFC 8693, space-separated) or `scp` / `scopes` (string or array: Azure, Okta).
// "role:…" scopes are dropped (identity.h: they would read as roles in the audit record).
Result<std::vector<std::string>> Scopes(const json::object& claims) {
  std::vector<std::string> out;
  for (const char* name : {"scope", "scp", "scopes"}) {
    const json::value* v = claims.if_contains(name);
    if (v == nullptr) continue;
    auto add = [&](std::string_view s) -> bool {
      if (!IsHeaderSafe(s)) return false;
      AppendTokenScopes(s, &out);
      return true;
    };
    bool ok = true;
    if (v->is_string()) {
      ok = add(v->get_string());
    } else if (v->is_array()) {
      for (const auto& e : v->get_array()) {
        if (!e.is_string()) {
          ok = false;
          break;
        }
        ok = ok && add(e.get_string());
      }
    } else {
      ok = false;
    }
    if (!ok) return Status::InvalidArgument(std::string("token claim ") + name + " is malformed");
    break;  // the first present claim wins; they are alternatives, not additions
  }
  return out;
}

}  // namespace

Result<std::unique_ptr<JwtVerifier>> JwtVerifier::Create(
    const std::vector<JwtIssuerConfig>& configs, size_t cache_capacity) {
  std::vector<Issuer> issuers;
  for (size_t i = 0; i < configs.size(); ++i) {
    std::string where = "auth.jwt[" + std::to_string(i) + "]";
    Issuer is;
    is.config = configs[i];
    is.config.secret.clear();  // the key holds it; no second copy lingering in config structs
    for (const auto& name : configs[i].algorithms) {
      auto alg = ParseJwsAlg(name);
      if (!alg) {
        return Status::InvalidArgument(where + ".algorithms: '" + name.substr(0, 32) +
                                       "' is not supported (" + SupportedJwsAlgNames() + ")");
      }
      is.algorithms |= AlgBit(*alg);
    }
    if (is.algorithms == 0) {
      // Safe default: each key is pinned to its family (and RSA to RS*) anyway.
      for (JwsAlg a : kAllJwsAlgs) is.algorithms |= AlgBit(a);
    }
    if (configs[i].subject_claim.empty())
      return Status::InvalidArgument(where + ".subject_claim: empty");
    if (configs[i].max_token_bytes == 0)
      return Status::InvalidArgument(where + ".max_token_bytes: must be > 0");
    APITRAIL_RETURN_IF_ERROR(LoadIssuerKeys(configs[i], where, is.algorithms, &is.keys));
    if (configs[i].has_remote_keys()) {
      APITRAIL_ASSIGN_OR_RETURN(
          is.remote,
          RemoteKeySet::Create(configs[i], where, is.algorithms, !configs[i].algorithms.empty()));
    }
    if (is.keys.empty() && !is.remote) {
      return Status::InvalidArgument(
          where + ": none of the configured keys matches the allowed algorithms");
    }
    for (size_t j = 0; j < i; ++j) {
      if (configs[j].issuer == configs[i].issuer && !configs[i].issuer.empty()) {
        return Status::InvalidArgument(where + ".issuer: duplicate of auth.jwt[" +
                                       std::to_string(j) + "]");
      }
    }
    issuers.push_back(std::move(is));
  }
  std::vector<std::shared_ptr<RemoteKeySet>> remote;
  uint32_t wait_ms = 0;
  for (const auto& is : issuers) {
    if (!is.remote) continue;
    remote.push_back(is.remote);
    // Discovery then JWKS: two fetches, each bounded by the timeout.
    wait_ms = std::max(wait_ms, 2 * is.config.fetch_timeout_ms + 500);
  }
  std::unique_ptr<JwtVerifier> v(new JwtVerifier(std::move(issuers), cache_capacity));
  if (!remote.empty()) {
    v->refresher_ = std::make_unique<KeyRefresher>(std::move(remote));
    v->refresher_->Start();
    v->refresher_->WaitForFirstFetch(std::chrono::milliseconds(wait_ms));
  }
  return v;
}

std::string JwtVerifier::RemoteKeyProblems() const {
  std::string out;
  for (const auto& is : issuers_) {
    if (!is.remote) continue;
    std::string why = is.remote->LastError();
    if (why.empty()) continue;
    if (!out.empty()) out += "\n";
    out += is.remote->where() + ": " + why +
           (is.remote->Keys() ? " (the last good keys stay in use)"
                              : " (no keys yet: its tokens are refused with 503)");
  }
  return out;
}

JwtVerifier::~JwtVerifier() {
  if (refresher_) refresher_->Stop();
}

JwtVerifier::JwtVerifier(std::vector<Issuer> issuers, size_t cache_capacity)
    : issuers_(std::move(issuers)) {
  for (const auto& is : issuers_) {
    max_token_bytes_ = std::max<size_t>(max_token_bytes_, is.config.max_token_bytes);
  }
  if (cache_capacity > 0) cache_ = std::make_unique<VerifiedTokenCache>(cache_capacity);
}

AuthOutcome JwtVerifier::Verify(std::string_view token, int64_t now_ns) const {
  if (issuers_.empty()) return Deny(jwt_deny::kMalformed, "JWT authentication is not configured");
  if (token.size() > max_token_bytes_) return Deny(jwt_deny::kTooLarge, "token is too large");
  Hash256 key{};
  uint64_t epoch = 0;
  if (cache_) {
    key = VerifiedTokenCache::KeyOf(token);
    // A token verified before a key refresh dropped keys (rotated out or revoked) is checked
    // again against the new set, not served from the cache for up to five more minutes.
    epoch = KeysGeneration();
    if (auto identity = cache_->Lookup(key, now_ns, epoch)) {
      AuthOutcome out;
      out.allowed = true;
      out.identity = *identity;
      return out;
    }
  }
  DecodedJwt jwt;
  bool signature_valid = false;
  int64_t expires_ns = INT64_MAX;
  AuthOutcome out = VerifyUncached(token, now_ns, true, &jwt, &signature_valid, &expires_ns);
  if (out.allowed && cache_) cache_->Insert(key, out.identity, expires_ns, now_ns, epoch);
  return out;
}

uint64_t JwtVerifier::KeysGeneration() const {
  uint64_t sum = 0;  // each term only grows, so any change changes the sum
  for (const auto& is : issuers_) {
    if (is.remote) sum += is.remote->generation();
  }
  return sum;
}

JwtVerifier::Detailed JwtVerifier::VerifyDetailed(std::string_view token, int64_t now_ns,
                                                  bool check_claims) const {
  Detailed d;
  if (issuers_.empty()) {
    d.outcome = Deny(jwt_deny::kMalformed, "JWT authentication is not configured");
    return d;
  }
  if (token.size() > max_token_bytes_) {
    d.outcome = Deny(jwt_deny::kTooLarge, "token is too large");
    return d;
  }
  DecodedJwt jwt;
  int64_t expires_ns = INT64_MAX;
  d.outcome = VerifyUncached(token, now_ns, check_claims, &jwt, &d.signature_valid, &expires_ns);
  if (d.signature_valid) {
    d.header = std::move(jwt.header);
    d.claims = std::move(jwt.claims);
  }
  return d;
}

AuthOutcome JwtVerifier::VerifyUncached(std::string_view token, int64_t now_ns, bool check_claims,
                                        DecodedJwt* jwt, bool* signature_valid,
                                        int64_t* expires_ns) const {
  *signature_valid = false;
  const char* reason = nullptr;
  auto decoded = DecodeJwt(token, &reason);
  if (!decoded.ok())
    return Deny(reason ? reason : jwt_deny::kMalformed, decoded.status().message());
  *jwt = std::move(decoded).value();

  if (issuers_.size() == 1) {
    return VerifyWithIssuer(issuers_[0], token, *jwt, now_ns, check_claims, signature_valid,
                            expires_ns);
  }

  // Several issuers: choose by the (still unverified) iss; an issuer without a configured
  // `issuer` accepts any. The signature check that follows makes the choice safe.
  const json::value* iss = jwt->claims.if_contains("iss");
  std::string_view iss_str = (iss && iss->is_string()) ? std::string_view(iss->get_string()) : "";
  std::vector<const Issuer*> candidates;
  for (const auto& is : issuers_) {
    if (!iss_str.empty() && is.config.issuer == iss_str) candidates.push_back(&is);
  }
  if (candidates.empty()) {
    for (const auto& is : issuers_) {
      if (is.config.issuer.empty()) candidates.push_back(&is);
    }
  }
  if (candidates.empty()) return Deny(jwt_deny::kWrongIssuer, "token issuer is not trusted");
  AuthOutcome first;
  for (size_t i = 0; i < candidates.size(); ++i) {
    AuthOutcome out = VerifyWithIssuer(*candidates[i], token, *jwt, now_ns, check_claims,
                                       signature_valid, expires_ns);
    // Only a signature failure moves on to the next candidate; a verified token's claim
    // failures (expired, audience) are final.
    if (*signature_valid) return out;
    if (i == 0) first = std::move(out);
  }
  return first;
}

AuthOutcome JwtVerifier::VerifyWithIssuer(const Issuer& issuer, std::string_view token,
                                          const DecodedJwt& jwt, int64_t now_ns, bool check_claims,
                                          bool* signature_valid, int64_t* expires_ns) const {
  *signature_valid = false;
  const JwtIssuerConfig& c = issuer.config;
  if (token.size() > c.max_token_bytes) return Deny(jwt_deny::kTooLarge, "token is too large");
  if ((issuer.algorithms & AlgBit(jwt.alg)) == 0) {
    return Deny(jwt_deny::kAlgNotAllowed,
                std::string("token alg ") + JwsAlgName(jwt.alg) + " is not allowed");
  }

  // Remote keys: a snapshot for this token; none yet (and no local keys) fails closed.
  std::shared_ptr<const std::vector<VerificationKey>> remote_keys;
  if (issuer.remote) {
    remote_keys = issuer.remote->Keys();
    if (!remote_keys && issuer.keys.empty()) {
      // The detail is the client's answer: the fetch error would show the internal key URL
      // and its server's answer to anyone. The operator reads it in the log
      // (RemoteKeyProblems()), as introspection failures are kept out of the reply too.
      AuthOutcome out = Deny(jwt_deny::kKeysUnavailable,
                             "the issuer's signing keys could not be fetched yet");
      out.http_status = 503;
      return out;
    }
  }

  // Keys are pinned: only keys bound to the header's alg are candidates (no confusion).
  bool verified = false;
  bool any_key_for_alg = false;    // ignoring kid
  bool kid_key_for_alg = false;    // a key for the alg that the token's kid selects
  bool kid_key_other_alg = false;  // the kid names a key, but one for other algorithms
  auto try_keys = [&](const std::vector<VerificationKey>& keys) {
    for (const auto& key : keys) {
      bool kid_ok = jwt.kid.empty() || key.kid.empty() || key.kid == jwt.kid;
      if (!key.Allows(jwt.alg)) {
        if (!jwt.kid.empty() && key.kid == jwt.kid) kid_key_other_alg = true;
        continue;
      }
      any_key_for_alg = true;
      if (!kid_ok) continue;
      kid_key_for_alg = true;
      if (VerifyJwsSignature(key, jwt.alg, jwt.signing_input, jwt.signature)) {
        verified = true;
        return;
      }
    }
  };
  try_keys(issuer.keys);
  if (!verified && remote_keys) try_keys(*remote_keys);
  if (!verified) {
    if (!kid_key_for_alg && !kid_key_other_alg && issuer.remote) {
      // Perhaps the issuer rotated its keys: fetch the JWKS again soon (rate-bounded); this
      // token is refused now, a retry after the refresh succeeds.
      issuer.remote->RequestRefresh();
      if (!jwt.kid.empty() || !any_key_for_alg) {
        return Deny(jwt_deny::kUnknownKid,
                    "token kid is not in the issuer's key set (a key refresh was requested)");
      }
    }
    if (!any_key_for_alg || (!kid_key_for_alg && kid_key_other_alg)) {
      return Deny(jwt_deny::kAlgKeyMismatch,
                  std::string("no configured key is for alg ") + JwsAlgName(jwt.alg));
    }
    if (!kid_key_for_alg) return Deny(jwt_deny::kUnknownKid, "token kid does not match any key");
    return Deny(jwt_deny::kBadSignature, "token signature is invalid");
  }

  // From here the claims are authentic; copy what identifies the caller even on a deny.
  *signature_valid = true;
  const json::object& claims = jwt.claims;
  AuthOutcome out;
  out.identity.auth_method = "jwt";
  auto deny = [&](const char* reason, std::string detail) {
    out.allowed = false;
    out.deny_reason = reason;
    out.detail = std::move(detail);
    return out;
  };
  const json::value* iss = claims.if_contains("iss");
  if (iss && !iss->is_string() && check_claims) {
    return deny(jwt_deny::kInvalidClaims, "token claim iss is not a string");
  }
  if (iss && iss->is_string() && IsHeaderSafe(iss->get_string()) &&
      iss->get_string().size() <= kMaxSubjectBytes) {
    out.identity.issuer = std::string(iss->get_string());
  }
  // A claim name (sub, client_id, azp, email, a namespaced URL) or a dotted path.
  const json::value* sub = FindClaim(claims, c.subject_claim);
  if (sub && sub->is_string() && !sub->get_string().empty() &&
      sub->get_string().size() <= kMaxSubjectBytes && IsHeaderSafe(sub->get_string())) {
    out.identity.subject = std::string(sub->get_string());
  }
  const json::value* jti = claims.if_contains("jti");
  if (jti && jti->is_string() && !jti->get_string().empty() &&
      jti->get_string().size() <= kMaxJtiBytes && IsHeaderSafe(jti->get_string())) {
    out.identity.credential_id = std::string(jti->get_string());
  } else {
    // A stable, non-reversible id for the audit trail; never the token itself.
    out.identity.credential_id = HexEncode(Sha256(token)).substr(0, 16);
  }
  // Taken even when claims are not checked; an unreadable scope claim denies below.
  Status scopes_status;
  if (auto scopes = Scopes(claims); scopes.ok()) {
    out.identity.scopes = std::move(scopes).value();
  } else {
    scopes_status = scopes.status();
  }
  Status grants = ReadRolesAndTenant(c.roles_claim, c.tenant_claim, claims, &out.identity);
  if (!check_claims) {
    out.allowed = true;
    return out;
  }
  if (!scopes_status.ok()) return deny(jwt_deny::kInvalidClaims, scopes_status.message());
  if (!grants.ok()) return deny(jwt_deny::kInvalidClaims, grants.message());

  auto exp = NumericDate(claims, "exp");
  if (!exp.ok()) return deny(jwt_deny::kInvalidClaims, exp.status().message());
  auto nbf = NumericDate(claims, "nbf");
  if (!nbf.ok()) return deny(jwt_deny::kInvalidClaims, nbf.status().message());
  double now_s = static_cast<double>(now_ns) / 1e9;
  double leeway = c.leeway_s;
  if (!*exp && c.require_exp) {
    return deny(jwt_deny::kInvalidClaims, "token has no exp claim");
  }
  if (*exp && now_s >= **exp + leeway) return deny(jwt_deny::kExpired, "token has expired");
  if (*nbf && now_s + leeway < **nbf)
    return deny(jwt_deny::kNotYetValid, "token is not valid yet (nbf)");
  if (*exp) *expires_ns = SecondsToNs(**exp);

  if (!c.issuer.empty() && out.identity.issuer != c.issuer) {
    return deny(jwt_deny::kWrongIssuer, "token issuer (iss) is not the expected one");
  }
  if (!c.audiences.empty() && !AudienceMatches(claims.if_contains("aud"), c.audiences)) {
    return deny(jwt_deny::kWrongAudience, "token audience (aud) is not accepted");
  }
  if (const char* why = OtherKindOfToken(jwt.header, claims)) {
    return deny(jwt_deny::kWrongTokenType, why);
  }
  if (out.identity.subject.empty()) {
    return deny(jwt_deny::kInvalidClaims, "token has no valid subject claim " + c.subject_claim);
  }
  for (const auto& name : c.required_claims) {
    const json::value* v = claims.if_contains(name);
    if (v == nullptr || v->is_null()) {
      return deny(jwt_deny::kMissingClaim, "token lacks the required claim " + name.substr(0, 64));
    }
  }
  if (std::string why; !ReadTokenBinding(claims, &out.identity.bound_certificate, &why)) {
    return deny(binding_deny::kUnsupported, std::move(why));
  }
  out.allowed = true;
  return out;
}

}  // namespace apitrail
