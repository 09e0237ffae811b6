// UpstreamPool: idle keep-alive connections to each upstream, owned by one worker and used
// only on its thread (no locks). A connection is taken for one request/response exchange
// and given back only when both sides left it reusable. Upstreams are numbered by the
// configuration generation they come from: after a reload (Reset) a connection taken under
// an older generation is closed, not given back, since its index may now name another host.
// Connections to a TLS upstream are pooled with their TLS session (the handshake is not
// repeated per request).
#pragma once

#include <openssl/bio.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <cerrno>
#include <cstdint>
#include <memory>
#include <vector>

namespace apitrail {

class UpstreamPool {
 public:
  using TlsConnection = boost::asio::ssl::stream<boost::asio::ip::tcp::socket>;

  UpstreamPool(size_t upstream_count, uint32_t max_idle_per_upstream)
      : idle_(upstream_count), idle_tls_(upstream_count), max_idle_(max_idle_per_upstream) {}

  // Drops every idle connection and starts numbering upstreams for `generation`.
  void Reset(size_t upstream_count, uint32_t max_idle_per_upstream, uint64_t generation) {
    CloseAll();
    idle_.resize(upstream_count);
    idle_tls_.resize(upstream_count);
    max_idle_ = max_idle_per_upstream;
    generation_ = generation;
  }

  // An idle connection that is still quiet (IsQuiet), or false if none; connections that
  // are not are closed. The peer may still close one between this check and the request;
  // the caller retries on a fresh connection when nothing was answered.
  bool TakeIdle(uint64_t generation, size_t upstream, boost::asio::ip::tcp::socket* out) {
    if (generation != generation_ || upstream >= idle_.size()) return false;
    auto& v = idle_[upstream];
    while (!v.empty()) {
      *out = std::move(v.back());
      v.pop_back();
      if (out->is_open() && IsQuiet(out->native_handle())) return true;
      boost::system::error_code ec;
      out->close(ec);
    }
    return false;
  }

  void GiveBack(uint64_t generation, size_t upstream, boost::asio::ip::tcp::socket socket) {
    if (generation != generation_ || upstream >= idle_.size()) return;  // closed by the destructor
    auto& v = idle_[upstream];
    if (v.size() >= max_idle_) return;  // closed by the destructor
    v.push_back(std::move(socket));
  }

  bool TakeIdle(uint64_t generation, size_t upstream, std::unique_ptr<TlsConnection>* out) {
    out->reset();
    if (generation != generation_ || upstream >= idle_tls_.size()) return false;
    auto& v = idle_tls_[upstream];
    while (!v.empty()) {
      *out = std::move(v.back());
      v.pop_back();
      auto& socket = (*out)->next_layer();
      if (socket.is_open() && IsQuiet(socket.native_handle()) && IsTlsQuiet((*out)->native_handle())) {
        return true;
      }
      boost::system::error_code ec;
      socket.close(ec);
    }
    out->reset();
    return false;
  }

  void GiveBack(uint64_t generation, size_t upstream, std::unique_ptr<TlsConnection> conn) {
    if (generation != generation_ || upstream >= idle_tls_.size()) return;
    auto& v = idle_tls_[upstream];
    if (v.size() >= max_idle_) return;
    v.push_back(std::move(conn));
  }

  // True if the peer has neither sent a byte nor closed since the connection went idle. A
  // byte now (say, a body after a 204 or after the head of a HEAD answer) would be read as
  // the next request's response, and EOF means the upstream closed its keep-alive
  // connection: either way the connection is not reused.
  static bool IsQuiet(int fd) {
    char byte;
    ssize_t n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }

  // IsQuiet one layer up: no bytes inside OpenSSL. Asio's TLS stream hands OpenSSL all the
  // ciphertext one socket read brought, and OpenSSL takes one record per read, so a record
  // the upstream sent behind its response (in the same TCP segment) waits in the stream's
  // BIO pair: the socket is quiet, SSL_has_pending is 0 (it sees only what OpenSSL read),
  // and the record would be read as the next request's response. (Ciphertext beyond the
  // BIO pair's 17 KiB, still in Asio's own buffer, is not seen here.)
  static bool IsTlsQuiet(SSL* ssl) {
    return SSL_has_pending(ssl) == 0 && BIO_ctrl_pending(SSL_get_rbio(ssl)) == 0;
  }

  void CloseAll() {
    for (auto& v : idle_tls_) {
      for (auto& c : v) {
        boost::system::error_code ec;
        c->next_layer().close(ec);
      }
      v.clear();
    }
    for (auto& v : idle_) {
      for (auto& s : v) {
        boost::system::error_code ec;
        s.close(ec);
      }
      v.clear();
    }
  }

 private:
  std::vector<std::vector<boost::asio::ip::tcp::socket>> idle_;
  std::vector<std::vector<std::unique_ptr<TlsConnection>>> idle_tls_;
  uint32_t max_idle_;
  uint64_t generation_ = 0;
};

}  // namespace apitrail
