// ProxySession: one client connection on one worker, from accept to close. Runs the
// request pipeline for each request on the connection (limits → correlate → route →
// authenticate → redact → forward → record) as one coroutine on the worker's thread.
//
// Every read and write has a deadline, enforced by the worker's sweep through
// CheckDeadline() (no timer per operation). Bodies stream through bounded buffers. The
// response is completed only after its audit event is as durable as audit.durability asks:
// small responses are held whole, large ones are streamed but their final bytes are held.
// On a TLS listener (gateway.tls) the session first runs the TLS handshake under the header
// timeout, then the same pipeline over the TLS stream; a verified client certificate becomes
// the connection's mTLS identity (auth/mtls.h). Client and upstream I/O goes through
// ClientRead/ClientWrite and UpstreamRead/UpstreamWrite, which pick the plain socket or the
// TLS stream with one branch per I/O operation (no virtual call, no extra copy).
// Not thread-safe: used only on its worker's thread.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <tuple>

#include "auth/identity.h"
#include "core/crypto_util.h"
#include "core/event.h"
#include "core/status.h"

namespace apitrail {

struct GatewayShared;

class Worker;

class ProxySession {
 public:
  ProxySession(Worker& worker, boost::asio::ip::tcp::socket socket);
  ~ProxySession();
  ProxySession(const ProxySession&) = delete;
  ProxySession& operator=(const ProxySession&) = delete;

  boost::asio::awaitable<void> Run();

  // Called by the worker's sweep with MonotonicCoarseNowNs(). Cancels the I/O the session
  // waits on when its deadline passed (or, while draining, when it is idle between requests).
  void CheckDeadline(int64_t now_mono_ns, bool draining);

 private:
  enum class Phase { kIdle, kHead, kBody, kConnect, kUpstreamIo, kResponse, kClientWrite, kStore };
  struct Exchange;  // per-request state, defined in the .cc
  // A response the gateway writes itself. Owns its strings: GCC 12 destroys temporaries
  // inside a co_await full-expression twice, so call sites build this as a named local.
  struct LocalReply {
    int status;
    std::string error;
    std::string message;
    bool keep_alive;
    std::string extra_headers;
  };

  // One request, from its first byte to its response; false when the connection ends. An
  // exception ends the connection (Worker::ReportSessionError counts and logs it), but the
  // request it interrupted, if one had begun, is recorded first (RecordInterrupted).
  boost::asio::awaitable<bool> HandleOne();
  boost::asio::awaitable<bool> HandleExchange(Exchange& x);
  boost::asio::awaitable<void> RecordInterrupted(Exchange& x, const std::exception_ptr& error);
  boost::asio::awaitable<bool> Forward(Exchange& x);
  boost::asio::awaitable<bool> Reply(Exchange& x, LocalReply reply);
  // Where a record landed: what an Apitrail-Receipt header tells the client.
  struct Receipt {
    uint64_t seq = 0;
    Hash256 leaf{};
  };
  // Appends `event` (moved) and resumes once it is as durable as configured; fills `receipt`
  // when given.
  boost::asio::awaitable<Status> Record(AuditEvent& event, Receipt* receipt = nullptr);
  // Record(x.event), marking the exchange as recorded first (HandleOne owes no record then).
  boost::asio::awaitable<Status> RecordExchange(Exchange& x, Receipt* receipt = nullptr);
  // "Apitrail-Receipt: ...\r\n" for a recorded response when audit.receipts is on, else "".
  std::string ReceiptHeader(const Receipt& receipt) const;
  boost::asio::awaitable<bool> WriteClient(std::string_view a, std::string_view b = {});
  void SetPhase(Phase phase, uint32_t timeout_ms);
  boost::asio::awaitable<bool> AcceptTls();
  // After a reply that ends the connection (over TLS, after the close_notify): shuts the
  // write side, then reads and drops what the client still sends until it closes (bounded in
  // time and bytes), so that a client still sending a body we refused reads our answer
  // instead of a reset.
  boost::asio::awaitable<void> LingeringClose();
  // The x5t#S256 of this connection's verified client certificate ("" without one), computed
  // only for a request that carries a certificate-bound token (token_binding.h).
  std::string PeerThumbprint();
  // Whether the verified client certificate still holds at `now_ns` (wall clock): not past its
  // notAfter, and, after a reload, chaining to the client CAs the current configuration trusts
  // (verified again once per reload). Else false with *why saying which.
  bool PeerCertificateHolds(int64_t now_ns, std::string* why);
  boost::asio::awaitable<bool> ConnectUpstream(size_t upstream_index, std::string* error);
  void CloseUpstream();

  // Not coroutines: each returns the awaitable of the one operation on the right stream.
  using IoResult = std::tuple<boost::system::error_code, std::size_t>;
  boost::asio::awaitable<IoResult> ClientRead(boost::asio::mutable_buffer buf);
  boost::asio::awaitable<IoResult> ClientWrite(boost::asio::const_buffer a, boost::asio::const_buffer b);
  boost::asio::awaitable<IoResult> UpstreamRead(boost::asio::mutable_buffer buf);
  boost::asio::awaitable<IoResult> UpstreamWrite(boost::asio::const_buffer a,
                                                 boost::asio::const_buffer b = {});

  using ClientTls = boost::asio::ssl::stream<boost::asio::ip::tcp::socket&>;  // over client_
  using UpstreamTls = boost::asio::ssl::stream<boost::asio::ip::tcp::socket>;

  Worker& worker_;
  // The configuration of the request being served (the worker's current one when it began).
  std::shared_ptr<const GatewayShared> shared_;
  boost::asio::ip::tcp::socket client_;
  std::shared_ptr<boost::asio::ssl::context> tls_ctx_;  // the context this connection started with
  std::unique_ptr<ClientTls> tls_;                      // null: plain TCP listener
  std::unique_ptr<AuthOutcome> peer_identity_;          // verified client certificate (auth.mtls)
  // A client certificate verified in the handshake: its notAfter (Unix seconds) and the
  // configuration generation whose client CAs last verified it (PeerCertificateHolds).
  bool peer_cert_ = false;
  int64_t peer_cert_not_after_s_ = 0;
  uint64_t peer_cert_generation_ = 0;
  boost::asio::ip::tcp::socket upstream_;               // plain upstreams
  std::unique_ptr<UpstreamTls> upstream_tls_;           // upstreams with tls (null otherwise)
  boost::beast::flat_buffer client_buf_;
  boost::beast::flat_buffer upstream_buf_;
  std::string peer_ip_;
  Phase phase_ = Phase::kIdle;
  int64_t deadline_ns_ = 0;
  bool timed_out_ = false;
  bool linger_ = false;  // a local reply ended the connection, maybe with request bytes unread
  std::list<ProxySession*>::iterator registration_;
};

}  // namespace apitrail
