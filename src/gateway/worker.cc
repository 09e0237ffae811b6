#include "gateway/worker.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <fcntl.h>
#include <sched.h>
#include <sys/socket.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <exception>

#include "core/exception_util.h"
#include "core/thread_util.h"
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
      // Sockets, timers and descriptors of this io_context are only ever touched by its own
      // thread (the control thread posts), so the reactor needs no locks; posting from other
      // threads (store completions, control) stays locked.
      io_(BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO),
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
  NameThisThread("at-worker-" + std::to_string(index_));
  // The store's group commit is done here instead of on the writer thread: handing the
  // records over cost four context switches per commit when both share a core (the
  // dominant cost of the pinned gateway bench, docs/OPERATIONS.md). A commit starts when
  // this loop runs dry, or after kCommitBudget handlers under sustained load. With
  // audit.async_commit (the default) it goes on serving while the write is in flight, and
  // the store's eventfd wakes it when it is done; otherwise it blocks in the write.
  constexpr int kCommitBudget = 64;
  constexpr int64_t kYieldAfterNs = 100'000;    // a synced 4 KiB write's p50 here is 70-100 us
  constexpr int64_t kYieldUntilNs = 2'000'000;  // a commit's p99 here is well below
  Store::DeclareCommittingThread();
  WaitForCommits();
  int ran = 0;
  while (true) {
    Store* store = shared_->store;
    // Before the next handler: a finished commit's responses go out and the next starts.
    if (store != nullptr && !store->ReapCompletedCommit()) {
      // Still in flight. An O_DSYNC write on a disk without FUA completes through a kworker
      // that issues the cache flush, and on this CPU under PREEMPT_NONE it waits until we
      // block or the tick comes: the pinned bench measured 250-290 us from submit to reap
      // against ~113 us of device time. Once the device could be done, give it the CPU
      // after each handler (a sched_yield returns at once when nothing else is runnable):
      // 138-144 us. Not beyond kYieldUntilNs: a commit stuck on a stalled device must not
      // keep the worker yielding to everything else runnable while it could serve.
      const int64_t started = store->CommitStartedNs();
      const int64_t age = started != 0 ? MonotonicNowNs() - started : 0;
      if (age > kYieldAfterNs && age < kYieldUntilNs) sched_yield();
    }
    if (store != nullptr && store->CommitWanted()) {
      if (io_.poll_one() > 0 && ++ran < kCommitBudget) continue;
      if (io_.stopped()) break;
      ran = 0;
      if (store->CommitPending()) continue;
      // The writer held the commit lock and takes our records: wait for an event instead
      // of polling until it is done.
    }
    if (io_.run_one() == 0) break;  // stopped, or out of work
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
  // A read rather than async_wait: the read consumes the count and, once registered, needs
  // no epoll_ctl per commit.
  commit_events_->async_read_some(asio::buffer(&commit_count_, sizeof(commit_count_)),
                                  [this](boost::system::error_code ec, size_t) {
                                    if (ec == asio::error::operation_aborted) return;
                                    if (Store* s = shared_->store) s->CommitPending();
                                    if (!ec || ec == asio::error::would_block || ec == asio::error::try_again) {
                                      WaitForCommits();
                                    }
                                  });
}

void Worker::ReportSessionError(const std::exception_ptr& error) {
  // The connection is gone (the request it was serving was recorded as interrupted, unless
  // that record failed too: ProxySession::HandleOne): that must not pass unseen, nor flood
  // the log when it repeats per request.
  const uint64_t n = metrics_.session_errors.fetch_add(1, std::memory_order_relaxed) + 1;
  if (!ShouldLogOccurrence(n)) return;
  spdlog::error("worker {}: a connection ended on an internal error ({} so far): {}", index_, n,
                ExceptionMessage(error));
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
      asio::co_spawn(io_, raw->Run(), [this, raw](const std::exception_ptr& error) {
        if (error) ReportSessionError(error);
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
    const int64_t now = MonotonicCoarseNowNs();  // the clock SetPhase sets deadlines with
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
    for (ProxySession* s : sessions_) s->CheckDeadline(MonotonicCoarseNowNs(), true);
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
