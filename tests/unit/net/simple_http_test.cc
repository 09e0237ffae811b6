#include "net/simple_http.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>

namespace apitrail {
namespace {

// A handler that throws answers 500 with a JSON body that does not carry the exception's
// text, and the server goes on serving (the next request on the same server works).
TEST(SimpleHttpServerTest, ThrowingHandlerAnswers500AndServerSurvives) {
  SimpleHandler handler = [](const SimpleRequest& req) -> SimpleResponse {
    if (req.target == "/boom") throw std::runtime_error("secret path /etc/apitrail/admin-tokens");
    if (req.target == "/odd") throw 42;
    SimpleResponse res;
    res.body = R"({"ok":true})";
    return res;
  };
  auto server = SimpleHttpServer::Create(HostPort{"127.0.0.1", 0}, SimpleServerOptions{}, handler);
  ASSERT_TRUE(server.ok()) << server.status().message();
  (*server)->Start();
  const HostPort at{"127.0.0.1", (*server)->port()};

  for (const char* target : {"/boom", "/odd"}) {
    auto res = HttpRequest(at, "GET", target, {}, "", 5000);
    ASSERT_TRUE(res.ok()) << res.status().message();
    EXPECT_EQ(res->status, 500) << target;
    EXPECT_EQ(res->content_type, "application/json");
    EXPECT_NE(res->body.find("\"internal\""), std::string::npos) << res->body;
    EXPECT_EQ(res->body.find("secret"), std::string::npos) << res->body;
  }
  auto ok = HttpRequest(at, "GET", "/fine", {}, "", 5000);
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(ok->body, R"({"ok":true})");
  (*server)->Stop();
}

// Sends `request` on a fresh connection to 127.0.0.1:port, half-closes, and returns every
// byte the server answers until it closes.
std::string RoundTrip(uint16_t port, const std::string& request) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  EXPECT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  EXPECT_EQ(::send(fd, request.data(), request.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(request.size()));
  ::shutdown(fd, SHUT_WR);
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;)
    out.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return out;
}

// A HEAD answer carries the GET's Content-Length and no body: a body after it would be read
// by a keep-alive client as the start of its next response.
TEST(SimpleHttpServerTest, HeadAnswersWithoutABody) {
  SimpleHandler handler = [](const SimpleRequest& req) {
    SimpleResponse res;
    res.body = req.target == "/a" ? R"({"hello":"world"})" : "second";
    return res;
  };
  auto server = SimpleHttpServer::Create(HostPort{"127.0.0.1", 0}, SimpleServerOptions{}, handler);
  ASSERT_TRUE(server.ok()) << server.status().message();
  (*server)->Start();
  const std::string out = RoundTrip(
      (*server)->port(), "HEAD /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n");
  (*server)->Stop();
  const size_t head_end = out.find("\r\n\r\n");
  ASSERT_NE(head_end, std::string::npos) << out;
  const std::string head = out.substr(0, head_end);
  EXPECT_EQ(head.rfind("HTTP/1.1 200", 0), 0u) << out;
  EXPECT_NE(head.find("Content-Length: 17"), std::string::npos) << out;  // the GET's length
  // Right after the HEAD answer's head comes the next response, not `{"hello":"world"}`.
  EXPECT_EQ(out.compare(head_end + 4, 12, "HTTP/1.1 200"), 0) << out;
  EXPECT_EQ(out.find("hello"), std::string::npos) << out;
  EXPECT_NE(out.find("second"), std::string::npos) << out;
}

// A head over max_header_bytes is 431 (RFC 6585), like on the gateway, not a 400.
TEST(SimpleHttpServerTest, OversizedHeadIs431) {
  SimpleHandler handler = [](const SimpleRequest&) { return SimpleResponse{}; };
  SimpleServerOptions options;
  options.max_header_bytes = 1024;
  auto server = SimpleHttpServer::Create(HostPort{"127.0.0.1", 0}, options, handler);
  ASSERT_TRUE(server.ok()) << server.status().message();
  (*server)->Start();
  const uint16_t port = (*server)->port();
  for (const std::string& request :
       {"GET /?q=" + std::string(2000, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nX-Filler: " + std::string(2000, 'f') + "\r\n\r\n"}) {
    const std::string out = RoundTrip(port, request);
    EXPECT_EQ(out.rfind("HTTP/1.1 431", 0), 0u) << out.substr(0, 200);
    EXPECT_NE(out.find(R"("error":"bad_request")"), std::string::npos) << out.substr(0, 300);
  }
  EXPECT_EQ(RoundTrip(port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n").rfind("HTTP/1.1 200", 0), 0u);
  (*server)->Stop();
}

// RFC 9112 §3.2: 400 for an HTTP/1.1 request without Host and for any with two; an
// HTTP/1.0 request needs none.
TEST(SimpleHttpServerTest, MissingOrRepeatedHostIs400) {
  SimpleHandler handler = [](const SimpleRequest&) { return SimpleResponse{}; };
  auto server = SimpleHttpServer::Create(HostPort{"127.0.0.1", 0}, SimpleServerOptions{}, handler);
  ASSERT_TRUE(server.ok()) << server.status().message();
  (*server)->Start();
  const uint16_t port = (*server)->port();
  for (const char* request :
       {"GET / HTTP/1.1\r\n\r\n", "GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n",
        "GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n"}) {
    const std::string out = RoundTrip(port, request);
    EXPECT_EQ(out.rfind("HTTP/1.1 400", 0), 0u) << request << out.substr(0, 200);
    EXPECT_NE(out.find("Host header"), std::string::npos) << out.substr(0, 300);
  }
  EXPECT_EQ(RoundTrip(port, "GET / HTTP/1.0\r\n\r\n").rfind("HTTP/1.1 200", 0), 0u);
  EXPECT_EQ(RoundTrip(port, "GET / HTTP/1.1\r\nHost: a\r\n\r\n").rfind("HTTP/1.1 200", 0), 0u);
  (*server)->Stop();
}

// With several threads a slow handler does not hold up the others (the admin listener runs
// four, so a long proof leaves /healthz answering).
TEST(SimpleHttpServerTest, SlowHandlerDoesNotHoldUpOtherRequests) {
  std::atomic<bool> release{false};
  std::atomic<bool> slow_entered{false};
  SimpleHandler handler = [&](const SimpleRequest& req) {
    if (req.target == "/slow") {
      slow_entered = true;
      for (int i = 0; i < 500 && !release.load(); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return SimpleResponse{};
  };
  auto server = SimpleHttpServer::Create(HostPort{"127.0.0.1", 0},
                                         SimpleServerOptions{.threads = 2}, handler);
  ASSERT_TRUE(server.ok()) << server.status().message();
  (*server)->Start();
  const HostPort at{"127.0.0.1", (*server)->port()};
  std::thread slow([&] { (void)HttpRequest(at, "GET", "/slow", {}, "", 10000); });
  // The slow one is in its handler: waited for, since on a loaded host a fixed 100 ms may
  // not be enough, and the fast request would then prove nothing.
  for (int i = 0; i < 2000 && !slow_entered.load(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (!slow_entered.load()) {
    release = true;
    slow.join();
    FAIL() << "the slow request never reached its handler";
  }
  const auto t0 = std::chrono::steady_clock::now();
  auto fast = HttpRequest(at, "GET", "/fast", {}, "", 10000);
  const auto waited = std::chrono::steady_clock::now() - t0;
  release = true;
  slow.join();
  ASSERT_TRUE(fast.ok()) << fast.status().message();
  EXPECT_EQ(fast->status, 200);
  EXPECT_LT(waited, std::chrono::seconds(2)) << "the fast request waited for the slow one (5 s)";
  (*server)->Stop();
}

}  // namespace
}  // namespace apitrail
