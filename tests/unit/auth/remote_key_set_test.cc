// RemoteKeySet's refresh on demand: an unknown kid asks for a fetch at most once per
// jwks_refresh_min_interval_ms, and a request that arrives while a fetch is running is not
// lost (the keys it wants may have been published after that fetch began).
#include "auth/remote_key_set.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "auth/jwk.h"
#include "auth/jwt_verifier.h"
#include "core/crypto_util.h"
#include "jwt_test_signer.h"
#include "testutil/canned_http_server.h"

namespace apitrail {
namespace {

using namespace std::chrono_literals;

template <typename F>
bool WaitFor(F done, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

// An RS256 issuer whose keys are at `server`, refetched on request at most every 100 ms.
JwtIssuerConfig IssuerAt(const testing::CannedHttpServer& server) {
  JwtIssuerConfig c;
  c.issuer = "https://idp.example";
  c.audiences = {"api"};
  c.algorithms = {"RS256"};
  c.jwks_url = server.url("/jwks");
  c.allow_insecure_http = true;
  c.jwks_refresh_min_interval_ms = 100;
  return c;
}

TEST(RemoteKeySetRefresh, ARequestWhileAFetchRunsIsServedRightAfterIt) {
  auto key = testing::GenerateRsa2048();
  testing::CannedHttpServer server(R"({"keys":[)" + testing::PublicJwk(key.get(), "k1", "RS256") + "]}", 400ms);
  auto v = JwtVerifier::Create({IssuerAt(server)});
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  // The verifier hands out a const view; asking for a refresh is what its Verify does.
  auto* keys = const_cast<RemoteKeySet*>((*v)->remote_keys(0));
  ASSERT_NE(keys, nullptr);
  ASSERT_TRUE(WaitFor([&] { return keys->fetch_count() == 1; }, 5s));
  // No max-age: the next scheduled fetch is a day away. An unknown kid starts one now...
  std::this_thread::sleep_for(150ms);  // past the minimum interval
  keys->RequestRefresh();
  ASSERT_TRUE(WaitFor([&] { return server.requests() == 2; }, 5s));
  // ...and another one arrives while it runs (the slow server holds it 400 ms).
  keys->RequestRefresh();
  ASSERT_TRUE(WaitFor([&] { return keys->fetch_count() == 2; }, 5s));
  // The second request is served right after the first fetch, not a day later.
  EXPECT_TRUE(WaitFor([&] { return server.requests() == 3; }, 3s)) << server.requests() << " requests";
  // Nothing asked since: no further fetch.
  ASSERT_TRUE(WaitFor([&] { return keys->fetch_count() == 3; }, 5s));
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(server.requests(), 3);
}

TEST(RemoteKeySetRefresh, UnknownKidsDuringAnOutageWaitForTheBackoff) {
  // The first retry is a second after the failed fetch began, which is after `created`:
  // until then made-up kids, asked for over three minimum intervals, must not bring it
  // forward. A round that a loaded host stretched past that second proves nothing (5 asks
  // 120 ms apart often did) and is tried again on a fresh set.
  bool checked = false;
  for (int round = 0; round < 5 && !checked; ++round) {
    testing::CannedHttpServer server("not found", 0ms, 404);
    const auto created = std::chrono::steady_clock::now();
    auto v = JwtVerifier::Create({IssuerAt(server)});
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    auto* keys = const_cast<RemoteKeySet*>((*v)->remote_keys(0));
    ASSERT_TRUE(WaitFor([&] { return keys->fetch_count() == 1; }, 5s));
    for (int i = 0; i < 5; ++i) {
      keys->RequestRefresh();
      std::this_thread::sleep_for(60ms);
    }
    const int requests = server.requests();
    if (std::chrono::steady_clock::now() - created >= 1s) continue;
    EXPECT_EQ(requests, 1);
    EXPECT_TRUE(WaitFor([&] { return server.requests() == 2; }, 3s));
    checked = true;
  }
  EXPECT_TRUE(checked) << "every round took a second or more";
}

// RFC 7517 §5: a JWK of a supported type that is malformed is ignored, not the whole set.
// One legacy or broken key in an issuer's JWKS made every fetch fail, so every token of
// that issuer was refused; a file the operator wrote still refuses it.
TEST(RemoteKeySetFetch, AMalformedKeyIsSkippedNotTheWholeSet) {
  auto key = testing::GenerateRsa2048();
  std::string x(32, '\0'), y(32, '\0');
  x[31] = 1;
  y[31] = 1;
  const std::string off_curve = R"({"kty":"EC","crv":"P-256","kid":"old","x":")" +
                                Base64UrlEncode(x) + R"(","y":")" + Base64UrlEncode(y) + R"("})";
  const std::string body =
      R"({"keys":[)" + off_curve + "," + testing::PublicJwk(key.get(), "k1", "RS256") + "]}";
  std::vector<std::string> skipped;
  auto set = ParseJwks(body, &skipped);
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_EQ(set->size(), 1u);
  ASSERT_EQ(skipped.size(), 1u);
  EXPECT_EQ(skipped[0].rfind("keys[0] (kid old): ", 0), 0u) << skipped[0];
  EXPECT_FALSE(ParseJwks(body).ok());
  // Nothing usable at all is still an error, naming what was skipped.
  skipped.clear();
  auto none = ParseJwks(R"({"keys":[)" + off_curve + "]}", &skipped);
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("keys[0] (kid old)"), std::string::npos) << none.status().ToString();

  testing::CannedHttpServer server(body, 0ms);
  auto v = JwtVerifier::Create({IssuerAt(server)});
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  const RemoteKeySet* keys = (*v)->remote_keys(0);
  ASSERT_TRUE(WaitFor([&] { return keys->fetch_count() == 1; }, 5s));
  EXPECT_EQ(keys->LastError(), "");
  auto got = keys->Keys();
  ASSERT_TRUE(got);
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].kid, "k1");
}

}  // namespace
}  // namespace apitrail
