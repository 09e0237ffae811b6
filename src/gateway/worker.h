// Worker: one thread, one io_context (reactor without locks, see the constructor), its own
// SO_REUSEPORT acceptor, its own upstream pool and metrics (DESIGN §1). Connections accepted
// here are served here to the end, so session code never needs a lock. A coarse sweep timer
// enforces every session's deadline instead of a timer per operation.
//
// Public methods other than the constructor are called from the Gateway's control thread;
// they post work onto the worker's io_context.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <atomic>
#include <exception>
#include <list>
#include <optional>
#include <thread>

#include "core/status.h"
#include "gateway/completion_inbox.h"
#include "gateway/gateway_metrics.h"
#include "gateway/gateway_shared.h"
#include "gateway/upstream_pool.h"

namespace apitrail {

class ProxySession;

class Worker {
 public:
  Worker(int index, std::shared_ptr<const GatewayShared> shared, std::atomic<uint32_t>* connections);
  ~Worker();

  // Binds the gateway address with SO_REUSEPORT (every worker binds the same address).
  Status Listen(const boost::asio::ip::tcp::endpoint& endpoint);
  uint16_t local_port() const { return local_port_; }
  void Start();
  // Stops accepting; in-flight requests finish, idle keep-alive connections are closed.
  void BeginDrain();
  // Number of open client connections (approximate from another thread).
  uint64_t active_connections() const { return metrics_.connections_active.load(); }
  // Stops the io_context and joins the thread; open connections are dropped.
  void Stop();
  // A reloaded configuration: requests that start after this use it, requests in flight
  // finish under the one they started with; idle upstream connections are closed.
  void SetShared(std::shared_ptr<const GatewayShared> shared);

  const GatewayMetrics& metrics() const { return metrics_; }

  // --- used by ProxySession, on this worker's thread only ---
  boost::asio::io_context& io() { return io_; }
  const GatewayShared& shared() const { return *shared_; }
  const std::shared_ptr<const GatewayShared>& shared_ptr() const { return shared_; }
  GatewayMetrics& mutable_metrics() { return metrics_; }
  UpstreamPool& pool() { return pool_; }
  // Where the store's completions for this worker's sessions go (any thread may Add).
  CompletionInbox& completions() { return completions_; }
  bool draining() const { return draining_; }
  std::list<ProxySession*>::iterator Register(ProxySession* s) {
    return sessions_.insert(sessions_.end(), s);
  }
  void Unregister(std::list<ProxySession*>::iterator it) { sessions_.erase(it); }

 private:
  void Run();  // the thread's event loop
  // Calls the store's CommitPending whenever an asynchronous commit completed.
  void WaitForCommits();
  void DoAccept();
  // Counts and logs (rate-limited) a session coroutine that ended with an exception.
  void ReportSessionError(const std::exception_ptr& error);
  void ScheduleSweep();

  int index_;
  std::shared_ptr<const GatewayShared> shared_;
  std::atomic<uint32_t>* connections_;  // process-wide count, for max_connections
  // Declared before io_ so they outlive it: destroying io_ destroys the coroutine frames of
  // connections still open after the drain timeout, and ~ProxySession touches these.
  GatewayMetrics metrics_;
  std::list<ProxySession*> sessions_;
  boost::asio::io_context io_;
  CompletionInbox completions_{io_};
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer sweep_timer_;
  std::optional<boost::asio::posix::stream_descriptor> commit_events_;  // the store's eventfd (dup)
  uint64_t commit_count_ = 0;                                          // what a read of it returns
  UpstreamPool pool_;
  bool draining_ = false;
  uint16_t local_port_ = 0;
  std::thread thread_;
};

}  // namespace apitrail
