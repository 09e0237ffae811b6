// Token introspection against a broken or hostile authorization server: every answer that is
// not a clear RFC 7662 one denies (503, never cached, so the next request asks again), and a
// burst of requests while the server is slow costs at most max_concurrent calls.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <string>
#include <vector>

#include "auth/introspector.h"
#include "testutil/canned_http_server.h"

namespace apitrail {
namespace {

constexpr int64_t kNow = int64_t{1700000000} * 1000000000;

IntrospectionConfig ConfigAt(const testing::CannedHttpServer& server) {
  IntrospectionConfig c;
  c.endpoint = server.url("/introspect");
  c.client_id = "gateway";
  c.client_secret = "s3cret";
  c.allow_insecure_http = true;
  c.timeout_ms = 2000;
  c.negative_cache_ms = 1000;
  return c;
}

std::unique_ptr<Introspector> Make(const IntrospectionConfig& c) {
  auto in = Introspector::Create(c);
  EXPECT_TRUE(in.ok()) << in.status().message();
  return std::move(in).value();
}

AuthOutcome IntrospectNow(const Introspector& in, const std::string& token) {
  boost::asio::io_context ioc;
  AuthOutcome out;
  boost::asio::co_spawn(
      ioc, [&]() -> boost::asio::awaitable<void> { out = co_await in.Introspect(token, kNow); },
      boost::asio::detached);
  ioc.run();
  return out;
}

TEST(IntrospectionEdges, UnclearAnswersDenyAndAreAskedAgain) {
  const std::string deep(100000, '[');
  struct Case {
    int status;
    std::string body;
  };
  const std::vector<Case> cases = {
      {500, R"({"active":true,"sub":"a"})"},
      {302, R"({"active":true,"sub":"a"})"},
      {201, R"({"active":true,"sub":"a"})"},
      {200, R"({"active":"true","sub":"a"})"},
      {200, R"({"active":1,"sub":"a"})"},
      {200, R"({"sub":"a"})"},
      {200, R"({"active":null,"sub":"a"})"},
      {200, R"([{"active":true,"sub":"a"}])"},
      {200, R"({"active":true,"sub":"a")"},
      {200, R"({"active":true,"sub":"a"} trailing)"},
      {200, ""},
      {200, "<html>active</html>"},
      {200, deep},
      {200, "{\"x\":" + std::string(60000, '[') + "}"},
  };
  for (const Case& k : cases) {
    testing::CannedHttpServer server(k.body, std::chrono::milliseconds(0), k.status);
    auto in = Make(ConfigAt(server));
    for (int i = 0; i < 2; ++i) {
      AuthOutcome out = IntrospectNow(*in, "tok");
      EXPECT_FALSE(out.allowed) << k.status << " " << k.body.substr(0, 60);
      EXPECT_EQ(out.http_status, 503) << k.status << " " << k.body.substr(0, 60);
      EXPECT_EQ(out.deny_reason, "introspection_unavailable");
    }
    EXPECT_EQ(server.requests(), 2) << k.body.substr(0, 60);  // the error was not cached
  }
}

TEST(IntrospectionEdges, OddTimesAndNumbersDeny) {
  for (const char* body : {
           R"({"active":true,"sub":"a","exp":1699999999})",        // expired
           R"({"active":true,"sub":"a","exp":"1700000600"})",      // a string
           R"({"active":true,"sub":"a","exp":true})",
           R"({"active":true,"sub":"a","exp":-1})",
           R"({"active":true,"sub":"a","exp":0})",
           R"({"active":true,"sub":"a","exp":1e400})",             // out of range for a double
           R"({"active":true,"sub":"a","nbf":1e300})",             // not yet valid, ever
           R"({"active":true,"sub":"a","nbf":"0"})",
           R"({"active":true,"sub":1e999})",
           R"({"active":true,"sub":"a","exp":1700000600,"token_type":"refresh_token"})",
       }) {
    testing::CannedHttpServer server(body);
    auto in = Make(ConfigAt(server));
    AuthOutcome out = IntrospectNow(*in, "tok");
    EXPECT_FALSE(out.allowed) << body;
    EXPECT_NE(out.http_status, 200) << body;
  }
}

TEST(IntrospectionEdges, HugeAnswerIsRefusedAndNotCached) {
  testing::CannedHttpServer server(R"({"active":true,"sub":")" + std::string(200000, 'a') + "\"}");
  IntrospectionConfig c = ConfigAt(server);
  c.max_response_bytes = 65536;
  auto in = Make(c);
  for (int i = 0; i < 2; ++i) {
    AuthOutcome out = IntrospectNow(*in, "tok");
    EXPECT_FALSE(out.allowed);
    EXPECT_EQ(out.http_status, 503);
  }
  EXPECT_EQ(server.requests(), 2);
}

TEST(IntrospectionEdges, BurstWhileTheServerIsSlowIsBounded) {
  // 20 requests with one token at once while each answer takes 100 ms: max_concurrent calls
  // go out, the rest are refused busy at once (never allowed unasked), and once an answer is
  // in, the token is served from the cache.
  testing::CannedHttpServer server(R"({"active":true,"sub":"alice","exp":1700000600})",
                                   std::chrono::milliseconds(100));
  IntrospectionConfig c = ConfigAt(server);
  c.max_concurrent = 4;
  auto in = Make(c);
  boost::asio::io_context ioc;
  std::vector<AuthOutcome> outs(20);
  for (auto& o : outs) {
    boost::asio::co_spawn(
        ioc, [&]() -> boost::asio::awaitable<void> { o = co_await in->Introspect("tok", kNow); },
        boost::asio::detached);
  }
  const auto t0 = std::chrono::steady_clock::now();
  ioc.run();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
  int allowed = 0, busy = 0;
  for (const auto& o : outs) {
    if (o.allowed) {
      ++allowed;
      EXPECT_EQ(o.identity.subject, "alice");
    } else {
      EXPECT_EQ(o.deny_reason, "introspection_busy");
      EXPECT_EQ(o.http_status, 503);
      ++busy;
    }
  }
  EXPECT_EQ(allowed, 4);
  EXPECT_EQ(busy, 16);
  EXPECT_EQ(server.requests(), 4);
  EXPECT_TRUE(IntrospectNow(*in, "tok").allowed);
  EXPECT_EQ(server.requests(), 4);
}

}  // namespace
}  // namespace apitrail
