#include "gateway/gateway.h"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>
#include <tuple>

#include "core/time_util.h"
#include "gateway/worker.h"

namespace apitrail {

namespace asio = boost::asio;

namespace {
// Host names are resolved once, at start-up (first address wins): the request path never
// waits for DNS. A changed DNS answer needs a restart.
Result<asio::ip::tcp::endpoint> Resolve(const HostPort& hp, const std::string& key) {
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(hp.host, ec);
  if (!ec) return asio::ip::tcp::endpoint(addr, hp.port);
  asio::io_context io;
  asio::ip::tcp::resolver resolver(io);
  auto results = resolver.resolve(hp.host, std::to_string(hp.port), ec);
  if (ec || results.empty()) {
    return Status::InvalidArgument(key + ": cannot resolve '" + hp.host + "': " + ec.message());
  }
  return results.begin()->endpoint();
}

// The workers bind with SO_REUSEPORT, which lets any process of the same user bind the same
// address too: a second apitrail started by mistake (or a test's neighbour that picked the same
// port) would silently take a share of the connections, audited in another store. A probe bind
// without SO_REUSEPORT fails while anyone listens there, so the start fails loudly instead. The
// window between the probe and the first worker's bind is microseconds.
Status CheckNobodyListens(const asio::ip::tcp::endpoint& ep) {
  if (ep.port() == 0) return Status::Ok();
  int fd = ::socket(ep.protocol().family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::IoError("gateway.listen: socket: " + std::string(std::strerror(errno)));
  int one = 1;
  // SO_REUSEADDR: our own connections left in TIME_WAIT by a restart must not count.
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  int rc = ::bind(fd, ep.data(), static_cast<socklen_t>(ep.size()));
  int err = errno;
  ::close(fd);
  if (rc == 0) return Status::Ok();
  return Status::IoError("gateway.listen: cannot bind " + ep.address().to_string() + ":" +
                         std::to_string(ep.port()) + ": " + std::strerror(err) +
                         (err == EADDRINUSE ? " (another process listens there)" : ""));
}
}  // namespace

Result<std::shared_ptr<GatewayShared>> Gateway::BuildShared(std::shared_ptr<const Config> config,
                                                            std::shared_ptr<Authenticator> auth,
                                                            Store* store) {
  auto out = std::make_shared<GatewayShared>();
  GatewayShared& s = *out;
  s.config = config;
  s.auth = auth.get();
  s.auth_owner = std::move(auth);
  s.store = store;
  auto routes = RouteTable::Create(*config);
  if (!routes.ok()) return routes.status();
  s.routes = std::move(routes).value();
  s.redactor = std::make_unique<Redactor>(config->redaction);
  for (size_t i = 0; i < config->upstreams.size(); ++i) {
    auto ep = Resolve(config->upstreams[i].address, "upstreams[" + std::to_string(i) + "].address");
    if (!ep.ok()) return ep.status();
    s.upstream_endpoints.push_back(*ep);
  }
  if (auto d = s.routes->default_upstream_index()) s.default_upstream = static_cast<int>(*d);
  s.strict_durability = s.config->audit.durability == "strict";
  s.header_policy = HeaderPolicy::FromConfig(*config);
  auto tls = TlsContexts::Create(*config);
  if (!tls.ok()) return tls.status();
  s.tls = std::move(tls).value();
  if (config->auth.failure_limit.enabled) {
    s.auth_limiter = std::make_unique<AuthFailureLimiter>(
        AuthFailureLimiter::FromConfig(config->auth.failure_limit));
  }
  return out;
}

Result<std::unique_ptr<Gateway>> Gateway::Create(std::shared_ptr<const Config> config,
                                                 std::shared_ptr<Authenticator> auth, Store* store) {
  std::unique_ptr<Gateway> g(new Gateway());
  APITRAIL_ASSIGN_OR_RETURN(auto shared, BuildShared(std::move(config), std::move(auth), store));
  g->shared_ = std::move(shared);
  return g;
}

namespace {

// The settings a running process cannot take over: "" when none of them changed, else the
// first changed key.
std::string RestartOnlyChange(const Config& a, const Config& b) {
  if (a.node != b.node) return "node";
  if (a.gateway.listen.host != b.gateway.listen.host || a.gateway.listen.port != b.gateway.listen.port) {
    return "gateway.listen";
  }
  if (a.gateway.workers != b.gateway.workers) return "gateway.workers";
  if (a.audit.data_dir != b.audit.data_dir) return "audit.data_dir";
  if (a.audit.durability != b.audit.durability) return "audit.durability";
  if (a.audit.batch_interval_ms != b.audit.batch_interval_ms) return "audit.batch_interval_ms";
  if (a.audit.queue_capacity != b.audit.queue_capacity) return "audit.queue_capacity";
  if (a.audit.max_segment_bytes != b.audit.max_segment_bytes) return "audit.max_segment_bytes";
  if (a.audit.rotate_daily != b.audit.rotate_daily) return "audit.rotate_daily";
  // Store options, fixed when the store opened.
  if (a.audit.direct_io != b.audit.direct_io) return "audit.direct_io";
  if (a.audit.async_commit != b.audit.async_commit) return "audit.async_commit";
  if (a.audit.block_cache_mb != b.audit.block_cache_mb) return "audit.block_cache_mb";
  const CheckpointConfig& ca = a.audit.checkpoints;
  const CheckpointConfig& cb = b.audit.checkpoints;
  if (std::tie(ca.every_events, ca.max_lag_ms, ca.heartbeat_ms, ca.witness_queue, ca.witness_retry_max_ms) !=
      std::tie(cb.every_events, cb.max_lag_ms, cb.heartbeat_ms, cb.witness_queue, cb.witness_retry_max_ms)) {
    return "audit.checkpoints";
  }
  if (ca.witnesses.size() != cb.witnesses.size()) return "audit.checkpoints.witnesses";
  for (size_t i = 0; i < ca.witnesses.size(); ++i) {
    const WitnessConfig& x = ca.witnesses[i];
    const WitnessConfig& y = cb.witnesses[i];
    if (std::tie(x.name, x.type, x.dir, x.address.host, x.address.port, x.protocol, x.facility, x.url, x.timeout_ms) !=
        std::tie(y.name, y.type, y.dir, y.address.host, y.address.port, y.protocol, y.facility, y.url, y.timeout_ms)) {
      return "audit.checkpoints.witnesses[" + std::to_string(i) + "]";
    }
  }
  const RollupConfig& ra = a.audit.rollups;
  const RollupConfig& rb = b.audit.rollups;
  if (std::tie(ra.enabled, ra.max_keys, ra.retention_days, ra.persist_interval_ms) !=
      std::tie(rb.enabled, rb.max_keys, rb.retention_days, rb.persist_interval_ms)) {
    return "audit.rollups";
  }
  const ArchiveConfig& aa = a.audit.archive;
  const ArchiveConfig& ab = b.audit.archive;
  if (std::tie(aa.command, aa.timeout_ms, aa.retry_min_ms, aa.retry_max_ms, aa.scan_interval_ms) !=
      std::tie(ab.command, ab.timeout_ms, ab.retry_min_ms, ab.retry_max_ms, ab.scan_interval_ms)) {
    return "audit.archive";
  }
  if (a.audit.retention.days != b.audit.retention.days ||
      a.audit.retention.require_archive != b.audit.retention.require_archive) {
    return "audit.retention";
  }
  // The listener is bound once; its tokens are replaced by the reload (server_runtime.cc).
  if (a.admin.enabled != b.admin.enabled || a.admin.listen.host != b.admin.listen.host ||
      a.admin.listen.port != b.admin.listen.port) {
    return "admin";
  }
  return "";
}

}  // namespace

Status Gateway::Reload(std::shared_ptr<const Config> config, std::shared_ptr<Authenticator> auth) {
  if (std::string key = RestartOnlyChange(*shared_->config, *config); !key.empty()) {
    return Status::InvalidArgument(key + ": changed, but only takes effect after a restart; nothing was reloaded");
  }
  APITRAIL_ASSIGN_OR_RETURN(auto shared, BuildShared(std::move(config), std::move(auth), shared_->store));
  shared->generation = shared_->generation + 1;
  shared_ = std::move(shared);
  for (auto& w : workers_) w->SetShared(shared_);
  return Status::Ok();
}

Gateway::~Gateway() { Stop(); }

Status Gateway::Start() {
  const auto& gw = shared_->config->gateway;
  auto ep = Resolve(gw.listen, "gateway.listen");
  if (!ep.ok()) return ep.status();
  APITRAIL_RETURN_IF_ERROR(CheckNobodyListens(*ep));
  int n = gw.workers > 0 ? gw.workers : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  for (int i = 0; i < n; ++i) {
    auto w = std::make_unique<Worker>(i, shared_, &connections_);
    // With port 0 the first worker picks the port and the others join it.
    auto bind_to = *ep;
    if (i > 0) bind_to.port(workers_[0]->local_port());
    APITRAIL_RETURN_IF_ERROR(w->Listen(bind_to));
    workers_.push_back(std::move(w));
  }
  port_ = workers_[0]->local_port();
  for (auto& w : workers_) w->Start();
  return Status::Ok();
}

uint64_t Gateway::Drain() {
  for (auto& w : workers_) w->BeginDrain();
  int64_t deadline = MonotonicNowNs() + int64_t{shared_->config->gateway.drain_timeout_ms} * 1000000;
  uint64_t open = 0;
  for (;;) {
    open = connections_.load();
    if (open == 0 || MonotonicNowNs() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return open;
}

void Gateway::Stop() {
  for (auto& w : workers_) w->Stop();
  workers_.clear();
}


std::vector<const GatewayMetrics*> Gateway::Metrics() const {
  std::vector<const GatewayMetrics*> out;
  for (const auto& w : workers_) out.push_back(&w->metrics());
  return out;
}

}  // namespace apitrail
