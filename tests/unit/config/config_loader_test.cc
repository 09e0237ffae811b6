// Loading valid configurations: every key reaches its field, defaults, relative paths.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "config/config_loader.h"
#include "config_test_util.h"

namespace apitrail {
namespace {

using testing_config::BaseYaml;
using testing_config::Dump;

constexpr char kFullYaml[] = R"(
node: edge-1
log_level: debug
gateway:
  listen: 0.0.0.0:9080
  workers: 4
  max_header_bytes: 32768
  max_headers: 50
  max_body_bytes: 1048576
  header_timeout_ms: 5000
  idle_timeout_ms: 30000
  body_timeout_ms: 20000
  upstream_connect_timeout_ms: 1000
  upstream_response_timeout_ms: 15000
  drain_timeout_ms: 3000
  max_connections: 500
  trusted_proxies: [10.0.0.0/8, "fd00::/8", 192.168.1.7]
  unmatched: pass
  default_upstream: api
  request_id_header: X-Correlation-ID
  add_forwarded_headers: false
upstreams:
  - name: api
    address: 127.0.0.1:8090
    max_idle_connections: 16
  - name: legacy
    address: "[::1]:8091"
routes:
  - match: GET /v1/orders/{order_id}
    upstream: api
    scopes: [orders:read]
  - match: "*   /internal/**"
    upstream: legacy
    strip_prefix: /internal
    sensitive: true
auth:
  api_keys:
    enabled: false
    file: /etc/apitrail/keys.json
    headers: [X-API-Key]
  jwt:
    - issuer: https://id.example.com/
      audiences: [orders-api]
      algorithms: [RS256, ES256]
      jwks_file: /etc/apitrail/jwks.json
      subject_claim: email
      leeway_s: 30
      max_token_bytes: 4096
    - algorithms: [HS256]
      secret_file: /etc/apitrail/hs.key
      allow_any_audience: true
      require_exp: false
  identity_headers:
    subject: X-User
    auth_method: X-Auth-Method
    scopes: X-Scopes
  realm: orders
redaction:
  extra: [ticket, x-signing-nonce]
audit:
  data_dir: /var/lib/apitrail
  durability: batch
  batch_interval_ms: 20
  queue_capacity: 1000
  fail_open: true
  max_segment_bytes: 67108864
admin:
  enabled: true
  listen: 127.0.0.1:9081
  tokens: ["0123456789abcdef0123"]
  token_file: /etc/apitrail/admin.tokens
)";

TEST(ConfigLoaderTest, FullFileLoadsEveryValue) {
  ConfigLoadResult r = LoadConfigString(kFullYaml);
  ASSERT_TRUE(r.ok()) << Dump(r.errors);
  const Config& c = r.config;
  EXPECT_EQ(c.node, "edge-1");
  EXPECT_EQ(c.log_level, "debug");
  const GatewayConfig& g = c.gateway;
  EXPECT_EQ(g.listen.ToString(), "0.0.0.0:9080");
  EXPECT_EQ(g.workers, 4);
  EXPECT_EQ(g.max_header_bytes, 32768u);
  EXPECT_EQ(g.max_headers, 50u);
  EXPECT_EQ(g.max_body_bytes, 1048576u);
  EXPECT_EQ(g.header_timeout_ms, 5000u);
  EXPECT_EQ(g.idle_timeout_ms, 30000u);
  EXPECT_EQ(g.body_timeout_ms, 20000u);
  EXPECT_EQ(g.upstream_connect_timeout_ms, 1000u);
  EXPECT_EQ(g.upstream_response_timeout_ms, 15000u);
  EXPECT_EQ(g.drain_timeout_ms, 3000u);
  EXPECT_EQ(g.max_connections, 500u);
  ASSERT_EQ(g.trusted_proxies.size(), 3u);
  EXPECT_EQ(g.trusted_proxies[0].text, "10.0.0.0/8");
  EXPECT_EQ(g.trusted_proxies[0].prefix_len, 104);
  EXPECT_EQ(g.trusted_proxies[1].prefix_len, 8);
  EXPECT_EQ(g.trusted_proxies[2].prefix_len, 128);
  EXPECT_EQ(g.unmatched, "pass");
  EXPECT_EQ(g.default_upstream, "api");
  EXPECT_EQ(g.request_id_header, "X-Correlation-ID");
  EXPECT_FALSE(g.add_forwarded_headers);

  ASSERT_EQ(c.upstreams.size(), 2u);
  EXPECT_EQ(c.upstreams[0].name, "api");
  EXPECT_EQ(c.upstreams[0].address.ToString(), "127.0.0.1:8090");
  EXPECT_EQ(c.upstreams[0].max_idle_connections, 16u);
  EXPECT_EQ(c.upstreams[1].address.host, "::1");
  EXPECT_EQ(c.upstreams[1].address.ToString(), "[::1]:8091");
  EXPECT_EQ(c.upstreams[1].max_idle_connections, 64u);

  ASSERT_EQ(c.routes.size(), 2u);
  EXPECT_EQ(c.routes[0].method, "GET");
  EXPECT_EQ(c.routes[0].pattern, "/v1/orders/{order_id}");
  EXPECT_EQ(c.routes[0].scopes, std::vector<std::string>{"orders:read"});
  EXPECT_FALSE(c.routes[0].sensitive);
  EXPECT_EQ(c.routes[1].method, "*");
  EXPECT_EQ(c.routes[1].pattern, "/internal/**");
  EXPECT_EQ(c.routes[1].strip_prefix, "/internal");
  EXPECT_TRUE(c.routes[1].sensitive);

  const AuthConfig& a = c.auth;
  EXPECT_FALSE(a.api_keys.enabled);
  EXPECT_EQ(a.api_keys.file, "/etc/apitrail/keys.json");
  EXPECT_EQ(a.api_keys.headers, std::vector<std::string>{"X-API-Key"});
  ASSERT_EQ(a.jwt.size(), 2u);
  EXPECT_EQ(a.jwt[0].issuer, "https://id.example.com/");
  EXPECT_EQ(a.jwt[0].audiences, std::vector<std::string>{"orders-api"});
  EXPECT_EQ(a.jwt[0].algorithms, (std::vector<std::string>{"RS256", "ES256"}));
  EXPECT_EQ(a.jwt[0].jwks_file, "/etc/apitrail/jwks.json");
  EXPECT_EQ(a.jwt[0].subject_claim, "email");
  EXPECT_EQ(a.jwt[0].leeway_s, 30u);
  EXPECT_EQ(a.jwt[0].max_token_bytes, 4096u);
  EXPECT_EQ(a.jwt[1].secret_file, "/etc/apitrail/hs.key");
  EXPECT_EQ(a.jwt[1].subject_claim, "sub");
  EXPECT_FALSE(a.jwt[0].allow_any_audience);
  EXPECT_TRUE(a.jwt[0].require_exp);
  EXPECT_TRUE(a.jwt[1].allow_any_audience);
  EXPECT_FALSE(a.jwt[1].require_exp);
  EXPECT_EQ(a.identity_headers.subject, "X-User");
  EXPECT_EQ(a.identity_headers.auth_method, "X-Auth-Method");
  EXPECT_EQ(a.identity_headers.scopes, "X-Scopes");
  EXPECT_EQ(a.realm, "orders");
  EXPECT_EQ(c.redaction.extra, (std::vector<std::string>{"ticket", "x-signing-nonce"}));

  EXPECT_EQ(c.audit.data_dir, "/var/lib/apitrail");
  EXPECT_EQ(c.audit.durability, "batch");
  EXPECT_EQ(c.audit.batch_interval_ms, 20u);
  EXPECT_EQ(c.audit.queue_capacity, 1000u);
  EXPECT_TRUE(c.audit.fail_open);
  EXPECT_EQ(c.audit.max_segment_bytes, 67108864u);
  EXPECT_TRUE(c.admin.enabled);
  EXPECT_EQ(c.admin.listen.ToString(), "127.0.0.1:9081");
  EXPECT_EQ(c.admin.tokens.size(), 1u);
  EXPECT_EQ(c.admin.token_file, "/etc/apitrail/admin.tokens");
}

TEST(ConfigLoaderTest, MinimalFileKeepsDefaults) {
  ConfigLoadResult r = LoadConfigString(BaseYaml());
  ASSERT_TRUE(r.ok()) << Dump(r.errors);
  Config defaults;
  EXPECT_EQ(r.config.node, defaults.node);
  EXPECT_EQ(r.config.gateway.listen.ToString(), "127.0.0.1:8080");
  EXPECT_EQ(r.config.gateway.max_header_bytes, defaults.gateway.max_header_bytes);
  EXPECT_EQ(r.config.audit.durability, "response");
  EXPECT_EQ(r.config.admin.listen.ToString(), "127.0.0.1:8081");
  EXPECT_EQ(r.config.auth.api_keys.headers, defaults.auth.api_keys.headers);
}

TEST(ConfigLoaderTest, EmptyKeysMeanDefaults) {
  ConfigLoadResult r = LoadConfigString(BaseYaml() + "gateway:\nredaction:\n  extra:\n");
  ASSERT_TRUE(r.ok()) << Dump(r.errors);
  EXPECT_EQ(r.config.gateway.workers, 0);
}

TEST(ConfigLoaderTest, ListenWithoutHostDefaultsToLoopback) {
  ConfigLoadResult r = LoadConfigString(BaseYaml() + "gateway:\n  listen: ':9000'\n");
  ASSERT_TRUE(r.ok()) << Dump(r.errors);
  EXPECT_EQ(r.config.gateway.listen.ToString(), "127.0.0.1:9000");
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "apitrail-cfg-XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

TEST(ConfigLoaderTest, RelativePathsResolveAgainstTheConfigDirectory) {
  TempDir dir;
  std::filesystem::create_directories(dir.path() / "etc");
  std::filesystem::path file = dir.path() / "etc" / "apitrail.yaml";
  std::ofstream(file) << R"(
upstreams: [{name: api, address: "127.0.0.1:8090"}]
auth:
  api_keys: {file: keys/keys.json}
  jwt:
    - algorithms: [RS256]
      audiences: [api]
      key_file: ./jwt/pub.pem
      jwks_file: ../jwks.json
    - algorithms: [HS256]
      audiences: [api]
      secret_file: hs.key
audit: {data_dir: ./data}
admin: {token_file: admin.tokens}
)";
  ConfigLoadResult r = LoadConfigFile(file.string());
  ASSERT_TRUE(r.ok()) << Dump(r.errors);
  const std::filesystem::path etc = dir.path() / "etc";
  EXPECT_EQ(r.config.auth.api_keys.file, (etc / "keys/keys.json").string());
  EXPECT_EQ(r.config.auth.jwt[0].key_file, (etc / "jwt/pub.pem").string());
  EXPECT_EQ(r.config.auth.jwt[0].jwks_file, (dir.path() / "jwks.json").string());
  EXPECT_EQ(r.config.auth.jwt[1].secret_file, (etc / "hs.key").string());
  EXPECT_EQ(r.config.audit.data_dir, (etc / "data").string());
  EXPECT_EQ(r.config.admin.token_file, (etc / "admin.tokens").string());
}

// `-c apitrail.yaml` names the config relative to the working directory: its paths still
// come out absolute, next to it.
TEST(ConfigLoaderTest, ConfigNamedRelativelyStillGivesAbsolutePaths) {
  TempDir dir;
  std::ofstream(dir.path() / "apitrail.yaml") << BaseYaml() << "audit: {data_dir: data}\n";
  const std::filesystem::path cwd = std::filesystem::current_path();
  std::filesystem::current_path(dir.path());
  ConfigLoadResult r = LoadConfigFile("apitrail.yaml");
  std::filesystem::current_path(cwd);
  ASSERT_TRUE(r.ok()) << Dump(r.errors);
  EXPECT_EQ(r.config.audit.data_dir, (std::filesystem::canonical(dir.path()) / "data").string());
}

TEST(ConfigLoaderTest, AbsolutePathsAreKept) {
  TempDir dir;
  std::filesystem::path file = dir.path() / "a.yaml";
  std::ofstream(file) << BaseYaml() << "audit: {data_dir: /var/lib/apitrail}\n";
  ConfigLoadResult r = LoadConfigFile(file.string());
  ASSERT_TRUE(r.ok()) << Dump(r.errors);
  EXPECT_EQ(r.config.audit.data_dir, "/var/lib/apitrail");
}

TEST(ConfigLoaderTest, MissingFileIsOneError) {
  ConfigLoadResult r = LoadConfigFile("/nonexistent/apitrail.yaml");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].path, "");
  EXPECT_NE(r.errors[0].message.find("/nonexistent/apitrail.yaml"), std::string::npos);
}

TEST(ConfigLoaderTest, DirectoryIsOneError) {
  TempDir dir;
  ConfigLoadResult r = LoadConfigFile(dir.path().string());
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].message.find("is a directory"), std::string::npos);
}

TEST(ConfigLoaderTest, ExampleFileIsValid) {
  ConfigLoadResult r = LoadConfigFile(APITRAIL_EXAMPLE_CONFIG);
  ASSERT_TRUE(r.ok()) << Dump(r.errors);
  EXPECT_EQ(r.config.routes.size(), 6u);
  EXPECT_EQ(r.config.upstreams.at(0).address.ToString(), "127.0.0.1:8090");
}

// The "Complete example" at the end of docs/CONFIG.md must stay loadable.
TEST(ConfigLoaderTest, DocumentedCompleteExampleIsValid) {
  std::ifstream in(APITRAIL_CONFIG_DOC);
  ASSERT_TRUE(in) << APITRAIL_CONFIG_DOC;
  std::string doc((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t start = doc.rfind("```yaml\n");
  ASSERT_NE(start, std::string::npos);
  start += 8;
  size_t end = doc.find("```", start);
  ASSERT_NE(end, std::string::npos);
  ConfigLoadResult r = LoadConfigString(doc.substr(start, end - start));
  ASSERT_TRUE(r.ok()) << Dump(r.errors);
  EXPECT_EQ(r.config.routes.size(), 4u);
  EXPECT_EQ(r.config.auth.jwt.size(), 2u);
}

TEST(ValidateConfigTest, FillsMethodAndPatternFromMatchAndViceVersa) {
  Config c;
  c.admin.enabled = false;
  c.upstreams.push_back({"api", {"127.0.0.1", 8090}});
  RouteConfig a;
  a.match = "POST\t /v1/orders";
  a.upstream = "api";
  RouteConfig b;  // built in code, as `demo` does
  b.method = "GET";
  b.pattern = "/v1/users/{user_id}";
  b.upstream = "api";
  c.routes = {a, b};
  std::vector<ConfigError> errors = ValidateConfig(c);
  ASSERT_TRUE(errors.empty()) << Dump(errors);
  EXPECT_EQ(c.routes[0].method, "POST");
  EXPECT_EQ(c.routes[0].pattern, "/v1/orders");
  EXPECT_EQ(c.routes[1].match, "GET /v1/users/{user_id}");
}

}  // namespace
}  // namespace apitrail
