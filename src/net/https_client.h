// HttpsClient: one bounded HTTPS (or, where explicitly allowed, plain HTTP) request to an
// authorization server or key endpoint — JWKS, OIDC discovery, RFC 7662 introspection. Never
// used for proxied traffic.
//
// Security: the server certificate is verified against the system store or a configured CA
// file, and its name against the URL's host (DNS name via SAN/CN, or an IP address against an
// iPAddress SAN); TLS 1.2 or later. Every request is bounded by one overall deadline (resolve,
// connect, handshake, write, read), a header size and a body size limit; redirects are not
// followed (a key or introspection endpoint that redirects is a misconfiguration).
//
// Threads: Fetch() is a coroutine that runs on the caller's executor (a gateway worker's
// io_context or the key refresher's) and never blocks it; FetchSync() runs its own
// io_context on the calling thread (CLI, tests). A TlsClientContext is immutable once created
// and may be shared by any number of concurrent requests on any threads.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/fetch_url.h"
#include "core/status.h"

namespace apitrail {

// An OpenSSL client context with its trust anchors (SSL_CTX; opaque to callers).
class TlsClientContext {
 public:
  // ca_file empty: the system store (/etc/ssl/certs). Errors name the file, not its bytes.
  static Result<std::shared_ptr<TlsClientContext>> Create(const std::string& ca_file);
  ~TlsClientContext();
  struct Impl;
  Impl* impl() const { return impl_.get(); }

 private:
  explicit TlsClientContext(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};



struct FetchOptions {
  std::shared_ptr<TlsClientContext> tls;  // required for https URLs
  bool allow_http = false;
  uint32_t timeout_ms = 5000;             // the whole exchange
  uint32_t max_response_bytes = 1 << 20;  // body
  uint32_t max_header_bytes = 16 << 10;
};

struct FetchRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;  // beyond Host, User-Agent, length
  std::string body;
};

struct FetchResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string Header(std::string_view name) const;  // case-insensitive; "" if absent
};

// Errors: kUnavailable for network, TLS and timeout failures ("timed out after 3000 ms",
// "certificate verify failed"), kInvalidArgument for a bad URL, kResourceExhausted for an
// oversize answer. An HTTP error status is not an error here: it is in the response.
boost::asio::awaitable<Result<FetchResponse>> Fetch(FetchRequest request, FetchOptions options);
Result<FetchResponse> FetchSync(FetchRequest request, FetchOptions options);

// `Cache-Control: max-age=N` in seconds, or -1 when absent or malformed (no-store, no-cache
// and max-age=0 give 0).
int64_t CacheControlMaxAge(std::string_view cache_control);

}  // namespace apitrail
