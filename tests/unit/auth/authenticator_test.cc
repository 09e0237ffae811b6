#include "auth/authenticator.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <thread>

#include "auth/key_store.h"
#include "unit/auth/jwt_test_signer.h"
#include "testutil/temp_dir.h"

namespace apitrail {
namespace {

using testing::TempDir;

constexpr int64_t kNow = 1767225600LL * 1000000000;  // 2026-01-01T00:00:00Z
constexpr int64_t kHour = 3600LL * 1000000000;
const std::string kSecret = "0123456789abcdef0123456789abcdef-test-secret";

class AuthenticatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.File("keys.json");
    auto k = CreateKey(path_, "billing", {"orders:read"}, kNow + kHour, "", kNow - kHour);
    ASSERT_TRUE(k.ok()) << k.status().ToString();
    key_ = *k;
    auth_ = Make(AuthConfig{});
  }

  std::unique_ptr<Authenticator> Make(AuthConfig config) {
    auto a = Authenticator::Create(config, dir_.path());
    EXPECT_TRUE(a.ok()) << a.status().ToString();
    return a.ok() ? std::move(a).value() : nullptr;
  }

  AuthOutcome Auth(const HeaderView& h, int64_t now = kNow) { return auth_->Authenticate(h, now); }

  TempDir dir_;
  std::string path_;
  GeneratedApiKey key_;
  std::unique_ptr<Authenticator> auth_;
};

TEST_F(AuthenticatorTest, MissingCredentials) {
  AuthOutcome o = Auth({{"Host", "x"}, {"X-API-Key", ""}});
  EXPECT_FALSE(o.allowed);
  EXPECT_EQ(o.deny_reason, "missing_credentials");
}

TEST_F(AuthenticatorTest, BearerApiKey) {
  std::string bearer = "Bearer " + key_.key;
  AuthOutcome o = Auth({{"authorization", bearer}});
  ASSERT_TRUE(o.allowed) << o.deny_reason << ": " << o.detail;
  EXPECT_EQ(o.identity.subject, "billing");
  EXPECT_EQ(o.identity.auth_method, "api_key");
  EXPECT_EQ(o.identity.credential_id, key_.id);
  EXPECT_EQ(o.identity.scopes, (std::vector<std::string>{"orders:read"}));
  // Scheme is case-insensitive; extra spaces tolerated.
  std::string lower = "bearer   " + key_.key + " ";
  EXPECT_TRUE(Auth({{"AUTHORIZATION", lower}}).allowed);
}

TEST_F(AuthenticatorTest, ApiKeyHeader) {
  AuthOutcome o = Auth({{"x-api-key", key_.key}});
  ASSERT_TRUE(o.allowed) << o.deny_reason;
  EXPECT_EQ(o.identity.credential_id, key_.id);
  // The same key in both places is fine; two different credentials are not.
  std::string bearer = "Bearer " + key_.key;
  EXPECT_TRUE(Auth({{"X-API-Key", key_.key}, {"Authorization", bearer}}).allowed);
  AuthOutcome two = Auth({{"X-API-Key", key_.key}, {"Authorization", "Bearer a.b.c"}});
  EXPECT_EQ(two.deny_reason, "invalid_token");
}

TEST_F(AuthenticatorTest, MalformedCredentials) {
  EXPECT_EQ(Auth({{"Authorization", "Basic dXNlcjpwYXNz"}}).deny_reason, "invalid_token");
  EXPECT_EQ(Auth({{"Authorization", "Bearer"}}).deny_reason, "invalid_token");
  EXPECT_EQ(Auth({{"Authorization", "Bearer opaque-token"}}).deny_reason, "invalid_token");
  EXPECT_EQ(Auth({{"X-API-Key", "atk_short"}}).deny_reason, "invalid_key_format");
  std::string typo = key_.key;
  typo[20] = typo[20] == 'a' ? 'b' : 'a';
  AuthOutcome o = Auth({{"X-API-Key", typo}});
  EXPECT_EQ(o.deny_reason, "invalid_key_format");
  EXPECT_EQ(o.detail.find(typo), std::string::npos);
}

TEST_F(AuthenticatorTest, UnknownKey) {
  GeneratedApiKey other = GenerateApiKey();
  AuthOutcome o = Auth({{"X-API-Key", other.key}});
  EXPECT_EQ(o.deny_reason, "unknown_key");
  EXPECT_EQ(o.identity.credential_id, other.id);
  EXPECT_TRUE(o.identity.subject.empty());
}

TEST_F(AuthenticatorTest, KnownIdWrongSecretIsUnknownKey) {
  // Same id, different secret, valid checksum: forge by editing the stored hash instead.
  auto keys = ListKeys(path_);
  ASSERT_TRUE(keys.ok());
  std::vector<ApiKeyRecord> recs = *keys;
  recs[0].hash = HashApiKey(GenerateApiKey().key);
  dir_.Write("keys.json", SerializeKeyFile(recs));
  ::chmod(path_.c_str(), 0600);
  auth_->MaybeReload();
  ASSERT_TRUE(auth_->LastReloadStatus().ok()) << auth_->LastReloadStatus().ToString();
  AuthOutcome o = Auth({{"X-API-Key", key_.key}});
  EXPECT_EQ(o.deny_reason, "unknown_key");
  EXPECT_TRUE(o.identity.subject.empty());  // the caller has not proven who they are
}

TEST_F(AuthenticatorTest, ExpiredKey) {
  AuthOutcome o = Auth({{"X-API-Key", key_.key}}, kNow + 2 * kHour);
  EXPECT_EQ(o.deny_reason, "expired_key");
  EXPECT_EQ(o.identity.subject, "billing");
}

TEST_F(AuthenticatorTest, RevokedKeyAfterReload) {
  ASSERT_TRUE(Auth({{"X-API-Key", key_.key}}).allowed);
  ASSERT_TRUE(RevokeKey(path_, key_.id, kNow).ok());
  // Not yet reloaded: the snapshot is unchanged.
  EXPECT_TRUE(Auth({{"X-API-Key", key_.key}}).allowed);
  auth_->MaybeReload();
  EXPECT_TRUE(auth_->LastReloadStatus().ok());
  AuthOutcome o = Auth({{"X-API-Key", key_.key}});
  EXPECT_EQ(o.deny_reason, "revoked_key");
  EXPECT_EQ(o.identity.subject, "billing");
  EXPECT_EQ(o.identity.credential_id, key_.id);
}

TEST_F(AuthenticatorTest, NewKeyVisibleAfterReload) {
  auto k = CreateKey(path_, "new", {}, std::nullopt, "", kNow);
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(Auth({{"X-API-Key", k->key}}).deny_reason, "unknown_key");
  auth_->MaybeReload();
  EXPECT_TRUE(Auth({{"X-API-Key", k->key}}).allowed);
}

TEST_F(AuthenticatorTest, CorruptReloadKeepsOldKeys) {
  dir_.Write("keys.json", "{\"version\":1,\"keys\":[{\"id\":");
  ::chmod(path_.c_str(), 0600);
  auth_->MaybeReload();
  Status st = auth_->LastReloadStatus();
  EXPECT_EQ(st.code(), StatusCode::kCorruption);
  EXPECT_NE(st.message().find(path_), std::string::npos);
  EXPECT_TRUE(Auth({{"X-API-Key", key_.key}}).allowed);
  // The same broken version is not re-parsed, but is still reported.
  auth_->MaybeReload();
  EXPECT_EQ(auth_->LastReloadStatus().code(), StatusCode::kCorruption);
  // The CLI refuses to rewrite a file it cannot read.
  EXPECT_EQ(RevokeKey(path_, key_.id, kNow).code(), StatusCode::kCorruption);
  // A repaired file is picked up.
  ApiKeyRecord rec;
  rec.id = key_.id;
  rec.hash = HashApiKey(key_.key);
  rec.subject = "billing";
  rec.created_ns = kNow;
  rec.revoked_ns = kNow;
  dir_.Write("keys.json", SerializeKeyFile({rec}));
  ::chmod(path_.c_str(), 0600);
  auth_->MaybeReload();
  EXPECT_TRUE(auth_->LastReloadStatus().ok());
  EXPECT_EQ(Auth({{"X-API-Key", key_.key}}).deny_reason, "revoked_key");
}

TEST_F(AuthenticatorTest, RoleLikeScopeInAHandEditedKeyFileIsDropped) {
  ApiKeyRecord rec;
  rec.id = key_.id;
  rec.hash = HashApiKey(key_.key);
  rec.subject = "billing";
  rec.scopes = {"orders:read", "role:admin"};
  rec.roles = {"ops"};
  rec.created_ns = kNow;
  dir_.Write("keys.json", SerializeKeyFile({rec}));
  ::chmod(path_.c_str(), 0600);
  auth_->MaybeReload();
  ASSERT_TRUE(auth_->LastReloadStatus().ok()) << auth_->LastReloadStatus().ToString();
  AuthOutcome o = Auth({{"X-API-Key", key_.key}});
  ASSERT_TRUE(o.allowed);
  EXPECT_EQ(o.identity.scopes, (std::vector<std::string>{"orders:read"}));
  EXPECT_EQ(o.identity.roles, (std::vector<std::string>{"ops"}));
}

TEST_F(AuthenticatorTest, DeletedKeyFileFailsClosed) {
  ASSERT_EQ(::unlink(path_.c_str()), 0);
  auth_->MaybeReload();
  EXPECT_EQ(Auth({{"X-API-Key", key_.key}}).deny_reason, "unknown_key");
}

TEST_F(AuthenticatorTest, CorruptFileAtStartupIsAnErrorNamingIt) {
  dir_.Write("keys.json", "garbage");
  ::chmod(path_.c_str(), 0600);
  auto a = Authenticator::Create(AuthConfig{}, dir_.path());
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.status().message().find(path_), std::string::npos);
}

TEST_F(AuthenticatorTest, DisabledApiKeysAndNoJwt) {
  AuthConfig config;
  config.api_keys.enabled = false;
  auto a = Make(config);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->Authenticate({{"X-API-Key", key_.key}}, kNow).deny_reason, "unknown_key");
  EXPECT_EQ(a->Authenticate({{"Authorization", "Bearer a.b.c"}}, kNow).deny_reason, "invalid_token");
}

TEST_F(AuthenticatorTest, BearerApiKeysRefusedWhenAuthorizationNotListed) {
  AuthConfig config;
  config.api_keys.headers = {"X-API-Key"};
  auto a = Make(config);
  ASSERT_TRUE(a);
  std::string bearer = "Bearer " + key_.key;
  EXPECT_EQ(a->Authenticate({{"Authorization", bearer}}, kNow).deny_reason, "unknown_key");
  EXPECT_TRUE(a->Authenticate({{"X-API-Key", key_.key}}, kNow).allowed);
}

TEST_F(AuthenticatorTest, JwtThroughAuthenticator) {
  AuthConfig config;
  JwtIssuerConfig issuer;
  issuer.issuer = "https://idp.example";
  issuer.secret = kSecret;
  config.jwt.push_back(issuer);
  auto a = Make(config);
  ASSERT_TRUE(a);
  std::string token = testing::MakeHs256(
      R"({"alg":"HS256","typ":"JWT"})",
      R"({"sub":"alice","iss":"https://idp.example","exp":1767229200,"scope":"a b","jti":"t-1"})",
      kSecret);
  std::string bearer = "Bearer " + token;
  AuthOutcome o = a->Authenticate({{"Authorization", bearer}}, kNow);
  ASSERT_TRUE(o.allowed) << o.deny_reason << ": " << o.detail;
  EXPECT_EQ(o.identity.auth_method, "jwt");
  EXPECT_EQ(o.identity.subject, "alice");
  EXPECT_EQ(o.identity.credential_id, "t-1");
  EXPECT_EQ(o.identity.issuer, "https://idp.example");
  EXPECT_EQ(o.identity.scopes, (std::vector<std::string>{"a", "b"}));
  // API keys keep working next to JWTs.
  EXPECT_TRUE(a->Authenticate({{"X-API-Key", key_.key}}, kNow).allowed);
}

TEST_F(AuthenticatorTest, ConcurrentAuthenticateDuringReloads) {
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < 3; ++t) {
    workers.emplace_back([&] {
      while (!stop.load()) {
        AuthOutcome o = auth_->Authenticate({{"X-API-Key", key_.key}}, kNow);
        if (!o.allowed) ++bad;
      }
    });
  }
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(CreateKey(path_, "x", {}, std::nullopt, "", kNow).ok());
    auth_->MaybeReload();
  }
  stop = true;
  for (auto& w : workers) w.join();
  EXPECT_EQ(bad.load(), 0);
}

}  // namespace
}  // namespace apitrail
