#include <gtest/gtest.h>

#include "config/config_loader.h"

namespace apitrail {
namespace {

TEST(ParseHostPortTest, Forms) {
  HostPort hp;
  std::string err;
  ASSERT_TRUE(ParseHostPort("10.1.2.3:8080", &hp, &err)) << err;
  EXPECT_EQ(hp.host, "10.1.2.3");
  EXPECT_EQ(hp.port, 8080);
  ASSERT_TRUE(ParseHostPort("[::1]:80", &hp, &err)) << err;
  EXPECT_EQ(hp.host, "::1");
  EXPECT_EQ(hp.ToString(), "[::1]:80");
  ASSERT_TRUE(ParseHostPort(":8080", &hp, &err)) << err;
  EXPECT_EQ(hp.host, "127.0.0.1");
  ASSERT_TRUE(ParseHostPort("api.internal:443", &hp, &err)) << err;
  EXPECT_EQ(hp.host, "api.internal");
  // Docker service and container names: resolvers answer them though RFC 1123 has no '_'.
  ASSERT_TRUE(ParseHostPort("billing_api:8080", &hp, &err)) << err;
  EXPECT_EQ(hp.host, "billing_api");
  ASSERT_TRUE(ParseHostPort("orders_db_1.internal:5432", &hp, &err)) << err;
  ASSERT_TRUE(ParseHostPort("0.0.0.0:0", &hp, &err)) << err;
  EXPECT_EQ(hp.port, 0);
}

TEST(ParseHostPortTest, Rejects) {
  HostPort hp;
  std::string err;
  for (const char* bad : {"", "8080", "host:", "host:http", "host:65536", "::1:80", "[::1]",
                          "[::1]80", "[1.2.3.4]:80", "-bad-:80", "a..b:80", "host:+80",
                          "a b:80", "a/b:80", "a_.-b:80"}) {
    EXPECT_FALSE(ParseHostPort(bad, &hp, &err)) << bad;
    EXPECT_FALSE(err.empty()) << bad;
  }
}

// User info where host:port belongs is refused without quoting it: it is a credential.
TEST(ParseHostPortTest, UserInfoIsNeverQuoted) {
  HostPort hp;
  std::string err;
  for (const char* bad : {"https://ghp_SECRET@api.internal", "SECRET@api.internal:443",
                          "user:SECRET@api.internal:443", "[::1]@SECRET:443", "SECRET@[::1]:80",
                          "https://user:SECRET@api.internal:443"}) {
    EXPECT_FALSE(ParseHostPort(bad, &hp, &err)) << bad;
    EXPECT_NE(err.find("user info"), std::string::npos) << err;
    EXPECT_EQ(err.find("SECRET"), std::string::npos) << err;
  }
}

TEST(CidrTest, ParseAndContainsV4) {
  Cidr c;
  std::string err;
  ASSERT_TRUE(ParseCidr("10.0.0.0/8", &c, &err)) << err;
  EXPECT_EQ(c.prefix_len, 104);
  EXPECT_TRUE(CidrContains(c, "10.200.3.4"));
  EXPECT_TRUE(CidrContains(c, "::ffff:10.1.1.1"));  // IPv4-mapped form of the same address
  EXPECT_FALSE(CidrContains(c, "11.0.0.1"));
  Cidr v6;
  ASSERT_TRUE(ParseCidr("2001:db8::/32", &v6, &err));
  EXPECT_TRUE(AnyCidrContains({v6, c}, "10.9.9.9"));
  EXPECT_TRUE(AnyCidrContains({v6, c}, "2001:db8::7"));
  EXPECT_FALSE(AnyCidrContains({v6, c}, "11.0.0.1"));
  EXPECT_FALSE(AnyCidrContains({v6, c}, "not an address"));
  EXPECT_FALSE(AnyCidrContains({}, "10.9.9.9"));
  EXPECT_FALSE(CidrContains(c, "not-an-ip"));
  ASSERT_TRUE(ParseCidr("192.168.1.0/25", &c, &err)) << err;
  EXPECT_TRUE(CidrContains(c, "192.168.1.127"));
  EXPECT_FALSE(CidrContains(c, "192.168.1.128"));
  ASSERT_TRUE(ParseCidr("203.0.113.9", &c, &err)) << err;  // single host
  EXPECT_TRUE(CidrContains(c, "203.0.113.9"));
  EXPECT_FALSE(CidrContains(c, "203.0.113.8"));
  ASSERT_TRUE(ParseCidr("0.0.0.0/0", &c, &err)) << err;
  EXPECT_TRUE(CidrContains(c, "8.8.8.8"));
  EXPECT_FALSE(CidrContains(c, "2001:db8::1"));  // /0 of IPv4 is all IPv4, not all IPv6
}

TEST(CidrTest, ParseAndContainsV6) {
  Cidr c;
  std::string err;
  ASSERT_TRUE(ParseCidr("fd00::/8", &c, &err)) << err;
  EXPECT_TRUE(CidrContains(c, "fd12:3456::1"));
  EXPECT_TRUE(CidrContains(c, "[fd12::1]"));
  EXPECT_FALSE(CidrContains(c, "fe80::1"));
  EXPECT_FALSE(CidrContains(c, "10.0.0.1"));
  ASSERT_TRUE(ParseCidr("::1", &c, &err)) << err;
  EXPECT_TRUE(CidrContains(c, "::1"));
}

TEST(CidrTest, Rejects) {
  Cidr c;
  std::string err;
  for (const char* bad : {"", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/-1", "fd00::/129",
                          "10.0.0.1/8", "host/8", "10.0.0.0/8x", "fe80::1%eth0/128"}) {
    EXPECT_FALSE(ParseCidr(bad, &c, &err)) << bad;
  }
}

}  // namespace
}  // namespace apitrail
