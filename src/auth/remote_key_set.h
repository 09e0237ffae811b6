// RemoteKeySet: the verification keys of one JWT issuer that live at a JWKS URL, given
// directly (auth.jwt[].jwks_url) or found by OIDC discovery (<issuer>/.well-known/
// openid-configuration → jwks_uri, whose `issuer` must equal the configured one).
//
// KeyRefresher owns one background thread and io_context that fetch every RemoteKeySet: once
// at start, then again when the JWKS's Cache-Control max-age runs out (clamped to
// [jwks_max_age_min_ms, jwks_max_age_max_ms]; the ceiling when absent), after a failure with
// a backoff, and on request when a token names an unknown kid — at most once per
// jwks_refresh_min_interval_ms and never before a failed fetch's backoff, so a flood of
// made-up kids cannot turn the gateway into a load generator against the key endpoint (a
// request made during a fetch is served right after it). A failed fetch keeps the last good
// keys.
//
// Threads: Keys(), LastError() and RequestRefresh() are called from any worker thread and
// never block on the network (a mutex held for a shared_ptr copy). Everything else runs on
// the refresher's thread. KeyRefresher::Start/WaitForFirstFetch/Stop from one control thread.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "auth/jwk.h"
#include "config/config.h"
#include "core/status.h"

namespace apitrail {

class TlsClientContext;

class RemoteKeySet {
 public:
  // `where` names the config entry in messages ("auth.jwt[0]"). `algorithms`/`explicit_list`
  // pin the fetched keys as RestrictToIssuer does. Errors: a bad ca_file.
  static Result<std::shared_ptr<RemoteKeySet>> Create(const JwtIssuerConfig& config,
                                                      std::string where, JwsAlgSet algorithms,
                                                      bool explicit_list);
  ~RemoteKeySet();

  // The last good key set; null until a fetch succeeded.
  std::shared_ptr<const std::vector<VerificationKey>> Keys() const;
  // Why the latest fetch failed ("" after a success); for deny details and logs (no secrets).
  std::string LastError() const;
  // A token named a kid we do not have: fetch again soon (rate-bounded). Non-blocking.
  void RequestRefresh();
  uint64_t fetch_count() const { return fetches_.load(std::memory_order_relaxed); }
  // Grows each time a fetch replaces a key set with one that lacks any of its keys (rotated
  // out or revoked by the issuer): what was verified with the old set must be checked again.
  // Once it has grown, Keys() returns the new set.
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }
  const std::string& where() const { return where_; }

 private:
  friend class KeyRefresher;
  struct Loop;  // the refresher-side state (timer, next deadline)
  RemoteKeySet() = default;

  JwtIssuerConfig config_;
  std::string where_;
  JwsAlgSet algorithms_ = 0;
  bool explicit_list_ = false;
  std::shared_ptr<TlsClientContext> tls_;
  std::string jwks_uri_;  // refresher thread only: from config or discovery
  std::string skipped_logged_;  // refresher thread only: the malformed keys last warned of

  mutable std::mutex mu_;
  std::shared_ptr<const std::vector<VerificationKey>> keys_;  // GUARDED_BY(mu_)
  std::string last_error_;                                    // GUARDED_BY(mu_)

  std::atomic<bool> refresh_wanted_{false};
  std::atomic<uint64_t> fetches_{0};
  std::atomic<uint64_t> generation_{0};
  std::atomic<bool> first_done_{false};
  Loop* loop_ = nullptr;  // set while a KeyRefresher runs this set
};

class KeyRefresher {
 public:
  explicit KeyRefresher(std::vector<std::shared_ptr<RemoteKeySet>> sets);
  ~KeyRefresher();  // Stop()
  void Start();
  // Blocks until every set has finished its first fetch attempt, or `timeout` passed.
  void WaitForFirstFetch(std::chrono::milliseconds timeout);
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace apitrail
