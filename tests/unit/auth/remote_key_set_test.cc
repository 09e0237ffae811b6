// RemoteKeySet's refresh on demand: an unknown kid asks for a fetch at most once per
// jwks_refresh_min_interval_ms, and a request that arrives while a fetch is running is not
// lost (the keys it wants may have been published after that fetch began).
#include "auth/remote_key_set.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "auth/jwt_verifier.h"
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
  testing::CannedHttpServer server("not found", 0ms, 404);
  auto v = JwtVerifier::Create({IssuerAt(server)});
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  auto* keys = const_cast<RemoteKeySet*>((*v)->remote_keys(0));
  ASSERT_TRUE(WaitFor([&] { return keys->fetch_count() == 1; }, 5s));
  // The first retry is a second after the failure; made-up kids do not bring it forward.
  for (int i = 0; i < 5; ++i) {
    keys->RequestRefresh();
    std::this_thread::sleep_for(120ms);
  }
  EXPECT_EQ(server.requests(), 1);
  EXPECT_TRUE(WaitFor([&] { return server.requests() == 2; }, 3s));
}

}  // namespace
}  // namespace apitrail
