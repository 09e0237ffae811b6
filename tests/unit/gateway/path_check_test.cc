#include "gateway/path_check.h"

#include <gtest/gtest.h>

namespace apitrail {
namespace {

bool Accepts(std::string_view target) {
  std::string_view path, query;
  return CheckRequestTarget(target, &path, &query).ok();
}

TEST(PathCheckTest, SplitsPathAndQuery) {
  std::string_view path, query;
  ASSERT_TRUE(CheckRequestTarget("/v1/orders/42?expand=items&x=%2F", &path, &query).ok());
  EXPECT_EQ(path, "/v1/orders/42");
  EXPECT_EQ(query, "expand=items&x=%2F");  // the query may encode anything
  ASSERT_TRUE(CheckRequestTarget("/", &path, &query).ok());
  EXPECT_EQ(path, "/");
  EXPECT_EQ(query, "");
  ASSERT_TRUE(CheckRequestTarget("/a?", &path, &query).ok());
  EXPECT_EQ(path, "/a");
  EXPECT_EQ(query, "");
}

TEST(PathCheckTest, AcceptsNormalPaths) {
  for (const char* t : {"/", "/v1/users/42", "/v1/users/42/", "/a/b.c/...", "/a/.well-known",
                        "/files/r%C3%A9sum%C3%A9.pdf", "/a/%2e%2e%2e", "/a/..b", "/a/b..",
                        "/v1/users:search", "/a/%20b", "/~user/@me", "/q?a=b?c"}) {
    EXPECT_TRUE(Accepts(t)) << t;
  }
}

TEST(PathCheckTest, RejectsTraversal) {
  for (const char* t :
       {"/..", "/../etc/passwd", "/a/../b", "/a/./b", "/a/.", "/a/..", "/a/..?x=1", "/a/%2e%2e/b",
        "/a/%2E%2E/b", "/a/.%2e/b", "/a/%2e./b", "/a/%2e", "/a/%2E/b", "/."}) {
    EXPECT_FALSE(Accepts(t)) << t;
  }
}

TEST(PathCheckTest, RejectsEncodedSeparatorsAndNul) {
  for (const char* t : {"/a%2fb", "/a%2Fb", "/a%5cb", "/a%5Cb", "/a\\b", "/a%00b",
                        "/admin;x=1/export", "/a//b", "//a"}) {
    EXPECT_FALSE(Accepts(t)) << t;
  }
}

TEST(PathCheckTest, RejectsMalformedEscapesAndCharacters) {
  for (const char* t :
       {"/a%", "/a%4", "/a%zz", "/a%g0", "/a b", "/a\tb", "/a#frag", "/a?b#c", "/a?b c", "/a\x7f",
        "/caf\xc3\xa9", "", "a/b", "*", "http://example.com/a"}) {
    EXPECT_FALSE(Accepts(t)) << t;
  }
  EXPECT_FALSE(Accepts(std::string_view("/a\0b", 4)));
}

TEST(PathCheckTest, RejectsOverlongTargets) {
  std::string t = "/" + std::string(kMaxRequestTargetBytes - 1, 'a');
  EXPECT_TRUE(Accepts(t));
  t.push_back('a');
  EXPECT_FALSE(Accepts(t));
}

TEST(PathCheckTest, LeavesOutputsUntouchedOnFailure) {
  std::string_view path = "keep", query = "keep";
  EXPECT_FALSE(CheckRequestTarget("/a/../b", &path, &query).ok());
  EXPECT_EQ(path, "keep");
  EXPECT_EQ(query, "keep");
}

// A refused target is still recorded; its query goes to the Redactor, and neither its
// fragment nor the userinfo of an absolute-form target is kept.
TEST(PathCheckTest, RefusedTargetIsSplitWithoutItsSecrets) {
  std::string path;
  std::string_view query;
  SplitRefusedTarget("//v1/x?access_token=SECRET&a=1", &path, &query);
  EXPECT_EQ(path, "//v1/x");
  EXPECT_EQ(query, "access_token=SECRET&a=1");
  SplitRefusedTarget("/v1/x?token=SECRET#frag=SECRET2", &path, &query);
  EXPECT_EQ(path, "/v1/x");
  EXPECT_EQ(query, "token=SECRET");
  SplitRefusedTarget("/v1/x#access_token=SECRET?b=2", &path, &query);
  EXPECT_EQ(path, "/v1/x");
  EXPECT_EQ(query, "");
  SplitRefusedTarget("http://user:SECRET@api.example/v1/x?a=1", &path, &query);
  EXPECT_EQ(path, "http://[REDACTED]@api.example/v1/x");
  EXPECT_EQ(query, "a=1");
  SplitRefusedTarget("https://SECRET@a@api.example", &path, &query);
  EXPECT_EQ(path, "https://[REDACTED]@api.example");
  // An '@' in the path is no userinfo.
  SplitRefusedTarget("http://api.example/users/a@b.example", &path, &query);
  EXPECT_EQ(path, "http://api.example/users/a@b.example");
  SplitRefusedTarget("/users/a@b.example/../x", &path, &query);
  EXPECT_EQ(path, "/users/a@b.example/../x");
  const std::string long_target = "/" + std::string(5000, 'a') + "?q=1";  // query views it
  SplitRefusedTarget(long_target, &path, &query);
  EXPECT_EQ(path.size(), 2048u);
  EXPECT_EQ(query, "q=1");
}

TEST(HostFieldTest, RecordedWithoutUserinfo) {
  EXPECT_EQ(HostForRecord("api.example:8080"), "api.example:8080");
  EXPECT_EQ(HostForRecord("user:SECRET@api.example"), "[REDACTED]@api.example");
  EXPECT_EQ(HostForRecord("a@SECRET@api.example:1"), "[REDACTED]@api.example:1");
  EXPECT_EQ(HostForRecord(std::string(300, 'h')).size(), 256u);
}

TEST(HostFieldTest, AcceptsWhatRfc9110Allows) {
  for (const char* ok :
       {"", "api.example.com", "api.example.com:8443", "127.0.0.1", "127.0.0.1:80", "[::1]",
        "[::1]:8080", "[2001:db8::7]", "[v1.fe80::a+en1]", "host:", "xn--bcher-kva.example",
        "a_b~c", "a%2Db.example", "sub-delims!$&'()*+,;=.example"}) {
    EXPECT_TRUE(IsValidHostField(ok)) << ok;
  }
}

TEST(HostFieldTest, RefusesListsPathsUserinfoAndBadPorts) {
  for (const char* bad :
       {"a.example, b.example", "a.example b.example", "evil.example/x", "user@a.example",
        "a.example:8o", "a.example:80:80", "a.example:-1", "[::1", "[]", "[::1]x", "[::1]:8o",
        "a%2.example", "a%zz.example", "a.example\\x", "a\"b", "a.example#f", "a.example?q", "\x7f",
        "caf\xc3\xa9.example"}) {
    EXPECT_FALSE(IsValidHostField(bad)) << bad;
  }
  EXPECT_FALSE(IsValidHostField(std::string_view("a\0b", 3)));
}

TEST(PercentDecodeTest, Decodes) {
  EXPECT_EQ(PercentDecode("a%20b+c", false), "a b+c");
  EXPECT_EQ(PercentDecode("a%20b+c", true), "a b c");
  EXPECT_EQ(PercentDecode("%zz%4%", true), "%zz%4%");
  EXPECT_EQ(PercentDecode("%C3%A9", false), "\xc3\xa9");
  EXPECT_EQ(PercentDecode("plain-value_1.2", true), "plain-value_1.2");  // nothing to decode
  EXPECT_EQ(PercentDecode("a+b", false), "a+b");
  EXPECT_EQ(PercentDecode("", true), "");
}

}  // namespace
}  // namespace apitrail
