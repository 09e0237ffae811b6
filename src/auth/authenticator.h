// Authenticator: verifies the credentials of one request against the configured API keys,
// JWT issuers and token introspection endpoint. One instance shared by all workers; Authenticate() is thread-safe and
// lock-free on the request path (key sets are swapped atomically on reload).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "auth/identity.h"
#include "auth/key_store.h"
#include "config/config.h"
#include "core/status.h"

namespace apitrail {

// The request's headers as (name, value) views; names compared case-insensitively.
using HeaderView = std::vector<std::pair<std::string_view, std::string_view>>;

class Authenticator {
 public:
  // Loads the key file (missing file = no keys yet) and every JWT key. Errors name the
  // config key (auth.jwt[0].key_file: cannot read ...).
  static Result<std::unique_ptr<Authenticator>> Create(const AuthConfig& config,
                                                       const std::string& data_dir);
  virtual ~Authenticator() = default;

  // `Authorization: Bearer <key>` or a configured key header carrying an API key (its prefix
  // tells it apart) → API key check; a Bearer value shaped like a JWT → JWT check; any other
  // Bearer value → RFC 7662 introspection when auth.introspection is configured. Never does
  // I/O: an introspection answer not in the cache comes back as needs_introspection, and the
  // caller co_awaits Introspect() for the final outcome.
  virtual AuthOutcome Authenticate(const HeaderView& headers, int64_t now_ns) const = 0;

  // The slow path of Authenticate() for needs_introspection: asks the authorization server on
  // the calling coroutine's executor (a gateway worker) without blocking its thread. `headers`
  // must stay valid until it completes.
  virtual boost::asio::awaitable<AuthOutcome> Introspect(const HeaderView& headers,
                                                         int64_t now_ns) const = 0;

  // Re-reads the key file if it changed on disk. Called about once a second from one thread.
  virtual void MaybeReload() = 0;

  // The outcome of the latest MaybeReload(): OK if the file was unchanged or reloaded; else why
  // the reload failed (the previous keys stay in force). Never contains key material. Safe to
  // call from any thread. A failure is reported again only once the file changes again, so the
  // caller may log every non-OK value it sees change.
  virtual Status LastReloadStatus() const { return Status::Ok(); }

  // The API key set in force, or null when API keys are disabled (key_events.h diffs it).
  virtual std::shared_ptr<const KeySet> KeySnapshot() const { return nullptr; }

  // Persists changed key last-use times to the side file (key_store.h): at most every 10 s
  // unless `force` (SIGHUP, shutdown). Same thread as MaybeReload().
  virtual Status FlushKeyUsage(bool /*force*/) { return Status::Ok(); }

  // Failing remote key sources (JWKS URL / discovery), one line each; "" when none. Cheap;
  // safe from any thread. The caller logs it when it changes.
  virtual std::string RemoteKeyProblems() const { return ""; }
};

}  // namespace apitrail
