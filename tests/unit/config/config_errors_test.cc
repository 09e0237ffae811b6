// Every kind of configuration problem is reported, with the exact key path, all at once,
// and without ever echoing a secret.
#include <gtest/gtest.h>

#include "config/config_loader.h"
#include "config_test_util.h"

namespace apitrail {
namespace {

using testing_config::BaseYaml;
using testing_config::Dump;
using testing_config::ExpectError;
using testing_config::FindError;

TEST(ConfigErrorsTest, UnknownKeyWithSuggestionAndLine) {
  std::string yaml = BaseYaml() + "gateway:\n  listn: 1.2.3.4:80\n";
  ConfigLoadResult r = LoadConfigString(yaml);
  const ConfigError* e = FindError(r.errors, "gateway.listn");
  ASSERT_NE(e, nullptr) << Dump(r.errors);
  EXPECT_EQ(e->message.rfind("unknown key", 0), 0u) << e->message;
  EXPECT_NE(e->message.find("did you mean 'listen'"), std::string::npos) << e->message;
  EXPECT_NE(e->message.find("(line 8)"), std::string::npos) << e->message;
  ExpectError(BaseYaml() + "colour: blue\n", "colour", "unknown key");
  ExpectError(BaseYaml() + "routes:\n  - {match: GET /a, upstream: api, scope: [x]}\n",
              "routes[0].scope", "unknown key");
}

TEST(ConfigErrorsTest, DuplicateKey) {
  ExpectError(BaseYaml() + "node: a\nnode: b\n", "node", "duplicate key");
}

TEST(ConfigErrorsTest, WrongTypes) {
  ExpectError(BaseYaml() + "gateway:\n  workers: many\n", "gateway.workers",
              "expected an integer, got 'many'");
  ExpectError(BaseYaml() + "gateway:\n  workers: 1.5\n", "gateway.workers",
              "expected an integer");
  ExpectError(BaseYaml() + "gateway:\n  add_forwarded_headers: maybe\n",
              "gateway.add_forwarded_headers", "expected true or false, got 'maybe'");
  ExpectError(BaseYaml() + "gateway: [1, 2]\n", "gateway", "expected a map, got a list");
  ExpectError(BaseYaml() + "node: {a: 1}\n", "node", "expected a string, got a map");
  ExpectError(BaseYaml() + "routes: {match: x}\n", "routes", "expected a list");
  ExpectError(BaseYaml() + "redaction:\n  extra: [a, [b]]\n", "redaction.extra[1]",
              "expected a string, got a list");
  ExpectError("just a string\n", "", "expected a map");
  EXPECT_EQ(LoadConfigString("- a\n- b\n").errors.size(), 1u);  // no validation noise
}

TEST(ConfigErrorsTest, NumbersOutOfRange) {
  ExpectError(BaseYaml() + "gateway:\n  max_header_bytes: 100\n", "gateway.max_header_bytes",
              "must be between 1024 and 1048576, got 100");
  ExpectError(BaseYaml() + "gateway:\n  workers: 1000\n", "gateway.workers",
              "between 0 and 256");
  ExpectError(BaseYaml() + "gateway:\n  header_timeout_ms: 0\n", "gateway.header_timeout_ms",
              "between 1 and 3600000");
  ExpectError(BaseYaml() + "gateway:\n  idle_timeout_ms: 99999999\n",
              "gateway.idle_timeout_ms", "between 1 and 3600000");
  ExpectError(BaseYaml() + "gateway:\n  max_body_bytes: 2000000000\n", "gateway.max_body_bytes",
              "between 0 and 1073741824");
  // Does not even fit the field: reported once, by the reader.
  ConfigLoadResult r = LoadConfigString(BaseYaml() + "gateway:\n  max_headers: -1\n");
  ASSERT_EQ(r.errors.size(), 1u) << Dump(r.errors);
  EXPECT_EQ(r.errors[0].path, "gateway.max_headers");
  ExpectError(BaseYaml() + "audit:\n  queue_capacity: 0\n", "audit.queue_capacity",
              "between 1 and 10000000");
  ExpectError(BaseYaml() + "audit:\n  queue_capacity: 99999999999999999999999\n",
              "audit.queue_capacity", "must be between");
  ExpectError(BaseYaml() + "audit:\n  rollups:\n    max_keys: 5\n", "audit.rollups.max_keys",
              "between 10 and 100000");
  ExpectError(BaseYaml() + "audit:\n  rollups:\n    retention_days: 0\n",
              "audit.rollups.retention_days", "between 1 and 400");
  ExpectError(BaseYaml() + "audit:\n  rollups:\n    persist_interval_ms: 10\n",
              "audit.rollups.persist_interval_ms", "between 100 and 3600000");
  ExpectError(BaseYaml() + "audit:\n  rollups:\n    max_key: 50\n", "audit.rollups.max_key",
              "unknown key");
  ConfigLoadResult ok = LoadConfigString(BaseYaml() + "audit:\n  rollups:\n    enabled: false\n    max_keys: 50\n");
  EXPECT_TRUE(ok.errors.empty()) << Dump(ok.errors);
  EXPECT_FALSE(ok.config.audit.rollups.enabled);
  EXPECT_EQ(ok.config.audit.rollups.max_keys, 50u);
}

TEST(ConfigErrorsTest, BadAddresses) {
  ExpectError(BaseYaml() + "gateway:\n  listen: localhost\n", "gateway.listen",
              "expected 'host:port'");
  ExpectError(BaseYaml() + "gateway:\n  listen: 1.2.3.4:99999\n", "gateway.listen", "port");
  ExpectError(BaseYaml() + "gateway:\n  listen: '::1:80'\n", "gateway.listen", "brackets");
  ExpectError(BaseYaml() + "gateway:\n  listen: 'bad_host!:80'\n", "gateway.listen",
              "neither an IP address nor a host name");
  ExpectError(BaseYaml() + "gateway:\n  trusted_proxies: [10.0.0.0/8, 10.0.0.0/40]\n",
              "gateway.trusted_proxies[1]", "prefix length");
  ExpectError(BaseYaml() + "gateway:\n  trusted_proxies: [10.0.0.1/8]\n",
              "gateway.trusted_proxies[0]", "host bits");
  ExpectError(BaseYaml() + "gateway:\n  trusted_proxies: [proxy.local]\n",
              "gateway.trusted_proxies[0]", "not an IP address or CIDR");
  ExpectError("upstreams: [{name: api}]\nadmin: {enabled: false}\n", "upstreams[0].address",
              "required");
}

TEST(ConfigErrorsTest, EnumsAndUnmatched) {
  ExpectError(BaseYaml() + "audit:\n  durability: sometimes\n", "audit.durability",
              "must be one of response, strict, batch, got 'sometimes'");
  ExpectError(BaseYaml() + "gateway:\n  unmatched: drop\n", "gateway.unmatched",
              "must be one of reject, pass");
  ExpectError(BaseYaml() + "gateway:\n  unmatched: pass\n", "gateway.default_upstream",
              "required when gateway.unmatched is 'pass'");
  ExpectError(BaseYaml() + "gateway:\n  unmatched: pass\n  default_upstream: nope\n",
              "gateway.default_upstream", "unknown upstream 'nope'");
  ExpectError(BaseYaml() + "log_level: loud\n", "log_level", "must be one of");
  ExpectError(BaseYaml() + "gateway:\n  request_id_header: 'X Request'\n",
              "gateway.request_id_header", "not a valid header name");
  // A header that carries a credential: its value would be recorded as invalid_request_id.
  for (const char* name : {"Authorization", "proxy_authorization", "COOKIE", "X-API-Key", "x_api_key"}) {
    ExpectError(BaseYaml() + "gateway:\n  request_id_header: " + name + "\n", "gateway.request_id_header",
                "carries credentials");
  }
  ExpectError(BaseYaml() + "gateway:\n  request_id_header: X-Token\nauth:\n  api_keys:\n    headers: [x-token]\n",
              "gateway.request_id_header", "carries credentials");
}

TEST(ConfigErrorsTest, Upstreams) {
  std::string yaml = R"(
upstreams:
  - {name: api, address: "127.0.0.1:1"}
  - {name: api, address: "127.0.0.1:2"}
  - {name: "bad name", address: "127.0.0.1:3"}
admin: {enabled: false}
)";
  ExpectError(yaml, "upstreams[1].name", "duplicate upstream name 'api' (also upstreams[0])");
  ExpectError(yaml, "upstreams[2].name", "must be 1..64");
}

TEST(ConfigErrorsTest, Routes) {
  auto routes = [](const std::string& items) { return BaseYaml() + "routes:\n" + items; };
  std::string two = routes(
      "  - {match: GET /a, upstream: api}\n"
      "  - {match: GET /b, upstream: billing}\n");
  ExpectError(two, "routes[1].upstream", "unknown upstream 'billing' (known: api)");
  ExpectError(routes("  - {upstream: api}\n"), "routes[0].match", "required");
  ExpectError(routes("  - {match: /a, upstream: api}\n"), "routes[0].match",
              "must be 'METHOD /path'");
  ExpectError(routes("  - {match: GET a, upstream: api}\n"), "routes[0].match",
              "must start with '/'");
  ExpectError(routes("  - {match: get /a, upstream: api}\n"), "routes[0].match",
              "did you mean 'GET'");
  ExpectError(routes("  - {match: 'G(T /a', upstream: api}\n"), "routes[0].match",
              "not an HTTP token");
  ExpectError(routes("  - {match: 'GET /a/{1x}', upstream: api}\n"), "routes[0].match",
              "must be an identifier");
  ExpectError(routes("  - {match: 'GET /a/{id}/b/{id}', upstream: api}\n"), "routes[0].match",
              "appears twice");
  ExpectError(routes("  - {match: 'GET /a/v{id}', upstream: api}\n"), "routes[0].match",
              "whole segment");
  ExpectError(routes("  - {match: 'GET /a/**/b', upstream: api}\n"), "routes[0].match",
              "only allowed as the final segment");
  ExpectError(routes("  - {match: 'GET /a//b', upstream: api}\n"), "routes[0].match",
              "empty segment");
  ExpectError(routes("  - {match: 'GET /a/', upstream: api}\n"), "routes[0].match",
              "trailing '/'");
  ExpectError(routes("  - {match: 'GET /a/*', upstream: api}\n"), "routes[0].match",
              "contains '*'");
  ExpectError(routes("  - {match: 'GET /a/b', upstream: api, strip_prefix: /a}\n"),
              "routes[0].strip_prefix", "only allowed on '/**' routes");
  ExpectError(routes("  - {match: 'GET /a/b/**', upstream: api, strip_prefix: /b}\n"),
              "routes[0].strip_prefix", "not a prefix");
  ExpectError(routes("  - {match: 'GET /a/b/**', upstream: api, strip_prefix: /a/bc}\n"),
              "routes[0].strip_prefix", "not a prefix");
  ExpectError(routes("  - {match: 'GET /a/{x}', upstream: api}\n"
                     "  - {match: 'GET  /a/{y}', upstream: api}\n"),
              "routes[1].match", "same method and path as routes[0]");
  ExpectError(routes("  - {match: 'GET /a', upstream: api, scopes: ['has space']}\n"),
              "routes[0].scopes[0]", "printable");
  ExpectError(routes("  - {match: 'GET /a', upstream: api, scopes: [orders:read, 'role:admin']}\n"),
              "routes[0].scopes[1]", "use roles: [admin]");
}

TEST(ConfigErrorsTest, RoutesAcceptedEdgeCases) {
  ConfigLoadResult r = LoadConfigString(BaseYaml() + R"(routes:
  - {match: 'GET /', upstream: api}
  - {match: '* /**', upstream: api}
  - {match: 'PURGE /cache/{key}', upstream: api}
  - {match: 'GET /a/b/**', upstream: api, strip_prefix: /a/b/}
  - {match: 'GET /t/{tenant}/**', upstream: api, strip_prefix: '/t/{tenant}'}
  - {match: 'POST /a/{x}', upstream: api}
  - {match: 'GET /a/{x}', upstream: api}
)");
  EXPECT_TRUE(r.ok()) << Dump(r.errors);
}

TEST(ConfigErrorsTest, Jwt) {
  auto jwt = [](const std::string& entry) {
    return BaseYaml() + "auth:\n  jwt:\n    - " + entry + "\n";
  };
  ExpectError(jwt("{algorithms: [RS256]}"), "auth.jwt[0]", "needs a key source");
  ExpectError(jwt("{algorithms: [none], key_file: k.pem}"), "auth.jwt[0].algorithms[0]",
              "unsupported algorithm 'none'");
  ExpectError(jwt("{algorithms: [RS1024], key_file: k.pem}"), "auth.jwt[0].algorithms[0]",
              "unsupported algorithm");
  ExpectError(jwt("{algorithms: [es256], key_file: k.pem}"), "auth.jwt[0].algorithms[0]",
              "unsupported algorithm");  // names are case-sensitive (RFC 7518)
  ExpectError(jwt("{algorithms: [HS256], key_file: k.pem}"), "auth.jwt[0]",
              "HS* needs secret, secret_file or a jwks_file");
  ExpectError(jwt("{algorithms: [HS256, HS512], secret: " + std::string(40, 's') + "}"),
              "auth.jwt[0].secret", "at least 64 bytes are required for HS512");
  ExpectError(jwt("{algorithms: [HS384], secret: " + std::string(40, 's') + "}"),
              "auth.jwt[0].secret", "at least 48 bytes are required for HS384");
  ExpectError(jwt("{algorithms: [HS512, PS256], secret_file: s, key_file: k}"),
              "auth.jwt[0].algorithms", "cannot be combined");
  ExpectError(jwt("{algorithms: [RS256], secret_file: s}"), "auth.jwt[0]",
              "need key_file, jwks_file, jwks_url or discovery");
  ExpectError(jwt("{algorithms: [HS256, RS256], secret_file: s, key_file: k}"),
              "auth.jwt[0].algorithms", "cannot be combined");
  ExpectError(jwt("{key_file: k.pem}"), "auth.jwt[0].algorithms", "required");
  for (const char* ok : {"{algorithms: [RS256, RS384, RS512, PS256, PS384, PS512], key_file: k, "
                         "audiences: [a]}",
                         "{algorithms: [ES256, ES384, ES512, EdDSA], jwks_file: j, audiences: [a]}",
                         "{algorithms: [HS256, HS384, HS512], jwks_file: j, audiences: [a]}"}) {
    ConfigLoadResult r = LoadConfigString(jwt(ok));
    for (const auto& e : r.errors) EXPECT_EQ(e.path.find("auth.jwt"), std::string::npos) << ok << ": " << e.ToString();
  }
  ExpectError(jwt("{algorithms: [RS256], key_file: k.pem, leeway_s: 7200}"),
              "auth.jwt[0].leeway_s", "between 0 and 3600");
}

TEST(ConfigErrorsTest, JwtAudiencesAreRequiredUnlessAnyIsAskedFor) {
  auto jwt = [](const std::string& entry) {
    return BaseYaml() + "auth:\n  jwt:\n    - " + entry + "\n";
  };
  // Every kind of key source: a token the issuer minted for another of its APIs must not pass.
  for (const char* keys : {"key_file: k", "jwks_file: j", "jwks_url: 'https://as/jwks'",
                           "discovery: true, issuer: 'https://as'"}) {
    ExpectError(jwt(std::string("{algorithms: [RS256], ") + keys + "}"), "auth.jwt[0].audiences",
                "required (tokens for other APIs of the same issuer would be accepted); set "
                "allow_any_audience: true to accept any");
  }
  ExpectError(jwt("{algorithms: [HS256], secret_file: s}"), "auth.jwt[0].audiences", "required");
  ExpectError(jwt("{algorithms: [RS256], key_file: k, audiences: [a], allow_any_audience: true}"),
              "auth.jwt[0].allow_any_audience", "not both");
  for (const char* ok : {"{algorithms: [RS256], key_file: k, audiences: [a]}",
                         "{algorithms: [RS256], key_file: k, allow_any_audience: true}",
                         "{algorithms: [RS256], key_file: k, audiences: [a], require_exp: false}"}) {
    ConfigLoadResult r = LoadConfigString(jwt(ok));
    for (const auto& e : r.errors) {
      EXPECT_EQ(e.path.find("auth.jwt"), std::string::npos) << ok << ": " << e.ToString();
    }
  }
}

TEST(ConfigErrorsTest, JwtRemoteKeys) {
  auto jwt = [](const std::string& entry) {
    return BaseYaml() + "auth:\n  jwt:\n    - " + entry + "\n";
  };
  ExpectError(jwt("{algorithms: [RS256], jwks_url: 'http://as/jwks'}"), "auth.jwt[0].jwks_url",
              "must be an https:// URL");
  ExpectError(jwt("{algorithms: [RS256], jwks_url: 'https://as/jwks', discovery: true, "
                  "issuer: 'https://as'}"),
              "auth.jwt[0].jwks_url", "not both");
  ExpectError(jwt("{algorithms: [RS256], discovery: true, issuer: corp}"), "auth.jwt[0].issuer",
              "discovery needs the issuer as an https:// URL");
  ExpectError(jwt("{algorithms: [HS256], secret_file: s, jwks_url: 'https://as/jwks'}"),
              "auth.jwt[0].algorithms",
              "cannot use jwks_url or discovery");
  ExpectError(jwt("{algorithms: [RS256], jwks_url: 'https://as/jwks', jwks_max_age_min_ms: 5000, "
                  "jwks_max_age_max_ms: 2000}"),
              "auth.jwt[0].jwks_max_age_max_ms", "at least jwks_max_age_min_ms");
  ExpectError(jwt("{algorithms: [RS256], jwks_url: 'https://as/jwks', fetch_timeout_ms: 10}"),
              "auth.jwt[0].fetch_timeout_ms", "between");
  for (const char* ok :
       {"{algorithms: [RS256], jwks_url: 'https://as/jwks', required_claims: [tenant], "
        "audiences: [a]}",
        "{algorithms: [ES256], discovery: true, issuer: 'https://as.example', audiences: [a]}",
        "{algorithms: [RS256], jwks_url: 'http://127.0.0.1:9/jwks', allow_insecure_http: true, "
        "audiences: [a]}"}) {
    ConfigLoadResult r = LoadConfigString(jwt(ok));
    for (const auto& e : r.errors) {
      EXPECT_EQ(e.path.find("auth.jwt"), std::string::npos) << ok << ": " << e.ToString();
    }
  }
}

TEST(ConfigErrorsTest, Introspection) {
  auto in = [](const std::string& body) {
    return BaseYaml() + "auth:\n  introspection: " + body + "\n";
  };
  const std::string base = "endpoint: 'https://as/introspect', client_id: gw";
  ExpectError(in("{endpoint: 'http://as/i', client_id: gw, client_secret: s}"),
              "auth.introspection.endpoint", "must be an https:// URL");
  ExpectError(in("{endpoint: 'https://as/i', client_secret: s}"), "auth.introspection.client_id",
              "required");
  ExpectError(in("{" + base + "}"), "auth.introspection.client_secret", "exactly one");
  ExpectError(in("{" + base + ", client_secret: s, client_secret_file: f}"),
              "auth.introspection.client_secret", "exactly one");
  ExpectError(in("{" + base + ", client_secret: s, client_auth: jwt}"),
              "auth.introspection.client_auth", "basic or body");
  ExpectError(in("{" + base + ", client_secret: s, tokens: some}"), "auth.introspection.tokens",
              "opaque or all");
  ExpectError(in("{" + base + ", client_secret: s, max_concurrent: 0}"),
              "auth.introspection.max_concurrent", "between");
  ExpectError(in("{" + base + ", client_secret: s, colour: red}"), "auth.introspection.colour",
              "unknown key");
  ExpectError(in("{" + base + ", client_secret: s, require_token_type: maybe}"),
              "auth.introspection.require_token_type", "");
  ConfigLoadResult r = LoadConfigString(
      in("{" + base + ", client_secret_file: f, client_auth: body, require_token_type: true}"));
  for (const auto& e : r.errors) {
    EXPECT_EQ(e.path.find("auth.introspection"), std::string::npos) << e.ToString();
  }
  EXPECT_TRUE(r.config.auth.introspection.require_token_type);
  EXPECT_FALSE(LoadConfigString(in("{" + base + ", client_secret: s}"))
                   .config.auth.introspection.require_token_type);
}

TEST(ConfigErrorsTest, AdminNeedsCredentials) {
  ExpectError("upstreams: []\n", "admin", "no credentials");
  ExpectError("admin: {tokens: [short]}\n", "admin.tokens[0]", "too short");
  ExpectError("admin: {token_file: t, listen: '127.0.0.1:8080'}\n", "admin.listen",
              "same address as gateway.listen");
  EXPECT_TRUE(LoadConfigString("admin: {enabled: false}\n").ok());
  EXPECT_TRUE(LoadConfigString("admin: {token_file: tokens.txt}\n").ok());
}

TEST(ConfigErrorsTest, SeveralErrorsReportedTogether) {
  ConfigLoadResult r = LoadConfigString(R"(
gateway:
  workers: many
  listn: x
upstreams:
  - {name: api, address: "127.0.0.1:8090"}
routes:
  - {match: GET /a, upstream: api}
  - {match: GET /b, upstream: nope}
audit:
  durability: never
admin: {enabled: true}
)");
  EXPECT_FALSE(r.ok());
  for (const char* path : {"gateway.workers", "gateway.listn", "routes[1].upstream",
                           "audit.durability", "admin"}) {
    EXPECT_NE(FindError(r.errors, path), nullptr) << path << "\n" << Dump(r.errors);
  }
  EXPECT_EQ(r.errors.size(), 5u) << Dump(r.errors);
  // Validation errors also carry the line of their key.
  EXPECT_NE(FindError(r.errors, "routes[1].upstream")->message.find("(line 9)"),
            std::string::npos)
      << Dump(r.errors);
}

TEST(ConfigErrorsTest, YamlSyntaxErrorHasLine) {
  ConfigLoadResult r = LoadConfigString("node: a\ngateway: {listen: [\n");
  ASSERT_EQ(r.errors.size(), 1u) << Dump(r.errors);
  EXPECT_EQ(r.errors[0].path, "");
  EXPECT_NE(r.errors[0].message.find("invalid YAML"), std::string::npos);
  EXPECT_NE(r.errors[0].message.find("line"), std::string::npos);
}

TEST(ConfigErrorsTest, SecretsNeverAppearInMessages) {
  const std::string secret = "s3cr3t-VALUE-do-not-print";
  std::vector<std::string> docs = {
      // too short / wrong type / conflicting
      "auth: {jwt: [{algorithms: [HS256], secret: " + secret + "}]}\nadmin: {enabled: false}\n",
      "auth: {jwt: [{algorithms: [HS256], secret: " + secret + "-long-enough-to-pass-the-length",
      "auth: {jwt: [{algorithms: [HS256], secret: [" + secret + "]}]}\nadmin: {enabled: false}\n",
      "auth: {jwt: [{algorithms: [HS256], secret: " + secret + ", secret_file: f}]}\n",
      "admin: {tokens: [" + secret.substr(0, 10) + "]}\n",
      "admin: {tokens: [\"" + secret + " with space\"]}\n",
      "admin: {tokens: [[" + secret + "]]}\n",
      "admin: {tokens: " + secret + "}\n",
      "auth: {introspection: {endpoint: 'http://x', client_id: c, client_secret: " + secret +
          ", client_secret_file: f}}\n",
      "auth: {introspection: {endpoint: 'https://x', client_id: c, client_secret: [" + secret +
          "]}}\n",
  };
  for (const std::string& doc : docs) {
    ConfigLoadResult r = LoadConfigString(doc);
    EXPECT_FALSE(r.ok()) << doc;
    for (const auto& e : r.errors) {
      EXPECT_EQ(e.ToString().find(secret.substr(0, 10)), std::string::npos) << e.ToString();
    }
  }
}

TEST(ConfigErrorsTest, FailureLimitRolesAndIdentityHeaders) {
  ExpectError(BaseYaml() + "auth:\n  failure_limit:\n    max_failures: 0\n",
              "auth.failure_limit.max_failures", "");
  ExpectError(BaseYaml() + "auth:\n  failure_limit:\n    ipv6_prefix_len: 16\n",
              "auth.failure_limit.ipv6_prefix_len", "");
  ExpectError(BaseYaml() + "auth:\n  failure_limit:\n    block: 5\n",
              "auth.failure_limit.block", "did you mean 'block_s'");
  ExpectError(BaseYaml() + "routes:\n  - {match: GET /a, upstream: api, roles: [\"a b\"]}\n",
              "routes[0].roles[0]", "without spaces");
  ExpectError(BaseYaml() + "auth:\n  identity_headers:\n    tenant: \"bad header\"\n",
              "auth.identity_headers.tenant", "not a valid header name");
  // "" switches the roles and tenant headers off.
  ConfigLoadResult r = LoadConfigString(
      BaseYaml() + "auth:\n  identity_headers:\n    tenant: \"\"\n    roles: \"\"\n"
                   "  failure_limit:\n    enabled: false\n");
  ASSERT_TRUE(r.ok()) << Dump(r.errors);
  EXPECT_EQ(r.config.auth.identity_headers.tenant, "");
  EXPECT_FALSE(r.config.auth.failure_limit.enabled);
}

}  // namespace
}  // namespace apitrail

namespace apitrail {
namespace {

using testing_config::BaseYaml;
using testing_config::Dump;
using testing_config::FindError;

TEST(ConfigErrorsTest, CheckpointsAndWitnesses) {
  auto expect = [](const std::string& audit, const std::string& path, const std::string& what) {
    ConfigLoadResult r = LoadConfigString(BaseYaml() + "audit:\n  checkpoints:\n" + audit);
    const ConfigError* e = FindError(r.errors, path);
    ASSERT_NE(e, nullptr) << Dump(r.errors);
    EXPECT_NE(e->message.find(what), std::string::npos) << e->message;
  };
  expect("    max_lag_ms: 0\n", "audit.checkpoints.max_lag_ms", "between 1 and 3600000");
  expect("    heartbeat_ms: 10\n", "audit.checkpoints.heartbeat_ms", "between 1000");
  expect("    every_events: 20000000\n", "audit.checkpoints.every_events", "between 0 and 10000000");
  expect("    witness_queue: 0\n", "audit.checkpoints.witness_queue", "between 1");
  expect("    witnesses:\n      - type: ftp\n", "audit.checkpoints.witnesses[0].type", "must be one of file, syslog, webhook");
  expect("    witnesses:\n      - type: file\n", "audit.checkpoints.witnesses[0].dir", "required");
  expect("    witnesses:\n      - type: syslog\n", "audit.checkpoints.witnesses[0].address", "required");
  expect("    witnesses:\n      - type: syslog\n        address: 127.0.0.1:514\n        protocol: tls\n",
         "audit.checkpoints.witnesses[0].protocol", "udp, tcp");
  expect("    witnesses:\n      - type: syslog\n        address: 127.0.0.1:514\n        facility: 24\n",
         "audit.checkpoints.witnesses[0].facility", "between 0 and 23");
  expect("    witnesses:\n      - type: webhook\n        url: https://x.example/c\n",
         "audit.checkpoints.witnesses[0].url", "https is not supported yet");
  expect("    witnesses:\n      - type: webhook\n        url: ftp://x\n", "audit.checkpoints.witnesses[0].url", "http://");
  expect("    witnesses:\n      - type: webhook\n        url: http://:80/x\n", "audit.checkpoints.witnesses[0].url", "host");
  expect("    witnesses:\n      - type: file\n        dir: /w\n        url: http://127.0.0.1/x\n",
         "audit.checkpoints.witnesses[0].url", "only for webhook");
  expect("    witnesses:\n      - {type: file, dir: /a, name: w}\n      - {type: file, dir: /b, name: w}\n",
         "audit.checkpoints.witnesses[1].name", "duplicate");
  expect("    witnesses:\n      - {type: file, dir: /a}\n        \n    bogus: 1\n", "audit.checkpoints.bogus", "unknown key");
}

TEST(ConfigErrorsTest, WitnessDefaultsAndParsedUrl) {
  ConfigLoadResult r = LoadConfigString(BaseYaml() +
                                        "audit:\n  checkpoints:\n    every_events: 100\n    witnesses:\n"
                                        "      - {type: file, dir: /mnt/w}\n"
                                        "      - {type: webhook, url: \"http://127.0.0.1:9000/cp?x=1\"}\n"
                                        "      - {type: webhook, url: \"http://hooks.internal\"}\n");
  ASSERT_TRUE(r.ok()) << Dump(r.errors);
  const auto& c = r.config.audit.checkpoints;
  EXPECT_EQ(c.every_events, 100u);
  EXPECT_EQ(c.max_lag_ms, 1000u);
  EXPECT_EQ(c.heartbeat_ms, 60000u);
  ASSERT_EQ(c.witnesses.size(), 3u);
  EXPECT_EQ(c.witnesses[0].name, "file-0");
  EXPECT_EQ(c.witnesses[1].name, "webhook-1");
  EXPECT_EQ(c.witnesses[1].url_address.ToString(), "127.0.0.1:9000");
  EXPECT_EQ(c.witnesses[1].url_target, "/cp?x=1");
  EXPECT_EQ(c.witnesses[2].url_address.ToString(), "hooks.internal:80");
  EXPECT_EQ(c.witnesses[2].url_target, "/");
}

TEST(ConfigErrorsTest, FileWitnessInsideTheDataDirIsRefused) {
  Config c;
  c.audit.data_dir = "/var/lib/apitrail";
  WitnessConfig w;
  w.type = "file";
  w.dir = "/var/lib/apitrail/witness";
  c.audit.checkpoints.witnesses.push_back(w);
  auto errors = CheckWitnessDirs(c);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].path, "audit.checkpoints.witnesses[0].dir");
  c.audit.checkpoints.witnesses[0].dir = "/var/lib/apitrail-witness";
  EXPECT_TRUE(CheckWitnessDirs(c).empty());
  c.audit.checkpoints.witnesses[0].dir = "/var/lib/apitrail/../elsewhere";
  EXPECT_TRUE(CheckWitnessDirs(c).empty());
}

}  // namespace
}  // namespace apitrail

namespace apitrail {
namespace {

TEST(ConfigErrorsTest, ArchiveAndRetention) {
  ExpectError(BaseYaml() + "audit:\n  archive:\n    command: \"cp '%p' /mnt/\"\n",
              "audit.archive.command", "do not quote %p");
  ExpectError(BaseYaml() + "audit:\n  archive:\n    command: cp %x /mnt/\n",
              "audit.archive.command", "unknown escape '%x'");
  ExpectError(BaseYaml() + "audit:\n  archive:\n    command: cp %p /mnt/%f\n    retry_min_ms: 5000\n"
                           "    retry_max_ms: 1000\n",
              "audit.archive.retry_max_ms", "must not be smaller than audit.archive.retry_min_ms");
  ExpectError(BaseYaml() + "audit:\n  archive:\n    timeout_ms: 5\n", "audit.archive.timeout_ms",
              "must be between 1000");
  ExpectError(BaseYaml() + "audit:\n  retention:\n    days: 7\n", "audit.retention.days",
              "audit.archive.command is not set");
  ExpectError(BaseYaml() + "audit:\n  retention:\n    dayz: 7\n", "audit.retention.dayz",
              "unknown key");
  // Allowed: archive + retention, or retention explicitly without archive.
  EXPECT_TRUE(LoadConfigString(BaseYaml() + "audit:\n  archive:\n    command: cp %p /mnt/%f\n"
                                            "  retention:\n    days: 7\n").ok());
  ConfigLoadResult r = LoadConfigString(BaseYaml() + "audit:\n  retention:\n    days: 7\n"
                                                     "    require_archive: false\n");
  ASSERT_TRUE(r.ok()) << Dump(r.errors);
  EXPECT_EQ(r.config.audit.retention.days, 7u);
  EXPECT_FALSE(r.config.audit.retention.require_archive);
  EXPECT_FALSE(r.config.audit.archive.enabled());
}

TEST(ConfigErrorsTest, ArchiveCommandIsNeverEchoed) {
  ConfigLoadResult r = LoadConfigString(BaseYaml() + "audit:\n  archive:\n    command: [s3://KEY:SECRET@b]\n");
  const ConfigError* e = FindError(r.errors, "audit.archive.command");
  ASSERT_NE(e, nullptr) << Dump(r.errors);
  EXPECT_EQ(e->message.find("SECRET"), std::string::npos) << e->message;
}

}  // namespace
}  // namespace apitrail
