// GatewayShared: everything the workers read and nobody changes while they run — config,
// route table, redactor, resolved upstreams — plus the thread-safe services they call
// (authenticator, store, TLS contexts). Immutable once built (Gateway::Create, and Gateway::Reload for a
// new configuration); workers hold the current one as shared_ptr<const>, and each request
// pins the one it started with, so a reload never changes the rules under a request.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <string>
#include <vector>

#include "auth/authenticator.h"
#include "config/config.h"
#include "gateway/auth_failure_limiter.h"
#include "gateway/forward_headers.h"
#include "gateway/redaction.h"
#include "gateway/route_table.h"
#include "gateway/tls_contexts.h"
#include "store/store.h"

namespace apitrail {

struct GatewayShared {
  std::shared_ptr<const Config> config;
  std::unique_ptr<RouteTable> routes;
  std::unique_ptr<Redactor> redactor;
  Authenticator* auth = nullptr;  // == auth_owner.get()
  std::shared_ptr<Authenticator> auth_owner;  // kept alive while a request uses it
  Store* store = nullptr;         // outlives the gateway
  std::unique_ptr<AuthFailureLimiter> auth_limiter;  // null: auth.failure_limit disabled
  std::vector<boost::asio::ip::tcp::endpoint> upstream_endpoints;  // by upstream index
  int default_upstream = -1;  // for unmatched: pass
  bool strict_durability = false;  // audit.durability: strict (intent before forwarding)
  HeaderPolicy header_policy;
  // The listener's and upstreams' TLS contexts, read from their files when this was built.
  std::shared_ptr<const TlsContexts> tls;
  uint64_t generation = 0;  // bumped by every reload; tags pooled upstream connections
};

}  // namespace apitrail
