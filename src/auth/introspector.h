// Introspector: verifies opaque OAuth 2.0 bearer tokens by asking the authorization server
// (RFC 7662 token introspection, auth.introspection), with the gateway authenticating as a
// confidential client (HTTP Basic or client_id/client_secret in the form body).
//
// Answers are cached by the SHA-256 of the token: active ones until min(the token's exp,
// now + cache_max_ttl_ms); refusals the answer implies (inactive, expired, wrong audience or
// token type, unusable claims or binding) with their reason for negative_cache_ms, so a
// client replaying a refused token costs no call per request (errors, the 503s, are never
// cached). At
// most one call per token is in flight: requests that present a token while it is being
// asked about wait for that answer (up to timeout_ms + 1 s) instead of asking again. At
// most max_concurrent calls are in flight per process; a request beyond that is refused at
// once with 503 introspection_busy rather than queued (a queue would only add latency while
// the authorization server is already saturated). The server unreachable, timing out or
// answering garbage gives 503 introspection_unavailable: fail closed, never "allow".
//
// Threads: Cached() from any worker thread (sharded cache, no I/O). Introspect() is a
// coroutine on the calling worker's executor: it co_awaits the HTTPS call and never blocks
// the thread. Immutable after Create() except the caches and counters (thread-safe).
#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "auth/identity.h"
#include "auth/single_flight.h"
#include "auth/verified_token_cache.h"
#include "config/config.h"
#include "core/status.h"

namespace apitrail {

class TlsClientContext;

namespace introspection_deny {
// active:false, exp in the past or nbf in the future → 401
inline constexpr char kInactive[] = "inactive_token";
inline constexpr char kUnavailable[] = "introspection_unavailable";  // AS down/timeout → 503
inline constexpr char kBusy[] = "introspection_busy";                // max_concurrent → 503
inline constexpr char kTooLarge[] = "token_too_large";
inline constexpr char kWrongAudience[] = "wrong_audience";
inline constexpr char kInvalidClaims[] = "invalid_claims";  // active, but no usable subject
// Active, but not an access token (a refresh or ID token: token_type, token_use or typ say so),
// or no token_type while auth.introspection.require_token_type is set.
inline constexpr char kWrongTokenType[] = "wrong_token_type";
}  // namespace introspection_deny

class Introspector {
 public:
  // Reads client_secret_file and ca_file. Errors name the config key.
  static Result<std::unique_ptr<Introspector>> Create(const IntrospectionConfig& config);
  ~Introspector();

  // True if JWT-shaped bearer tokens are introspected too (tokens: all).
  bool introspects_jwts() const { return config_.tokens == "all"; }

  // A cached answer for `token`, or nullopt (then co_await Introspect()).
  std::optional<AuthOutcome> Cached(std::string_view token, int64_t now_ns) const;

  // Asks the authorization server (after checking the cache once more). `token` is copied
  // into the coroutine frame.
  boost::asio::awaitable<AuthOutcome> Introspect(std::string token, int64_t now_ns) const;

  // Interprets one introspection answer (HTTP status and body): exposed for unit tests.
  // *cache_until_ns is set to when an active answer stops being cacheable (0: do not cache),
  // or to when a refusal stops holding (an nbf; 0: for as long as refusals are cached).
  AuthOutcome Interpret(int http_status, std::string_view body, std::string_view token,
                        int64_t now_ns, int64_t* cache_until_ns) const;

  uint64_t calls() const { return calls_.load(std::memory_order_relaxed); }
  uint64_t cache_hits() const { return hits_.load(std::memory_order_relaxed); }
  // Requests that waited for another request's call with the same token.
  uint64_t coalesced() const { return coalesced_.load(std::memory_order_relaxed); }

 private:
  Introspector() = default;
  // The call itself (the leader's): bounded by max_concurrent, answers cached.
  boost::asio::awaitable<AuthOutcome> Ask(const std::string& token, int64_t now_ns,
                                          const Hash256& key) const;

  IntrospectionConfig config_;    // client_secret cleared; the header/body below hold it
  std::string basic_header_;      // "Basic base64(id:secret)" for client_auth: basic
  std::string body_credentials_;  // "&client_id=…&client_secret=…" for client_auth: body
  std::string default_issuer_;    // config issuer, else the endpoint's origin
  std::shared_ptr<TlsClientContext> tls_;
  std::unique_ptr<VerifiedTokenCache> positive_;  // null: cache_max_ttl_ms or capacity 0
  std::unique_ptr<TokenCache<AuthOutcome>> negative_;  // null: negative_cache_ms 0
  std::unique_ptr<SingleFlight<AuthOutcome>> flights_ = std::make_unique<SingleFlight<AuthOutcome>>();
  mutable std::atomic<uint32_t> in_flight_{0};
  mutable std::atomic<uint64_t> coalesced_{0};
  mutable std::atomic<uint64_t> calls_{0};
  mutable std::atomic<uint64_t> hits_{0};
};

// application/x-www-form-urlencoded encoding of one value (RFC 6749 Appendix B).
std::string FormUrlEncode(std::string_view s);

}  // namespace apitrail
