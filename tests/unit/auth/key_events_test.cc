#include "auth/key_events.h"

#include <gtest/gtest.h>

#include "core/record_codec.h"

namespace apitrail {
namespace {

constexpr int64_t kNow = 1767225600LL * 1000000000;  // 2026-01-01T00:00:00Z
constexpr int64_t kSec = 1000000000;

ApiKeyRecord Key(const std::string& id, int64_t created) {
  ApiKeyRecord r;
  r.id = id;
  r.hash.assign(64, 'a');
  r.subject = "owner-" + id;
  r.scopes = {"orders:read"};
  r.roles = {"admin"};
  r.tenant = "acme";
  r.created_ns = created;
  return r;
}

KeySet Set(std::vector<ApiKeyRecord> keys) { return KeySet::Build(std::move(keys)).value(); }

std::vector<std::string> Routes(const std::vector<AuditEvent>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) out.push_back(e.route + " " + e.credential_id);
  return out;
}

TEST(KeyEvents, DiffRecordsCreateRotateRevokeDelete) {
  ApiKeyRecord a = Key("AAAAAAAA", kNow - 10 * kSec);
  ApiKeyRecord b = Key("BBBBBBBB", kNow - 9 * kSec);
  KeySet before = Set({a, b});
  ApiKeyRecord a2 = a;
  a2.revoked_ns = kNow - 2 * kSec;
  ApiKeyRecord c = Key("CCCCCCCC", kNow - 3 * kSec);
  ApiKeyRecord d = Key("DDDDDDDD", kNow - 1 * kSec);
  d.rotated_from = "CCCCCCCC";
  KeySet after = Set({a2, c, d});  // b deleted
  auto events = KeyChangeEvents(&before, after, kNow - 5 * kSec, kNow, "n1");
  EXPECT_EQ(Routes(events),
            (std::vector<std::string>{"KEYS create CCCCCCCC", "KEYS revoke AAAAAAAA",
                                      "KEYS rotate DDDDDDDD", "KEYS delete BBBBBBBB"}));
  const AuditEvent& create = events[0];
  EXPECT_EQ(create.kind, "admin");
  EXPECT_EQ(create.decision, "");
  EXPECT_EQ(create.method, "KEYS");
  EXPECT_EQ(create.subject, "owner-CCCCCCCC");
  EXPECT_EQ(create.auth_method, "api_key");
  EXPECT_EQ(create.tenant, "acme");
  EXPECT_EQ(create.scopes, (std::vector<std::string>{"orders:read", "role:admin"}));
  EXPECT_EQ(create.time_ns, c.created_ns);
  EXPECT_EQ(create.node, "n1");
  EXPECT_EQ(create.resources, (KeyValues{{"key_id", "CCCCCCCC"}}));
  EXPECT_FALSE(create.id.empty());
  std::string record = EncodeRecord(create);
  EXPECT_EQ(record.find(std::string(64, 'a')), std::string::npos);  // never the hash
  EXPECT_NE(events[2].message.find("replaces CCCCCCCC"), std::string::npos);
  // Unchanged set: nothing.
  EXPECT_TRUE(KeyChangeEvents(&after, after, kNow, kNow + kSec, "n1").empty());
}

TEST(KeyEvents, ExpiryIsRecordedOnceWhenItsTimePasses) {
  ApiKeyRecord a = Key("AAAAAAAA", kNow - 100 * kSec);
  a.expires_ns = kNow + 5 * kSec;
  KeySet s = Set({a});
  EXPECT_TRUE(KeyChangeEvents(&s, s, kNow, kNow + 4 * kSec, "n").empty());
  EXPECT_EQ(Routes(KeyChangeEvents(&s, s, kNow + 4 * kSec, kNow + 5 * kSec, "n")),
            (std::vector<std::string>{"KEYS expire AAAAAAAA"}));
  EXPECT_TRUE(KeyChangeEvents(&s, s, kNow + 5 * kSec, kNow + 6 * kSec, "n").empty());
  // A revoked key does not also "expire".
  a.revoked_ns = kNow;
  KeySet r = Set({a});
  EXPECT_TRUE(KeyChangeEvents(&r, r, kNow + 4 * kSec, kNow + 5 * kSec, "n").empty());
}

TEST(KeyEvents, StartupCatchUpUsesTimesAfterTheWatermark) {
  ApiKeyRecord old = Key("AAAAAAAA", kNow - 100 * kSec);  // recorded by an earlier run
  ApiKeyRecord fresh = Key("BBBBBBBB", kNow - 5 * kSec);
  ApiKeyRecord revoked = Key("CCCCCCCC", kNow - 100 * kSec);
  revoked.revoked_ns = kNow - 4 * kSec;
  ApiKeyRecord expired = Key("DDDDDDDD", kNow - 100 * kSec);
  expired.expires_ns = kNow - 3 * kSec;
  KeySet s = Set({old, fresh, revoked, expired});
  EXPECT_EQ(Routes(KeyChangeEvents(nullptr, s, kNow - 10 * kSec, kNow, "n")),
            (std::vector<std::string>{"KEYS create BBBBBBBB", "KEYS revoke CCCCCCCC",
                                      "KEYS expire DDDDDDDD"}));
  // No watermark: every key's history.
  EXPECT_EQ(KeyChangeEvents(nullptr, s, 0, kNow, "n").size(), 6u);
}

}  // namespace
}  // namespace apitrail
