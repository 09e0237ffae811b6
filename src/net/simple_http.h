// A small HTTP/1.1 server and client for the control plane: the admin API, the demo API and
// the CLI's calls to the admin API. Not for the proxied request path (that is
// gateway/proxy_session). Handlers are plain functions over SimpleRequest/SimpleResponse so
// they can be tested without sockets.
//
// SimpleHttpServer runs its own io_context on `threads` threads; the handler is called on
// those threads and must be thread-safe. Start/Stop from one control thread.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "config/config.h"
#include "core/status.h"

namespace apitrail {

struct SimpleRequest {
  std::string method;
  std::string target;  // origin-form, with query
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string peer_ip;
  std::string Header(std::string_view name) const;  // case-insensitive; "" if absent
};

struct SimpleResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // When set, the server waits this long before answering (the demo API's ?delay_ms).
  uint32_t delay_ms = 0;
};

using SimpleHandler = std::function<SimpleResponse(const SimpleRequest&)>;

struct SimpleServerOptions {
  uint32_t max_body_bytes = 1024 * 1024;
  uint32_t max_header_bytes = 16 * 1024;
  uint32_t timeout_ms = 30000;  // per read/write
  int threads = 1;
};

class SimpleHttpServer {
 public:
  static Result<std::unique_ptr<SimpleHttpServer>> Create(const HostPort& listen,
                                                          SimpleServerOptions options,
                                                          SimpleHandler handler);
  ~SimpleHttpServer();
  void Start();
  void Stop();
  uint16_t port() const;

 private:
  struct Impl;
  explicit SimpleHttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// One request on a fresh connection, synchronously; bounded by timeout_ms and by a 64 MiB
// response limit.
Result<SimpleResponse> HttpRequest(const HostPort& to, const std::string& method,
                                   const std::string& target,
                                   const std::vector<std::pair<std::string, std::string>>& headers,
                                   const std::string& body, uint32_t timeout_ms);

}  // namespace apitrail
