// TlsContexts: the OpenSSL contexts of the gateway — the listener's server context
// (gateway.tls, with its client-certificate trust anchors for mTLS) and one client context per
// upstream with `tls` (upstreams[].tls). Built from files at start; Reload() re-reads every
// file and swaps the contexts in one step, so new handshakes use the new material while open
// connections keep the SSL objects (and contexts, by OpenSSL's reference count) they started
// with. A failed reload changes nothing.
//
// Threads: Server()/Upstream() are called by the workers on every new connection (a mutex
// held for one shared_ptr copy; a handshake costs far more). Reload() comes from the control
// thread (SIGHUP).
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "config/config.h"
#include "core/status.h"

namespace apitrail {

class TlsContexts {
 public:
  // Errors name the config key and the file: "gateway.tls.key_file: '/etc/x.key' does not match
  // gateway.tls.cert_file '/etc/x.pem'".
  static Result<std::unique_ptr<TlsContexts>> Create(std::shared_ptr<const Config> config);

  Status Reload();

  bool server_enabled() const { return server_enabled_; }
  // Whether any TLS is configured at all (listener or an upstream): else Reload() is a no-op.
  bool any_enabled() const { return any_enabled_; }
  // The listener's context; null when gateway.tls is not set.
  std::shared_ptr<boost::asio::ssl::context> Server() const;
  // The context for upstreams[i]; null when that upstream is plain HTTP.
  std::shared_ptr<boost::asio::ssl::context> Upstream(size_t i) const;

 private:
  struct Set {
    std::shared_ptr<boost::asio::ssl::context> server;
    std::vector<std::shared_ptr<boost::asio::ssl::context>> upstreams;
  };
  static Result<Set> Build(const Config& config);

  explicit TlsContexts(std::shared_ptr<const Config> config) : config_(std::move(config)) {}
  std::shared_ptr<const Config> config_;
  bool server_enabled_ = false;
  bool any_enabled_ = false;
  mutable std::mutex mu_;
  Set set_;  // GUARDED_BY(mu_)
};

// Checks `host` (a DNS name or IP literal) against the peer certificate of `ssl` during its
// next handshake, and sends it as SNI when it is a name. False if OpenSSL refused the name.
bool SetExpectedPeerName(void* ssl_native_handle, const std::string& host);

}  // namespace apitrail
