// Gateway: the proxy listener and its workers. Created from a validated Config by the
// `serve`/`demo` commands, which own the Store and Authenticator it uses.
// Start/Drain/Stop are called from one control thread.
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
                                                 Authenticator* auth, Store* store);
  ~Gateway();

  // Binds the listener (every worker with SO_REUSEPORT) and starts the worker threads.
  Status Start();
  uint16_t port() const { return port_; }
  // Stops accepting and waits up to drain_timeout_ms for in-flight requests to finish.
  // Returns the number of connections still open when the wait ended.
  uint64_t Drain();
  void Stop();
  // Re-reads the TLS certificate, key and CA files (SIGHUP). New handshakes use them; open
  // connections are not touched. On error the previous material stays in use.
  Status ReloadTls();
  bool HasTls() const;

  std::vector<const GatewayMetrics*> Metrics() const;

 private:
  Gateway() = default;
  GatewayShared shared_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::atomic<uint32_t> connections_{0};
  uint16_t port_ = 0;
};

}  // namespace apitrail
