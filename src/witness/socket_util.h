// Blocking POSIX socket helpers for the witnesses (publisher threads only): name
// resolution, connect and send with a deadline. Internal to src/witness. Thread-safe.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "config/config.h"
#include "core/status.h"

namespace apitrail::witness_internal {

struct ResolvedAddress {
  sockaddr_storage addr{};
  socklen_t len = 0;
  int family = 0;
  std::string ip;  // numeric form
};

// The first address `to.host` resolves to (IP literals need no lookup).
Result<ResolvedAddress> Resolve(const HostPort& to, int socktype);

// A connected socket (close it with ::close), or Unavailable within timeout_ms.
Result<int> ConnectWithTimeout(const ResolvedAddress& to, int socktype, uint32_t timeout_ms);

// Sends all of `data` on a connected stream socket within timeout_ms.
Status SendAll(int fd, std::string_view data, uint32_t timeout_ms);

}  // namespace apitrail::witness_internal
