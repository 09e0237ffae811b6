// TlsContexts: the OpenSSL contexts of the gateway — the listener's server context
// (gateway.tls, with its client-certificate trust anchors for mTLS) and one client context per
// upstream with `tls` (upstreams[].tls). Built from the files when a GatewayShared is built
// (start, and every configuration reload on SIGHUP), then immutable: new handshakes use the
// contexts of the configuration current when the connection was accepted (or the request
// connected upstream); open connections keep their SSL objects, which hold a reference to
// their SSL_CTX, so a reload never disturbs them. A file that fails to load fails the build
// (and so the reload) as a whole.
//
// Threads: immutable after Create; Server()/Upstream() from any thread.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "core/status.h"

namespace apitrail {

class TlsContexts {
 public:
  // Errors name the config key and the file: "gateway.tls.key_file: '/etc/x.key' does not match
  // gateway.tls.cert_file '/etc/x.pem'".
  static Result<std::unique_ptr<TlsContexts>> Create(const Config& config);

  // The listener's context; null when gateway.tls is not set.
  const std::shared_ptr<boost::asio::ssl::context>& Server() const { return server_; }
  // The context for upstreams[i]; null when that upstream is plain HTTP.
  std::shared_ptr<boost::asio::ssl::context> Upstream(size_t i) const {
    return i < upstreams_.size() ? upstreams_[i] : nullptr;
  }

 private:
  TlsContexts() = default;
  std::shared_ptr<boost::asio::ssl::context> server_;
  std::vector<std::shared_ptr<boost::asio::ssl::context>> upstreams_;
};

// Checks `host` (a DNS name or IP literal) against the peer certificate of `ssl` during its
// next handshake, and sends it as SNI when it is a name. False if OpenSSL refused the name.
bool SetExpectedPeerName(void* ssl_native_handle, const std::string& host);

}  // namespace apitrail
