#include "auth/key_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <thread>

#include "testutil/temp_dir.h"

namespace apitrail {
namespace {

using testing::ReadFileBytes;
using testing::TempDir;

constexpr int64_t kNow = 1767225600LL * 1000000000;  // 2026-01-01T00:00:00Z

TEST(KeyStoreTest, CreateListRevoke) {
  TempDir dir;
  std::string path = dir.File("keys.json");
  auto list = ListKeys(path);
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list->empty());  // missing file: no keys yet

  auto a = CreateKey(path, "billing", {"orders:read", "orders:write"}, std::nullopt, "ci", kNow);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  auto b = CreateKey(path, "reports", {}, kNow + 3600'000000000LL, "", kNow);
  ASSERT_TRUE(b.ok()) << b.status().ToString();

  list = ListKeys(path);
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  ASSERT_EQ(list->size(), 2u);
  const ApiKeyRecord& ra = (*list)[0];
  EXPECT_EQ(ra.id, a->id);
  EXPECT_EQ(ra.hash, HashApiKey(a->key));
  EXPECT_EQ(ra.subject, "billing");
  EXPECT_EQ(ra.scopes, (std::vector<std::string>{"orders:read", "orders:write"}));
  EXPECT_EQ(ra.created_ns, kNow);
  EXPECT_FALSE(ra.expires_ns);
  EXPECT_FALSE(ra.revoked_ns);
  EXPECT_EQ(ra.description, "ci");
  EXPECT_EQ((*list)[1].expires_ns, kNow + 3600'000000000LL);

  ASSERT_TRUE(RevokeKey(path, a->id, kNow + 5).ok());
  ASSERT_TRUE(RevokeKey(path, a->id, kNow + 9).ok());  // idempotent, keeps the first time
  list = ListKeys(path);
  ASSERT_TRUE(list.ok());
  EXPECT_EQ((*list)[0].revoked_ns, kNow + 5);
  EXPECT_FALSE((*list)[1].revoked_ns);

  Status st = RevokeKey(path, "nosuchid", kNow);
  EXPECT_EQ(st.code(), StatusCode::kNotFound);
}

TEST(KeyStoreTest, FileIsMode0600AndHoldsOnlyTheHash) {
  TempDir dir;
  std::string path = dir.File("keys.json");
  auto k = CreateKey(path, "svc", {"a"}, std::nullopt, "", kNow);
  ASSERT_TRUE(k.ok());
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::string text = ReadFileBytes(path);
  EXPECT_EQ(text.find(k->key), std::string::npos);
  EXPECT_EQ(text.find(k->key.substr(13)), std::string::npos);  // not even the secret part
  EXPECT_NE(text.find(HashApiKey(k->key)), std::string::npos);
  // No temporary file is left behind.
  EXPECT_NE(::stat((path + ".tmp." + std::to_string(::getpid())).c_str(), &st), 0);
}

TEST(KeyStoreTest, CreatesMissingDataDirectory) {
  TempDir dir;
  std::string path = dir.File("data") + "/keys.json";
  ASSERT_TRUE(CreateKey(path, "svc", {}, std::nullopt, "", kNow).ok());
  struct stat st;
  ASSERT_EQ(::stat(dir.File("data").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST(KeyStoreTest, RejectsBadInput) {
  TempDir dir;
  std::string path = dir.File("keys.json");
  EXPECT_FALSE(CreateKey(path, "", {}, std::nullopt, "", kNow).ok());
  EXPECT_FALSE(CreateKey(path, "a\nb", {}, std::nullopt, "", kNow).ok());
  EXPECT_FALSE(CreateKey(path, "svc", {"two words"}, std::nullopt, "", kNow).ok());
  EXPECT_FALSE(CreateKey(path, "svc", {}, kNow - 1, "", kNow).ok());  // already expired
  // A scope spelled like a role would be recorded as one (identity.h): roles go in --roles.
  auto role_like = CreateKey(path, "svc", {"orders:read", "role:admin"}, std::nullopt, "", kNow);
  ASSERT_FALSE(role_like.ok());
  EXPECT_NE(role_like.status().message().find("role:admin"), std::string::npos);
  auto after = LoadKeyFile(path);  // nothing written
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(after->keys().empty());
}

TEST(KeyStoreTest, CorruptFileIsAClearErrorNamingTheFile) {
  TempDir dir;
  for (const std::string& text :
       {std::string("{not json"), std::string("[]"), std::string("{\"version\":2,\"keys\":[]}"),
        std::string("{\"version\":1}"),
        std::string("{\"version\":1,\"keys\":[{\"id\":\"short\",\"hash\":\"x\",\"subject\":\"s\","
                    "\"created\":\"2026-01-01T00:00:00Z\"}]}")}) {
    std::string path = dir.Write("keys.json", text);
    ::chmod(path.c_str(), 0600);
    auto r = ListKeys(path);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.status().code(), StatusCode::kCorruption) << text;
    EXPECT_NE(r.status().message().find(path), std::string::npos) << r.status().message();
    // Writes refuse to clobber a file they cannot understand.
    EXPECT_FALSE(CreateKey(path, "svc", {}, std::nullopt, "", kNow).ok());
    EXPECT_EQ(ReadFileBytes(path), text);
  }
}

TEST(KeyStoreTest, DuplicateIdIsCorruption) {
  TempDir dir;
  std::string path = dir.File("keys.json");
  ASSERT_TRUE(CreateKey(path, "svc", {}, std::nullopt, "", kNow).ok());
  auto keys = ListKeys(path);
  ASSERT_TRUE(keys.ok());
  std::vector<ApiKeyRecord> twice = {(*keys)[0], (*keys)[0]};
  dir.Write("keys.json", SerializeKeyFile(twice));
  auto r = ListKeys(path);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("duplicate"), std::string::npos);
}

TEST(KeyStoreTest, WorldWritableFileIsRefused) {
  TempDir dir;
  std::string path = dir.File("keys.json");
  ASSERT_TRUE(CreateKey(path, "svc", {}, std::nullopt, "", kNow).ok());
  ::chmod(path.c_str(), 0666);
  auto r = ListKeys(path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied);
}

TEST(KeyStoreTest, RotateCopiesTheGrantAndKeepsTheOldKey) {
  TempDir dir;
  std::string path = dir.File("keys.json");
  auto a = CreateKey(path, "svc", {"x:read"}, kNow + 1000'000000000LL, "prod", kNow);
  ASSERT_TRUE(a.ok());
  auto b = RotateKey(path, a->id, kNow + 1);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_NE(b->id, a->id);
  auto keys = ListKeys(path);
  ASSERT_TRUE(keys.ok());
  ASSERT_EQ(keys->size(), 2u);
  EXPECT_EQ((*keys)[1].subject, "svc");
  EXPECT_EQ((*keys)[1].scopes, (std::vector<std::string>{"x:read"}));
  EXPECT_EQ((*keys)[1].expires_ns, kNow + 1000'000000000LL);
  EXPECT_FALSE((*keys)[0].revoked_ns);
  EXPECT_EQ(RotateKey(path, "nosuchid", kNow).status().code(), StatusCode::kNotFound);
}

TEST(KeyStoreTest, UndoRotationRevokesTheNewKeyAndRestoresTheOldExpiry) {
  TempDir dir;
  std::string path = dir.File("keys.json");
  for (std::optional<int64_t> expiry : {std::optional<int64_t>(), std::optional<int64_t>(kNow + 9000'000000000LL)}) {
    auto a = CreateKey(path, "svc", {}, expiry, "", kNow);
    ASSERT_TRUE(a.ok());
    std::optional<int64_t> previous = 42;
    auto b = RotateKey(path, a->id, kNow + 1, int64_t{60'000000000}, &previous);
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    EXPECT_EQ(previous, expiry);
    ASSERT_TRUE(UndoRotation(path, b->id, previous, kNow + 2).ok());
    auto keys = ListKeys(path);
    ASSERT_TRUE(keys.ok());
    const ApiKeyRecord& old = keys->at(keys->size() - 2);
    const ApiKeyRecord& fresh = keys->back();
    EXPECT_EQ(old.id, a->id);
    EXPECT_EQ(old.expires_ns, expiry);
    EXPECT_FALSE(old.revoked_ns);
    EXPECT_EQ(fresh.revoked_ns, kNow + 2);
  }
  // Only a rotated key can be taken back; a key never rotated is left as it is.
  auto c = CreateKey(path, "svc", {}, std::nullopt, "", kNow);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(UndoRotation(path, c->id, std::nullopt).code(), StatusCode::kNotFound);
  EXPECT_FALSE(ListKeys(path)->back().revoked_ns);
}

// A whole key (or any other secret) given where an id belongs is never echoed back: the
// message went to the terminal as "no key with id 'atk_…'".
TEST(KeyStoreTest, RevokeAndRotateNeverEchoAKeyGivenForItsId) {
  TempDir dir;
  std::string path = dir.File("keys.json");
  auto a = CreateKey(path, "svc", {"a"}, std::nullopt, "", kNow);
  ASSERT_TRUE(a.ok());
  const std::string other = GenerateApiKey().key;
  for (const std::string& arg : {a->key, other, a->key + "x", std::string("SECRETMARKER-0123456789")}) {
    Status revoked = RevokeKey(path, arg, kNow);
    EXPECT_EQ(revoked.code(), StatusCode::kInvalidArgument);
    auto rotated = RotateKey(path, arg, kNow);
    EXPECT_EQ(rotated.status().code(), StatusCode::kInvalidArgument);
    for (const std::string& m : {revoked.message(), rotated.status().message()}) {
      EXPECT_EQ(m.find(arg.substr(13, 20)), std::string::npos) << m;
      EXPECT_EQ(m.find("atk_"), std::string::npos) << m;
    }
  }
  // The key's own id is named, so the operator can go on.
  EXPECT_NE(RevokeKey(path, a->key, kNow).message().find("its id is " + a->id), std::string::npos);
  auto keys = ListKeys(path);
  ASSERT_TRUE(keys.ok());
  EXPECT_FALSE((*keys)[0].revoked_ns);
}

TEST(KeyStoreTest, ConcurrentCreatesAreAllKept) {
  TempDir dir;
  std::string path = dir.File("keys.json");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 5; ++i) {
        EXPECT_TRUE(CreateKey(path, "svc", {}, std::nullopt, "", kNow).ok());
      }
    });
  }
  for (auto& t : threads) t.join();
  auto keys = ListKeys(path);
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(keys->size(), 20u);
}

}  // namespace
}  // namespace apitrail
