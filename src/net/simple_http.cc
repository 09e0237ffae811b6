#include "net/simple_http.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <functional>
#include <optional>
#include <thread>

#include "core/exception_util.h"
#include "core/json_writer.h"
#include "net/interim_answers.h"

namespace apitrail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

namespace {

size_t HostFieldCount(const http::request<http::string_body>& req) {
  size_t n = 0;
  for (const auto& f : req) n += beast::iequals(f.name_string(), "host") ? 1 : 0;
  return n;
}

}  // namespace

std::string SimpleRequest::Header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (beast::iequals(n, name)) return v;
  }
  return {};
}

struct SimpleHttpServer::Impl {
  Impl(SimpleServerOptions o, SimpleHandler h) : options(o), handler(std::move(h)), acceptor(io) {}
  SimpleServerOptions options;
  SimpleHandler handler;
  asio::io_context io;
  tcp::acceptor acceptor;
  std::vector<std::thread> threads;
  uint16_t port = 0;
  std::atomic<uint64_t> handler_errors{0};  // handlers that threw (answered 500)

  asio::awaitable<void> Session(tcp::socket socket) {
    beast::tcp_stream stream(std::move(socket));
    // Beast limits neither a chunk line's extensions nor a trailer section: a request
    // streaming either was buffered until timeout_ms, before any handler checked a token.
    beast::flat_buffer buffer(size_t{options.max_header_bytes} + 65536);
    std::string peer;
    boost::system::error_code pec;
    auto ep = stream.socket().remote_endpoint(pec);
    if (!pec) peer = ep.address().to_string();
    constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.header_limit(options.max_header_bytes);
      parser.body_limit(options.max_body_bytes);
      stream.expires_after(std::chrono::milliseconds(options.timeout_ms));
      auto [ec, n] = co_await http::async_read(stream, buffer, parser, kTuple);
      if (ec == http::error::end_of_stream || ec == asio::error::eof) break;
      http::response<http::string_body> res;
      bool keep = false;
      bool head = false;
      if (ec) {
        if (ec == beast::error::timeout || ec == asio::error::connection_reset) break;
        // A head over max_header_bytes (a long target or many headers) is a 431, as on the
        // gateway (RFC 6585 §5), not a 400 that reads like a syntax error.
        res.result(ec == http::error::body_limit     ? http::status::payload_too_large
                   : ec == http::error::header_limit ? http::status::request_header_fields_too_large
                                                     : http::status::bad_request);
        res.set(http::field::content_type, "application/json");
        res.body() = JsonError("bad_request", ec.message());
      } else if (size_t hosts = HostFieldCount(parser.get());
                 hosts > 1 || (hosts == 0 && parser.get().version() >= 11)) {
        // RFC 9112 §3.2: a server must answer 400 to an HTTP/1.1 request without a Host
        // field, and to any request with more than one.
        res.result(http::status::bad_request);
        res.set(http::field::content_type, "application/json");
        res.body() = JsonError("bad_request", hosts > 1 ? "more than one Host header" : "no Host header");
      } else {
        auto& req = parser.get();
        SimpleRequest sreq;
        sreq.method = std::string(req.method_string());
        sreq.target = std::string(req.target());
        for (const auto& f : req) sreq.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
        sreq.body = std::move(req.body());
        sreq.peer_ip = peer;
        SimpleResponse sres;
        try {
          sres = handler(sreq);
        } catch (...) {
          // The client gets a 500 with a JSON body; the cause goes to the log, never to the
          // client (it may name files or internals).
          sres = SimpleResponse{};
          sres.status = 500;
          sres.body = JsonError("internal", "internal error");
          const uint64_t n = handler_errors.fetch_add(1, std::memory_order_relaxed) + 1;
          if (ShouldLogOccurrence(n)) {
            // The path only: a query string may carry values that do not belong in a log.
            const std::string path = sreq.target.substr(0, std::min<size_t>(sreq.target.find('?'), 256));
            spdlog::error("{} {}: the handler failed ({} so far): {}", sreq.method, path, n,
                          ExceptionMessage(std::current_exception()));
          }
        }
        if (sres.delay_ms > 0) {
          asio::steady_timer t(stream.get_executor(), std::chrono::milliseconds(sres.delay_ms));
          auto [tec] = co_await t.async_wait(kTuple);
          (void)tec;
        }
        res.result(static_cast<unsigned>(sres.status));
        res.set(http::field::content_type, sres.content_type);
        for (const auto& [hn, hv] : sres.headers) res.insert(hn, hv);
        res.body() = std::move(sres.body);
        keep = req.keep_alive();
        head = req.method() == http::verb::head;
      }
      res.version(11);
      res.keep_alive(keep);
      res.prepare_payload();
      if (head) {
        // A HEAD answer is the GET's head without its content (RFC 9110 §9.3.2): Content-Length
        // stays the GET's, but not one byte of body may follow, or a client reusing the
        // connection reads that body as the start of its next response.
        res.body().clear();
      }
      stream.expires_after(std::chrono::milliseconds(options.timeout_ms));
      auto [wec, wn] = co_await http::async_write(stream, res, kTuple);
      if (wec || !keep) break;
    }
    boost::system::error_code ignore;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignore);
  }

  void Accept() {
    acceptor.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
      if (!ec) asio::co_spawn(io, Session(std::move(socket)), asio::detached);
      Accept();
    });
  }
};

SimpleHttpServer::SimpleHttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SimpleHttpServer::~SimpleHttpServer() { Stop(); }

Result<std::unique_ptr<SimpleHttpServer>> SimpleHttpServer::Create(const HostPort& listen,
                                                                  SimpleServerOptions options,
                                                                  SimpleHandler handler) {
  auto impl = std::make_unique<Impl>(options, std::move(handler));
  boost::system::error_code ec;
  std::string host = listen.host == "localhost" ? "127.0.0.1" : listen.host;
  auto addr = asio::ip::make_address(host, ec);
  if (ec) return Status::InvalidArgument("'" + listen.host + "' is not an IP address");
  tcp::endpoint ep(addr, listen.port);
  impl->acceptor.open(ep.protocol(), ec);
  if (!ec) impl->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(ep, ec);
  if (!ec) impl->acceptor.listen(1024, ec);
  if (ec) return Status::IoError("cannot listen on " + listen.ToString() + ": " + ec.message());
  impl->port = impl->acceptor.local_endpoint().port();
  return std::unique_ptr<SimpleHttpServer>(new SimpleHttpServer(std::move(impl)));
}

void SimpleHttpServer::Start() {
  impl_->Accept();
  for (int i = 0; i < std::max(1, impl_->options.threads); ++i) {
    impl_->threads.emplace_back([this] { impl_->io.run(); });
  }
}

void SimpleHttpServer::Stop() {
  if (!impl_) return;
  asio::post(impl_->io, [this] {
    boost::system::error_code ec;
    impl_->acceptor.close(ec);
  });
  impl_->io.stop();
  for (auto& t : impl_->threads) t.join();
  impl_->threads.clear();
}

uint16_t SimpleHttpServer::port() const { return impl_->port; }

Result<SimpleResponse> HttpRequest(const HostPort& to, const std::string& method,
                                   const std::string& target,
                                   const std::vector<std::pair<std::string, std::string>>& headers,
                                   const std::string& body, uint32_t timeout_ms) {
  asio::io_context io;
  beast::tcp_stream stream(io);
  boost::system::error_code ec;
  std::string host = to.host == "localhost" ? "127.0.0.1" : to.host;
  auto addr = asio::ip::make_address(host, ec);
  if (ec) return Status::InvalidArgument("'" + to.host + "' is not an IP address");
  http::request<http::string_body> req;
  req.method_string(method);
  req.target(target);
  req.version(11);
  req.set(http::field::host, to.ToString());
  for (const auto& [n, v] : headers) req.set(n, v);
  req.body() = body;
  req.prepare_payload();
  std::optional<http::response_parser<http::string_body>> parser;
  // Beast limits neither a chunk line's extensions nor a trailer section (it buffers until
  // they end); the cap on the buffer bounds both. Body bytes do not stay in it.
  beast::flat_buffer buffer(1 << 20);
  Status result = Status::Ok();
  // Interim answers (100 Continue, 103 Early Hints) are skipped, up to a few: a webhook
  // witness behind a CDN counted a 103 as a failed publish.
  int interim = 0;
  std::function<void()> read_answer = [&] {
    parser.emplace();
    parser->body_limit(64 * 1024 * 1024);
    http::async_read(stream, buffer, *parser, [&](boost::system::error_code rec, size_t) {
      if (rec) {
        result = Status::Unavailable("read from " + to.ToString() + ": " + rec.message());
        return;
      }
      if (!IsInterimAnswer(parser->get().result_int())) return;
      if (++interim > kMaxInterimAnswers) {
        result = Status::Unavailable("read from " + to.ToString() + ": more than " +
                                     std::to_string(kMaxInterimAnswers) + " interim (1xx) answers");
        return;
      }
      read_answer();
    });
  };
  stream.expires_after(std::chrono::milliseconds(timeout_ms));
  stream.async_connect(tcp::endpoint(addr, to.port), [&](boost::system::error_code cec) {
    if (cec) {
      result = Status::Unavailable("cannot connect to " + to.ToString() + ": " + cec.message());
      return;
    }
    http::async_write(stream, req, [&](boost::system::error_code wec, size_t) {
      if (wec) {
        result = Status::Unavailable("write to " + to.ToString() + ": " + wec.message());
        return;
      }
      read_answer();
    });
  });
  io.run();
  if (!result.ok()) return result;
  SimpleResponse out;
  auto& res = parser->get();
  out.status = static_cast<int>(res.result_int());
  out.content_type = std::string(res[http::field::content_type]);
  for (const auto& f : res) out.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
  out.body = std::move(res.body());
  return out;
}

}  // namespace apitrail
