// HttpsClient against a hostile or broken server: each test scripts what one raw TCP
// connection on 127.0.0.1 sends, and checks the fetch ends within its deadline, with bounded
// memory, and with an error rather than a half-read answer.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>

#include "net/https_client.h"
#include "net/simple_http.h"
#include "testutil/loopback_listener.h"

namespace apitrail {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Accepts connections on 127.0.0.1 for up to 5 s; on each, reads the request head (and a
// Content-Length body) and then runs the script, which writes what it likes to the socket.
// sent() counts the bytes the scripts got the kernel to take.
class ScriptedServer {
 public:
  using Script = std::function<void(ScriptedServer&, int fd)>;
  explicit ScriptedServer(Script script, bool read_request = true)
      : script_(std::move(script)), read_request_(read_request) {
    fd_ = testing::ListenOnLoopback(&port_);
    thread_ = std::thread([this] { Serve(); });
  }
  ~ScriptedServer() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    thread_.join();
    ::close(fd_);
  }
  std::string url(const std::string& path = "/") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  uint16_t port() const { return port_; }
  int connections() const { return connections_.load(); }
  uint64_t sent() const { return sent_.load(); }
  bool stopping() const { return stop_.load(); }

  // False once the client has gone (or the test ends).
  bool Send(int fd, const std::string& s) {
    size_t off = 0;
    while (off < s.size()) {
      if (stop_) return false;
      pollfd p{fd, POLLOUT, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      const ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (n <= 0) return false;
      off += static_cast<size_t>(n);
      sent_ += static_cast<uint64_t>(n);
    }
    return true;
  }

 private:
  void Serve() {
    const auto until = Clock::now() + std::chrono::seconds(5);
    while (!stop_ && Clock::now() < until) {
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      ++connections_;
      if (read_request_) ReadRequest(c);
      script_(*this, c);
      ::close(c);
    }
  }
  static void ReadRequest(int c) {
    std::string in;
    char buf[4096];
    size_t want = std::string::npos;
    while (want == std::string::npos || in.size() < want) {
      pollfd p{c, POLLIN, 0};
      if (::poll(&p, 1, 2000) <= 0) return;
      const ssize_t n = ::read(c, buf, sizeof buf);
      if (n <= 0) return;
      in.append(buf, static_cast<size_t>(n));
      const size_t end = in.find("\r\n\r\n");
      if (want == std::string::npos && end != std::string::npos) {
        size_t body = 0;
        if (size_t at = in.find("Content-Length: "); at != std::string::npos && at < end)
          body = std::stoul(in.substr(at + 16));
        want = end + 4 + body;
      }
    }
  }

  Script script_;
  bool read_request_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::atomic<uint64_t> sent_{0};
  std::thread thread_;
};

// Sends `head` once, then `repeat` until the client goes or `cap` bytes went out.
ScriptedServer::Script Endless(std::string head, std::string repeat, uint64_t cap = 64 << 20) {
  return [head, repeat, cap](ScriptedServer& s, int fd) {
    if (!s.Send(fd, head)) return;
    std::string block;
    while (block.size() < 65536) block += repeat;
    while (s.sent() < cap && s.Send(fd, block)) {
    }
  };
}

ScriptedServer::Script Answer(std::string bytes) {
  return [bytes](ScriptedServer& s, int fd) { s.Send(fd, bytes); };
}

struct Timed {
  Result<FetchResponse> result;
  Clock::duration took;
};

Timed Get(const ScriptedServer& server, uint32_t timeout_ms = 2000,
          uint32_t max_response_bytes = 1 << 20) {
  FetchRequest req;
  req.url = server.url("/jwks");
  FetchOptions o;
  o.allow_http = true;
  o.timeout_ms = timeout_ms;
  o.max_response_bytes = max_response_bytes;
  const auto t0 = Clock::now();
  Result<FetchResponse> r = FetchSync(req, o);
  return {std::move(r), Clock::now() - t0};
}

TEST(FetchEdges, SlowDripEndsAtTheOverallDeadline) {
  // One byte every 20 ms: an idle timer would never fire.
  ScriptedServer server([](ScriptedServer& s, int fd) {
    const std::string head = "HTTP/1.1 200 OK\r\nX-Drip: ";
    if (!s.Send(fd, head)) return;
    while (!s.stopping() && s.Send(fd, "a")) std::this_thread::sleep_for(milliseconds(20));
  });
  Timed t = Get(server, 300);
  ASSERT_FALSE(t.result.ok());
  EXPECT_NE(t.result.status().message().find("timed out after 300 ms"), std::string::npos)
      << t.result.status().message();
  EXPECT_LT(t.took, milliseconds(1500));
}

TEST(FetchEdges, EndlessHeadersAreCutAtTheHeaderLimit) {
  ScriptedServer server(Endless("HTTP/1.1 200 OK\r\n", "X-Junk: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n"));
  Timed t = Get(server);
  ASSERT_FALSE(t.result.ok());
  EXPECT_EQ(t.result.status().code(), StatusCode::kResourceExhausted) << t.result.status().message();
}

TEST(FetchEdges, EndlessChunksAreCutAtTheBodyLimit) {
  ScriptedServer server(
      Endless("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "10\r\naaaaaaaaaaaaaaaa\r\n"));
  Timed t = Get(server, 2000, 100000);
  ASSERT_FALSE(t.result.ok());
  EXPECT_EQ(t.result.status().code(), StatusCode::kResourceExhausted) << t.result.status().message();
}

// Beast has no limit of its own on a chunk line's extensions or on the trailer section: it
// buffers until the line or the section ends. Without a cap on the read buffer a server
// streaming either filled memory at link speed until the deadline.
TEST(FetchEdges, EndlessChunkExtensionIsCut) {
  ScriptedServer server(
      Endless("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;ext=", "aaaaaaaaaaaaaaaa"));
  Timed t = Get(server, 3000);
  ASSERT_FALSE(t.result.ok());
  EXPECT_EQ(t.result.status().code(), StatusCode::kResourceExhausted) << t.result.status().message();
  EXPECT_LT(server.sent(), uint64_t{48} << 20);
}

TEST(FetchEdges, EndlessTrailerIsCut) {
  ScriptedServer server(Endless(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n",
      "X-Trailer: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n"));
  Timed t = Get(server, 3000);
  ASSERT_FALSE(t.result.ok());
  EXPECT_EQ(t.result.status().code(), StatusCode::kResourceExhausted) << t.result.status().message();
  EXPECT_LT(server.sent(), uint64_t{48} << 20);
}

TEST(FetchEdges, EndlessCloseDelimitedBodyIsCut) {
  ScriptedServer server(Endless("HTTP/1.0 200 OK\r\n\r\n", "aaaaaaaaaaaaaaaa"));
  Timed t = Get(server, 2000, 100000);
  ASSERT_FALSE(t.result.ok());
  EXPECT_EQ(t.result.status().code(), StatusCode::kResourceExhausted);
}

TEST(FetchEdges, HugeContentLengthIsRefusedAtOnce) {
  ScriptedServer server(Answer("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999\r\n\r\n{}"));
  Timed t = Get(server);
  ASSERT_FALSE(t.result.ok());
  EXPECT_EQ(t.result.status().code(), StatusCode::kResourceExhausted);
  EXPECT_LT(t.took, milliseconds(1000));
}

TEST(FetchEdges, BodyShorterThanItsLengthIsAnError) {
  ScriptedServer server(Answer("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"keys\":[]}"));
  Timed t = Get(server);
  ASSERT_FALSE(t.result.ok());
  EXPECT_EQ(t.result.status().code(), StatusCode::kUnavailable);
  EXPECT_LT(t.took, milliseconds(1000));
}

TEST(FetchEdges, GarbageChunkSizesAreErrors) {
  for (const char* chunk : {"fffffffffffffffffffff\r\n", "zz\r\n", "-1\r\n", "5\r\nabc"}) {
    ScriptedServer server(
        Answer(std::string("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n") + chunk));
    Timed t = Get(server);
    EXPECT_FALSE(t.result.ok()) << chunk;
    EXPECT_LT(t.took, milliseconds(1000)) << chunk;
  }
}

TEST(FetchEdges, ResetMidBodyIsUnavailable) {
  ScriptedServer server([](ScriptedServer& s, int fd) {
    s.Send(fd, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n{\"keys\":");
    const linger l{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);  // close sends an RST
  });
  Timed t = Get(server);
  ASSERT_FALSE(t.result.ok());
  EXPECT_EQ(t.result.status().code(), StatusCode::kUnavailable);
}

TEST(FetchEdges, RedirectIsReturnedNotFollowed) {
  ScriptedServer server(Answer(
      "HTTP/1.1 302 Found\r\nLocation: http://169.254.169.254/latest/meta-data/\r\n"
      "Content-Length: 0\r\n\r\n"));
  Timed t = Get(server);
  ASSERT_TRUE(t.result.ok()) << t.result.status().message();
  EXPECT_EQ(t.result->status, 302);
  EXPECT_EQ(server.connections(), 1);
}

TEST(FetchEdges, CloseDelimitedHttp10BodyIsRead) {
  ScriptedServer server(Answer("HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{\"keys\":[]}"));
  Timed t = Get(server);
  ASSERT_TRUE(t.result.ok()) << t.result.status().message();
  EXPECT_EQ(t.result->body, "{\"keys\":[]}");
}

TEST(FetchEdges, AnswerBeforeTheRequestIsRead) {
  ScriptedServer server(Answer("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"),
                        /*read_request=*/false);
  Timed t = Get(server);
  // Either the answer or a failed write: never a hang.
  if (t.result.ok()) {
    EXPECT_EQ(t.result->body, "{}");
  }
  EXPECT_LT(t.took, milliseconds(1000));
}

TEST(FetchEdges, GzipBodyIsReturnedAsSent) {
  const std::string gz("\x1f\x8b\x08\x00\x00\x00\x00\x00", 8);
  ScriptedServer server(Answer("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 8\r\n\r\n" + gz));
  Timed t = Get(server);
  ASSERT_TRUE(t.result.ok()) << t.result.status().message();
  EXPECT_EQ(t.result->body, gz);  // not inflated: the caller's JSON parse refuses it
}

// RFC 9110 §15.2: a client must accept an interim answer it did not ask for and read on to
// the final one. An identity provider behind a CDN that sends 103 Early Hints otherwise
// made every JWKS fetch and introspection fail with "HTTP 103".
TEST(FetchEdges, InterimAnswersAreSkipped) {
  ScriptedServer server(Answer(
      "HTTP/1.1 100 Continue\r\n\r\n"
      "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n"
      "{\"keys\":[]}"));
  Timed t = Get(server);
  ASSERT_TRUE(t.result.ok()) << t.result.status().message();
  EXPECT_EQ(t.result->status, 200);
  EXPECT_EQ(t.result->body, "{\"keys\":[]}");
  EXPECT_EQ(t.result->Header("Link"), "");  // the interim answer's fields are not the answer's
}

TEST(FetchEdges, EndlessInterimAnswersAreCut) {
  ScriptedServer server(Endless("", "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"));
  Timed t = Get(server, 2000);
  ASSERT_FALSE(t.result.ok());
  EXPECT_EQ(t.result.status().code(), StatusCode::kResourceExhausted) << t.result.status().message();
  EXPECT_LT(t.took, milliseconds(1500));
}

TEST(FetchEdges, Ipv6LiteralUrlSendsABracketedHost) {
  namespace asio = boost::asio;
  asio::io_context ioc;
  asio::ip::tcp::acceptor a(ioc);
  boost::system::error_code ec;
  a.open(asio::ip::tcp::v6(), ec);
  if (!ec) a.bind({asio::ip::make_address("::1"), 0}, ec);
  if (!ec) a.listen(4, ec);
  if (ec) GTEST_SKIP() << "no IPv6 loopback: " << ec.message();
  const uint16_t port = a.local_endpoint().port();
  std::string head;
  std::thread server([&] {
    asio::ip::tcp::socket s(ioc);
    a.accept(s);
    asio::read_until(s, asio::dynamic_buffer(head), "\r\n\r\n");
    asio::write(s, asio::buffer(std::string("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")));
  });
  FetchRequest req;
  req.url = "http://[::1]:" + std::to_string(port) + "/jwks";
  FetchOptions o;
  o.allow_http = true;
  o.timeout_ms = 2000;
  auto r = FetchSync(req, o);
  server.join();
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->body, "{}");
  EXPECT_NE(head.find("\r\nHost: [::1]:" + std::to_string(port) + "\r\n"), std::string::npos) << head;
}

// HttpRequest (simple_http.h) is the webhook witness's client: a receiver streaming a chunk
// line or a trailer section without end was buffered until the witness's timeout_ms.
TEST(FetchEdges, SimpleHttpRequestCutsEndlessChunkMetadata) {
  for (const char* tail : {"1;ext=", "2\r\n{}\r\n0\r\nX-Trailer: "}) {
    ScriptedServer server(Endless(
        std::string("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n") + tail, "aaaaaaaaaaaaaaaa"));
    const auto t0 = Clock::now();
    auto r = HttpRequest(HostPort{"127.0.0.1", server.port()}, "POST", "/witness", {}, "note", 3000);
    EXPECT_FALSE(r.ok()) << tail;
    EXPECT_LT(Clock::now() - t0, milliseconds(2000)) << tail;
    EXPECT_LT(server.sent(), uint64_t{48} << 20) << tail;
  }
}

// The webhook witness's client skips interim answers too: a 103 from a CDN in front of the
// receiver was taken as the answer, and every publish counted as failed.
TEST(FetchEdges, SimpleHttpRequestSkipsInterimAnswers) {
  ScriptedServer server(Answer(
      "HTTP/1.1 100 Continue\r\n\r\n"
      "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
      "HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\nok"));
  auto r = HttpRequest(HostPort{"127.0.0.1", server.port()}, "POST", "/witness", {}, "note", 3000);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->status, 202);
  EXPECT_EQ(r->body, "ok");
  ScriptedServer endless(Endless("", "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"));
  const auto t0 = Clock::now();
  auto cut = HttpRequest(HostPort{"127.0.0.1", endless.port()}, "POST", "/witness", {}, "note", 3000);
  ASSERT_FALSE(cut.ok());
  EXPECT_NE(cut.status().message().find("interim"), std::string::npos) << cut.status().message();
  EXPECT_LT(Clock::now() - t0, milliseconds(2000));
}

// The same on the server side of simple_http (the admin API, before any token is checked):
// a request streaming a chunk line's extensions was buffered until timeout_ms (30 s).
TEST(FetchEdges, SimpleHttpServerCutsEndlessChunkMetadata) {
  auto server = SimpleHttpServer::Create(HostPort{"127.0.0.1", 0}, SimpleServerOptions{},
                                         [](const SimpleRequest&) { return SimpleResponse{}; });
  ASSERT_TRUE(server.ok()) << server.status().message();
  (*server)->Start();
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons((*server)->port());
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  std::string out = "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1;ext=";
  out.resize(65536, 'a');
  uint64_t sent = 0;
  const auto until = Clock::now() + std::chrono::seconds(3);
  while (sent < (uint64_t{64} << 20) && Clock::now() < until) {
    pollfd p{fd, POLLOUT, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    const ssize_t n = ::send(fd, out.data(), out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n <= 0) break;
    sent += static_cast<uint64_t>(n);
    out.assign(65536, 'a');
  }
  ::close(fd);
  (*server)->Stop();
  EXPECT_LT(sent, uint64_t{48} << 20);
}

TEST(FetchEdges, TrailerFieldsAreNotTakenAsHeaderFields) {
  ScriptedServer server(Answer(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Head: 1\r\n\r\n"
      "b\r\n{\"keys\":[]}\r\n0\r\nCache-Control: max-age=1\r\nX-Head: 2\r\n\r\n"));
  Timed t = Get(server);
  ASSERT_TRUE(t.result.ok()) << t.result.status().message();
  EXPECT_EQ(t.result->body, "{\"keys\":[]}");
  EXPECT_EQ(t.result->Header("Cache-Control"), "");
  EXPECT_EQ(t.result->headers.size(), 2u);  // Transfer-Encoding, X-Head: 1
  EXPECT_EQ(t.result->Header("X-Head"), "1");
}

}  // namespace
}  // namespace apitrail
