// API keys, complete: roles and tenant on keys, rotation with an overlap window, last use
// tracked in memory and persisted to the side file, identity kept on denials.
#include <gtest/gtest.h>

#include "auth/api_key_verifier.h"
#include "auth/key_store.h"
#include "testutil/temp_dir.h"

namespace apitrail {
namespace {

using testing::TempDir;

constexpr int64_t kNow = 1767225600LL * 1000000000;  // 2026-01-01T00:00:00Z
constexpr int64_t kSec = 1000000000;

TEST(KeyUsage, RolesAndTenantReachTheIdentity) {
  TempDir dir;
  std::string path = dir.File("keys.json");
  NewKeySpec spec;
  spec.subject = "svc";
  spec.scopes = {"a:read"};
  spec.roles = {"admin"};
  spec.tenant = "acme corp";
  auto k = CreateKey(path, spec, kNow);
  ASSERT_TRUE(k.ok()) << k.status().ToString();
  auto v = ApiKeyVerifier::Create(path).value();
  AuthOutcome o = v->Verify(k->key, kNow);
  ASSERT_TRUE(o.allowed);
  EXPECT_EQ(o.identity.roles, (std::vector<std::string>{"admin"}));
  EXPECT_EQ(o.identity.tenant, "acme corp");
  spec.roles = {"two words"};
  EXPECT_FALSE(CreateKey(path, spec, kNow).ok());
  spec.roles = {};
  spec.tenant = "bad\ttenant";
  EXPECT_FALSE(CreateKey(path, spec, kNow).ok());
}

TEST(KeyUsage, RotateWithOverlapExpiresTheOldKeyAfterTheWindow) {
  TempDir dir;
  std::string path = dir.File("keys.json");
  auto a = CreateKey(path, "svc", {"x"}, std::nullopt, "", kNow);
  ASSERT_TRUE(a.ok());
  auto b = RotateKey(path, a->id, kNow + kSec, 3600 * kSec);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  auto keys = ListKeys(path).value();
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0].expires_ns, kNow + kSec + 3600 * kSec);
  EXPECT_EQ(keys[1].rotated_from, a->id);
  EXPECT_FALSE(keys[1].expires_ns);  // the grant is renewed, not shortened
  auto v = ApiKeyVerifier::Create(path).value();
  EXPECT_TRUE(v->Verify(a->key, kNow + 3600 * kSec).allowed);  // inside the overlap
  AuthOutcome late = v->Verify(a->key, kNow + 3602 * kSec);
  EXPECT_EQ(late.deny_reason, "expired_key");
  EXPECT_EQ(late.identity.credential_id, a->id);  // the audit knows which key
  EXPECT_EQ(late.identity.subject, "svc");
  EXPECT_TRUE(v->Verify(b->key, kNow + 3602 * kSec).allowed);
  // An overlap never extends an earlier expiry.
  auto c = CreateKey(path, "svc", {}, kNow + 10 * kSec, "", kNow);
  ASSERT_TRUE(RotateKey(path, c->id, kNow + kSec, 3600 * kSec).ok());
  std::vector<ApiKeyRecord> after = ListKeys(path).value();
  for (const auto& k : after) {
    if (k.id == c->id) {
      EXPECT_EQ(k.expires_ns, kNow + 10 * kSec);
    }
  }
  EXPECT_FALSE(RotateKey(path, b->id, kNow, -1).ok());
}

TEST(KeyUsage, RevokedKeyKeepsItsIdentityOnTheDeny) {
  TempDir dir;
  std::string path = dir.File("keys.json");
  NewKeySpec spec;
  spec.subject = "svc";
  spec.tenant = "acme";
  auto k = CreateKey(path, spec, kNow).value();
  ASSERT_TRUE(RevokeKey(path, k.id, kNow + 1).ok());
  auto v = ApiKeyVerifier::Create(path).value();
  AuthOutcome o = v->Verify(k.key, kNow + 2);
  EXPECT_EQ(o.deny_reason, "revoked_key");
  EXPECT_EQ(o.identity.credential_id, k.id);
  EXPECT_EQ(o.identity.subject, "svc");
  EXPECT_EQ(o.identity.tenant, "acme");
  EXPECT_EQ(v->LastUsedForTest(k.id), 0);  // a refused use is not a use
}

TEST(KeyUsage, LastUsedIsTrackedSurvivesReloadAndIsPersisted) {
  TempDir dir;
  std::string path = dir.File("keys.json");
  auto a = CreateKey(path, "svc", {}, std::nullopt, "", kNow).value();
  auto v = ApiKeyVerifier::Create(path).value();
  ASSERT_TRUE(v->Verify(a.key, kNow + 5 * kSec).allowed);
  EXPECT_EQ(v->LastUsedForTest(a.id), kNow + 5 * kSec);
  // Within the resolution the slot is not rewritten.
  ASSERT_TRUE(v->Verify(a.key, kNow + 5 * kSec + 100).allowed);
  EXPECT_EQ(v->LastUsedForTest(a.id), kNow + 5 * kSec);
  // A reload (another key added) keeps the slot.
  auto b = CreateKey(path, "other", {}, std::nullopt, "", kNow).value();
  ASSERT_TRUE(v->MaybeReload().ok());
  ASSERT_NE(v->Snapshot()->Find(b.id), nullptr);
  EXPECT_EQ(v->LastUsedForTest(a.id), kNow + 5 * kSec);
  ASSERT_TRUE(v->Verify(a.key, kNow + 9 * kSec).allowed);
  // Persisted to the side file, not to keys.json.
  std::string before = testing::ReadFileBytes(path);
  ASSERT_TRUE(v->FlushLastUsed(0, 0).ok());
  EXPECT_EQ(testing::ReadFileBytes(path), before);
  auto used = LoadLastUsed(path).value();
  EXPECT_EQ(used.at(a.id), kNow + 9 * kSec);
  EXPECT_EQ(used.count(b.id), 0u);
  // A second verifier (another gateway, or after a restart) starts from the side file, and
  // merging keeps the later time.
  auto v2 = ApiKeyVerifier::Create(path).value();
  EXPECT_EQ(v2->LastUsedForTest(a.id), kNow + 9 * kSec);
  ASSERT_TRUE(MergeLastUsed(path, {{a.id, kNow + 1}}).ok());
  EXPECT_EQ(LoadLastUsed(path).value().at(a.id), kNow + 9 * kSec);
  // The interval is respected.
  ASSERT_TRUE(v->Verify(b.key, kNow + 20 * kSec).allowed);
  ASSERT_TRUE(v->FlushLastUsed(1 * kSec, 10 * kSec).ok());  // too soon after the flush at 0
  EXPECT_EQ(LoadLastUsed(path).value().count(b.id), 0u);
  ASSERT_TRUE(v->FlushLastUsed(11 * kSec, 10 * kSec).ok());
  EXPECT_EQ(LoadLastUsed(path).value().at(b.id), kNow + 20 * kSec);
}

}  // namespace
}  // namespace apitrail
