// Introspector (introspector.h): the RFC 7662 request, the answer's interpretation and the
// two caches.
#include "auth/introspector.h"

#include <algorithm>
#include <boost/json.hpp>
#include <climits>
#include <cmath>

#include "auth/claim_path.h"
#include "auth/credentials.h"
#include "auth/file_util.h"
#include "auth/single_flight.h"
#include "auth/token_binding.h"
#include "core/crypto_util.h"
#include "net/https_client.h"

namespace apitrail {
namespace json = boost::json;
namespace deny = introspection_deny;

namespace {

constexpr size_t kMaxClaimBytes = 256;

bool IsHeaderSafe(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

std::string CredentialId(std::string_view token) {
  // A stable, non-reversible id for the audit trail; never the token itself.
  return HexEncode(Sha256(token)).substr(0, 16);
}

AuthOutcome Deny(const char* reason, std::string detail, std::string_view token, int status = 401) {
  AuthOutcome out;
  out.identity.auth_method = "introspection";
  if (!token.empty()) out.identity.credential_id = CredentialId(token);
  out.deny_reason = reason;
  out.detail = std::move(detail);
  out.http_status = status;
  return out;
}

std::string TrimSecret(std::string s) {
  while (!s.empty() &&
         (s.back() == '\n' || s.back() == '\r' || s.back() == ' ' || s.back() == '\t'))
    s.pop_back();
  return s;
}

// Why an active answer is not for an access token, or null. An authorization server answers
// for refresh tokens too (RFC 7662 §2.1), and one taken as a bearer credential would let a
// leaked refresh token call the API. Servers say which kind in different fields: token_type
// (RFC 7662 §2.2; "Bearer" for access tokens, "DPoP" for DPoP-bound ones), token_use (Ory
// Hydra: access_token | refresh_token), typ (Keycloak: Bearer | Refresh | Offline | ID). Some
// (node-oidc-provider) leave token_type out only for refresh tokens: `require_token_type`.
const char* NotAnAccessToken(const json::object& o, bool require_token_type) {
  const json::value* type = o.if_contains("token_type");
  if (type == nullptr || type->is_null()) {
    if (require_token_type) return "the introspection answer has no token_type";
  } else if (!type->is_string()) {
    return "the introspection answer's token_type is not a string";
  } else if (EqualsIgnoreCase(type->get_string(), "DPoP")) {
    return "the token is DPoP-bound; the gateway accepts bearer and certificate-bound tokens only";
  } else if (!EqualsIgnoreCase(type->get_string(), "Bearer")) {
    return "the token is not a bearer access token (token_type)";
  }
  // Anything but the string access_token, e.g. ["refresh_token"], is not an access token.
  if (const json::value* use = o.if_contains("token_use");
      use && !use->is_null() && !(use->is_string() && use->get_string() == "access_token")) {
    return "the token is not an access token (token_use)";
  }
  if (TypClaimIsNotAccessToken(o)) return "the token is not an access token (typ)";
  return nullptr;
}

// RAII slot in the concurrency limit.
class Slot {
 public:
  Slot(std::atomic<uint32_t>* n, uint32_t max) : n_(n) {
    acquired_ = n_->fetch_add(1, std::memory_order_acq_rel) < max;
    if (!acquired_) n_->fetch_sub(1, std::memory_order_acq_rel);
  }
  ~Slot() {
    if (acquired_) n_->fetch_sub(1, std::memory_order_acq_rel);
  }
  Slot(const Slot&) = delete;
  Slot& operator=(const Slot&) = delete;
  bool acquired() const { return acquired_; }

 private:
  std::atomic<uint32_t>* n_;
  bool acquired_ = false;
};

}  // namespace

std::string FormUrlEncode(std::string_view s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() + 16);
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '*') {
      out.push_back(static_cast<char>(c));
    } else if (c == ' ') {
      out.push_back('+');
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

Introspector::~Introspector() = default;

Result<std::unique_ptr<Introspector>> Introspector::Create(const IntrospectionConfig& config) {
  const std::string p = "auth.introspection";
  std::unique_ptr<Introspector> in(new Introspector());
  in->config_ = config;
  in->config_.client_secret.clear();
  std::string secret = config.client_secret;
  if (!config.client_secret_file.empty()) {
    auto text = ReadSmallFile(config.client_secret_file, 64 << 10);
    if (!text.ok()) {
      return Status(text.status().code(), p + ".client_secret_file: " + text.status().message());
    }
    secret = TrimSecret(std::move(text).value());
  }
  if (config.client_id.empty() || secret.empty()) {
    return Status::InvalidArgument(p + ": client_id and a client secret are required");
  }
  auto url = ParseFetchUrl(config.endpoint, config.allow_insecure_http);
  if (!url.ok()) return Status::InvalidArgument(p + ".endpoint: " + url.status().message());
  in->default_issuer_ = config.issuer.empty() ? url->origin : config.issuer;
  if (config.client_auth == "body") {
    in->body_credentials_ =
        "&client_id=" + FormUrlEncode(config.client_id) + "&client_secret=" + FormUrlEncode(secret);
  } else {
    // RFC 6749 §2.3.1: both parts form-encoded before Basic encoding.
    in->basic_header_ =
        "Basic " + Base64Encode(FormUrlEncode(config.client_id) + ":" + FormUrlEncode(secret));
  }
  auto tls = TlsClientContext::Create(config.ca_file);
  if (!tls.ok()) return Status(tls.status().code(), p + ".ca_file: " + tls.status().message());
  in->tls_ = std::move(tls).value();
  const int64_t ms = 1000000;
  if (config.cache_capacity > 0 && config.cache_max_ttl_ms > 0) {
    in->positive_ = std::make_unique<VerifiedTokenCache>(config.cache_capacity,
                                                         int64_t{config.cache_max_ttl_ms} * ms);
  }
  if (config.cache_capacity > 0 && config.negative_cache_ms > 0) {
    in->negative_ = std::make_unique<TokenCache<AuthOutcome>>(config.cache_capacity,
                                                              int64_t{config.negative_cache_ms} * ms);
  }
  return in;
}

std::optional<AuthOutcome> Introspector::Cached(std::string_view token, int64_t now_ns) const {
  if (token.size() > config_.max_token_bytes) {
    return Deny(deny::kTooLarge, "token is too large", "");
  }
  if (!positive_ && !negative_) return std::nullopt;
  Hash256 key = VerifiedTokenCache::KeyOf(token);
  if (positive_) {
    if (auto identity = positive_->Lookup(key, now_ns)) {
      hits_.fetch_add(1, std::memory_order_relaxed);
      AuthOutcome out;
      out.allowed = true;
      out.identity = *identity;
      return out;
    }
  }
  if (negative_) {
    if (auto refused = negative_->Lookup(key, now_ns)) {
      hits_.fetch_add(1, std::memory_order_relaxed);
      return *refused;
    }
  }
  return std::nullopt;
}

AuthOutcome Introspector::Interpret(int http_status, std::string_view body, std::string_view token,
                                    int64_t now_ns, int64_t* cache_until_ns) const {
  *cache_until_ns = 0;
  if (http_status != 200) {
    // 401/403 here mean the gateway's own client credentials were refused: a configuration
    // problem on our side, not the caller's; fail closed with 503.
    return Deny(deny::kUnavailable,
                "the authorization server answered HTTP " + std::to_string(http_status), token,
                503);
  }
  boost::system::error_code ec;
  json::value doc = json::parse(body, ec);
  if (ec || !doc.is_object()) {
    return Deny(deny::kUnavailable, "the introspection answer is not a JSON object", token, 503);
  }
  const json::object& o = doc.get_object();
  const json::value* active = o.if_contains("active");
  if (active == nullptr || !active->is_bool()) {
    return Deny(deny::kUnavailable, "the introspection answer has no boolean 'active'", token, 503);
  }
  if (!active->get_bool()) return Deny(deny::kInactive, "token is not active", token);

  AuthOutcome out;
  out.identity.auth_method = "introspection";
  out.identity.credential_id = CredentialId(token);
  auto str = [&](const char* name) -> std::string {
    const json::value* v = o.if_contains(name);
    if (v == nullptr || !v->is_string()) return "";
    std::string_view s = v->get_string();
    if (s.size() > kMaxClaimBytes || !IsHeaderSafe(s)) return "";
    return std::string(s);
  };
  out.identity.issuer = config_.issuer.empty() ? str("iss") : config_.issuer;
  if (out.identity.issuer.empty()) out.identity.issuer = default_issuer_;
  // The first claim present names the subject. One present but unusable (not a string, too
  // long, control characters) refuses the answer: taking the next claim instead would record
  // a user's request as its client's (client_id), someone else's identity.
  const char* unusable_subject = nullptr;
  for (const auto& claim : config_.subject_claims) {
    const json::value* v = o.if_contains(claim);
    if (v == nullptr || v->is_null()) continue;
    out.identity.subject = str(claim.c_str());
    if (out.identity.subject.empty()) unusable_subject = claim.c_str();
    break;
  }
  if (const json::value* scope = o.if_contains("scope");
      scope && scope->is_string() && IsHeaderSafe(scope->get_string())) {
    AppendTokenScopes(scope->get_string(), &out.identity.scopes, 256);
  }
  auto deny_with_identity = [&](const char* reason, std::string detail) {
    out.allowed = false;
    out.deny_reason = reason;
    out.detail = std::move(detail);
    return out;
  };
  if (Status grants = ReadRolesAndTenant(config_.roles_claim, config_.tenant_claim, o,
                                         &out.identity);
      !grants.ok()) {
    return deny_with_identity(deny::kInvalidClaims, grants.message());
  }
  // An authorization server that says active but also gives an exp in the past, or an nbf in
  // the future, is trusted on the time (RFC 7662 §2.2 gives both as the token's validity
  // window; the JWT path checks the same claims).
  auto seconds_ns = [&](const char* name, int64_t absent, int64_t* ns) -> bool {
    *ns = absent;
    const json::value* v = o.if_contains(name);
    if (v == nullptr || v->is_null()) return true;
    double s = v->is_int64()    ? static_cast<double>(v->get_int64())
               : v->is_uint64() ? static_cast<double>(v->get_uint64())
               : v->is_double() ? v->get_double()
                                : NAN;
    if (!std::isfinite(s)) return false;
    *ns = s >= 9.2e9 ? INT64_MAX : s <= 0 ? 0 : static_cast<int64_t>(s * 1e9);
    return true;
  };
  int64_t exp_ns = INT64_MAX;
  if (!seconds_ns("exp", INT64_MAX, &exp_ns))
    return deny_with_identity(deny::kInvalidClaims, "introspection exp is not a number");
  if (exp_ns <= now_ns) return deny_with_identity(deny::kInactive, "token has expired");
  int64_t nbf_ns = 0;
  if (!seconds_ns("nbf", 0, &nbf_ns))
    return deny_with_identity(deny::kInvalidClaims, "introspection nbf is not a number");
  if (nbf_ns > now_ns) {
    *cache_until_ns = nbf_ns;  // the refusal is cached no longer than it is true
    return deny_with_identity(deny::kInactive, "token is not valid yet (nbf)");
  }
  if (!config_.audiences.empty()) {
    const json::value* aud = o.if_contains("aud");
    bool match = false;
    auto ok = [&](const json::value& v) {
      return v.is_string() &&
             std::find(config_.audiences.begin(), config_.audiences.end(),
                       std::string_view(v.get_string())) != config_.audiences.end();
    };
    if (aud && aud->is_string()) match = ok(*aud);
    if (aud && aud->is_array()) {
      for (const auto& v : aud->get_array()) match = match || ok(v);
    }
    if (!match)
      return deny_with_identity(deny::kWrongAudience, "token audience (aud) is not accepted");
  }
  if (unusable_subject != nullptr) {
    return deny_with_identity(deny::kInvalidClaims,
                              std::string("the introspection answer's ") +
                                  std::string(unusable_subject).substr(0, 64) +
                                  " is not a usable subject");
  }
  if (out.identity.subject.empty()) {
    return deny_with_identity(deny::kInvalidClaims, "the introspection answer names no subject");
  }
  if (const char* why = NotAnAccessToken(o, config_.require_token_type)) {
    return deny_with_identity(deny::kWrongTokenType, why);
  }
  if (std::string why; !ReadTokenBinding(o, &out.identity.bound_certificate, &why)) {
    return deny_with_identity(binding_deny::kUnsupported, std::move(why));
  }
  out.allowed = true;
  *cache_until_ns = exp_ns;
  return out;
}

boost::asio::awaitable<AuthOutcome> Introspector::Introspect(std::string token,
                                                             int64_t now_ns) const {
  if (auto cached = Cached(token, now_ns)) co_return *cached;
  const Hash256 key = VerifiedTokenCache::KeyOf(token);
  const std::string flight_key(reinterpret_cast<const char*>(key.data()), key.size());
  // A burst with one new token (a client opening its connections) asks once: the others
  // wait for that answer. A follower whose leader gave up asks again itself, once.
  SingleFlight<AuthOutcome>::Lead lead;
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::shared_ptr<SingleFlight<AuthOutcome>::Flight> follow;
    lead = flights_->Join(flight_key, &follow);
    if (lead) break;
    coalesced_.fetch_add(1, std::memory_order_relaxed);
    auto answer = co_await SingleFlight<AuthOutcome>::Follow(
        std::move(follow), std::chrono::milliseconds(config_.timeout_ms) + std::chrono::seconds(1));
    if (answer) co_return std::move(*answer);
  }
  if (!lead) {
    co_return Deny(deny::kUnavailable, "the authorization server is unavailable: no answer in time", token, 503);
  }
  // The leader before us may have filled the cache between our look and our Join.
  if (auto cached = Cached(token, now_ns)) {
    lead.Finish(*cached);
    co_return *cached;
  }
  AuthOutcome out = co_await Ask(token, now_ns, key);
  lead.Finish(out);
  co_return out;
}

boost::asio::awaitable<AuthOutcome> Introspector::Ask(const std::string& token, int64_t now_ns,
                                                      const Hash256& key) const {
  Slot slot(&in_flight_, config_.max_concurrent);
  if (!slot.acquired()) {
    co_return Deny(deny::kBusy, "too many token introspections in flight", token, 503);
  }
  calls_.fetch_add(1, std::memory_order_relaxed);
  FetchRequest req;
  req.method = "POST";
  req.url = config_.endpoint;
  req.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  req.headers.emplace_back("Accept", "application/json");
  if (!basic_header_.empty()) req.headers.emplace_back("Authorization", basic_header_);
  req.body = "token=" + FormUrlEncode(token) + "&token_type_hint=access_token" + body_credentials_;
  FetchOptions options;
  options.tls = tls_;
  options.allow_http = config_.allow_insecure_http;
  options.timeout_ms = config_.timeout_ms;
  options.max_response_bytes = config_.max_response_bytes;
  Result<FetchResponse> res = co_await Fetch(std::move(req), std::move(options));
  if (!res.ok()) {
    // The cause (timed out, connection refused, certificate) without the server's address.
    const std::string& m = res.status().message();
    size_t colon = m.find(": ");
    std::string detail = "the authorization server is unavailable: " +
                         (colon == std::string::npos ? m : m.substr(colon + 2));
    co_return Deny(deny::kUnavailable, std::move(detail), token, 503);
  }
  int64_t cache_until = 0;
  AuthOutcome out = Interpret(res->status, res->body, token, now_ns, &cache_until);
  if (out.allowed && positive_) {
    positive_->Insert(key, out.identity, cache_until, now_ns);
  } else if (!out.allowed && out.http_status == 401 && negative_) {
    // A refusal the answer implies: the same answer would come back within negative_cache_ms.
    negative_->Insert(key, out, cache_until > 0 ? cache_until : INT64_MAX, now_ns);
  }
  co_return out;
}

}  // namespace apitrail
