#include "witness/socket_util.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace apitrail::witness_internal {

namespace {

using Clock = std::chrono::steady_clock;

int MsLeft(Clock::time_point deadline) {
  auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}

}  // namespace

Result<ResolvedAddress> Resolve(const HostPort& to, int socktype) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = socktype;
  addrinfo* res = nullptr;
  const std::string port = std::to_string(to.port);
  const std::string host = to.host.empty() ? "127.0.0.1" : to.host;
  if (int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &res); rc != 0 || res == nullptr) {
    return Status::Unavailable("cannot resolve " + host + ": " + ::gai_strerror(rc));
  }
  ResolvedAddress out;
  std::memcpy(&out.addr, res->ai_addr, res->ai_addrlen);
  out.len = res->ai_addrlen;
  out.family = res->ai_family;
  char buf[INET6_ADDRSTRLEN] = {};
  const void* raw =
      res->ai_family == AF_INET6
          ? static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(res->ai_addr)->sin6_addr)
          : static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(res->ai_addr)->sin_addr);
  ::inet_ntop(res->ai_family, raw, buf, sizeof(buf));
  out.ip = buf;
  ::freeaddrinfo(res);
  return out;
}

Result<int> ConnectWithTimeout(const ResolvedAddress& to, int socktype, uint32_t timeout_ms) {
  int fd = ::socket(to.family, socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return Status::Unavailable(std::string("socket: ") + std::strerror(errno));
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&to.addr), to.len) != 0) {
    if (errno != EINPROGRESS) {
      Status st = Status::Unavailable("connect to " + to.ip + ": " + std::strerror(errno));
      ::close(fd);
      return st;
    }
    pollfd p{fd, POLLOUT, 0};
    int rc = ::poll(&p, 1, MsLeft(deadline));
    int err = 0;
    socklen_t len = sizeof(err);
    if (rc <= 0 || ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
      Status st =
          Status::Unavailable("connect to " + to.ip + ": " +
                              (rc == 0 ? "timed out" : std::strerror(err != 0 ? err : errno)));
      ::close(fd);
      return st;
    }
  }
  return fd;
}

Status SendAll(int fd, std::string_view data, uint32_t timeout_ms) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n > 0) {
      done += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{fd, POLLOUT, 0};
      if (::poll(&p, 1, MsLeft(deadline)) <= 0) return Status::Unavailable("send timed out");
      continue;
    }
    return Status::Unavailable(std::string("send: ") + std::strerror(errno));
  }
  return Status::Ok();
}

}  // namespace apitrail::witness_internal
