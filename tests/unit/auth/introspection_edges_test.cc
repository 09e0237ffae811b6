// Token introspection against a broken or hostile authorization server: every answer that is
// not a clear RFC 7662 one denies (503, never cached, so the next request asks again), a burst
// of requests while the server is slow costs one call per token and at most max_concurrent.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <atomic>
#include <memory>
#include <string>
#include <thread>
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

// Requests with `tokens` at once, spread over two worker threads (each with its own
// io_context, as the gateway's workers are), while the server holds its answers back until
// `ready(finished)` (polled with the number of requests answered so far; 10 s at most).
template <typename Ready>
std::vector<AuthOutcome> Burst(const Introspector& in, testing::CannedHttpServer& server,
                               const std::vector<std::string>& tokens, Ready ready) {
  boost::asio::io_context a, b;
  std::vector<AuthOutcome> outs(tokens.size());
  std::atomic<int> finished{0};
  server.Hold();
  for (size_t i = 0; i < tokens.size(); ++i) {
    boost::asio::co_spawn(
        i % 2 == 0 ? a : b,
        [&, i]() -> boost::asio::awaitable<void> {
          outs[i] = co_await in.Introspect(tokens[i], kNow);
          finished.fetch_add(1);
        },
        boost::asio::detached);
  }
  std::thread ta([&] { a.run(); });
  std::thread tb([&] { b.run(); });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!ready(finished.load()) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_TRUE(ready(finished.load())) << "the burst never reached the state the test waits for";
  server.Release();
  ta.join();
  tb.join();
  return outs;
}

TEST(IntrospectionEdges, BurstWithOneTokenAsksOnce) {
  // A client opening its connections with a new token: one call, and every request gets its
  // answer (before, max_concurrent calls went out and the rest were refused busy, 503).
  testing::CannedHttpServer server(R"({"active":true,"sub":"alice","exp":1700000600})");
  IntrospectionConfig c = ConfigAt(server);
  c.max_concurrent = 4;
  auto in = Make(c);
  auto outs = Burst(*in, server, std::vector<std::string>(20, "tok"), [&](int) { return in->coalesced() == 19; });
  for (const auto& o : outs) {
    EXPECT_TRUE(o.allowed) << o.deny_reason;
    EXPECT_EQ(o.identity.subject, "alice");
    EXPECT_EQ(o.identity.credential_id, outs[0].identity.credential_id);
  }
  EXPECT_EQ(server.requests(), 1);
  EXPECT_EQ(in->calls(), 1u);
  EXPECT_TRUE(IntrospectNow(*in, "tok").allowed);
  EXPECT_EQ(server.requests(), 1);
}

TEST(IntrospectionEdges, BurstOfManyTokensIsBounded) {
  // 20 different tokens while the server is slow: max_concurrent calls go out, the rest are
  // refused busy at once (never allowed unasked).
  testing::CannedHttpServer server(R"({"active":true,"sub":"alice","exp":1700000600})");
  IntrospectionConfig c = ConfigAt(server);
  c.max_concurrent = 4;
  auto in = Make(c);
  std::vector<std::string> tokens;
  for (int i = 0; i < 20; ++i) tokens.push_back("tok" + std::to_string(i));
  int allowed = 0, busy = 0;
  for (const auto& o : Burst(*in, server, tokens, [&](int finished) { return in->calls() == 4 && finished == 16; })) {
    if (o.allowed) {
      ++allowed;
    } else {
      EXPECT_EQ(o.deny_reason, "introspection_busy");
      EXPECT_EQ(o.http_status, 503);
      ++busy;
    }
  }
  EXPECT_EQ(allowed, 4);
  EXPECT_EQ(busy, 16);
  EXPECT_EQ(server.requests(), 4);
  EXPECT_EQ(in->coalesced(), 0u);
}

TEST(IntrospectionEdges, OneTokenBurstWhileTheServerFailsSharesTheFailureOnly) {
  // The one answer is an error (503, never cached): every waiter gets it, and the next
  // request asks again (no flight is left behind).
  testing::CannedHttpServer server("<html>down</html>", std::chrono::milliseconds(0), 502);
  auto in = Make(ConfigAt(server));
  for (const auto& o : Burst(*in, server, std::vector<std::string>(10, "tok"), [&](int) { return in->coalesced() == 9; })) {
    EXPECT_FALSE(o.allowed);
    EXPECT_EQ(o.http_status, 503);
    EXPECT_EQ(o.deny_reason, "introspection_unavailable");
  }
  EXPECT_EQ(server.requests(), 1);
  EXPECT_EQ(IntrospectNow(*in, "tok").http_status, 503);
  EXPECT_EQ(server.requests(), 2);
}

TEST(IntrospectionEdges, AWaiterWhoseWorkerStopsLeavesNothingBehind) {
  // A follower's io_context is destroyed while it waits (a worker shutting down); the leader
  // finishes later on another thread and must post nothing to the dead executor (ASan).
  testing::CannedHttpServer server(R"({"active":true,"sub":"alice","exp":1700000600})");
  auto in = Make(ConfigAt(server));
  server.Hold();
  boost::asio::io_context leader_ctx;
  AuthOutcome leader_out;
  boost::asio::co_spawn(
      leader_ctx, [&]() -> boost::asio::awaitable<void> { leader_out = co_await in->Introspect("tok", kNow); },
      boost::asio::detached);
  std::thread leader([&] { leader_ctx.run(); });
  while (in->calls() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  {
    auto follower_ctx = std::make_unique<boost::asio::io_context>();
    bool resumed = false;
    boost::asio::co_spawn(
        *follower_ctx,
        [&]() -> boost::asio::awaitable<void> {
          co_await in->Introspect("tok", kNow);
          resumed = true;
        },
        boost::asio::detached);
    follower_ctx->run_for(std::chrono::milliseconds(20));
    EXPECT_FALSE(resumed);
    EXPECT_EQ(in->coalesced(), 1u);
  }  // destroyed with the follower suspended in it
  server.Release();
  leader.join();
  EXPECT_TRUE(leader_out.allowed);
  EXPECT_EQ(server.requests(), 1);
}

}  // namespace
}  // namespace apitrail
