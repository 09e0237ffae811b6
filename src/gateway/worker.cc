#include "gateway/worker.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/time_util.h"
#include "gateway/proxy_session.h"
#include "store/store.h"

namespace apitrail {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {
uint32_t MaxIdle(const Config& c) {
  return c.upstreams.empty() ? 0 : c.upstreams[0].max_idle_connections;
}
}  // namespace

Worker::Worker(int index, std::shared_ptr<const GatewayShared> shared,
               std::atomic<uint32_t>* connections)
    : index_(index),
      shared_(std::move(shared)),
      connections_(connections),
      io_(1),
      acceptor_(io_),
      sweep_timer_(io_),
      pool_(shared_->config->upstreams.size(), MaxIdle(*shared_->config)) {
  pool_.Reset(shared_->config->upstreams.size(), MaxIdle(*shared_->config), shared_->generation);
}

void Worker::SetShared(std::shared_ptr<const GatewayShared> shared) {
  asio::post(io_, [this, shared = std::move(shared)]() mutable {
    pool_.Reset(shared->config->upstreams.size(), MaxIdle(*shared->config), shared->generation);
    shared_ = std::move(shared);
  });
}

Worker::~Worker() { Stop(); }

Status Worker::Listen(const tcp::endpoint& endpoint) {
  boost::system::error_code ec;
  acceptor_.open(endpoint.protocol(), ec);
  if (ec) return Status::IoError("gateway.listen: open: " + ec.message());
  acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  int one = 1;
  // Every worker binds the same address; the kernel spreads connections across them.
  if (::setsockopt(acceptor_.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) {
    return Status::IoError("gateway.listen: SO_REUSEPORT not supported");
  }
  acceptor_.bind(endpoint, ec);
  if (ec) {
    return Status::IoError("gateway.listen: cannot bind " + endpoint.address().to_string() + ":" +
                           std::to_string(endpoint.port()) + ": " + ec.message());
  }
  acceptor_.listen(4096, ec);
  if (ec) return Status::IoError("gateway.listen: listen: " + ec.message());
  local_port_ = acceptor_.local_endpoint().port();
  return Status::Ok();
}

void Worker::Start() {
  DoAccept();
  ScheduleSweep();
  thread_ = std::thread([this] { Run(); });
}

void Worker::Run() {
  // The store's group commit is done here, whenever the loop runs dry (and at least every
  // kCommitBudget handlers under sustained load), instead of on the writer thread: this
  // thread would sleep in epoll_wait now anyway, while handing the records to the writer
  // costs four context switches per commit when both share a core (the dominant cost of
  // the pinned gateway bench, bench/README.md).
  constexpr int kCommitBudget = 64;
  Store::DeclareCommittingThread();
  WaitForCommits();
  while (true) {
    int ran = 0;
    while (ran < kCommitBudget && io_.poll_one() > 0) ++ran;
    if (io_.stopped()) break;
    if (Store* store = shared_->store) store->CommitPending();
    if (ran == 0 && io_.run_one() == 0) break;
  }
}

void Worker::WaitForCommits() {
  Store* store = shared_->store;
  if (store == nullptr || store->CommitEventFd() < 0) return;
  if (!commit_events_) {
    // A descriptor of our own for the store's eventfd: each worker's epoll registers it.
    const int fd = ::fcntl(store->CommitEventFd(), F_DUPFD_CLOEXEC, 0);
    if (fd < 0) return;  // commits started here are then finished by the next CommitPending
    commit_events_.emplace(io_, fd);
  }
  commit_events_->async_wait(asio::posix::descriptor_base::wait_read, [this](boost::system::error_code ec) {
    if (ec) return;
    uint64_t count;
    (void)!::read(commit_events_->native_handle(), &count, sizeof(count));  // EAGAIN: another worker read it
    if (Store* s = shared_->store) s->CommitPending();
    WaitForCommits();
  });
}

void Worker::DoAccept() {
  acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
      DoAccept();  // EMFILE and friends: keep serving the connections we have
      return;
    }
    metrics_.Inc(metrics_.connections_accepted);
    uint32_t limit = shared_->config->gateway.max_connections;
    if (connections_->fetch_add(1, std::memory_order_relaxed) >= limit) {
      connections_->fetch_sub(1, std::memory_order_relaxed);
      metrics_.Inc(metrics_.connections_rejected);
      boost::system::error_code ignore;
      socket.close(ignore);
    } else {
      auto session = std::make_unique<ProxySession>(*this, std::move(socket));
      ProxySession* raw = session.release();
      asio::co_spawn(io_, raw->Run(), [this, raw](std::exception_ptr) {
        delete raw;
        connections_->fetch_sub(1, std::memory_order_relaxed);
      });
    }
    if (!draining_) DoAccept();
  });
}

void Worker::ScheduleSweep() {
  const auto& gw = shared_->config->gateway;
  uint32_t smallest = std::min({gw.header_timeout_ms, gw.idle_timeout_ms, gw.body_timeout_ms,
                                gw.upstream_connect_timeout_ms, gw.upstream_response_timeout_ms});
  // A quarter of the smallest timeout bounds the overshoot; never busier than every 10 ms.
  auto period = std::chrono::milliseconds(std::clamp<uint32_t>(smallest / 4, 10, 250));
  sweep_timer_.expires_after(period);
  sweep_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    int64_t now = MonotonicNowNs();
    // CheckDeadline only cancels I/O; sessions unregister later, on their own completion.
    for (ProxySession* s : sessions_) s->CheckDeadline(now, draining_);
    ScheduleSweep();
  });
}

void Worker::BeginDrain() {
  asio::post(io_, [this] {
    draining_ = true;
    boost::system::error_code ec;
    acceptor_.close(ec);
    for (ProxySession* s : sessions_) s->CheckDeadline(MonotonicNowNs(), true);
  });
}

void Worker::Stop() {
  if (!thread_.joinable()) return;
  asio::post(io_, [this] {
    boost::system::error_code ec;
    acceptor_.close(ec);
    sweep_timer_.cancel();
    pool_.CloseAll();
  });
  io_.stop();
  thread_.join();
}

}  // namespace apitrail
