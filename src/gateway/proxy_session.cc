#include "gateway/proxy_session.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/string.hpp>
#include <array>
#include <charconv>
#include <ctime>
#include <exception>
#include <stdexcept>

#include <openssl/err.h>
#include <openssl/x509_vfy.h>
#include <spdlog/spdlog.h>

#include "auth/mtls.h"
#include "auth/openssl_ptr.h"
#include "auth/token_binding.h"
#include "config/config_loader.h"
#include "core/exception_util.h"
#include "core/failpoint.h"
#include "core/ids.h"
#include "core/json_writer.h"
#include "core/time_util.h"
#include "gateway/correlation.h"
#include "gateway/forward_headers.h"
#include "gateway/path_check.h"
#include "gateway/route_grants.h"
#include "gateway/worker.h"
#include "net/http_head_parser.h"

namespace apitrail {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using asio::awaitable;
using asio::ip::tcp;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr size_t kReadChunk = 64 * 1024;
// Responses up to this size are held whole until their event is durable; larger ones are
// streamed with their final bytes held back.
constexpr size_t kHoldLimit = 64 * 1024;
constexpr size_t kMaxResponseHeaderBytes = 64 * 1024;
constexpr uint32_t kMaxResponseHeaders = 200;
// Each interim (1xx) response restarts the response timeout, so an upstream could keep a
// request open forever with them; real ones send one or two.
constexpr int kMaxInterimResponses = 10;

// The head of a JSON answer the gateway gives itself (errors, denials, fail closed).
std::string LocalHead(int status, size_t body_bytes, std::string_view request_id_header,
                      std::string_view request_id, bool keep_alive,
                      std::string_view extra_headers) {
  std::string head;
  head.reserve(256);
  head.append("HTTP/1.1 ").append(std::to_string(status)).append(" ").append(ReasonPhrase(status)).append("\r\n");
  AppendHeader(head, "Content-Type", "application/json");
  AppendHeader(head, "Content-Length", std::to_string(body_bytes));
  if (!request_id.empty()) AppendHeader(head, request_id_header, request_id);
  if (!keep_alive) AppendHeader(head, "Connection", "close");
  head.append(extra_headers);
  head.append("\r\n");
  return head;
}

bool StatusHasNoBody(int status) { return (status >= 100 && status < 200) || status == 204 || status == 304; }

// RFC 9110 §9.2.2: what may be sent again without asking the client.
bool IsIdempotent(std::string_view method) {
  for (std::string_view m : {"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"}) {
    if (method == m) return true;
  }
  return false;
}

}  // namespace

// Per-request state: the event being built plus what the pipeline decided.
struct ProxySession::Exchange {
  AuditEvent event;
  int64_t start_mono_ns = 0;
  bool keep_alive = true;
  bool client_http10 = false;
  std::string request_id;  // what we send upstream and back to the client
  size_t upstream_index = 0;
  // The request went out on a pooled connection (not one connected for it).
  bool upstream_reused = false;
  // Its event was handed to the store (RecordExchange): no record is owed if an exception
  // ends the connection now.
  bool recorded = false;
  // The upstream request head, when it may be sent once more on a fresh connection: set for
  // idempotent requests without a body (nothing to stream twice).
  const std::string* replay_head = nullptr;
};

namespace {

// Counts a response the client is about to get (once it is sure to get it) and how long
// its request took until then.
void CountResponse(GatewayMetrics& m, int64_t start_mono_ns, int status) {
  m.CountStatus(status);
  m.request_duration.Observe(static_cast<uint64_t>(MonotonicNowNs() - start_mono_ns) / 1000);
}

}  // namespace

ProxySession::ProxySession(Worker& worker, tcp::socket socket)
    : worker_(worker),
      shared_(worker.shared_ptr()),
      client_(std::move(socket)),
      // The listener's TLS context of the configuration current at accept (null: plain TCP).
      tls_ctx_(shared_->tls->Server()),
      upstream_(worker.io()) {
  if (tls_ctx_) tls_ = std::make_unique<ClientTls>(client_, *tls_ctx_);
  boost::system::error_code ec;
  auto ep = client_.remote_endpoint(ec);
  if (!ec) {
    auto addr = ep.address();
    if (addr.is_v6() && addr.to_v6().is_v4_mapped()) {
      addr = asio::ip::make_address_v4(asio::ip::v4_mapped, addr.to_v6());
    }
    peer_ip_ = addr.to_string();
  }
  client_.set_option(tcp::no_delay(true), ec);
  registration_ = worker_.Register(this);
  worker_.mutable_metrics().Inc(worker_.mutable_metrics().connections_active);
}

ProxySession::~ProxySession() {
  worker_.Unregister(registration_);
  worker_.mutable_metrics().connections_active.fetch_sub(1, std::memory_order_relaxed);
}

void ProxySession::SetPhase(Phase phase, uint32_t timeout_ms) {
  phase_ = phase;
  // The coarse clock (a memory read; the precise one costs a clock-source read, and a
  // request sets about five phases): a deadline may fire up to one timer tick late, which
  // the sweep's own period (≥ 10 ms) exceeds anyway.
  deadline_ns_ = timeout_ms == 0 ? 0 : MonotonicCoarseNowNs() + int64_t{timeout_ms} * 1000000;
}

void ProxySession::CheckDeadline(int64_t now_mono_ns, bool draining) {
  boost::system::error_code ec;
  if (draining && phase_ == Phase::kIdle && client_buf_.size() == 0) {
    client_.cancel(ec);
    return;
  }
  if (deadline_ns_ == 0 || now_mono_ns < deadline_ns_) return;
  timed_out_ = true;
  deadline_ns_ = 0;
  switch (phase_) {
    case Phase::kConnect:
    case Phase::kUpstreamIo:
    case Phase::kResponse:
      upstream_.cancel(ec);
      if (upstream_tls_) upstream_tls_->next_layer().cancel(ec);
      break;
    case Phase::kStore:
      break;  // the store answers every append; its own limits apply
    default:
      client_.cancel(ec);
      break;
  }
}

awaitable<void> ProxySession::Run() {
  bool serve = true;
  if (tls_) serve = co_await AcceptTls();
  while (serve) {
    // This request's configuration, kept even if a reload happens meanwhile. Compared first:
    // copying a shared_ptr every request would bounce its count between workers' caches.
    if (shared_ != worker_.shared_ptr()) shared_ = worker_.shared_ptr();
    bool keep = co_await HandleOne();
    if (!keep || worker_.draining()) break;
  }
  if (tls_ && serve) {
    // close_notify, so a client reading to the end sees a clean end rather than truncation;
    // bounded, since a client need not answer it.
    SetPhase(Phase::kClientWrite, std::min<uint32_t>(1000, shared_->config->gateway.body_timeout_ms));
    auto [sec] = co_await tls_->async_shutdown(kTuple);
    (void)sec;
  }
  // Over TLS as well: the close_notify ends at the first record of body still arriving, and
  // the reset would destroy the answer just the same (the client saw an EOF, not the 413).
  if (linger_) co_await LingeringClose();
  boost::system::error_code ec;
  client_.shutdown(tcp::socket::shutdown_both, ec);
  client_.close(ec);
  CloseUpstream();
}

awaitable<void> ProxySession::LingeringClose() {
  // RFC 9112 §9.6: closed with the client's bytes unread, the socket answers them with a
  // reset, which may destroy our response before the client reads it (a 413 or a 401 while
  // the client still sends its body: it saw EPIPE, not the answer). As nginx's lingering
  // close: at most 2 s (and 64 MiB beyond the largest body allowed), then it goes regardless.
  constexpr uint32_t kLingerMs = 2000;
  boost::system::error_code ec;
  client_.shutdown(tcp::socket::shutdown_send, ec);
  if (ec) co_return;
  const GatewayConfig& gw = shared_->config->gateway;
  SetPhase(Phase::kBody, std::min(kLingerMs, gw.body_timeout_ms));
  thread_local std::array<char, 16384> sink;  // dropped bytes: any session may share it
  uint64_t left = gw.max_body_bytes + (64u << 20);
  while (left > 0) {
    auto [rec, n] = co_await client_.async_read_some(asio::buffer(sink), kTuple);
    if (rec || n == 0) break;
    left -= std::min<uint64_t>(left, n);
  }
  SetPhase(Phase::kIdle, 0);
}

// The TLS handshake, under the header timeout. A failed one is counted, not audited: there is
// no request yet, and the connection is simply closed.
awaitable<bool> ProxySession::AcceptTls() {
  const Config& cfg = *shared_->config;
  auto& m = worker_.mutable_metrics();
  SetPhase(Phase::kHead, cfg.gateway.header_timeout_ms);
  auto [ec] = co_await tls_->async_handshake(asio::ssl::stream_base::server, kTuple);
  if (ec) {
    m.Inc(m.tls_handshake_failures);
    SPDLOG_DEBUG("TLS handshake from {} failed: {}", peer_ip_, ec.message());
    co_return false;
  }
  SSL* ssl = tls_->native_handle();
  X509* cert = SSL_get0_peer_certificate(ssl);
  // A resumed session (ticket or cache, up to 2 h old) carries the certificate of the
  // handshake that made it, verified then and not again: one that has expired since would
  // still be accepted, though short-lived certificates are what stands in for revocation.
  // Refused as a full handshake presenting it is (0: an unreadable date, refused too).
  if (cert != nullptr && SSL_session_reused(ssl) == 1 &&
      X509_cmp_current_time(X509_get0_notAfter(cert)) <= 0) {
    SSL_CTX_remove_session(SSL_get_SSL_CTX(ssl), SSL_get0_session(ssl));
    m.Inc(m.tls_handshake_failures);
    SPDLOG_DEBUG("TLS handshake from {} refused: the resumed session's client certificate has expired",
                 peer_ip_);
    co_return false;
  }
  m.Inc(m.tls_handshakes);
  if (cert != nullptr && SSL_get_verify_result(ssl) == X509_V_OK) {
    // The handshake verified the certificate once; a keep-alive connection may outlive its
    // notAfter or the CA that issued it (PeerCertificateHolds). An unreadable date stays 0:
    // expired.
    peer_cert_ = true;
    peer_cert_generation_ = shared_->generation;
    struct tm not_after{};
    if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &not_after) == 1) peer_cert_not_after_s_ = timegm(&not_after);
    if (cfg.auth.mtls.enabled) peer_identity_ = std::make_unique<AuthOutcome>(MtlsOutcome(cert, cfg.auth.mtls));
  }
  co_return true;
}

bool ProxySession::PeerCertificateHolds(int64_t now_ns, std::string* why) {
  // Short-lived certificates and removing a CA are what stand in for revocation
  // (OPERATIONS.md): a connection kept busy must not keep what a new one would be refused.
  if (now_ns / 1000000000 > peer_cert_not_after_s_) {
    *why = "the client certificate has expired";
    return false;
  }
  if (peer_cert_generation_ == shared_->generation) return true;
  // A reload happened since the certificate was last verified: verified again against the
  // client CAs of the current listener context, as its handshake would be (ssl_verify_cert_chain:
  // the TLS-client purpose, then the context's parameters — verify depth 8 — and security level).
  *why = "the client certificate no longer verifies against gateway.tls.client_ca_file";
  const auto& server = shared_->tls->Server();
  SSL* ssl = tls_->native_handle();
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (!server || cert == nullptr) return false;
  SSL_CTX* ctx = server->native_handle();
  std::unique_ptr<X509_STORE_CTX, ossl::Deleter<X509_STORE_CTX_free>> store_ctx(X509_STORE_CTX_new());
  bool ok = false;
  // The server side's peer chain holds what the client sent after its own certificate.
  if (store_ctx && X509_STORE_CTX_init(store_ctx.get(), SSL_CTX_get_cert_store(ctx), cert,
                                       SSL_get_peer_cert_chain(ssl)) == 1) {
    X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(store_ctx.get());
    X509_VERIFY_PARAM_set_auth_level(param, SSL_CTX_get_security_level(ctx));
    X509_STORE_CTX_set_default(store_ctx.get(), "ssl_client");
    X509_VERIFY_PARAM_set1(param, SSL_CTX_get0_param(ctx));
    ok = X509_verify_cert(store_ctx.get()) == 1;
  }
  ERR_clear_error();
  if (!ok) return false;
  peer_cert_generation_ = shared_->generation;
  return true;
}

std::string ProxySession::PeerThumbprint() {
  if (!tls_) return "";
  SSL* ssl = tls_->native_handle();
  X509* cert = SSL_get0_peer_certificate(ssl);
  return cert != nullptr && SSL_get_verify_result(ssl) == X509_V_OK ? CertificateThumbprint(cert) : "";
}

awaitable<ProxySession::IoResult> ProxySession::ClientRead(asio::mutable_buffer buf) {
  if (tls_) return tls_->async_read_some(buf, kTuple);
  return client_.async_read_some(buf, kTuple);
}

awaitable<ProxySession::IoResult> ProxySession::ClientWrite(asio::const_buffer a,
                                                            asio::const_buffer b) {
  std::array<asio::const_buffer, 2> bufs{a, b};
  if (tls_) return asio::async_write(*tls_, bufs, kTuple);
  return asio::async_write(client_, bufs, kTuple);
}

awaitable<ProxySession::IoResult> ProxySession::UpstreamRead(asio::mutable_buffer buf) {
  if (upstream_tls_) return upstream_tls_->async_read_some(buf, kTuple);
  return upstream_.async_read_some(buf, kTuple);
}

awaitable<ProxySession::IoResult> ProxySession::UpstreamWrite(asio::const_buffer a,
                                                              asio::const_buffer b) {
  std::array<asio::const_buffer, 2> bufs{a, b};
  if (upstream_tls_) return asio::async_write(*upstream_tls_, bufs, kTuple);
  return asio::async_write(upstream_, bufs, kTuple);
}

void ProxySession::CloseUpstream() {
  boost::system::error_code ignore;
  upstream_.close(ignore);
  if (upstream_tls_) upstream_tls_->next_layer().close(ignore);
  upstream_tls_.reset();
}

// A fresh connection to upstreams[i]: TCP, then for a TLS upstream the handshake with the
// certificate and host name verified. On failure *error says why (for the event's message).
awaitable<bool> ProxySession::ConnectUpstream(size_t i, std::string* error) {
  const GatewayShared& shared = *shared_;
  const UpstreamConfig& u = shared.config->upstreams[i];
  SetPhase(Phase::kConnect, shared.config->gateway.upstream_connect_timeout_ms);
  std::shared_ptr<asio::ssl::context> ctx = u.tls.enabled ? shared.tls->Upstream(i) : nullptr;
  tcp::socket* sock = &upstream_;
  if (ctx) {
    upstream_tls_ = std::make_unique<UpstreamTls>(tcp::socket(worker_.io()), *ctx);
    sock = &upstream_tls_->next_layer();
  } else {
    upstream_ = tcp::socket(worker_.io());
  }
  auto [cec] = co_await sock->async_connect(shared.upstream_endpoints[i], kTuple);
  if (cec) co_return false;
  boost::system::error_code ignore;
  sock->set_option(tcp::no_delay(true), ignore);
  if (!ctx) co_return true;
  const std::string& name = u.tls.server_name.empty() ? u.address.host : u.tls.server_name;
  if (!SetExpectedPeerName(upstream_tls_->native_handle(), name)) {
    *error = "upstream TLS: cannot check the name '" + name + "'";
    co_return false;
  }
  auto [hec] = co_await upstream_tls_->async_handshake(asio::ssl::stream_base::client, kTuple);
  if (hec) {
    long verify = SSL_get_verify_result(upstream_tls_->native_handle());
    *error = "upstream TLS handshake failed: ";
    if (verify != X509_V_OK) {
      error->append("certificate verify failed: ").append(X509_verify_cert_error_string(verify));
    } else {
      error->append(hec.message());
    }
    auto& m = worker_.mutable_metrics();
    m.Inc(m.upstream_tls_failures);
    co_return false;
  }
  co_return true;
}

awaitable<bool> ProxySession::WriteClient(std::string_view a, std::string_view b) {
  const auto& gw = shared_->config->gateway;
  SetPhase(Phase::kClientWrite, gw.body_timeout_ms);
  auto [ec, n] = co_await ClientWrite(asio::buffer(a.data(), a.size()), asio::buffer(b.data(), b.size()));
  worker_.mutable_metrics().Inc(worker_.mutable_metrics().bytes_out, n);
  co_return !ec;
}

std::string ProxySession::ReceiptHeader(const Receipt& receipt) const {
  if (!shared_->config->audit.receipts) return {};
  // RFC 8941 dictionary: node is a String, seq an Integer, leaf a String of lowercase hex.
  return "Apitrail-Receipt: node=\"" + shared_->config->node + "\", seq=" + std::to_string(receipt.seq) +
         ", leaf=\"" + HexEncode(receipt.leaf.data(), receipt.leaf.size()) + "\"\r\n";
}

awaitable<Status> ProxySession::Record(AuditEvent& event, Receipt* receipt) {
  Store* store = shared_->store;
  SetPhase(Phase::kStore, 0);
  auto ex = worker_.io().get_executor();
  CompletionInbox* inbox = &worker_.completions();
  const int64_t handed_ns = MonotonicNowNs();
  Status st = co_await asio::async_initiate<decltype(asio::use_awaitable), void(Status)>(
      [&](auto handler) {
        using Handler = decltype(handler);
        auto h = std::make_shared<Handler>(std::move(handler));
        // The seq is written on the store's thread and read here after the inbox's post
        // (which orders the two); `receipt` lives in the awaiting frame.
        Status s = store->Append(
            std::move(event),
            [h, inbox, receipt](const Status& result, uint64_t seq) {
              if (receipt != nullptr) receipt->seq = seq;
              inbox->Add([h, result]() mutable { (*h)(result); });
            },
            receipt != nullptr ? &receipt->leaf : nullptr);
        if (!s.ok()) asio::post(ex, [h, s]() mutable { (*h)(s); });
      },
      asio::use_awaitable);
  worker_.mutable_metrics().audit_wait.Observe(static_cast<uint64_t>(MonotonicNowNs() - handed_ns) / 1000);
  if (!st.ok()) {
    // Once per process per kind of failure: the metrics count every occurrence.
    static std::atomic<bool> logged_unavailable{false}, logged_full{false};
    auto& flag = st.code() == StatusCode::kResourceExhausted ? logged_full : logged_unavailable;
    if (!flag.exchange(true)) {
      spdlog::error("audit store refused an event, answering 503 (fail closed): {}", st.ToString());
    }
  }
  co_return st;
}

awaitable<Status> ProxySession::RecordExchange(Exchange& x, Receipt* receipt) {
  x.recorded = true;  // from here on the event is the store's, even if Record throws
  co_return co_await Record(x.event, receipt);
}

awaitable<bool> ProxySession::Reply(Exchange& x, LocalReply reply) {
  int status = reply.status;
  bool keep_alive = reply.keep_alive;
  auto& m = worker_.mutable_metrics();
  const auto& cfg = *shared_->config;
  std::string body = JsonError(reply.error, reply.message);
  std::string_view extra_headers = reply.extra_headers;
  x.event.status = status;
  x.event.bytes_out = body.size();
  x.event.duration_us = (MonotonicNowNs() - x.start_mono_ns) / 1000;
  if (x.event.decision.empty()) x.event.decision = status < 400 ? "allow" : "deny";
  if (x.event.decision == "deny") m.Inc(m.denied);
  Receipt receipt;
  Status recorded = co_await RecordExchange(x, &receipt);
  std::string headers_with_receipt;
  if (!recorded.ok()) {
    // Fail closed: without its audit record the answer is not given either.
    m.Inc(m.store_unavailable);
    status = 503;
    body = JsonError("audit_unavailable", "the audit log cannot record this request");
    keep_alive = false;
    extra_headers = {};
  } else if (cfg.audit.receipts) {
    headers_with_receipt = std::string(extra_headers) + ReceiptHeader(receipt);
    extra_headers = headers_with_receipt;
  }
  CountResponse(m, x.start_mono_ns, status);
  std::string head = LocalHead(status, body.size(), cfg.gateway.request_id_header, x.request_id,
                               keep_alive, extra_headers);
  bool ok = co_await WriteClient(head, body);
  linger_ = ok && !keep_alive;
  co_return ok && keep_alive;
}

awaitable<bool> ProxySession::HandleOne() {
  Exchange x;
  std::exception_ptr error;
  try {
    co_return co_await HandleExchange(x);
  } catch (...) {
    error = std::current_exception();
  }
  // A bug or an exhausted resource in the gateway's own code: the client gets no answer,
  // but the upstream may already have acted, so what is known of the request is recorded.
  if (x.start_mono_ns != 0 && !x.recorded) co_await RecordInterrupted(x, error);
  std::rethrow_exception(error);
}

awaitable<void> ProxySession::RecordInterrupted(Exchange& x, const std::exception_ptr& error) {
  if (x.event.decision.empty()) {
    x.event.decision = "deny";
    x.event.deny_reason = "internal_error";
  }
  std::string message = "internal error: " + SanitizeForRecord(ExceptionMessage(error));
  if (x.event.status != 0) message += "; the upstream had answered " + std::to_string(x.event.status);
  message += "; the connection was closed without a complete response";
  x.event.message = std::move(message);
  x.event.status = 500;
  x.event.duration_us = (MonotonicNowNs() - x.start_mono_ns) / 1000;
  try {
    (void)co_await RecordExchange(x);
  } catch (...) {
    // Nothing more can be done for this request; the original error is what is reported.
  }
}

awaitable<bool> ProxySession::HandleExchange(Exchange& x) {
  const GatewayShared& shared = *shared_;
  const Config& cfg = *shared.config;
  const GatewayConfig& gw = cfg.gateway;
  auto& m = worker_.mutable_metrics();

  // --- 1. Read the request head (idle timeout until the first byte, then header timeout).
  SetPhase(Phase::kIdle, gw.idle_timeout_ms);
  timed_out_ = false;
  size_t head_len = 0;
  size_t scan_from = 0;
  size_t lf_checked = 0;
  for (;;) {
    auto data = client_buf_.data();
    std::string_view view(static_cast<const char*>(data.data()), data.size());
    if (!view.empty()) {
      if (phase_ == Phase::kIdle) {
        SetPhase(Phase::kHead, gw.header_timeout_ms);
        x.start_mono_ns = MonotonicNowNs();
        x.event.time_ns = NowNs();
      }
      const size_t complete = CompleteHeadLength(view, &scan_from);
      if (complete != 0 && complete <= gw.max_header_bytes) {
        head_len = complete;
        break;
      }
      if (complete == 0 && IncompleteHeadHasBareLf(view, &lf_checked)) {
        head_len = view.size();  // refused below as not strict (400), without waiting
        break;
      }
      if (view.size() >= gw.max_header_bytes) {
        m.Inc(m.requests);
        m.Inc(m.bad_requests);
        x.event.deny_reason = "header_too_large";
        LocalReply reply{431, "header_too_large", "request header exceeds the limit", false};
        co_return co_await Reply(x, std::move(reply));
      }
    }
    auto buf = client_buf_.prepare(std::min<size_t>(kReadChunk, gw.max_header_bytes));
    auto [ec, n] = co_await ClientRead(buf);
    if (ec) {
      if (phase_ == Phase::kHead && timed_out_) {
        m.Inc(m.requests);
        m.Inc(m.client_timeouts);
        x.event.deny_reason = "request_timeout";
        LocalReply reply{408, "request_timeout", "request header not received in time", false};
        co_return co_await Reply(x, std::move(reply));
      }
      co_return false;  // the client closed (or went idle) between requests
    }
    client_buf_.commit(n);
    m.Inc(m.bytes_in, n);
  }
  if (shared_ != worker_.shared_ptr()) {
    // The configuration was reloaded while this keep-alive connection waited: nothing of the
    // request is processed yet, so it is served under the new one (bytes stay buffered).
    shared_ = worker_.shared_ptr();
    co_return co_await HandleExchange(x);
  }
  m.Inc(m.requests);

  std::string body_out;
  HeadParser<true> parser(gw.max_headers, &body_out);
  parser.header_limit(gw.max_header_bytes);
  parser.body_limit(gw.max_body_bytes);
  const char* head_ptr = static_cast<const char*>(client_buf_.data().data());
  std::string_view head_block(head_ptr, head_len);
  boost::system::error_code pec;
  if (HeaderBlockIsStrict(head_block)) {
    parser.put(asio::buffer(head_ptr, head_len), pec);
  } else {
    pec = http::error::bad_field;
  }
  // flat_buffer::consume only moves read pointers: the parser's views into the head stay
  // valid until the next prepare(), which comes after the upstream head is built.
  client_buf_.consume(head_len);
  x.event.client_ip = peer_ip_;
  if (pec == http::error::body_limit) {
    m.Inc(m.bad_requests);
    x.event.method = std::string(parser.method());
    x.event.deny_reason = "body_too_large";
    LocalReply reply{413, "body_too_large", "request body exceeds the limit", false};
    co_return co_await Reply(x, std::move(reply));
  }
  if (pec || !parser.is_header_done()) {
    m.Inc(m.bad_requests);
    x.event.method = std::string(parser.method());
    x.event.deny_reason = "bad_request";
    x.event.message = pec ? pec.message() : "incomplete request head";
    if (parser.head_error() == HeadError::kTooManyHeaders) {
      LocalReply reply{431, "too_many_headers", "too many header fields", false};
      co_return co_await Reply(x, std::move(reply));
    }
    LocalReply reply{400, "bad_request", "malformed request: " + x.event.message, false};
    co_return co_await Reply(x, std::move(reply));
  }
  x.client_http10 = parser.version() < 11;
  // RFC 9112 §6.1: an HTTP/1.0 message with Transfer-Encoding has faulty framing — a 1.0 hop
  // in front would have taken its chunks for the next request — so the connection closes
  // after it.
  x.keep_alive = parser.keep_alive() && !(x.client_http10 && parser.chunked());
  x.event.method = std::string(parser.method());
  x.event.host = HostForRecord(parser.Find("host"));  // refused below when it has userinfo
  x.event.user_agent = std::string(parser.Find("user-agent").substr(0, 512));
  x.event.client_ip = ClientIpFrom(peer_ip_, parser.fields(), gw.trusted_proxies);
  x.event.node = cfg.node;
  // x.event.id stays empty: Store::Append mints it when the event is recorded, so ids are
  // minted in the order the log receives them, which sealed parts store in almost no bytes
  // (docs/FORMAT.md §16.3); minted here, at the request's start, with 32 requests in
  // flight they cost ~2 B/event more.

  // --- 2. Correlation id and trace context (DESIGN §5).
  // Every line of these fields, joined as one list (RFC 9110 §5.3): a second X-Request-ID
  // makes the id invalid (recorded as such, not dropped), a second traceparent makes the
  // context invalid (a new trace, as the W3C test suite expects), and tracestate lines
  // combine. Only the first line of each was read.
  std::string id_storage, traceparent_storage, tracestate_storage;
  std::string_view incoming_id = FieldList(parser.fields(), gw.request_id_header, &id_storage);
  if (!incoming_id.empty() && IsValidRequestId(incoming_id)) {
    x.request_id = std::string(incoming_id);
  } else {
    if (!incoming_id.empty()) x.event.invalid_request_id = SanitizeForRecord(incoming_id);
    x.request_id = NewUuidV7(x.event.time_ns);
  }
  x.event.correlation_id = x.request_id;
  uint8_t trace_flags = 0x01;  // a trace we start is sampled
  if (auto tp = ParseTraceparent(FieldList(parser.fields(), "traceparent", &traceparent_storage))) {
    x.event.trace_id = tp->trace_id;
    x.event.parent_span_id = tp->parent_id;
    trace_flags = tp->flags;
    std::string_view ts = FieldList(parser.fields(), "tracestate", &tracestate_storage);
    if (IsValidTracestate(ts)) x.event.tracestate = TracestateToForward(ts);
  } else {
    x.event.trace_id = RandomHexId(16);
  }
  x.event.span_id = RandomHexId(8);

  // After a body we do not read (denials), the connection cannot be reused.
  bool has_body = parser.chunked() || parser.content_length().value_or(0) > 0;
  bool keep_after_local_reply = x.keep_alive && !has_body;

  if (parser.content_length().value_or(0) > gw.max_body_bytes) {
    m.Inc(m.bad_requests);
    x.event.decision = "deny";
    x.event.deny_reason = "body_too_large";
    LocalReply reply{413, "body_too_large", "request body exceeds the limit", false};
    co_return co_await Reply(x, std::move(reply));
  }

  // --- 3. Target, route.
  std::string_view path, query;
  if (Status st = CheckRequestTarget(parser.target(), &path, &query); !st.ok()) {
    m.Inc(m.bad_requests);
    // The refused target's query and userinfo are secrets like any other request's.
    std::string_view refused_query;
    SplitRefusedTarget(parser.target(), &x.event.path, &refused_query);
    if (!refused_query.empty()) x.event.query = shared.redactor->RedactQuery(refused_query);
    x.event.deny_reason = "bad_request";
    x.event.message = st.message();
    LocalReply reply{400, "bad_request", st.message(), false};
    co_return co_await Reply(x, std::move(reply));
  }
  x.event.path = std::string(path);
  if (!query.empty()) x.event.query = shared.redactor->RedactQuery(query);
  // RFC 9112 §3.2: an HTTP/1.1 request without Host, or any request with more than one or
  // an invalid one, is refused — the gateway's record and the upstream could each believe
  // another host.
  int host_fields = 0;
  for (const auto& field : parser.fields()) {
    if (boost::beast::iequals(field.first, "host")) ++host_fields;
  }
  const bool bad_host = host_fields == 1 && !IsValidHostField(parser.Find("host"));
  if (host_fields > 1 || (host_fields == 0 && !x.client_http10) || bad_host) {
    m.Inc(m.bad_requests);
    x.event.deny_reason = "bad_request";
    x.event.message = host_fields > 1 ? "more than one Host header"
                      : bad_host      ? "invalid Host header"
                                      : "no Host header";
    LocalReply reply{400, "bad_request", x.event.message, false};
    co_return co_await Reply(x, std::move(reply));
  }

  std::optional<RouteMatch> match = shared.routes->Match(parser.method(), path);
  int upstream_index = -1;
  std::string upstream_path(path);
  const RouteConfig* route = nullptr;
  if (match) {
    route = &cfg.routes[match->route_index];
    upstream_index = static_cast<int>(match->upstream_index);
    x.event.route = std::string(match->route_template);
    x.event.resources = std::move(match->resources);
    if (!match->recorded_path.empty()) x.event.path = std::move(match->recorded_path);
    x.event.sensitive = match->sensitive;
    if (!match->upstream_path.empty()) upstream_path = std::string(match->upstream_path);
  } else if (shared.default_upstream >= 0) {
    upstream_index = shared.default_upstream;
  }

  // --- 4. Identity: no identity, no access (DESIGN §4). An address that failed too often
  // is refused before its credential is even looked at (no guessing through the gateway).
  AuthFailureLimiter* limiter = shared.auth_limiter.get();
  if (int64_t wait_ns = limiter ? limiter->Blocked(x.event.client_ip, x.start_mono_ns) : 0) {
    m.Inc(m.auth_rate_limited);
    x.event.decision = "deny";
    x.event.deny_reason = "rate_limited";
    std::string retry = "Retry-After: " + std::to_string((wait_ns + 999999999) / 1000000000) + "\r\n";
    LocalReply reply{429, "rate_limited", "too many failed authentications from this address",
                     keep_after_local_reply, std::move(retry)};
    co_return co_await Reply(x, std::move(reply));
  }
  AuthOutcome auth = shared.auth->Authenticate(parser.fields(), x.event.time_ns);
  if (auth.needs_introspection) {
    // Opaque token, answer not cached: the authorization server is asked on this worker's
    // io_context; the coroutine waits, the thread serves other connections meanwhile. The call
    // has its own time limit (auth.introspection.timeout_ms), so the header deadline is
    // suspended (kStore: no deadline) and restarted after it.
    SetPhase(Phase::kStore, 0);
    auth = co_await shared.auth->Introspect(parser.fields(), x.event.time_ns);
    SetPhase(Phase::kHead, gw.header_timeout_ms);
  }
  // A verified client certificate identifies a request that carries no other credential.
  const bool by_certificate = peer_identity_ && cfg.auth.mtls.enabled && !auth.allowed &&
                              auth.deny_reason == "missing_credentials";
  if (by_certificate) auth = *peer_identity_;
  // A certificate that has lapsed since the handshake (expired, or its CA no longer trusted
  // after a reload) is refused as a handshake with it now would be, and the connection ends.
  // Checked only when the request rests on it: other requests pay nothing.
  if (peer_cert_ && (by_certificate || (auth.allowed && !auth.identity.bound_certificate.empty()))) {
    std::string why;
    if (!PeerCertificateHolds(x.event.time_ns, &why)) {
      auth.allowed = false;
      auth.deny_reason = "invalid_client_certificate";
      auth.detail = std::move(why);
      auth.http_status = 401;
      keep_after_local_reply = false;
    }
  }
  // RFC 8705 §3: a certificate-bound token works only over a connection holding that
  // certificate; otherwise it is a stolen token. Checked here, after any cache, because the
  // cached outcome belongs to the token and the certificate to this connection.
  if (auth.allowed && !auth.identity.bound_certificate.empty() &&
      !CertificateBindingHolds(auth.identity.bound_certificate, PeerThumbprint())) {
    auth.allowed = false;
    auth.deny_reason = binding_deny::kCertificateMismatch;
    auth.detail = "the token is bound to a client certificate this connection did not present";
  }
  RecordIdentity(auth.identity, &x.event);
  if (!auth.allowed) {
    if (limiter && AuthFailureLimiter::Counts(auth.deny_reason, auth.http_status) &&
        limiter->RecordFailure(x.event.client_ip, x.start_mono_ns)) {
      m.Inc(m.auth_blocks);
    }
    x.event.decision = "deny";
    x.event.deny_reason = auth.deny_reason;
    std::string challenge = "WWW-Authenticate: Bearer realm=\"" + cfg.auth.realm + "\"";
    if (auth.deny_reason != "missing_credentials") challenge += ", error=\"invalid_token\"";
    challenge += "\r\n";
    if (auth.http_status != 401) challenge.clear();  // 503: the gateway's failure, not the client's
    LocalReply reply{auth.http_status, auth.deny_reason,
                             auth.detail.empty() ? "authentication required" : auth.detail,
                             keep_after_local_reply, challenge};
    co_return co_await Reply(x, std::move(reply));
  }
  if (upstream_index < 0) {
    x.event.decision = "deny";
    x.event.deny_reason = "no_route";
    LocalReply reply{404, "no_route", "no route matches this method and path",
                             keep_after_local_reply};
    co_return co_await Reply(x, std::move(reply));
  }
  if (std::optional<GrantDenial> no = route ? CheckRouteGrants(*route, auth.identity) : std::nullopt) {
    x.event.decision = "deny";
    x.event.deny_reason = "insufficient_scope";
    LocalReply reply{403, "insufficient_scope", std::move(no->message), keep_after_local_reply,
                     std::move(no->challenge)};
    co_return co_await Reply(x, std::move(reply));
  }
  if (!shared.store->Accepting() && !cfg.audit.fail_open) {
    // Fail closed before the upstream acts on a request that could never be audited.
    x.event.decision = "deny";
    x.event.deny_reason = "audit_unavailable";
    LocalReply reply{503, "audit_unavailable", "the audit log cannot record this request", false};
    co_return co_await Reply(x, std::move(reply));
  }
  x.event.decision = "allow";
  x.upstream_index = static_cast<size_t>(upstream_index);
  x.event.upstream = cfg.upstreams[x.upstream_index].name;

  // durability: strict — an intent record is durable before the upstream sees a byte, so a
  // crash can never hide an access the upstream acted on; the final record is its outcome.
  if (shared.strict_durability) {
    AuditEvent intent = x.event;
    intent.phase = "intent";
    intent.id = NewEventId(x.event.time_ns);  // now: the outcome must name it
    x.event.phase = "outcome";
    x.event.intent_id = intent.id;
    Status intent_recorded = co_await Record(intent);
    if (!intent_recorded.ok()) {
      m.Inc(m.store_unavailable);
      if (cfg.audit.fail_open) {
        m.Inc(m.unrecorded_fail_open);
      } else {
        x.event.phase.clear();
        x.event.intent_id.clear();
        x.event.decision = "deny";
        x.event.deny_reason = "audit_unavailable";
        LocalReply reply{503, "audit_unavailable", "the audit log cannot record this request", false};
        co_return co_await Reply(x, std::move(reply));
      }
    }
  }

  // --- 5. Build the upstream request head.
  UpstreamHeadInput hin;
  hin.method = parser.method();
  hin.path = upstream_path;
  hin.query = query;
  hin.fields = &parser.fields();
  hin.peer_ip = peer_ip_;
  hin.request_id = x.request_id;
  std::string traceparent = FormatTraceparent(x.event.trace_id, x.event.span_id, trace_flags);
  hin.traceparent = traceparent;
  hin.tracestate = x.event.tracestate;
  hin.host = parser.Find("host");  // whole: the event's copy is cut at 256 bytes
  hin.identity = &auth.identity;
  hin.chunked = parser.chunked();
  if (auto cl = parser.content_length()) hin.content_length = *cl;
  hin.tls = tls_ != nullptr;
  UpstreamHead upstream_head = BuildUpstreamHead(hin, gw, cfg.auth.identity_headers, shared.header_policy);
  std::string& head = upstream_head.text;
  parser.set_rechunk(parser.chunked());
  // Chunk extensions and trailers are dropped, not forwarded: the head's limit bounds them.
  parser.set_chunk_metadata_limit(gw.max_header_bytes);
  // RFC 9110 §10.1.1: an HTTP/1.0 client's expectation is ignored; it would take a 1xx for
  // the final response.
  bool expect_continue = upstream_head.expect_continue && !x.client_http10;
  if (!has_body && IsIdempotent(parser.method())) x.replay_head = &head;

  // --- 6. Forward, stream, record, answer.
  boost::system::error_code ec;  // the request body's parse error, if any
  bool ok = co_await [&]() -> awaitable<bool> {
    if (expect_continue && has_body && !co_await WriteClient("HTTP/1.1 100 Continue\r\n\r\n")) {
      x.event.message = "client connection lost before the request body";
      co_return false;  // in kClientWrite: answered and recorded as a failed request body
    }
    // Body bytes already read with the head.
    parser.eager(true);
    auto feed = [&]() -> bool {
      while (!parser.is_done() && client_buf_.size() > 0) {
        size_t used = parser.put(client_buf_.data(), ec);
        client_buf_.consume(used);  // also on need_more: Beast may have taken part of a chunk
        if (ec == http::error::need_more) { ec = {}; break; }
        if (ec) return false;
        if (used == 0) break;
      }
      // Beast consumes body bytes as they come but waits for a whole chunk-size line or
      // trailer section, with no limit of its own: what it leaves is held, so it is capped
      // like the parser caps complete ones (set_chunk_metadata_limit).
      if (!parser.is_done() && client_buf_.size() > gw.max_header_bytes) {
        ec = http::error::header_limit;
        return false;
      }
      return true;
    };
    if (!feed()) co_return false;

    // Upstream connection: pooled, else connect.
    size_t ui = static_cast<size_t>(upstream_index);
    bool reused = cfg.upstreams[ui].tls.enabled
                      ? worker_.pool().TakeIdle(shared.generation, ui, &upstream_tls_)
                      : worker_.pool().TakeIdle(shared.generation, ui, &upstream_);
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (!reused) {
        CloseUpstream();
        if (!co_await ConnectUpstream(ui, &x.event.message)) co_return false;
      }
      SetPhase(Phase::kUpstreamIo, gw.upstream_response_timeout_ms);
      auto [wec, wn] = co_await UpstreamWrite(asio::buffer(head), asio::buffer(body_out));
      if (!wec) break;
      // A pooled connection the upstream closed meanwhile: retry once on a fresh one.
      if (!reused || timed_out_) co_return false;
      reused = false;
      m.Inc(m.upstream_retries);
    }
    x.upstream_reused = reused;
    x.event.bytes_in = parser.body_bytes();
    body_out.clear();
    // Stream the rest of the request body.
    while (!parser.is_done()) {
      SetPhase(Phase::kBody, gw.body_timeout_ms);
      auto [rec, rn] = co_await ClientRead(client_buf_.prepare(kReadChunk));
      if (rec) {
        // Gone (a timeout says so itself): also where a 100 Continue was still written.
        if (!timed_out_) {
          x.event.message = parser.body_bytes() == 0 ? "client connection lost before the request body"
                                                     : "client connection lost during the request body";
        }
        co_return false;
      }
      client_buf_.commit(rn);
      m.Inc(m.bytes_in, rn);
      if (!feed()) co_return false;
      if (!body_out.empty()) {
        SetPhase(Phase::kUpstreamIo, gw.upstream_response_timeout_ms);
        auto [wec, wn] = co_await UpstreamWrite(asio::buffer(body_out));
        if (wec) co_return false;
        body_out.clear();
      }
    }
    if (parser.chunked()) {
      SetPhase(Phase::kUpstreamIo, gw.upstream_response_timeout_ms);
      auto [wec, wn] = co_await UpstreamWrite(asio::buffer("0\r\n\r\n", 5));
      if (wec) co_return false;
    }
    x.event.bytes_in = parser.body_bytes();
    co_return true;
  }();
  if (!ok) {
    CloseUpstream();
    if (phase_ == Phase::kBody || phase_ == Phase::kClientWrite ||
        (phase_ != Phase::kConnect && phase_ != Phase::kUpstreamIo && parser.is_header_done() &&
         !parser.is_done())) {
      // The client's body was bad, too large or too slow.
      m.Inc(m.bad_requests);
      x.event.decision = "deny";
      bool too_large = ec == http::error::body_limit;
      if (ec == http::error::header_limit || parser.head_error() == HeadError::kChunkMetadataTooLarge) {
        x.event.message = "chunk extensions or trailers exceed gateway.max_header_bytes";
      }
      x.event.deny_reason = timed_out_ ? "request_timeout" : too_large ? "body_too_large" : "bad_request";
      int status = timed_out_ ? 408 : too_large ? 413 : 400;
      LocalReply reply{status, x.event.deny_reason, "request body rejected", false};
      co_return co_await Reply(x, std::move(reply));
    }
    bool timeout = timed_out_;
    m.Inc(timeout ? m.upstream_timeouts : m.upstream_errors);
    x.event.deny_reason = "upstream_unavailable";
    LocalReply reply{timeout ? 504 : 502, timeout ? "upstream_timeout" : "upstream_unavailable",
                             timeout ? "the upstream did not answer in time"
                                     : "the upstream refused or dropped the connection",
                             false};
    co_return co_await Reply(x, std::move(reply));
  }
  co_return co_await Forward(x);
}

// Reads the upstream response, streams it to the client holding back its final bytes,
// records the event and releases the rest once the event is durable.
awaitable<bool> ProxySession::Forward(Exchange& x) {
  const GatewayShared& shared = *shared_;
  const Config& cfg = *shared.config;
  const GatewayConfig& gw = cfg.gateway;
  auto& m = worker_.mutable_metrics();
  std::string out;  // client-bound bytes not yet written
  bool head_sent = false;
  bool upstream_reusable = false;
  bool client_keep = x.keep_alive;
  bool chunk_to_client = false;
  int status = 0;
  std::string failure;  // why the upstream's answer was refused, for the event (else generic)
  int interim = 0;      // 1xx responses dropped so far

  bool ok = co_await [&]() -> awaitable<bool> {
    for (;;) {  // loops only over 1xx interim responses, which are dropped
      std::string body;
      HeadParser<false> rp(kMaxResponseHeaders, &body);
      rp.header_limit(kMaxResponseHeaderBytes);
      rp.set_chunk_metadata_limit(kMaxResponseHeaderBytes);
      rp.body_limit(boost::none);
      if (x.event.method == "HEAD") rp.skip(true);
      boost::system::error_code ec;
      SetPhase(Phase::kResponse, gw.upstream_response_timeout_ms);
      // Head: handed to the parser only once whole, as for requests. Beast consumes a status
      // line on its own while the fields are still incomplete, and the parser's views must
      // all point into one buffer that does not move.
      size_t head_bytes = 0;
      for (size_t scan_from = 0, lf_checked = 0;;) {
        std::string_view view(static_cast<const char*>(upstream_buf_.data().data()), upstream_buf_.size());
        head_bytes = CompleteHeadLength(view, &scan_from);
        if (head_bytes != 0) break;
        if (IncompleteHeadHasBareLf(view, &lf_checked)) {
          failure = "upstream response head has obs-fold or a bare CR or LF";
          co_return false;
        }
        if (view.size() >= kMaxResponseHeaderBytes) {
          failure = "upstream response head exceeds 64 KiB";
          co_return false;
        }
        auto [rec, rn] = co_await UpstreamRead(upstream_buf_.prepare(kReadChunk));
        if (rec && x.replay_head != nullptr && x.upstream_reused && !timed_out_ && interim == 0 &&
            upstream_buf_.size() == 0 &&
            (rec == asio::error::eof || rec == asio::error::connection_reset ||
             rec == asio::ssl::error::stream_truncated)) {
          // A pooled connection the upstream closed as the request arrived (its idle close
          // raced ours), before a byte of the answer: sent once more on a fresh connection.
          x.upstream_reused = false;
          m.Inc(m.upstream_retries);
          CloseUpstream();
          if (!co_await ConnectUpstream(x.upstream_index, &x.event.message)) co_return false;
          SetPhase(Phase::kUpstreamIo, gw.upstream_response_timeout_ms);
          auto [wec, wn] = co_await UpstreamWrite(asio::buffer(*x.replay_head));
          if (wec) co_return false;
          SetPhase(Phase::kResponse, gw.upstream_response_timeout_ms);
          continue;
        }
        if (rec) co_return false;
        upstream_buf_.commit(rn);
      }
      const char* head_ptr = static_cast<const char*>(upstream_buf_.data().data());
      // Beast unfolds an obs-fold value into a buffer of its own that is gone when put()
      // returns, leaving the parser a dangling view: such heads (and bare CR or LF) are
      // refused, as RFC 9112 §5.2 allows a proxy to (502).
      if (head_bytes > kMaxResponseHeaderBytes || !HeaderBlockIsStrict({head_ptr, head_bytes})) {
        failure = head_bytes > kMaxResponseHeaderBytes
                      ? "upstream response head exceeds 64 KiB"
                      : "upstream response head has obs-fold or a bare CR or LF";
        co_return false;
      }
      rp.put(asio::buffer(head_ptr, head_bytes), ec);
      if (ec || !rp.is_header_done()) co_return false;
      status = rp.status();
      if (status < 100 || status > 599) {  // RFC 9110 §15: Beast takes any three digits
        failure = "upstream sent status code " + std::to_string(status) + " (valid: 100 to 599)";
        co_return false;
      }
      if (status >= 100 && status < 200) {
        // Interim responses are dropped; 101 never comes, since Upgrade is not forwarded.
        upstream_buf_.consume(head_bytes);
        if (status == 101) co_return false;
        if (++interim > kMaxInterimResponses) {
          failure = "more than " + std::to_string(kMaxInterimResponses) + " interim (1xx) responses";
          co_return false;
        }
        continue;
      }
      // Build the client head from the parsed fields before the buffer moves.
      bool no_body = x.event.method == "HEAD" || StatusHasNoBody(status);
      std::string head;
      head.reserve(512);
      head.append("HTTP/1.1 ").append(std::to_string(status)).append(" ").append(rp.reason()).append("\r\n");
      AppendResponseFields(head, rp.fields(), gw.request_id_header, x.request_id,
                           /*keep_content_length=*/no_body && status != 204);
      if (!no_body) {
        if (auto cl = rp.content_length()) {
          AppendHeader(head, "Content-Length", std::to_string(*cl));
        } else if (!x.client_http10) {
          AppendHeader(head, "Transfer-Encoding", "chunked");
          chunk_to_client = true;
          rp.set_rechunk(true);
        } else {
          client_keep = false;  // close-delimited for an HTTP/1.0 client
        }
      }
      if (!client_keep && !x.client_http10) AppendHeader(head, "Connection", "close");
      if (x.client_http10 && client_keep) AppendHeader(head, "Connection", "keep-alive");
      head.append("\r\n");
      upstream_buf_.consume(head_bytes);
      out = std::move(head);

      // Body.
      rp.eager(true);
      while (!rp.is_done()) {
        while (upstream_buf_.size() > 0 && !rp.is_done()) {
          // Beast may consume bytes and still ask for more (mid-chunk): always consume.
          size_t used = rp.put(upstream_buf_.data(), ec);
          upstream_buf_.consume(used);
          if (ec == http::error::need_more) { ec = {}; break; }
          if (ec) {
            if (rp.head_error() == HeadError::kChunkMetadataTooLarge) {
              failure = "upstream chunk extensions or trailers exceed 64 KiB";
            }
            co_return false;
          }
          if (used == 0) break;
        }
        // What Beast leaves is an incomplete chunk-size line or trailer section, which it
        // would wait for without a limit: capped like a response head.
        if (!rp.is_done() && upstream_buf_.size() > kMaxResponseHeaderBytes) {
          failure = "upstream chunk extensions or trailers exceed 64 KiB";
          co_return false;
        }
        out.append(body);
        body.clear();
        if (rp.is_done()) break;
        if (out.size() > kHoldLimit) {
          if (!co_await WriteClient(out)) co_return false;
          head_sent = true;
          out.clear();
        }
        SetPhase(Phase::kResponse, gw.upstream_response_timeout_ms);
        auto [rec, rn] = co_await UpstreamRead(upstream_buf_.prepare(kReadChunk));
        // A TLS upstream that closes without close_notify ends a close-delimited body too.
        if ((rec == asio::error::eof || rec == asio::ssl::error::stream_truncated) && rp.need_eof()) {
          rp.put_eof(ec);
          if (ec) co_return false;
          out.append(body);
          body.clear();
          break;
        }
        if (rec) co_return false;
        upstream_buf_.commit(rn);
      }
      if (chunk_to_client) out.append("0\r\n\r\n");
      x.event.bytes_out = rp.body_bytes();
      // RFC 9112 §6.1: an HTTP/1.0 response with Transfer-Encoding has faulty framing; what
      // that upstream sends next is not trusted to start a response.
      upstream_reusable = rp.keep_alive() && !rp.need_eof() && upstream_buf_.size() == 0 &&
                          !(rp.version() < 11 && rp.chunked());
      co_return true;
    }
  }();

  if (upstream_reusable && upstream_tls_) {
    worker_.pool().GiveBack(shared.generation, x.upstream_index, std::move(upstream_tls_));
  } else if (upstream_reusable) {
    worker_.pool().GiveBack(shared.generation, x.upstream_index, std::move(upstream_));
    upstream_ = tcp::socket(worker_.io());
  } else {
    CloseUpstream();
  }
  upstream_buf_.clear();

  if (!ok) {
    if (head_sent) {
      // Part of the response is out; the rest cannot be trusted. Record and cut.
      x.event.status = status;
      x.event.message = "upstream response interrupted";
      x.event.duration_us = (MonotonicNowNs() - x.start_mono_ns) / 1000;
      m.Inc(m.upstream_errors);
      (void)co_await RecordExchange(x);
      co_return false;
    }
    bool timeout = timed_out_;
    m.Inc(timeout ? m.upstream_timeouts : m.upstream_errors);
    x.event.deny_reason = "";
    x.event.message = timeout           ? "upstream response timed out"
                      : !failure.empty() ? failure
                                         : "upstream response malformed or dropped";
    LocalReply reply{timeout ? 504 : 502, timeout ? "upstream_timeout" : "upstream_unavailable",
                             timeout ? "the upstream did not answer in time"
                                     : "the upstream response was malformed or dropped",
                             false};
    co_return co_await Reply(x, std::move(reply));
  }

  x.event.status = status;
  x.event.duration_us = (MonotonicNowNs() - x.start_mono_ns) / 1000;
  m.Inc(m.allowed);
  if (FailpointSet("session_before_record")) throw std::runtime_error("failpoint session_before_record");
  Receipt receipt;
  Status recorded = co_await RecordExchange(x, &receipt);
  if (recorded.ok() && !head_sent && cfg.audit.receipts) {
    // The whole response was held: its head can still carry the receipt.
    size_t end_of_head = out.find("\r\n\r\n");
    if (end_of_head != std::string::npos) {
      std::string header = ReceiptHeader(receipt);
      out.insert(end_of_head + 2, header);
    }
  }
  if (!recorded.ok()) {
    m.Inc(m.store_unavailable);
    if (cfg.audit.fail_open) {
      m.Inc(m.unrecorded_fail_open);
    } else if (!head_sent) {
      std::string body = JsonError("audit_unavailable", "the audit log cannot record this request");
      std::string head = LocalHead(503, body.size(), gw.request_id_header, x.request_id,
                                   /*keep_alive=*/false, {});
      CountResponse(m, x.start_mono_ns, 503);
      (void)co_await WriteClient(head, body);
      co_return false;
    } else {
      co_return false;  // never complete a response whose record failed
    }
  }
  CountResponse(m, x.start_mono_ns, status);  // what the client gets, counted once it is sure to get it
  if (!co_await WriteClient(out)) co_return false;
  co_return client_keep;
}

}  // namespace apitrail
