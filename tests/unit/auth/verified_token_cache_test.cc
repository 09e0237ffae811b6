#include "auth/verified_token_cache.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "auth/jwt_verifier.h"
#include "unit/auth/jwt_test_signer.h"

namespace apitrail {
namespace {

constexpr int64_t kSec = 1000000000;
constexpr int64_t kNow = int64_t{1767225600} * kSec;

Identity Who(const std::string& subject) {
  Identity id;
  id.subject = subject;
  id.auth_method = "jwt";
  return id;
}

TEST(VerifiedTokenCacheTest, HitUntilExpiry) {
  VerifiedTokenCache cache;
  Hash256 k = VerifiedTokenCache::KeyOf("token-a");
  cache.Insert(k, Who("alice"), kNow + 60 * kSec, kNow);
  auto hit = cache.Lookup(k, kNow + 59 * kSec);
  ASSERT_NE(hit, nullptr);
  EXPECT_EQ(hit->subject, "alice");
  EXPECT_EQ(cache.Lookup(k, kNow + 60 * kSec), nullptr);  // exp reached
  EXPECT_EQ(cache.Size(), 0u);                            // and dropped
  EXPECT_EQ(cache.Lookup(VerifiedTokenCache::KeyOf("token-b"), kNow), nullptr);
}

TEST(VerifiedTokenCacheTest, AtMostFiveMinutesEvenForLongLivedTokens) {
  VerifiedTokenCache cache;
  Hash256 k = VerifiedTokenCache::KeyOf("long-lived");
  cache.Insert(k, Who("alice"), INT64_MAX, kNow);
  EXPECT_NE(cache.Lookup(k, kNow + VerifiedTokenCache::kMaxTtlNs - 1), nullptr);
  EXPECT_EQ(cache.Lookup(k, kNow + VerifiedTokenCache::kMaxTtlNs), nullptr);
}

TEST(VerifiedTokenCacheTest, AlreadyExpiredIsNotInserted) {
  VerifiedTokenCache cache;
  cache.Insert(VerifiedTokenCache::KeyOf("t"), Who("alice"), kNow, kNow);
  EXPECT_EQ(cache.Size(), 0u);
}

TEST(VerifiedTokenCacheTest, BoundedAndEvictsOldestFirst) {
  VerifiedTokenCache cache(1600);  // 100 per shard
  ASSERT_EQ(cache.capacity(), 1600u);
  for (int i = 0; i < 10000; ++i) {
    cache.Insert(VerifiedTokenCache::KeyOf("tok-" + std::to_string(i)), Who("u"), kNow + 60 * kSec,
                 kNow);
    ASSERT_LE(cache.Size(), cache.capacity());
  }
  EXPECT_GT(cache.Size(), cache.capacity() * 9 / 10);  // the shards fill about evenly
  // The newest are there, the oldest gone.
  EXPECT_NE(cache.Lookup(VerifiedTokenCache::KeyOf("tok-9999"), kNow), nullptr);
  EXPECT_EQ(cache.Lookup(VerifiedTokenCache::KeyOf("tok-0"), kNow), nullptr);
  int old_hits = 0;
  for (int i = 0; i < 5000; ++i) {
    old_hits +=
        cache.Lookup(VerifiedTokenCache::KeyOf("tok-" + std::to_string(i)), kNow) != nullptr;
  }
  EXPECT_EQ(old_hits, 0);
}

TEST(VerifiedTokenCacheTest, ReinsertingAKeyDoesNotGrowBeyondTheBound) {
  VerifiedTokenCache cache(16);  // 1 per shard
  Hash256 k = VerifiedTokenCache::KeyOf("same");
  for (int i = 0; i < 100; ++i) cache.Insert(k, Who("u" + std::to_string(i)), kNow + kSec, kNow);
  EXPECT_EQ(cache.Size(), 1u);
  EXPECT_EQ(cache.Lookup(k, kNow)->subject, "u99");
}

TEST(VerifiedTokenCacheTest, ConcurrentInsertAndLookup) {
  VerifiedTokenCache cache(1024);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&cache, t] {
      for (int i = 0; i < 5000; ++i) {
        Hash256 k = VerifiedTokenCache::KeyOf(std::to_string(t) + ":" + std::to_string(i % 300));
        if (auto hit = cache.Lookup(k, kNow)) {
          EXPECT_EQ(hit->subject, "s" + std::to_string(t));
        } else {
          cache.Insert(k, Who("s" + std::to_string(t)), kNow + kSec, kNow);
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_LE(cache.Size(), cache.capacity());
}

// Through the verifier: a valid token is cached until its exp; refused ones never are.
TEST(VerifiedTokenCacheTest, VerifierCachesOnlySuccessesAndHonoursExp) {
  const std::string secret = "0123456789abcdef0123456789abcdef-cache";
  JwtIssuerConfig c;
  c.secret = secret;
  c.leeway_s = 0;
  auto v = JwtVerifier::Create({c});
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  const VerifiedTokenCache* cache = (*v)->cache();
  ASSERT_NE(cache, nullptr);
  int64_t exp_s = kNow / kSec + 120;
  std::string good = testing::MakeHs256(
      R"({"alg":"HS256"})", R"({"sub":"alice","exp":)" + std::to_string(exp_s) + "}", secret);
  std::string bad = testing::MakeHs256(R"({"alg":"HS256"})", R"({"sub":"mallory"})", secret + "x");

  EXPECT_FALSE((*v)->Verify(bad, kNow).allowed);
  EXPECT_FALSE((*v)->Verify(bad, kNow).allowed);
  EXPECT_EQ(cache->Size(), 0u);
  ASSERT_TRUE((*v)->Verify(good, kNow).allowed);
  EXPECT_EQ(cache->Size(), 1u);
  AuthOutcome again = (*v)->Verify(good, kNow + 60 * kSec);  // from the cache
  EXPECT_TRUE(again.allowed);
  EXPECT_EQ(again.identity.subject, "alice");
  EXPECT_EQ(again.identity.auth_method, "jwt");
  // At exp the cached entry is gone and the full check refuses the token.
  AuthOutcome late = (*v)->Verify(good, exp_s * kSec);
  EXPECT_FALSE(late.allowed);
  EXPECT_EQ(late.deny_reason, "expired_token");
}

}  // namespace
}  // namespace apitrail
