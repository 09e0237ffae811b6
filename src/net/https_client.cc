// HttpsClient implementation (https_client.h): Beast over asio::ssl with OpenSSL 3. The one
// translation unit that instantiates Beast's TLS stream, to keep compile times down.
#include "net/https_client.h"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <cstdint>
#include <iterator>
#include <optional>

#include "net/interim_answers.h"

namespace apitrail {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace ssl = boost::asio::ssl;
using asio::ip::tcp;

struct TlsClientContext::Impl {
  ssl::context ctx{ssl::context::tls_client};
};

TlsClientContext::TlsClientContext(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TlsClientContext::~TlsClientContext() = default;

Result<std::shared_ptr<TlsClientContext>> TlsClientContext::Create(const std::string& ca_file) {
  auto impl = std::make_unique<Impl>();
  boost::system::error_code ec;
  impl->ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                            ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                            ssl::context::no_tlsv1_1,
                        ec);
  SSL_CTX_set_min_proto_version(impl->ctx.native_handle(), TLS1_2_VERSION);
  impl->ctx.set_verify_mode(ssl::verify_peer, ec);
  if (ca_file.empty()) {
    impl->ctx.set_default_verify_paths(ec);
    if (ec) return Status::IoError("cannot load the system CA store: " + ec.message());
  } else {
    impl->ctx.load_verify_file(ca_file, ec);
    if (ec)
      return Status::InvalidArgument(ca_file + ": cannot load CA certificates: " + ec.message());
  }
  return std::shared_ptr<TlsClientContext>(new TlsClientContext(std::move(impl)));
}

std::string FetchResponse::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (beast::iequals(k, name)) return v;
  }
  return "";
}

int64_t CacheControlMaxAge(std::string_view cc) {
  int64_t max_age = -1;
  size_t pos = 0;
  while (pos < cc.size()) {
    size_t end = cc.find(',', pos);
    if (end == std::string_view::npos) end = cc.size();
    std::string_view d = cc.substr(pos, end - pos);
    while (!d.empty() && (d.front() == ' ' || d.front() == '\t')) d.remove_prefix(1);
    while (!d.empty() && (d.back() == ' ' || d.back() == '\t')) d.remove_suffix(1);
    if (beast::iequals(d, "no-store") || beast::iequals(d, "no-cache")) return 0;
    if (d.size() > 8 && beast::iequals(d.substr(0, 8), "max-age=")) {
      std::string_view n = d.substr(8);
      if (n.size() >= 2 && n.front() == '"' && n.back() == '"') n = n.substr(1, n.size() - 2);
      int64_t v = 0;
      bool ok = !n.empty() && n.size() <= 12;
      for (char c : n) {
        if (c < '0' || c > '9')
          ok = false;
        else
          v = v * 10 + (c - '0');
      }
      if (ok) max_age = v;
    }
    pos = end + 1;
  }
  return max_age;
}

namespace {

using Clock = std::chrono::steady_clock;

std::string Truncated(std::string s) {
  if (s.size() > 200) s.resize(200);
  return s;
}

// Write the request, read the answer: the same for TLS and plain streams. The deadline was
// set on the lowest layer by the caller and covers both.
template <typename Stream>
asio::awaitable<Result<FetchResponse>> Exchange(Stream& stream, const FetchUrl& u,
                                                const FetchRequest& request,
                                                const FetchOptions& options,
                                                const std::string& where) {
  http::request<http::string_body> req;
  req.method_string(request.method);
  req.target(u.target);
  req.version(11);
  bool v6 = u.host.find(':') != std::string::npos;
  std::string host_field = v6 ? "[" + u.host + "]" : u.host;
  if ((u.tls && u.port != 443) || (!u.tls && u.port != 80))
    host_field += ":" + std::to_string(u.port);
  req.set(http::field::host, host_field);
  req.set(http::field::user_agent, "apitrail");
  req.set(http::field::connection, "close");
  for (const auto& [k, v] : request.headers) req.set(k, v);
  req.body() = request.body;
  if (!request.body.empty() || request.method == "POST") req.prepare_payload();

  boost::system::error_code ec;
  co_await http::async_write(stream, req, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return Status::Unavailable(where + ": sending the request failed: " + ec.message());

  // Beast limits neither a chunk line's extensions nor the trailer section: it buffers until
  // they end. A cap on the buffer bounds both (and whatever else Beast holds unparsed).
  beast::flat_buffer buffer(size_t{options.max_header_bytes} + 65536);
  std::optional<http::response_parser<http::string_body>> parser;
  // Interim answers (100 Continue, 103 Early Hints) are skipped, up to a few: each is a
  // whole head, and a server may send them without end.
  // Beast adds trailer fields to the header's; RFC 9110 §6.5.1 forbids merging them (a
  // Cache-Control in a trailer would set the JWKS refresh). The count at the last chunk
  // marks where the header's end.
  size_t header_fields = SIZE_MAX;
  auto on_chunk = [&](uint64_t size, beast::string_view, beast::error_code&) {
    if (size == 0) {
      header_fields =
          static_cast<size_t>(std::distance(parser->get().begin(), parser->get().end()));
    }
  };
  for (int interim = 0;; ++interim) {
    parser.emplace();
    parser->header_limit(options.max_header_bytes);
    parser->body_limit(options.max_response_bytes);
    parser->on_chunk_header(on_chunk);
    co_await http::async_read(stream, buffer, *parser,
                              asio::redirect_error(asio::use_awaitable, ec));
    if (ec == http::error::body_limit) {
      co_return Status::ResourceExhausted(where + ": answer larger than " +
                                          std::to_string(options.max_response_bytes) + " bytes");
    }
    if (ec == http::error::header_limit || ec == http::error::buffer_overflow) {
      co_return Status::ResourceExhausted(where +
                                          ": answer head, chunk line or trailer larger than " +
                                          std::to_string(options.max_header_bytes) + " bytes");
    }
    if (ec == beast::error::timeout) {
      co_return Status::Unavailable(where + ": timed out after " +
                                    std::to_string(options.timeout_ms) + " ms");
    }
    if (ec) co_return Status::Unavailable(where + ": reading the answer failed: " + ec.message());
    if (!IsInterimAnswer(parser->get().result_int())) break;
    if (interim == kMaxInterimAnswers) {
      co_return Status::ResourceExhausted(where + ": more than " +
                                          std::to_string(kMaxInterimAnswers) +
                                          " interim (1xx) answers");
    }
  }
  http::response<http::string_body> res = parser->release();
  FetchResponse out;
  out.status = static_cast<int>(res.result_int());
  for (const auto& f : res) {
    if (out.headers.size() == header_fields) break;
    out.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
  }
  out.body = std::move(res.body());
  co_return out;
}

}  // namespace

asio::awaitable<Result<FetchResponse>> Fetch(FetchRequest request, FetchOptions options) {
  auto parsed = ParseFetchUrl(request.url, options.allow_http);
  if (!parsed.ok()) co_return parsed.status();
  const FetchUrl u = std::move(parsed).value();
  const std::string where = u.origin;
  if (u.tls && !options.tls) co_return Status::InvalidArgument(where + ": no TLS context");
  auto executor = co_await asio::this_coro::executor;
  const Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(options.timeout_ms);
  const std::string timed_out =
      where + ": timed out after " + std::to_string(options.timeout_ms) + " ms";

  // Resolve under the same deadline: a timer cancels a resolver that hangs.
  boost::system::error_code ec;
  tcp::resolver::results_type endpoints;
  {
    auto resolver = std::make_shared<tcp::resolver>(executor);
    auto timer = std::make_shared<asio::steady_timer>(executor, deadline);
    timer->async_wait([resolver](boost::system::error_code e) {
      if (!e) resolver->cancel();
    });
    const std::string port = std::to_string(u.port);
    endpoints = co_await resolver->async_resolve(u.host, port,
                                                 asio::redirect_error(asio::use_awaitable, ec));
    timer->cancel();
    if (ec == asio::error::operation_aborted) co_return Status::Unavailable(timed_out);
    if (ec) co_return Status::Unavailable(where + ": cannot resolve host: " + ec.message());
  }

  if (!u.tls) {
    beast::tcp_stream stream(executor);
    stream.expires_at(deadline);
    co_await stream.async_connect(endpoints, asio::redirect_error(asio::use_awaitable, ec));
    if (ec == beast::error::timeout) co_return Status::Unavailable(timed_out);
    if (ec) co_return Status::Unavailable(where + ": cannot connect: " + ec.message());
    auto result = co_await Exchange(stream, u, request, options, where);
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
    co_return result;
  }

  beast::ssl_stream<beast::tcp_stream> stream(executor, options.tls->impl()->ctx);
  beast::get_lowest_layer(stream).expires_at(deadline);
  SSL* ssl_handle = stream.native_handle();
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl_handle);
  boost::system::error_code addr_ec;
  asio::ip::make_address(u.host, addr_ec);
  if (!addr_ec) {
    // An IP literal is checked against the certificate's iPAddress SANs; no SNI (RFC 6066).
    if (X509_VERIFY_PARAM_set1_ip_asc(param, u.host.c_str()) != 1) {
      co_return Status::InvalidArgument(where + ": bad IP address");
    }
  } else {
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (X509_VERIFY_PARAM_set1_host(param, u.host.c_str(), u.host.size()) != 1 ||
        SSL_set_tlsext_host_name(ssl_handle, u.host.c_str()) != 1) {
      co_return Status::InvalidArgument(where + ": bad host name");
    }
  }
  co_await beast::get_lowest_layer(stream).async_connect(
      endpoints, asio::redirect_error(asio::use_awaitable, ec));
  if (ec == beast::error::timeout) co_return Status::Unavailable(timed_out);
  if (ec) co_return Status::Unavailable(where + ": cannot connect: " + ec.message());
  co_await stream.async_handshake(ssl::stream_base::client,
                                  asio::redirect_error(asio::use_awaitable, ec));
  if (ec == beast::error::timeout) co_return Status::Unavailable(timed_out);
  if (ec) {
    long verify = SSL_get_verify_result(ssl_handle);
    std::string why = verify != X509_V_OK ? X509_verify_cert_error_string(verify) : ec.message();
    co_return Status::Unavailable(where + ": TLS handshake failed: " + Truncated(why));
  }
  auto result = co_await Exchange(stream, u, request, options, where);
  // No close_notify exchange: the answer is complete (length-delimited) and the connection
  // is not reused; waiting for the peer's close_notify could only add latency.
  beast::get_lowest_layer(stream).socket().shutdown(tcp::socket::shutdown_both, ec);
  co_return result;
}

Result<FetchResponse> FetchSync(FetchRequest request, FetchOptions options) {
  asio::io_context ioc;
  std::optional<Result<FetchResponse>> out;
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        Result<FetchResponse> r = co_await Fetch(std::move(request), std::move(options));
        out.emplace(std::move(r));
      },
      asio::detached);
  ioc.run();
  if (!out) return Status::Unavailable("fetch did not complete");
  return std::move(*out);
}

}  // namespace apitrail
