// TlsContexts (tls_contexts.h). PEM files are read here (bounded, errors naming the file) and
// handed to OpenSSL from memory, so a missing, unreadable or malformed file and a key that
// does not match its certificate each get their own message.
#include "gateway/tls_contexts.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/ip/address.hpp>

#include "auth/file_util.h"
#include "auth/openssl_ptr.h"

namespace apitrail {
namespace {

namespace ssl = boost::asio::ssl;
constexpr size_t kMaxPemBytes = 1 << 20;
// Session tickets and resumption need an id context once client certificates are verified.
constexpr unsigned char kSessionIdContext[] = "apitrail";

std::string OpenSslError() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

Result<std::string> ReadPem(const std::string& key, const std::string& path) {
  auto text = ReadSmallFile(path, kMaxPemBytes);
  if (!text.ok()) {
    return Status::InvalidArgument(key + ": cannot read '" + path + "': " + text.status().message());
  }
  return std::move(text).value();
}

// Every certificate in a PEM text, in order; an error if there is none.
Result<std::vector<ossl::X509Ptr>> ParseCerts(const std::string& key, const std::string& path,
                                              const std::string& pem) {
  ossl::BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  std::vector<ossl::X509Ptr> out;
  ERR_clear_error();
  while (X509* c = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) out.emplace_back(c);
  // The end of the file reads as "no start line"; any other error is a damaged certificate
  // (a file cut short while being written), which ended the loop as if the file ended
  // there: a chain or CA bundle loaded without its tail instead of refused.
  unsigned long e = ERR_peek_last_error();
  if (!(ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE)) {
    return Status::InvalidArgument(key + ": '" + path + "': certificate " + std::to_string(out.size() + 1) +
                                   " is damaged: " + OpenSslError());
  }
  ERR_clear_error();
  if (out.empty()) return Status::InvalidArgument(key + ": '" + path + "' holds no PEM certificate");
  return out;
}

Status LoadTrustAnchors(SSL_CTX* ctx, const std::string& key, const std::string& path,
                        bool advertise_to_clients) {
  APITRAIL_ASSIGN_OR_RETURN(std::string pem, ReadPem(key, path));
  APITRAIL_ASSIGN_OR_RETURN(auto certs, ParseCerts(key, path, pem));
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  for (auto& c : certs) {
    if (X509_STORE_add_cert(store, c.get()) != 1) {
      return Status::InvalidArgument(key + ": '" + path + "': " + OpenSslError());
    }
    // The CA names sent in the CertificateRequest help clients pick the right certificate.
    if (advertise_to_clients) SSL_CTX_add_client_CA(ctx, c.get());
  }
  return Status::Ok();
}

void BaseOptions(ssl::context& ctx, int min_version) {
  boost::system::error_code ec;
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                      ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                      ssl::context::no_compression,
                  ec);
  SSL_CTX_set_min_proto_version(ctx.native_handle(), min_version);
}

Result<std::shared_ptr<ssl::context>> BuildServer(const Config& config) {
  const GatewayTlsConfig& t = config.gateway.tls;
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* h = ctx->native_handle();
  BaseOptions(*ctx, t.min_version == "1.3" ? TLS1_3_VERSION : TLS1_2_VERSION);
  SSL_CTX_set_options(h, SSL_OP_CIPHER_SERVER_PREFERENCE);

  APITRAIL_ASSIGN_OR_RETURN(std::string cert_pem, ReadPem("gateway.tls.cert_file", t.cert_file));
  APITRAIL_ASSIGN_OR_RETURN(auto chain, ParseCerts("gateway.tls.cert_file", t.cert_file, cert_pem));
  if (SSL_CTX_use_certificate(h, chain[0].get()) != 1) {
    return Status::InvalidArgument("gateway.tls.cert_file: '" + t.cert_file + "': " + OpenSslError());
  }
  for (size_t i = 1; i < chain.size(); ++i) {
    if (SSL_CTX_add1_chain_cert(h, chain[i].get()) != 1) {
      return Status::InvalidArgument("gateway.tls.cert_file: '" + t.cert_file + "': " + OpenSslError());
    }
  }
  APITRAIL_ASSIGN_OR_RETURN(std::string key_pem, ReadPem("gateway.tls.key_file", t.key_file));
  ossl::BioPtr bio(BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size())));
  // No passphrase callback: an encrypted key fails here instead of prompting on a terminal.
  EVP_PKEY* pkey = PEM_read_bio_PrivateKey(bio.get(), nullptr,
                                           [](char*, int, int, void*) { return 0; }, nullptr);
  OPENSSL_cleanse(key_pem.data(), key_pem.size());
  if (pkey == nullptr) {
    ERR_clear_error();
    return Status::InvalidArgument("gateway.tls.key_file: '" + t.key_file +
                                   "' holds no unencrypted PEM private key");
  }
  int used = SSL_CTX_use_PrivateKey(h, pkey);
  EVP_PKEY_free(pkey);
  if (used != 1 || SSL_CTX_check_private_key(h) != 1) {
    ERR_clear_error();
    return Status::InvalidArgument("gateway.tls.key_file: '" + t.key_file +
                                   "' does not match gateway.tls.cert_file '" + t.cert_file + "'");
  }
  SSL_CTX_set_session_id_context(h, kSessionIdContext, sizeof kSessionIdContext - 1);
  if (t.client_auth != "none") {
    APITRAIL_RETURN_IF_ERROR(
        LoadTrustAnchors(h, "gateway.tls.client_ca_file", t.client_ca_file, true));
    int mode = SSL_VERIFY_PEER;
    if (t.client_auth == "required") mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    SSL_CTX_set_verify(h, mode, nullptr);
    SSL_CTX_set_verify_depth(h, 8);
  }
  return ctx;
}

Result<std::shared_ptr<ssl::context>> BuildUpstream(const UpstreamConfig& u, size_t i) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  BaseOptions(*ctx, TLS1_2_VERSION);
  SSL_CTX* h = ctx->native_handle();
  if (!u.tls.verify) {
    SSL_CTX_set_verify(h, SSL_VERIFY_NONE, nullptr);
    return ctx;
  }
  SSL_CTX_set_verify(h, SSL_VERIFY_PEER, nullptr);
  if (u.tls.ca_file.empty()) {
    if (SSL_CTX_set_default_verify_paths(h) != 1) {
      return Status::IoError("upstreams[" + std::to_string(i) +
                             "].tls: cannot load the system CA store: " + OpenSslError());
    }
  } else {
    APITRAIL_RETURN_IF_ERROR(LoadTrustAnchors(
        h, "upstreams[" + std::to_string(i) + "].tls.ca_file", u.tls.ca_file, false));
  }
  return ctx;
}

}  // namespace

Result<std::unique_ptr<TlsContexts>> TlsContexts::Create(const Config& config) {
  std::unique_ptr<TlsContexts> t(new TlsContexts());
  if (config.gateway.tls.enabled()) {
    APITRAIL_ASSIGN_OR_RETURN(t->server_, BuildServer(config));
  }
  for (size_t i = 0; i < config.upstreams.size(); ++i) {
    std::shared_ptr<ssl::context> c;
    if (config.upstreams[i].tls.enabled) {
      APITRAIL_ASSIGN_OR_RETURN(c, BuildUpstream(config.upstreams[i], i));
    }
    t->upstreams_.push_back(std::move(c));
  }
  return t;
}

bool SetExpectedPeerName(void* ssl_native_handle, const std::string& host) {
  SSL* s = static_cast<SSL*>(ssl_native_handle);
  X509_VERIFY_PARAM* param = SSL_get0_param(s);
  boost::system::error_code ec;
  boost::asio::ip::make_address(host, ec);
  if (!ec) {
    // An IP literal is checked against the certificate's iPAddress SANs; no SNI (RFC 6066).
    return X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) == 1;
  }
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  return X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size()) == 1 &&
         SSL_set_tlsext_host_name(s, host.c_str()) == 1;
}

}  // namespace apitrail
