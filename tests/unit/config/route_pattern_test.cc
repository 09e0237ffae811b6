#include "config/route_pattern.h"

#include <gtest/gtest.h>

namespace apitrail {
namespace {

TEST(RoutePatternTest, ParsesAndNormalises) {
  RoutePattern p;
  std::string err;
  ASSERT_TRUE(ParseRouteMatch("  GET \t /v1/orders/{order_id}  ", &p, &err)) << err;
  EXPECT_EQ(p.method, "GET");
  ASSERT_EQ(p.segments.size(), 3u);
  EXPECT_EQ(p.segments[2].kind, RoutePattern::SegmentKind::kParam);
  EXPECT_EQ(p.segments[2].text, "order_id");
  EXPECT_FALSE(p.prefix);
  EXPECT_EQ(p.Template(), "GET /v1/orders/{order_id}");
  EXPECT_EQ(p.ShapeKey(), "GET /v1/orders/{}");

  ASSERT_TRUE(ParseRouteMatch("* /internal/**", &p, &err)) << err;
  EXPECT_TRUE(p.prefix);
  EXPECT_EQ(p.Template(), "* /internal/**");
  ASSERT_TRUE(ParseRouteMatch("GET /", &p, &err)) << err;
  EXPECT_TRUE(p.segments.empty());
  EXPECT_EQ(p.Path(), "/");
  ASSERT_TRUE(ParseRouteMatch("* /**", &p, &err)) << err;
  EXPECT_EQ(p.Path(), "/**");
  ASSERT_TRUE(ParseRouteMatch("GET /v1/users:search/@me/a+b", &p, &err)) << err;
}

TEST(RoutePatternTest, StripPrefix) {
  RoutePattern p;
  std::string err;
  size_t n = 99;
  ASSERT_TRUE(ParseRouteMatch("* /internal/v2/**", &p, &err));
  EXPECT_TRUE(ParseStripPrefix(p, "", &n, &err));
  EXPECT_EQ(n, 0u);
  EXPECT_TRUE(ParseStripPrefix(p, "/internal", &n, &err)) << err;
  EXPECT_EQ(n, 1u);
  EXPECT_TRUE(ParseStripPrefix(p, "/internal/v2/", &n, &err)) << err;
  EXPECT_EQ(n, 2u);
  EXPECT_TRUE(ParseStripPrefix(p, "/", &n, &err)) << err;
  EXPECT_EQ(n, 0u);
  EXPECT_FALSE(ParseStripPrefix(p, "/intern", &n, &err));
  EXPECT_FALSE(ParseStripPrefix(p, "/internal/v2/x", &n, &err));
  EXPECT_FALSE(ParseStripPrefix(p, "internal", &n, &err));
  EXPECT_FALSE(ParseStripPrefix(p, "/internal/**", &n, &err));
}

TEST(RoutePatternTest, HttpTokens) {
  EXPECT_TRUE(IsHttpToken("X-Request-ID"));
  EXPECT_FALSE(IsHttpToken(""));
  EXPECT_FALSE(IsHttpToken("X Request"));
  EXPECT_FALSE(IsHttpToken("X:Y"));
}

}  // namespace
}  // namespace apitrail
