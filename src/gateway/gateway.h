// Gateway: the proxy listener and its workers. Created from a validated Config by the
// `serve`/`demo` commands, which own the Store it uses; the Authenticator is shared with the
// requests that use it. Start/Drain/Stop/Reload are called from one control thread.
// The Store must be opened with StoreOptions::after_callbacks calling
// CompletionInbox::FlushThreadPending (gateway/completion_inbox.h): the workers' store
// completions are handed over once per group commit by that hook.
#pragma once

#include <atomic>
#include <memory>
#include <vector>

#include "gateway/gateway_metrics.h"
#include "gateway/gateway_shared.h"

namespace apitrail {

class Worker;

class Gateway {
 public:
  static Result<std::unique_ptr<Gateway>> Create(std::shared_ptr<const Config> config,
                                                 std::shared_ptr<Authenticator> auth, Store* store);
  ~Gateway();

  // Binds the listener (every worker with SO_REUSEPORT) and starts the worker threads.
  Status Start();
  uint16_t port() const { return port_; }
  // Stops accepting and waits up to drain_timeout_ms for in-flight requests to finish.
  // Returns the number of connections still open when the wait ended.
  uint64_t Drain();
  void Stop();

  std::vector<const GatewayMetrics*> Metrics() const;

  // Applies a new validated configuration (routes, upstreams, redaction, identity headers,
  // limits and timeouts) and authenticator to requests that start from now on; in-flight
  // requests and open connections are not disturbed. Settings that need a restart (the
  // listener, the number of workers, node, audit, admin) must be unchanged: otherwise
  // InvalidArgument naming the key, and nothing changes. A failure to resolve a new
  // upstream also changes nothing.
  Status Reload(std::shared_ptr<const Config> config, std::shared_ptr<Authenticator> auth);
  const Config& config() const { return *shared_->config; }

 private:
  Gateway() = default;
  static Result<std::shared_ptr<GatewayShared>> BuildShared(std::shared_ptr<const Config> config,
                                                             std::shared_ptr<Authenticator> auth,
                                                             Store* store);
  std::shared_ptr<const GatewayShared> shared_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::atomic<uint32_t> connections_{0};
  uint16_t port_ = 0;
};

}  // namespace apitrail
