#include "net/https_client.h"

#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <chrono>

namespace apitrail {
namespace {

TEST(ParseFetchUrl, AcceptsHttpsWithPortPathAndQuery) {
  auto u = ParseFetchUrl("https://auth.example.com:8443/a/b?x=1", false);
  ASSERT_TRUE(u.ok()) << u.status().message();
  EXPECT_TRUE(u->tls);
  EXPECT_EQ(u->host, "auth.example.com");
  EXPECT_EQ(u->port, 8443);
  EXPECT_EQ(u->target, "/a/b?x=1");
  EXPECT_EQ(u->origin, "https://auth.example.com:8443");
  auto bare = ParseFetchUrl("https://auth.example.com", false);
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->port, 443);
  EXPECT_EQ(bare->target, "/");
  auto v6 = ParseFetchUrl("https://[::1]:9000/jwks", false);
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 9000);
}

TEST(ParseFetchUrl, HttpOnlyWhenAllowed) {
  EXPECT_FALSE(ParseFetchUrl("http://127.0.0.1/x", false).ok());
  auto u = ParseFetchUrl("http://127.0.0.1/x", true);
  ASSERT_TRUE(u.ok());
  EXPECT_FALSE(u->tls);
  EXPECT_EQ(u->port, 80);
}

TEST(ParseFetchUrl, RefusesDangerousOrBrokenUrls) {
  for (const char* bad :
       {"ftp://x/", "https://user:pw@host/", "https://host/#frag", "https://:443/",
        "https://host:0/", "https://host:65536/", "https://host:12a/", "https://ho st/",
        "https://host/\r\nX: y", "https://[::1/"}) {
    EXPECT_FALSE(ParseFetchUrl(bad, true).ok()) << bad;
  }
  EXPECT_FALSE(ParseFetchUrl("https://h/" + std::string(3000, 'a'), false).ok());
}

// Messages about a URL (a refused discovery jwks_uri, a failed JWKS fetch, a webhook's
// answer) end in logs: neither the userinfo nor the query ("?access_token=…") is shown.
TEST(ParseFetchUrl, MessagesNeverQuoteCredentialsOrQueries) {
  for (const char* url : {"http://user:SECRET1@idp.example/jwks?access_token=SECRET2",
                          "ftp://SECRET1@idp.example/jwks#SECRET2"}) {
    auto u = ParseFetchUrl(url, false);
    ASSERT_FALSE(u.ok());
    EXPECT_EQ(u.status().message().find("SECRET"), std::string::npos) << u.status().message();
  }
  EXPECT_EQ(RedactedUrl("https://idp.example/jwks?access_token=SECRET"), "https://idp.example/jwks?[redacted]");
  EXPECT_EQ(RedactedUrl("http://user:SECRET@idp.example:8080/jwks"), "http://[redacted]@idp.example:8080/jwks");
  EXPECT_EQ(RedactedUrl("https://a@b@idp.example/x#frag"), "https://[redacted]@idp.example/x#[redacted]");
  EXPECT_EQ(RedactedUrl("/ckpt?token=SECRET"), "/ckpt?[redacted]");
  EXPECT_EQ(RedactedUrl("https://idp.example/users/a@b/keys"), "https://idp.example/users/a@b/keys");
  EXPECT_EQ(RedactedUrl("https://idp.example/jwks"), "https://idp.example/jwks");
}

TEST(CacheControlMaxAge, Parses) {
  EXPECT_EQ(CacheControlMaxAge(""), -1);
  EXPECT_EQ(CacheControlMaxAge("public, max-age=300"), 300);
  EXPECT_EQ(CacheControlMaxAge("MAX-AGE=\"60\""), 60);
  EXPECT_EQ(CacheControlMaxAge("max-age=abc"), -1);
  EXPECT_EQ(CacheControlMaxAge("no-store"), 0);
  EXPECT_EQ(CacheControlMaxAge("max-age=10, no-cache"), 0);
}

TEST(TlsClientContext, MissingCaFileIsNamed) {
  auto ctx = TlsClientContext::Create("/nonexistent/ca.pem");
  ASSERT_FALSE(ctx.ok());
  EXPECT_NE(ctx.status().message().find("/nonexistent/ca.pem"), std::string::npos);
  EXPECT_TRUE(TlsClientContext::Create("").ok());  // the system store
}

TEST(FetchSync, ConnectionRefusedIsUnavailable) {
  // A port that was just free: nothing listens there.
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::acceptor a(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
  uint16_t port = a.local_endpoint().port();
  a.close();
  FetchRequest req;
  req.url = "https://127.0.0.1:" + std::to_string(port) + "/jwks";
  FetchOptions o;
  o.tls = *TlsClientContext::Create("");
  o.timeout_ms = 2000;
  auto r = FetchSync(req, o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
}

TEST(FetchSync, SilentServerTimesOut) {
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::acceptor a(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
  a.listen();  // accepts in the kernel backlog, never answers
  FetchRequest req;
  req.url = "https://127.0.0.1:" + std::to_string(a.local_endpoint().port()) + "/";
  FetchOptions o;
  o.tls = *TlsClientContext::Create("");
  o.timeout_ms = 300;
  auto t0 = std::chrono::steady_clock::now();
  auto r = FetchSync(req, o);
  auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("timed out"), std::string::npos) << r.status().message();
  EXPECT_LT(took, std::chrono::seconds(2));
}

}  // namespace
}  // namespace apitrail
