#include "gateway/forward_headers.h"

#include <gtest/gtest.h>

#include "config/config_loader.h"

namespace apitrail {
namespace {

class ForwardHeadersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    policy_ = HeaderPolicy::FromConfig(config_);
    identity_.subject = "alice";
    identity_.auth_method = "api_key";
    identity_.scopes = {"orders:read", "orders:write"};
  }
  UpstreamHead Build(const HeaderFields& fields, std::string_view peer = "10.0.0.9") {
    UpstreamHeadInput in;
    in.method = "GET";
    in.path = "/v1/orders/42";
    in.query = "a=1";
    in.fields = &fields;
    in.peer_ip = peer;
    in.request_id = "rid-1";
    in.traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    in.host = "api.example";
    in.identity = &identity_;
    return BuildUpstreamHead(in, config_.gateway, config_.auth.identity_headers, policy_);
  }
  static bool Has(const std::string& head, const std::string& line) {
    return head.find("\r\n" + line + "\r\n") != std::string::npos;
  }
  Config config_;
  HeaderPolicy policy_;
  Identity identity_;
};

TEST_F(ForwardHeadersTest, RequestLineAndInjectedHeaders) {
  UpstreamHead h = Build({{"Host", "api.example"}, {"Accept", "*/*"}});
  EXPECT_EQ(h.text.rfind("GET /v1/orders/42?a=1 HTTP/1.1\r\n", 0), 0u);
  EXPECT_TRUE(Has(h.text, "Host: api.example"));
  EXPECT_TRUE(Has(h.text, "Accept: */*"));
  EXPECT_TRUE(Has(h.text, "X-Request-ID: rid-1"));
  EXPECT_TRUE(Has(h.text, "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
  EXPECT_TRUE(Has(h.text, "X-Apitrail-Subject: alice"));
  EXPECT_TRUE(Has(h.text, "X-Apitrail-Auth-Method: api_key"));
  EXPECT_TRUE(Has(h.text, "X-Apitrail-Scopes: orders:read orders:write"));
  EXPECT_TRUE(Has(h.text, "X-Forwarded-Host: api.example"));
  EXPECT_EQ(h.text.substr(h.text.size() - 4), "\r\n\r\n");
}

TEST_F(ForwardHeadersTest, HostIsSentOnceAndEmptyWhenTheClientSentNone) {
  // An HTTP/1.0 client may send no Host; the upstream request is HTTP/1.1, which needs one.
  UpstreamHead none = Build({{"Accept", "*/*"}});
  EXPECT_NE(none.text.find("\r\nHost: \r\n"), std::string::npos) << none.text;
  UpstreamHead one = Build({{"host", "api.example"}});
  EXPECT_NE(one.text.find("\r\nhost: api.example\r\n"), std::string::npos) << one.text;
  EXPECT_EQ(one.text.find("\r\nHost: \r\n"), std::string::npos) << one.text;
}

TEST_F(ForwardHeadersTest, StripsHopByHopAndFieldsNamedInConnection) {
  UpstreamHead h = Build({{"Connection", "keep-alive, X-Hop"},
                          {"X-Hop", "1"},
                          {"Keep-Alive", "5"},
                          {"TE", "trailers"},
                          {"Upgrade", "websocket"},
                          {"Proxy-Connection", "x"},
                          {"Proxy-Authorization", "Basic dXNlcjpTRUNSRVQ="},
                          {"X-Kept", "yes"}});
  for (const char* gone : {"Connection:", "X-Hop:", "Keep-Alive:", "TE:", "Upgrade:", "Proxy-Connection:",
                           "Proxy-Authorization:"}) {
    EXPECT_EQ(h.text.find(std::string("\r\n") + gone), std::string::npos) << gone;
  }
  EXPECT_TRUE(Has(h.text, "X-Kept: yes"));
}

TEST_F(ForwardHeadersTest, EveryConnectionLineNamesHopByHopFields) {
  UpstreamHead h = Build({{"Connection", "X-One"},
                          {"X-One", "1"},
                          {"Connection", "x-two"},
                          {"X-Two", "2"},
                          {"X-Kept", "yes"}});
  EXPECT_EQ(h.text.find("X-One"), std::string::npos);
  EXPECT_EQ(h.text.find("X-Two"), std::string::npos);
  EXPECT_TRUE(Has(h.text, "X-Kept: yes"));
}

TEST_F(ForwardHeadersTest, UnderscoreSpellingsOfDroppedFieldsAreDropped) {
  // A CGI/WSGI upstream would read X_Apitrail_Subject as the identity header we set.
  UpstreamHead h = Build({{"X_Apitrail_Subject", "mallory"},
                          {"x-apitrail_roles", "admin"},
                          {"X_Request_ID", "client-chosen"},
                          {"X_Forwarded_For", "6.6.6.6"},
                          {"X_API_Key", "atk_secret"},
                          {"Transfer_Encoding", "chunked"},
                          {"Connection", "x_hop"},
                          {"X-Hop", "1"},
                          {"X_Custom_Thing", "kept"}});
  EXPECT_EQ(h.text.find("mallory"), std::string::npos);
  EXPECT_EQ(h.text.find("admin"), std::string::npos);
  EXPECT_EQ(h.text.find("client-chosen"), std::string::npos);
  EXPECT_EQ(h.text.find("6.6.6.6"), std::string::npos);
  EXPECT_EQ(h.text.find("atk_secret"), std::string::npos);
  EXPECT_EQ(h.text.find("Transfer_Encoding"), std::string::npos);
  EXPECT_EQ(h.text.find("X-Hop"), std::string::npos);
  EXPECT_TRUE(Has(h.text, "X-Apitrail-Subject: alice"));
  EXPECT_TRUE(Has(h.text, "X_Custom_Thing: kept"));  // names we do not own pass as sent
}

TEST_F(ForwardHeadersTest, ConfiguredNamesWithUnderscoresMatchBothSpellings) {
  config_.gateway.request_id_header = "X_Req_Id";
  config_.auth.identity_headers.subject = "X_User";
  policy_ = HeaderPolicy::FromConfig(config_);
  UpstreamHead h = Build({{"X-Req-Id", "forged-id"}, {"x_user", "mallory"}, {"X-User", "eve"}});
  EXPECT_EQ(h.text.find("forged-id"), std::string::npos);
  EXPECT_EQ(h.text.find("mallory"), std::string::npos);
  EXPECT_EQ(h.text.find("eve"), std::string::npos);
  EXPECT_TRUE(Has(h.text, "X_User: alice"));
}

TEST_F(ForwardHeadersTest, ForwardedForLinesAreOneList) {
  std::string err;
  config_.gateway.trusted_proxies.resize(1);
  ASSERT_TRUE(ParseCidr("10.0.0.0/8", &config_.gateway.trusted_proxies[0], &err)) << err;
  // The client wrote the first line; the trusted proxy added the second.
  HeaderFields fields{{"X-Forwarded-For", "6.6.6.6"}, {"X-Forwarded-For", "198.51.100.7"}};
  UpstreamHead h = Build(fields, "10.0.0.9");
  EXPECT_TRUE(Has(h.text, "X-Forwarded-For: 6.6.6.6, 198.51.100.7, 10.0.0.9"));
  // The recorded address comes from the same list: the right-most untrusted entry.
  EXPECT_EQ(ClientIpFrom("10.0.0.9", fields, config_.gateway.trusted_proxies), "198.51.100.7");
  EXPECT_EQ(ClientIpFrom("203.0.113.5", fields, config_.gateway.trusted_proxies), "203.0.113.5");
}

TEST(FieldListTest, JoinsLinesInOrderAndCopiesOnlyWhenNeeded) {
  std::string storage;
  HeaderFields one{{"Connection", "close"}, {"Host", "x"}};
  EXPECT_EQ(FieldList(one, "connection", &storage), "close");
  EXPECT_TRUE(storage.empty());
  HeaderFields three{{"Via", "a"}, {"Host", "x"}, {"via", "b, c"}, {"VIA", ""}};
  EXPECT_EQ(FieldList(three, "via", &storage), "a, b, c, ");
  EXPECT_EQ(FieldList(three, "x-absent", &storage), "");
}

TEST_F(ForwardHeadersTest, ClientCannotForgeIdentityOrCorrelation) {
  UpstreamHead h = Build({{"x-apitrail-subject", "mallory"},
                          {"X-APITRAIL-ANYTHING", "x"},
                          {"X-Request-ID", "client-chosen"},
                          {"traceparent", "00-evil"},
                          {"X-Forwarded-For", "6.6.6.6"}});
  EXPECT_EQ(h.text.find("mallory"), std::string::npos);
  EXPECT_EQ(h.text.find("X-APITRAIL-ANYTHING"), std::string::npos);
  EXPECT_EQ(h.text.find("client-chosen"), std::string::npos);
  EXPECT_EQ(h.text.find("00-evil"), std::string::npos);
  EXPECT_TRUE(Has(h.text, "X-Forwarded-For: 10.0.0.9"));  // peer not trusted: replaced
}

TEST_F(ForwardHeadersTest, ApiKeysStayAtTheGatewayButJwtsAreForwarded) {
  UpstreamHead h = Build({{"Authorization", "Bearer atk_secret"}, {"X-API-Key", "atk_secret"}});
  EXPECT_EQ(h.text.find("atk_secret"), std::string::npos);
  identity_.auth_method = "jwt";
  UpstreamHead j = Build({{"Authorization", "Bearer eyJ.x.y"}});
  EXPECT_TRUE(Has(j.text, "Authorization: Bearer eyJ.x.y"));
}

TEST_F(ForwardHeadersTest, ExpectContinueAndFraming) {
  UpstreamHeadInput in;
  HeaderFields fields{{"Expect", "100-continue"}, {"Content-Length", "5"}};
  in.method = "POST";
  in.path = "/v1/orders";
  in.fields = &fields;
  in.peer_ip = "127.0.0.1";
  in.content_length = 5;
  UpstreamHead h = BuildUpstreamHead(in, config_.gateway, config_.auth.identity_headers, policy_);
  EXPECT_TRUE(h.expect_continue);
  EXPECT_EQ(h.text.find("Expect:"), std::string::npos);
  EXPECT_TRUE(Has(h.text, "Content-Length: 5"));
  in.content_length.reset();
  in.chunked = true;
  h = BuildUpstreamHead(in, config_.gateway, config_.auth.identity_headers, policy_);
  EXPECT_TRUE(Has(h.text, "Transfer-Encoding: chunked"));
  EXPECT_EQ(h.text.find("Content-Length"), std::string::npos);
}

TEST(ClientIpTest, OnlyTrustedProxiesMayNameTheClient) {
  std::vector<Cidr> trusted(2);
  std::string err;
  ASSERT_TRUE(ParseCidr("10.0.0.0/8", &trusted[0], &err)) << err;
  ASSERT_TRUE(ParseCidr("192.168.1.1/32", &trusted[1], &err)) << err;
  // Untrusted peer: its own address, whatever the header says.
  EXPECT_EQ(ClientIpFrom("203.0.113.5", "1.2.3.4", trusted), "203.0.113.5");
  // Trusted peer: the right-most untrusted address.
  EXPECT_EQ(ClientIpFrom("10.1.2.3", "6.6.6.6, 198.51.100.7, 192.168.1.1", trusted),
            "198.51.100.7");
  // Garbage stops the walk at the last address that could be trusted.
  EXPECT_EQ(ClientIpFrom("10.1.2.3", "junk, 10.9.9.9", trusted), "10.9.9.9");
  // No trusted proxies configured: the header is ignored.
  EXPECT_EQ(ClientIpFrom("10.1.2.3", "1.2.3.4", {}), "10.1.2.3");
  EXPECT_EQ(ClientIpFrom("10.1.2.3", " 2001:DB8::1 ", trusted), "2001:db8::1");
}

TEST(HopByHopTest, ConnectionTokens) {
  EXPECT_TRUE(NamedInConnection("close, X-Foo", "x-foo"));
  EXPECT_FALSE(NamedInConnection("close, X-Foobar", "x-foo"));
  EXPECT_TRUE(IsHopByHop("Transfer-Encoding"));
  EXPECT_FALSE(IsHopByHop("Authorization"));
  // The client's credential for this proxy is never relayed to the upstream.
  EXPECT_TRUE(IsHopByHop("Proxy-Authorization"));
  EXPECT_TRUE(IsHopByHop("proxy-authenticate"));
}

}  // namespace
}  // namespace apitrail

namespace apitrail {
namespace {

TEST(ResponseFieldsTest, DropsHopByHopAndReplacesRequestId) {
  HeaderFields fields{{"Content-Type", "application/json"},
                      {"Connection", "close, X-Up-Hop"},
                      {"X-Up-Hop", "1"},
                      {"Transfer-Encoding", "chunked"},
                      {"X-Request-ID", "upstream-id"},
                      {"Content-Length", "7"}};
  std::string head;
  AppendResponseFields(head, fields, "X-Request-ID", "ours", /*keep_content_length=*/false);
  EXPECT_EQ(head, "Content-Type: application/json\r\nX-Request-ID: ours\r\n");
  head.clear();
  AppendResponseFields(head, fields, "X-Request-ID", "ours", /*keep_content_length=*/true);
  EXPECT_EQ(head, "Content-Type: application/json\r\nContent-Length: 7\r\nX-Request-ID: ours\r\n");
}

TEST(ResponseFieldsTest, EveryConnectionLineNamesHopByHopFields) {
  HeaderFields fields{{"Connection", "X-One"},
                      {"Connection", "X-Two"},
                      {"X-One", "1"},
                      {"X-Two", "2"},
                      {"X-Kept", "3"}};
  std::string head;
  AppendResponseFields(head, fields, "X-Request-ID", "ours", /*keep_content_length=*/false);
  EXPECT_EQ(head, "X-Kept: 3\r\nX-Request-ID: ours\r\n");
}

}  // namespace
}  // namespace apitrail
