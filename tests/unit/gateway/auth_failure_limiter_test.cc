#include "gateway/auth_failure_limiter.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace apitrail {
namespace {

constexpr int64_t kSec = 1'000'000'000;

AuthFailureLimiter::Options Opts(uint32_t max, int64_t window_s = 60, int64_t block_s = 30,
                                 size_t capacity = 65536) {
  AuthFailureLimiter::Options o;
  o.max_failures = max;
  o.window_ns = window_s * kSec;
  o.block_ns = block_s * kSec;
  o.capacity = capacity;
  return o;
}

TEST(AuthFailureLimiter, BlocksAfterMaxFailuresForBlockDuration) {
  AuthFailureLimiter l(Opts(3));
  int64_t t = 1000 * kSec;
  EXPECT_FALSE(l.RecordFailure("10.0.0.1", t));
  EXPECT_FALSE(l.RecordFailure("10.0.0.1", t + 1));
  EXPECT_EQ(l.Blocked("10.0.0.1", t + 2), 0);
  EXPECT_TRUE(l.RecordFailure("10.0.0.1", t + 2));
  EXPECT_EQ(l.Blocked("10.0.0.1", t + 2), 30 * kSec);
  EXPECT_EQ(l.Blocked("10.0.0.1", t + 2 + 29 * kSec), kSec);
  EXPECT_EQ(l.Blocked("10.0.0.1", t + 2 + 30 * kSec), 0);
  // Another address is not affected.
  EXPECT_EQ(l.Blocked("10.0.0.2", t + 3), 0);
}

TEST(AuthFailureLimiter, FailuresOutsideTheWindowDoNotAddUp) {
  AuthFailureLimiter l(Opts(3, /*window_s=*/10));
  int64_t t = 1000 * kSec;
  EXPECT_FALSE(l.RecordFailure("10.0.0.1", t));
  EXPECT_FALSE(l.RecordFailure("10.0.0.1", t + 5 * kSec));
  // The window started at t; at t+10s a new one starts.
  EXPECT_FALSE(l.RecordFailure("10.0.0.1", t + 10 * kSec));
  EXPECT_FALSE(l.RecordFailure("10.0.0.1", t + 11 * kSec));
  EXPECT_TRUE(l.RecordFailure("10.0.0.1", t + 12 * kSec));
}

TEST(AuthFailureLimiter, AfterABlockAFreshWindowStarts) {
  AuthFailureLimiter l(Opts(2, 60, 5));
  int64_t t = 1000 * kSec;
  l.RecordFailure("10.0.0.1", t);
  EXPECT_TRUE(l.RecordFailure("10.0.0.1", t));
  int64_t after = t + 5 * kSec;
  EXPECT_EQ(l.Blocked("10.0.0.1", after), 0);
  EXPECT_FALSE(l.RecordFailure("10.0.0.1", after));
  EXPECT_TRUE(l.RecordFailure("10.0.0.1", after + 1));
}

TEST(AuthFailureLimiter, Ipv6CountedPerSlash64AndIpv4MappedIsIpv4) {
  AuthFailureLimiter l(Opts(2));
  int64_t t = 1000 * kSec;
  l.RecordFailure("2001:db8:1:2::1", t);
  EXPECT_TRUE(l.RecordFailure("2001:db8:1:2:ffff::99", t));  // same /64
  EXPECT_GT(l.Blocked("2001:db8:1:2::abcd", t), 0);
  EXPECT_EQ(l.Blocked("2001:db8:1:3::1", t), 0);  // next /64
  l.RecordFailure("::ffff:192.0.2.7", t);
  EXPECT_TRUE(l.RecordFailure("192.0.2.7", t));
  EXPECT_GT(l.Blocked("::ffff:192.0.2.7", t), 0);
  EXPECT_EQ(l.Blocked("192.0.2.8", t), 0);  // v4 keeps all 32 bits
}

TEST(AuthFailureLimiter, MemoryIsBoundedAndTheOldestIsForgotten) {
  AuthFailureLimiter l(Opts(2, 60, 30, /*capacity=*/64));  // one entry per shard
  int64_t t = 1000 * kSec;
  for (int i = 0; i < 10000; ++i) {
    l.RecordFailure("10.1." + std::to_string(i / 256) + "." + std::to_string(i % 256), t);
  }
  EXPECT_LE(l.TrackedForTest(), 64u);
}

TEST(AuthFailureLimiter, FailuresFromOtherAddressesNeverLiftABlockInForce) {
  AuthFailureLimiter l(Opts(2, 60, 30, /*capacity=*/64));  // one entry per shard
  int64_t t = 1000 * kSec;
  l.RecordFailure("10.9.9.9", t);
  ASSERT_TRUE(l.RecordFailure("10.9.9.9", t));
  for (int i = 0; i < 10000; ++i) {
    l.RecordFailure("10.1." + std::to_string(i / 256) + "." + std::to_string(i % 256), t + 1);
  }
  EXPECT_GT(l.Blocked("10.9.9.9", t + 2), 0);
  EXPECT_LE(l.TrackedForTest(), 64u);
  // Once the block ran out, its slot is the first to go.
  const int64_t later = t + 31 * kSec;
  EXPECT_EQ(l.Blocked("10.9.9.9", later), 0);
  for (int i = 0; i < 10000; ++i) {
    l.RecordFailure("10.2." + std::to_string(i / 256) + "." + std::to_string(i % 256), later);
  }
  EXPECT_LE(l.TrackedForTest(), 64u);
}

TEST(AuthFailureLimiter, WhatCounts) {
  EXPECT_FALSE(AuthFailureLimiter::Counts("missing_credentials", 401));
  EXPECT_FALSE(AuthFailureLimiter::Counts("introspection_unavailable", 503));
  EXPECT_FALSE(AuthFailureLimiter::Counts("introspection_busy", 503));
  EXPECT_FALSE(AuthFailureLimiter::Counts("keys_unavailable", 503));
  EXPECT_FALSE(AuthFailureLimiter::Counts("", 401));
  EXPECT_TRUE(AuthFailureLimiter::Counts("unknown_key", 401));
  EXPECT_TRUE(AuthFailureLimiter::Counts("invalid_key_format", 401));
  EXPECT_TRUE(AuthFailureLimiter::Counts("bad_signature", 401));
  EXPECT_TRUE(AuthFailureLimiter::Counts("revoked_key", 401));
}

TEST(AuthFailureLimiter, UnparsableAddressesShareOneKey) {
  AuthFailureLimiter l(Opts(2));
  int64_t t = 1000 * kSec;
  l.RecordFailure("", t);
  EXPECT_TRUE(l.RecordFailure("not-an-ip", t));
  EXPECT_GT(l.Blocked("garbage", t), 0);
  EXPECT_EQ(l.Blocked("10.0.0.1", t), 0);
}

TEST(AuthFailureLimiter, ConcurrentFailuresFromManyThreadsBlockExactlyOnce) {
  AuthFailureLimiter l(Opts(1000, 3600, 30));
  int64_t t = 1000 * kSec;
  std::atomic<int> blocks{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      for (int j = 0; j < 500; ++j) {
        if (l.RecordFailure("10.9.9.9", t)) blocks++;
        (void)l.Blocked("10.9.9." + std::to_string(j % 50), t);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(blocks.load(), 1);  // 2000 failures, 1000 to block, then refused while blocked
  EXPECT_GT(l.Blocked("10.9.9.9", t), 0);
}

}  // namespace
}  // namespace apitrail
