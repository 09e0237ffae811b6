// CannedHttpServer: a plain-HTTP server on 127.0.0.1 (an ephemeral port) that answers every
// request with the same status and JSON body (until SetBody changes it: an issuer rotating
// its keys), each request after the first one `delay` late, and counts the requests it has
// begun to answer. Hold() keeps every answer back until Release() (a test that needs calls
// in flight while it looks). For tests of the gateway's outgoing
// calls (JWKS fetches, token introspection) with allow_insecure_http. It reads each request
// whole (head and Content-Length body) before answering, so closing never resets a request
// the client is still sending. One connection at a time, Connection: close.
// Test-only. Construct and destroy on one thread; requests(), SetBody, Hold and Release from
// any.
#pragma once

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>

#include "testutil/loopback_listener.h"

namespace apitrail::testing {

class CannedHttpServer {
 public:
  explicit CannedHttpServer(std::string body, std::chrono::milliseconds delay = std::chrono::milliseconds(0),
                            int status = 200)
      : body_(std::move(body)), delay_(delay), status_(status) {
    fd_ = ListenOnLoopback(&port_);
    thread_ = std::thread([this] { Serve(); });
  }
  ~CannedHttpServer() {
    Release();
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);  // wakes accept(); the descriptor stays ours until joined
    thread_.join();
    ::close(fd_);
  }
  CannedHttpServer(const CannedHttpServer&) = delete;
  CannedHttpServer& operator=(const CannedHttpServer&) = delete;

  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  int requests() const { return requests_.load(); }
  void SetBody(std::string body) {
    std::lock_guard<std::mutex> lock(mu_);
    body_ = std::move(body);
  }
  void Hold() {
    std::lock_guard<std::mutex> lock(mu_);
    held_ = true;
  }
  void Release() {
    std::lock_guard<std::mutex> lock(mu_);
    held_ = false;
    released_.notify_all();
  }

 private:
  void Serve() {
    while (!stop_) {
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      // A client that stalls mid-request must not hang the destructor's join.
      const timeval limit{5, 0};
      ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
      ReadRequest(c);
      if (requests_.fetch_add(1) > 0) std::this_thread::sleep_for(delay_);
      std::string body;
      {
        std::unique_lock<std::mutex> lock(mu_);
        released_.wait(lock, [this] { return !held_; });
        body = body_;
      }
      const std::string out = "HTTP/1.1 " + std::to_string(status_) +
                              " X\r\nContent-Type: application/json\r\nConnection: close\r\n"
                              "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
      (void)!::send(c, out.data(), out.size(), MSG_NOSIGNAL);  // a reset client: no SIGPIPE
      ::close(c);
    }
  }

  static void ReadRequest(int c) {
    std::string in;
    char buf[4096];
    size_t want = std::string::npos;  // head + body bytes, once the head is in
    while (want == std::string::npos || in.size() < want) {
      const ssize_t n = ::read(c, buf, sizeof buf);
      if (n <= 0) return;
      in.append(buf, static_cast<size_t>(n));
      const size_t end = in.find("\r\n\r\n");
      if (want == std::string::npos && end != std::string::npos) {
        size_t body = 0;
        std::string head = in.substr(0, end);
        for (char& ch : head) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        if (const size_t at = head.find("\r\ncontent-length:"); at != std::string::npos) {
          body = std::strtoul(head.c_str() + at + 17, nullptr, 10);
        }
        want = end + 4 + body;
      }
    }
  }

  std::mutex mu_;
  std::string body_;  // guarded by mu_
  bool held_ = false;  // guarded by mu_
  std::condition_variable released_;
  std::chrono::milliseconds delay_;
  int status_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  std::thread thread_;
};

}  // namespace apitrail::testing
