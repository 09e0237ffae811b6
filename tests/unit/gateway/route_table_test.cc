// RouteTable: parameter extraction, precedence, prefix routes, misses (docs/CONFIG.md,
// "Route precedence").
#include "gateway/route_table.h"

#include <gtest/gtest.h>

#include "config/config_loader.h"

namespace apitrail {
namespace {

struct R {
  const char* match;
  const char* strip_prefix = "";
  const char* upstream = "api";
};

class RouteTableTest : public ::testing::Test {
 protected:
  void Build(std::initializer_list<R> routes) {
    Config c;
    c.admin.enabled = false;
    c.upstreams.push_back({"api", {"127.0.0.1", 8090}});
    c.upstreams.push_back({"legacy", {"127.0.0.1", 8091}});
    for (const R& r : routes) {
      RouteConfig rc;
      rc.match = r.match;
      rc.strip_prefix = r.strip_prefix;
      rc.upstream = r.upstream;
      rc.sensitive = rc.match.find("admin") != std::string::npos;
      c.routes.push_back(rc);
    }
    std::vector<ConfigError> errors = ValidateConfig(c);
    ASSERT_TRUE(errors.empty()) << errors[0].ToString();
    auto t = RouteTable::Create(c);
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    table_ = std::move(t).value();
  }
  // The matched template, or "" on a miss.
  std::string Route(std::string_view method, std::string_view path) {
    auto m = table_->Match(method, path);
    return m ? std::string(m->route_template) : "";
  }

  std::unique_ptr<RouteTable> table_;
};

TEST_F(RouteTableTest, ExtractsAndDecodesParams) {
  Build({{"GET /v1/orders/{order_id}"}, {"GET /v1/users/{user_id}/orders/{order_id}"}});
  auto m = table_->Match("GET", "/v1/orders/42");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->route_index, 0u);
  EXPECT_EQ(m->route_template, "GET /v1/orders/{order_id}");
  EXPECT_EQ(m->resources, (KeyValues{{"order_id", "42"}}));
  EXPECT_EQ(m->upstream_path, "/v1/orders/42");
  m = table_->Match("GET", "/v1/users/al%20ice/orders/a%2Bb+c");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->route_index, 1u);
  EXPECT_EQ(m->resources, (KeyValues{{"user_id", "al ice"}, {"order_id", "a+b+c"}}));
}

// A reset link's token is a secret whether it comes in the query or the path: a parameter
// named like one is recorded "[REDACTED]", in the resources and in the recorded path, and
// forwarded as sent.
TEST_F(RouteTableTest, SecretPathParametersAreRedacted) {
  Build({{"POST /v1/reset/{token}/confirm/{user_id}"},
         {"GET /v1/links/{user_id}/{apiKey}"},
         {"GET /v1/orders/{order_id}"}});
  auto m = table_->Match("POST", "/v1/reset/s3cr%65t-reset-token/confirm/42");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->resources, (KeyValues{{"token", "[REDACTED]"}, {"user_id", "42"}}));
  EXPECT_EQ(m->recorded_path, "/v1/reset/[REDACTED]/confirm/42");
  EXPECT_EQ(m->upstream_path, "/v1/reset/s3cr%65t-reset-token/confirm/42");
  m = table_->Match("GET", "/v1/links/7/atk_x");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->resources, (KeyValues{{"user_id", "7"}, {"apiKey", "[REDACTED]"}}));
  EXPECT_EQ(m->recorded_path, "/v1/links/7/[REDACTED]");
  m = table_->Match("GET", "/v1/orders/42");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->recorded_path, "");  // nothing secret: recorded as sent
}

TEST_F(RouteTableTest, TemplateIsNormalisedMatch) {
  Build({{"GET    /v1/orders/{order_id}"}});
  EXPECT_EQ(Route("GET", "/v1/orders/1"), "GET /v1/orders/{order_id}");
}

TEST_F(RouteTableTest, ParamMatchesExactlyOneNonEmptySegment) {
  Build({{"GET /v1/users/{user_id}"}});
  EXPECT_EQ(Route("GET", "/v1/users/42"), "GET /v1/users/{user_id}");
  EXPECT_EQ(Route("GET", "/v1/users/42/x"), "");
  EXPECT_EQ(Route("GET", "/v1/users/"), "");
  EXPECT_EQ(Route("GET", "/v1/users"), "");
  // Trailing slash is a different path: no match (documented in CONFIG.md).
  EXPECT_EQ(Route("GET", "/v1/users/42/"), "");
}

TEST_F(RouteTableTest, LiteralBeatsParamBeatsPrefix) {
  Build({{"GET /v1/users/{user_id}"}, {"GET /v1/users/me"}, {"GET /v1/**"}});
  EXPECT_EQ(Route("GET", "/v1/users/me"), "GET /v1/users/me");
  EXPECT_EQ(Route("GET", "/v1/users/7"), "GET /v1/users/{user_id}");
  EXPECT_EQ(Route("GET", "/v1/users/7/x"), "GET /v1/**");
  EXPECT_EQ(Route("GET", "/v1/other"), "GET /v1/**");
}

TEST_F(RouteTableTest, BacktracksWhenTheLiteralBranchFails) {
  Build({{"GET /a/b/c"}, {"GET /a/{x}/d"}});
  EXPECT_EQ(Route("GET", "/a/b/d"), "GET /a/{x}/d");
  auto m = table_->Match("GET", "/a/b/d");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->resources, (KeyValues{{"x", "b"}}));
}

TEST_F(RouteTableTest, ExactMethodBeatsAnyMethodAtTheSamePath) {
  Build({{"* /v1/items"}, {"POST /v1/items"}});
  EXPECT_EQ(Route("POST", "/v1/items"), "POST /v1/items");
  EXPECT_EQ(Route("DELETE", "/v1/items"), "* /v1/items");
  EXPECT_EQ(Route("post", "/v1/items"), "* /v1/items");  // methods are case-sensitive
}

TEST_F(RouteTableTest, PathSpecificityBeatsMethodSpecificity) {
  Build({{"GET /v1/{kind}/export"}, {"* /v1/admin/export"}});
  EXPECT_EQ(Route("GET", "/v1/admin/export"), "* /v1/admin/export");
}

TEST_F(RouteTableTest, MethodMismatchFallsBackToTheNextCandidate) {
  Build({{"GET /v1/users/me"}, {"DELETE /v1/users/{user_id}"}});
  EXPECT_EQ(Route("DELETE", "/v1/users/me"), "DELETE /v1/users/{user_id}");
  EXPECT_EQ(Route("PUT", "/v1/users/me"), "");
}

TEST_F(RouteTableTest, LongerPrefixBeatsShorter) {
  Build({{"* /internal/**", "/internal"}, {"* /internal/v2/**", "/internal/v2", "legacy"}});
  auto m = table_->Match("GET", "/internal/v2/health");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->route_template, "* /internal/v2/**");
  EXPECT_EQ(m->upstream_index, 1u);
  EXPECT_EQ(m->upstream_path, "/health");
  m = table_->Match("GET", "/internal/v1/health");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->route_template, "* /internal/**");
  EXPECT_EQ(m->upstream_index, 0u);
  EXPECT_EQ(m->upstream_path, "/v1/health");
}

TEST_F(RouteTableTest, PrefixRouteWithStripPrefix) {
  Build({{"* /internal/**", "/internal"}});
  auto up = [&](std::string_view path) {
    auto m = table_->Match("PATCH", path);
    return m ? std::string(m->upstream_path) : "<miss>";
  };
  EXPECT_EQ(up("/internal/a/b"), "/a/b");
  EXPECT_EQ(up("/internal/a/b/"), "/a/b/");
  EXPECT_EQ(up("/internal/"), "/");
  EXPECT_EQ(up("/internal"), "/");  // "/**" also matches zero remaining segments
  EXPECT_EQ(up("/internalx"), "<miss>");
  EXPECT_EQ(up("/other"), "<miss>");
}

TEST_F(RouteTableTest, PrefixRouteWithoutStripKeepsThePath) {
  Build({{"GET /static/**"}, {"* /**", "", "legacy"}});
  auto m = table_->Match("GET", "/static/css/a.css");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->upstream_path, "/static/css/a.css");
  m = table_->Match("GET", "/");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->route_template, "* /**");
  EXPECT_EQ(m->upstream_path, "/");
}

TEST_F(RouteTableTest, StripPrefixWithParams) {
  Build({{"GET /t/{tenant}/**", "/t/{tenant}"}});
  auto m = table_->Match("GET", "/t/acme/v1/x");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->resources, (KeyValues{{"tenant", "acme"}}));
  EXPECT_EQ(m->upstream_path, "/v1/x");
}

TEST_F(RouteTableTest, RootRoute) {
  Build({{"GET /"}});
  EXPECT_EQ(Route("GET", "/"), "GET /");
  EXPECT_EQ(Route("GET", "/x"), "");
}

TEST_F(RouteTableTest, LiteralsMatchPercentEncodedForms) {
  // An upstream decodes %75 to 'u': the sensitive route must still apply.
  Build({{"GET /v1/admin/export"}, {"GET /v1/{x}/{y}"}});
  auto m = table_->Match("GET", "/v1/%61dmin/%65xport");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->route_template, "GET /v1/admin/export");
  EXPECT_TRUE(m->sensitive);
}

TEST_F(RouteTableTest, ManyLiteralsAtOneLevel) {
  Build({{"GET /a"}, {"GET /b"}, {"GET /c"}, {"GET /aa"}, {"GET /ab"}, {"GET /z"}});
  for (const char* p : {"a", "b", "c", "aa", "ab", "z"}) {
    EXPECT_EQ(Route("GET", std::string("/") + p), std::string("GET /") + p);
  }
  EXPECT_EQ(Route("GET", "/%61%61"), "GET /aa");
  EXPECT_EQ(Route("GET", "/ac"), "");
}

TEST_F(RouteTableTest, Miss) {
  Build({{"GET /v1/orders/{order_id}"}});
  EXPECT_FALSE(table_->Match("GET", "/v2/orders/1"));
  EXPECT_FALSE(table_->Match("POST", "/v1/orders/1"));
  EXPECT_FALSE(table_->Match("GET", "/"));
  EXPECT_FALSE(table_->default_upstream_index());
}

TEST_F(RouteTableTest, AllowedMethods) {
  Build({{"GET /v1/orders/{order_id}"}, {"DELETE /v1/orders/{order_id}"}, {"PUT /v1/orders/1"},
         {"* /v1/**"}});
  EXPECT_EQ(table_->AllowedMethods("/v1/orders/1"),
            (std::vector<std::string>{"*", "DELETE", "GET", "PUT"}));
  EXPECT_EQ(table_->AllowedMethods("/v1/orders/2"),
            (std::vector<std::string>{"*", "DELETE", "GET"}));
  EXPECT_TRUE(table_->AllowedMethods("/v2").empty());
}

TEST(RouteTableCreateTest, DefaultUpstreamForPass) {
  Config c;
  c.upstreams.push_back({"a", {"127.0.0.1", 1}});
  c.upstreams.push_back({"b", {"127.0.0.1", 2}});
  c.gateway.unmatched = "pass";
  c.gateway.default_upstream = "b";
  auto t = RouteTable::Create(c);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ((*t)->default_upstream_index(), std::optional<size_t>(1));
}

TEST(RouteTableCreateTest, RejectsUnvalidatedConfig) {
  Config c;
  c.upstreams.push_back({"a", {"127.0.0.1", 1}});
  RouteConfig r;
  r.match = "GET /x";
  r.upstream = "nope";
  c.routes.push_back(r);
  auto t = RouteTable::Create(c);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("routes[0].upstream"), std::string::npos);
}

}  // namespace
}  // namespace apitrail
