// RemoteKeySet's refresh on demand: an unknown kid asks for a fetch at most once per
// jwks_refresh_min_interval_ms, and a request that arrives while a fetch is running is not
// lost (the keys it wants may have been published after that fetch began).
#include "auth/remote_key_set.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "auth/jwt_verifier.h"
#include "jwt_test_signer.h"

namespace apitrail {
namespace {

using namespace std::chrono_literals;

// A JWKS endpoint on 127.0.0.1: answers every request with `body`, each after the first one
// `delay` late. Counts the requests it has begun to answer.
class SlowJwksServer {
 public:
  SlowJwksServer(std::string body, std::chrono::milliseconds delay, int status = 200)
      : body_(std::move(body)), delay_(delay), status_(status) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::listen(fd_, 16), 0);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~SlowJwksServer() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/jwks"; }
  int requests() const { return requests_.load(); }

 private:
  void Serve() {
    while (!stop_) {
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      std::string in;
      char buf[4096];
      while (in.find("\r\n\r\n") == std::string::npos) {
        const ssize_t n = ::read(c, buf, sizeof buf);
        if (n <= 0) break;
        in.append(buf, static_cast<size_t>(n));
      }
      if (requests_.fetch_add(1) > 0) std::this_thread::sleep_for(delay_);
      const std::string out = "HTTP/1.1 " + std::to_string(status_) + " X\r\nContent-Type: application/json\r\nConnection: close\r\n"
                              "Content-Length: " + std::to_string(body_.size()) + "\r\n\r\n" + body_;
      (void)!::write(c, out.data(), out.size());
      ::close(c);
    }
  }

  std::string body_;
  std::chrono::milliseconds delay_;
  int status_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  std::thread thread_;
};

template <typename F>
bool WaitFor(F done, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

// An RS256 issuer whose keys are at `server`, refetched on request at most every 100 ms.
JwtIssuerConfig IssuerAt(const SlowJwksServer& server) {
  JwtIssuerConfig c;
  c.issuer = "https://idp.example";
  c.audiences = {"api"};
  c.algorithms = {"RS256"};
  c.jwks_url = server.url();
  c.allow_insecure_http = true;
  c.jwks_refresh_min_interval_ms = 100;
  return c;
}

TEST(RemoteKeySetRefresh, ARequestWhileAFetchRunsIsServedRightAfterIt) {
  auto key = testing::GenerateRsa2048();
  SlowJwksServer server(R"({"keys":[)" + testing::PublicJwk(key.get(), "k1", "RS256") + "]}", 400ms);
  auto v = JwtVerifier::Create({IssuerAt(server)});
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  // The verifier hands out a const view; asking for a refresh is what its Verify does.
  auto* keys = const_cast<RemoteKeySet*>((*v)->remote_keys(0));
  ASSERT_NE(keys, nullptr);
  ASSERT_TRUE(WaitFor([&] { return keys->fetch_count() == 1; }, 5s));
  // No max-age: the next scheduled fetch is a day away. An unknown kid starts one now...
  std::this_thread::sleep_for(150ms);  // past the minimum interval
  keys->RequestRefresh();
  ASSERT_TRUE(WaitFor([&] { return server.requests() == 2; }, 5s));
  // ...and another one arrives while it runs (the slow server holds it 400 ms).
  keys->RequestRefresh();
  ASSERT_TRUE(WaitFor([&] { return keys->fetch_count() == 2; }, 5s));
  // The second request is served right after the first fetch, not a day later.
  EXPECT_TRUE(WaitFor([&] { return server.requests() == 3; }, 3s)) << server.requests() << " requests";
  // Nothing asked since: no further fetch.
  ASSERT_TRUE(WaitFor([&] { return keys->fetch_count() == 3; }, 5s));
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(server.requests(), 3);
}

TEST(RemoteKeySetRefresh, UnknownKidsDuringAnOutageWaitForTheBackoff) {
  SlowJwksServer server("not found", 0ms, 404);
  auto v = JwtVerifier::Create({IssuerAt(server)});
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  auto* keys = const_cast<RemoteKeySet*>((*v)->remote_keys(0));
  ASSERT_TRUE(WaitFor([&] { return keys->fetch_count() == 1; }, 5s));
  // The first retry is a second after the failure; made-up kids do not bring it forward.
  for (int i = 0; i < 5; ++i) {
    keys->RequestRefresh();
    std::this_thread::sleep_for(120ms);
  }
  EXPECT_EQ(server.requests(), 1);
  EXPECT_TRUE(WaitFor([&] { return server.requests() == 2; }, 3s));
}

}  // namespace
}  // namespace apitrail
