// Adversarial configurations: each is refused with its key path and reason (or accepted with
// the value CONFIG.md gives it), never a crash, a hang or a silently different value.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "config/config_loader.h"
#include "config_test_util.h"

namespace apitrail {
namespace {

using testing_config::BaseYaml;
using testing_config::Dump;
using testing_config::ExpectError;
using testing_config::ExpectOk;
using testing_config::FindError;

TEST(ConfigEdgesTest, SecondYamlDocumentIsRefusedNotIgnored) {
  // yaml-cpp's Load reads the first document only: the routes after '---' were dropped.
  ConfigLoadResult r = LoadConfigString(BaseYaml() + "---\nroutes:\n  - {match: GET /a, upstream: api}\n");
  ASSERT_EQ(r.errors.size(), 1u) << Dump(r.errors);
  EXPECT_EQ(r.errors[0].path, "");
  EXPECT_NE(r.errors[0].message.find("2 YAML documents"), std::string::npos) << r.errors[0].message;
  // One document with its markers is fine.
  ExpectOk("---\n" + BaseYaml() + "...\n");
  ExpectOk("# only a comment\n" + BaseYaml());
}

TEST(ConfigEdgesTest, SizeIsBounded) {
  ConfigLoadResult big = LoadConfigString(BaseYaml() + "#" + std::string(kMaxConfigBytes, 'x') + "\n");
  ASSERT_EQ(big.errors.size(), 1u) << Dump(big.errors);
  EXPECT_NE(big.errors[0].message.find("larger than 1048576 bytes"), std::string::npos);
  // A device given by mistake is read up to the limit, not without end.
  auto start = std::chrono::steady_clock::now();
  ConfigLoadResult zero = LoadConfigFile("/dev/zero");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
  ASSERT_EQ(zero.errors.size(), 1u) << Dump(zero.errors);
  EXPECT_EQ(zero.errors[0].message, "cannot read '/dev/zero': larger than 1048576 bytes");
  ConfigLoadResult dir = LoadConfigFile("/");
  ASSERT_EQ(dir.errors.size(), 1u);
  EXPECT_NE(dir.errors[0].message.find("is a directory"), std::string::npos);
}

TEST(ConfigEdgesTest, AliasBombsAreBounded) {
  // Billion laughs: 10 levels of ten aliases each are 10^10 strings once expanded.
  std::string laughs = "x0: &l0 \"lol\"\n";
  for (int i = 1; i <= 10; ++i) {
    const std::string n = std::to_string(i), prev = std::to_string(i - 1);
    laughs.append("x").append(n).append(": &l").append(n).append(" [");
    for (int k = 0; k < 10; ++k) laughs.append(k ? ", *l" : "*l").append(prev);
    laughs.append("]\n");
  }
  // Also where the reader would copy them: 3000 routes of 3000 scopes each took a minute
  // and over a gigabyte before the bound.
  std::string scopes = "x-s: &s [", routes = "routes: [";
  for (int k = 0; k < 3000; ++k) {
    scopes += std::string(k ? ", " : "") + "*a";
    routes += std::string(k ? ", " : "") + "*r";
  }
  const std::string copied = "x-a: &a \"" + std::string(100, 'A') + "\"\n" + scopes + "]\n" +
                             "x-r: &r {match: GET /a, upstream: api, scopes: *s}\n" + routes + "]\n";
  // An anchor that contains itself.
  const std::string cycle = "x: &c [*c]\n";
  for (const std::string& bomb : {laughs, copied, cycle}) {
    auto start = std::chrono::steady_clock::now();
    ConfigLoadResult r = LoadConfigString(BaseYaml() + bomb);
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
    ASSERT_EQ(r.errors.size(), 1u) << Dump(r.errors);
    EXPECT_EQ(r.errors[0].path, "");
    EXPECT_NE(r.errors[0].message.find("aliases (*name) expand to more than"), std::string::npos)
        << r.errors[0].message;
    EXPECT_TRUE(r.config.routes.empty());
  }
  // Aliases within reason still work, with the values they stand for.
  ConfigLoadResult ok = LoadConfigString(BaseYaml() + R"(routes:
  - {match: GET /a, upstream: api, scopes: &read [orders:read, orders:list]}
  - {match: GET /b, upstream: api, scopes: *read}
)");
  ASSERT_TRUE(ok.ok()) << Dump(ok.errors);
  ASSERT_EQ(ok.config.routes.size(), 2u);
  EXPECT_EQ(ok.config.routes[1].scopes, (std::vector<std::string>{"orders:read", "orders:list"}));
}

TEST(ConfigEdgesTest, LocalTagsAreRefused) {
  // yaml-cpp drops an unknown tag and keeps the text: data_dir was the literal "DATA_DIR".
  ConfigLoadResult r = LoadConfigString(BaseYaml() + "audit:\n  data_dir: !env DATA_DIR\n");
  ASSERT_EQ(r.errors.size(), 1u) << Dump(r.errors);
  EXPECT_EQ(r.errors[0].message,
            "YAML tag '!env' is not supported: values are read as written, nothing is expanded "
            "(line 8)");
  ExpectError(BaseYaml() + "x: !secret {a: 1}\n", "", "YAML tag '!secret'");
  ConfigLoadResult core = LoadConfigString(BaseYaml() + "node: !!str edge-1\ngateway: {workers: !!int 2}\n");
  ASSERT_TRUE(core.ok()) << Dump(core.errors);
  EXPECT_EQ(core.config.node, "edge-1");
  EXPECT_EQ(core.config.gateway.workers, 2);
}

TEST(ConfigEdgesTest, MergeKeysAreNamedAsUnsupported) {
  ExpectError(BaseYaml() + "x-gw: &gw {workers: 2}\ngateway:\n  <<: *gw\n  max_headers: 50\n",
              "gateway.<<", "merge keys ('<<: *name') are not supported");
}

TEST(ConfigEdgesTest, DeepNestingIsAnErrorNotACrash) {
  ConfigLoadResult r =
      LoadConfigString(BaseYaml() + "node: " + std::string(5000, '[') + std::string(5000, ']') + "\n");
  ASSERT_EQ(r.errors.size(), 1u) << Dump(r.errors);
  EXPECT_NE(r.errors[0].message.find("invalid YAML: nested too deeply"), std::string::npos)
      << r.errors[0].message;
}

TEST(ConfigEdgesTest, TabsBomNullAndEmpty) {
  ConfigLoadResult tab = LoadConfigString(BaseYaml() + "gateway:\n\tworkers: 2\n");
  ASSERT_EQ(tab.errors.size(), 1u) << Dump(tab.errors);
  EXPECT_NE(tab.errors[0].message.find("invalid YAML"), std::string::npos);
  EXPECT_NE(tab.errors[0].message.find("line 8"), std::string::npos) << tab.errors[0].message;
  ConfigLoadResult bom = LoadConfigString("\xEF\xBB\xBFnode: edge-1\n" + BaseYaml());
  ASSERT_TRUE(bom.ok()) << Dump(bom.errors);
  EXPECT_EQ(bom.config.node, "edge-1");
  // Absent, empty, ~ and null all mean the default (CONFIG.md, "General rules").
  ConfigLoadResult nulls = LoadConfigString(
      BaseYaml() + "node: ~\nlog_level: null\ngateway:\n  workers:\n  listen: ~\nroutes: ~\n");
  ASSERT_TRUE(nulls.ok()) << Dump(nulls.errors);
  EXPECT_EQ(nulls.config.node, "node-1");
  EXPECT_EQ(nulls.config.gateway.listen.ToString(), "127.0.0.1:8080");
  ExpectError(BaseYaml() + "node: ''\n", "node", "must be 1..64");
  ExpectError(BaseYaml() + "routes: [~]\n", "routes[0].match", "required");
  ExpectError(BaseYaml() + "routes:\n  - {match: GET /a, upstream: api, match: GET /b}\n",
              "routes[0].match", "duplicate key");
  ExpectError(BaseYaml() + "gateway:\n  Listen: 127.0.0.1:1\n", "gateway.Listen",
              "did you mean 'listen'");
}

TEST(ConfigEdgesTest, GatewayTlsWithoutACertificateIsNotPlainHttp) {
  // A min_version alone used to leave TLS off without a word.
  ExpectError(BaseYaml() + "gateway:\n  tls:\n    min_version: '1.3'\n", "gateway.tls.cert_file",
              "required when gateway.tls is set");
  ExpectError(BaseYaml() + "gateway:\n  tls: {}\n", "gateway.tls.cert_file", "required");
  ExpectError(BaseYaml() + "gateway:\n  tls: on\n", "gateway.tls", "expected a map");
  ConfigLoadResult off = LoadConfigString(BaseYaml() + "gateway:\n  tls:\n");
  ASSERT_TRUE(off.ok()) << Dump(off.errors);
  EXPECT_FALSE(off.config.gateway.tls.enabled());
  ExpectOk(BaseYaml() + "gateway:\n  tls: {cert_file: gw.pem, key_file: gw.key}\n");
}

TEST(ConfigEdgesTest, NulCharactersAreRefused) {
  ExpectError("admin:\n  token_file: \"/etc/tokens\\0.bak\"\n", "admin.token_file",
              "must not contain a NUL character");
  ExpectError(BaseYaml() + "audit:\n  data_dir: \"/var/lib/a\\0b\"\n", "audit.data_dir", "NUL");
  ExpectError(BaseYaml() + "redaction:\n  extra: [ok, \"a\\0b\"]\n", "redaction.extra[1]", "NUL");
  ConfigLoadResult listen = LoadConfigString(BaseYaml() + "gateway:\n  listen: \"127.0.0.1:80\\0\"\n");
  ASSERT_EQ(listen.errors.size(), 1u) << Dump(listen.errors);  // not a second, parse error
  EXPECT_EQ(listen.errors[0].path, "gateway.listen");
  // Secrets are not C strings: a NUL there is bytes, not a cut (and never echoed).
  ConfigLoadResult r = LoadConfigString(
      BaseYaml() + "auth:\n  jwt:\n    - {algorithms: [HS256], allow_any_audience: true, secret: \"" +
      std::string(20, 's') + "\\0" + std::string(20, 't') + "\"}\n");
  ASSERT_TRUE(r.ok()) << Dump(r.errors);
  EXPECT_EQ(r.config.auth.jwt[0].secret.size(), 41u);
}

TEST(ConfigEdgesTest, IntegerSyntax) {
  for (const char* bad : {"+-0", "+-5", "0x10", "1e3", "1_000", "0o17", "5s", "'5 s'", "' 5'",
                          "5.0", ".inf", "''", "'+'", "true"}) {
    ExpectError(BaseYaml() + "gateway:\n  workers: " + bad + "\n", "gateway.workers",
                "expected an integer");
  }
  ExpectError(BaseYaml() + "gateway:\n  workers: -1\n", "gateway.workers", "between 0 and 256");
  ExpectError(BaseYaml() + "gateway:\n  max_body_bytes: 18446744073709551616\n",
              "gateway.max_body_bytes", "must be between");
  ExpectError(BaseYaml() + "gateway:\n  max_body_bytes: -1\n", "gateway.max_body_bytes",
              "must be between");
  ExpectError(BaseYaml() + "audit:\n  max_segment_bytes: 68719476737\n", "audit.max_segment_bytes",
              "between 65536 and 68719476736");
  ConfigLoadResult r = LoadConfigString(BaseYaml() + "gateway:\n  workers: +4\n  max_headers: '007'\n");
  ASSERT_TRUE(r.ok()) << Dump(r.errors);
  EXPECT_EQ(r.config.gateway.workers, 4);
  EXPECT_EQ(r.config.gateway.max_headers, 7u);  // decimal, not YAML 1.1 octal
}

TEST(ConfigEdgesTest, ListErrorsNameTheirOwnElement) {
  // The bad element's index, never a neighbour's: a list that lost its non-string elements
  // reported 'bad' (element 2) as trusted_proxies[1].
  ConfigLoadResult r =
      LoadConfigString(BaseYaml() + "gateway:\n  trusted_proxies: [10.0.0.0/8, [x], bad]\n");
  const ConfigError* e1 = FindError(r.errors, "gateway.trusted_proxies[1]");
  ASSERT_NE(e1, nullptr) << Dump(r.errors);
  EXPECT_NE(e1->message.find("expected a string, got a list"), std::string::npos);
  for (const auto& e : r.errors) {
    EXPECT_EQ(e.message.find("'bad'"), std::string::npos) << e.ToString();
  }
  r = LoadConfigString(BaseYaml() + "routes:\n  - {match: GET /a, upstream: api, scopes: [[x], ok, 'a b']}\n");
  ASSERT_NE(FindError(r.errors, "routes[0].scopes[0]"), nullptr) << Dump(r.errors);
  EXPECT_EQ(FindError(r.errors, "routes[0].scopes[1]"), nullptr) << Dump(r.errors);
  ExpectError(BaseYaml() + "gateway:\n  trusted_proxies: [10.0.0.0/8, 10.0.0.1/8]\n",
              "gateway.trusted_proxies[1]", "host bits");
}

TEST(ConfigEdgesTest, Cidrs) {
  auto proxies = [](const std::string& list) {
    return BaseYaml() + "gateway:\n  trusted_proxies: [" + list + "]\n";
  };
  ExpectError(proxies("'0.0.0.0/-0'"), "gateway.trusted_proxies[0]", "prefix length");
  ExpectError(proxies("'::/-0'"), "gateway.trusted_proxies[0]", "prefix length");
  ExpectError(proxies("'10.0.0.0/+8'"), "gateway.trusted_proxies[0]", "prefix length");
  ExpectError(proxies("'10.0.0.0/33'"), "gateway.trusted_proxies[0]", "0..32");
  ExpectError(proxies("'::/129'"), "gateway.trusted_proxies[0]", "0..128");
  ExpectError(proxies("'10.0.0.0/'"), "gateway.trusted_proxies[0]", "prefix length");
  ExpectError(proxies("'1.2.3.4/24'"), "gateway.trusted_proxies[0]", "host bits");
  ExpectError(proxies("'fe80::1%eth0'"), "gateway.trusted_proxies[0]", "not an IP address");
  ExpectError(proxies("''"), "gateway.trusted_proxies[0]", "not an IP address");
  ExpectError(proxies("'010.0.0.0/8'"), "gateway.trusted_proxies[0]", "not an IP address");
  ConfigLoadResult r = LoadConfigString(proxies("'0.0.0.0/0', '::/0', 1.2.3.4, '::1', '10.0.0.0/08'"));
  ASSERT_TRUE(r.ok()) << Dump(r.errors);
  ASSERT_EQ(r.config.gateway.trusted_proxies.size(), 5u);
  EXPECT_EQ(r.config.gateway.trusted_proxies[0].prefix_len, 96);
  EXPECT_EQ(r.config.gateway.trusted_proxies[2].prefix_len, 128);
  EXPECT_EQ(r.config.gateway.trusted_proxies[4].prefix_len, 104);
}

TEST(ConfigEdgesTest, HostNamesThatAResolverReadsAsAddresses) {
  auto upstream = [](const std::string& address) {
    return "admin: {enabled: false}\nupstreams:\n  - name: api\n    address: '" + address + "'\n";
  };
  // getaddrinfo reads inet_aton forms: 010.0.0.1 would have connected to 8.0.0.1.
  ExpectError(upstream("010.0.0.1:8090"), "upstreams[0].address", "reads it as 8.0.0.1");
  ExpectError(upstream("127.1:8090"), "upstreams[0].address", "reads it as 127.0.0.1");
  ExpectError(upstream("0x7f000001:8090"), "upstreams[0].address", "reads it as 127.0.0.1");
  ExpectError(upstream("0:8090"), "upstreams[0].address", "reads it as 0.0.0.0");
  ExpectError(upstream("1.2.3.256:8090"), "upstreams[0].address", "neither an IP address nor a host name");
  ExpectError(upstream("api.123:8090"), "upstreams[0].address", "neither");
  ExpectError(BaseYaml() + "gateway:\n  listen: '0127.0.0.1:8080'\n", "gateway.listen", "reads it as");
  ExpectError(BaseYaml() + "audit:\n  checkpoints:\n    witnesses:\n"
                           "      - {type: syslog, address: '10.1:514'}\n",
              "audit.checkpoints.witnesses[0].address", "reads it as 10.0.0.1");
  ExpectError(BaseYaml() + "audit:\n  checkpoints:\n    witnesses:\n"
                           "      - {type: webhook, url: 'http://010.0.0.1:9000/c'}\n",
              "audit.checkpoints.witnesses[0].url", "reads it as 8.0.0.1");
  for (const char* ok : {"api.internal:443", "localhost:80", "9to5.example:80", "a-1.b2.example:1",
                         "10.0.0.1:65535", "[::1]:80", "[fe80::1%eth0]:80", "[::ffff:10.0.0.1]:80"}) {
    ConfigLoadResult r = LoadConfigString(upstream(ok));
    EXPECT_TRUE(r.ok()) << ok << "\n" << Dump(r.errors);
  }
  ExpectError(upstream("[10.0.0.1]:80"), "upstreams[0].address", "not an IPv6 address");
  ExpectError(upstream("[::1]"), "upstreams[0].address", "'[ipv6]:port'");
  ExpectError(upstream("::1:80"), "upstreams[0].address", "brackets");
  ExpectError(upstream("10.0.0.1"), "upstreams[0].address", "expected 'host:port'");
  ExpectError(upstream("10.0.0.1:65536"), "upstreams[0].address", "port '65536'");
  ExpectError(upstream("10.0.0.1:+80"), "upstreams[0].address", "port '+80'");
  ExpectError(upstream("10.0.0.1:0"), "upstreams[0].address", "port in 1..65535");
  // Port 0 on a listener: any free port (tests).
  ConfigLoadResult any = LoadConfigString(BaseYaml() + "gateway:\n  listen: ':0'\n");
  ASSERT_TRUE(any.ok()) << Dump(any.errors);
  EXPECT_EQ(any.config.gateway.listen.ToString(), "127.0.0.1:0");
}

TEST(ConfigEdgesTest, HeadersTheGatewayAddsNeedTheirOwnNames) {
  // subject: Content-Length sent a second, subject-valued Content-Length upstream.
  ExpectError(BaseYaml() + "auth:\n  identity_headers:\n    subject: Content-Length\n",
              "auth.identity_headers.subject", "'Content-Length' is a header the gateway sets");
  ExpectError(BaseYaml() + "auth:\n  identity_headers:\n    scopes: transfer_encoding\n",
              "auth.identity_headers.scopes", "the gateway sets or removes itself");
  ExpectError(BaseYaml() + "gateway:\n  request_id_header: Host\n", "gateway.request_id_header",
              "the gateway sets or removes itself");
  ExpectError(BaseYaml() + "gateway:\n  request_id_header: traceparent\n",
              "gateway.request_id_header", "the gateway sets");
  ExpectError(BaseYaml() + "auth:\n  identity_headers:\n    tenant: x_request_id\n",
              "auth.identity_headers.tenant", "already used by gateway.request_id_header");
  ExpectError(BaseYaml() + "auth:\n  identity_headers:\n    roles: X-Apitrail-Scopes\n",
              "auth.identity_headers.roles", "already used by auth.identity_headers.scopes");
  ExpectError(BaseYaml() + "auth:\n  api_keys:\n    headers: [Authorization, host]\n",
              "auth.api_keys.headers[1]", "'host' is a header the gateway sets or removes itself");
  ExpectOk(BaseYaml() + "gateway:\n  request_id_header: X-Correlation-ID\n"
                        "auth:\n  identity_headers:\n    subject: X-User\n    roles: ''\n    tenant: ''\n");
}

TEST(ConfigEdgesTest, RemoteUrlsTheFetcherWouldRefuse) {
  // These passed config check and only showed as a warning at start, then 503 for every
  // token of the issuer (or every opaque token).
  auto jwt = [](const std::string& url) {
    return BaseYaml() + "auth:\n  jwt:\n    - {algorithms: [RS256], audiences: [a], jwks_url: '" + url + "'}\n";
  };
  ExpectError(jwt("https://"), "auth.jwt[0].jwks_url", "URL has no host");
  ExpectError(jwt("https:///keys"), "auth.jwt[0].jwks_url", "URL has no host");
  ExpectError(jwt("https://user:TOPSECRET@as/keys"), "auth.jwt[0].jwks_url", "credentials");
  ExpectError(jwt("https://as/keys#a"), "auth.jwt[0].jwks_url", "fragment");
  ExpectError(jwt("https://as:0/keys"), "auth.jwt[0].jwks_url", "bad port");
  ExpectError(jwt("https://as:/keys"), "auth.jwt[0].jwks_url", "bad port");
  ExpectError(jwt("https://as:65536/keys"), "auth.jwt[0].jwks_url", "bad port");
  ExpectError(jwt("https://[::1/keys"), "auth.jwt[0].jwks_url", "bad IPv6 host");
  ExpectError(jwt("https://as/a b"), "auth.jwt[0].jwks_url", "whitespace");
  ExpectError(BaseYaml() + "auth:\n  jwt:\n    - {algorithms: [RS256], audiences: [a], discovery: true, "
                           "issuer: 'https://'}\n",
              "auth.jwt[0].issuer", "URL has no host");
  ExpectError(BaseYaml() + "auth:\n  introspection: {endpoint: 'https://u@as/i', client_id: c, "
                           "client_secret: s}\n",
              "auth.introspection.endpoint", "credentials");
  for (const char* ok : {"https://as/keys", "https://as:8443/keys?x=1", "https://[::1]:8443/k",
                         "https://as.example"}) {
    ExpectOk(jwt(ok));
  }
  ConfigLoadResult r = LoadConfigString(jwt("https://user:TOPSECRET@as/keys"));
  for (const auto& e : r.errors) EXPECT_EQ(e.message.find("TOPSECRET"), std::string::npos);
}

TEST(ConfigEdgesTest, EmptyAudiencesAndClaimNames) {
  // audiences: [""] passed "audiences required" and matched exactly the tokens with aud "".
  ExpectError(BaseYaml() + "auth:\n  jwt:\n    - {algorithms: [RS256], key_file: k, audiences: ['']}\n",
              "auth.jwt[0].audiences[0]", "must not be empty");
  ExpectError(BaseYaml() + "auth:\n  jwt:\n    - {algorithms: [RS256], key_file: k, audiences: [a], "
                           "required_claims: [tenant, '']}\n",
              "auth.jwt[0].required_claims[1]", "must not be empty");
  ExpectError(BaseYaml() + "auth:\n  introspection: {endpoint: 'https://as/i', client_id: c, "
                           "client_secret: s, audiences: [''], subject_claims: [sub, '']}\n",
              "auth.introspection.audiences[0]", "must not be empty");
  ExpectError(BaseYaml() + "auth:\n  introspection: {endpoint: 'https://as/i', client_id: c, "
                           "client_secret: s, subject_claims: [sub, '']}\n",
              "auth.introspection.subject_claims[1]", "must not be empty");
  // The configured issuer is recorded in every event, so it has the bounds an answer's iss has.
  auto issuer = [](const std::string& value) {
    return BaseYaml() + "auth:\n  introspection: {endpoint: 'https://as/i', client_id: c, "
                        "client_secret: s, issuer: \"" + value + "\"}\n";
  };
  ExpectError(issuer(std::string(257, 'i')), "auth.introspection.issuer", "at most 256 bytes");
  ExpectError(issuer("https://as\\nx"), "auth.introspection.issuer", "without control characters");
  ExpectOk(issuer("https://as.example/realms/Z\xC3\xAB " + std::string(200, 'i')));
}

TEST(ConfigEdgesTest, ControlCharactersInErrorsAreEscaped) {
  // A value or key quoted in an error could start a line of its own in config check's output
  // or the SIGHUP log ("x\n  admin: ok"), or drive the terminal (ESC sequences).
  ConfigLoadResult r = LoadConfigString(
      BaseYaml() + "node: \"edge\\n  routes[0].upstream: fine\"\n\"bad\\e[2Jkey\": 1\n"
                   "log_level: \"info\\tx\"\n");
  const ConfigError* node = FindError(r.errors, "node");
  ASSERT_NE(node, nullptr) << Dump(r.errors);
  EXPECT_NE(node->message.find("'edge\\n  routes[0].upstream: fine'"), std::string::npos) << node->message;
  EXPECT_NE(FindError(r.errors, "bad\\x1b[2Jkey"), nullptr) << Dump(r.errors);
  const ConfigError* level = FindError(r.errors, "log_level");
  ASSERT_NE(level, nullptr) << Dump(r.errors);
  EXPECT_NE(level->message.find("'info\\tx'"), std::string::npos) << level->message;
  for (const auto& e : r.errors) {
    for (char c : e.ToString()) EXPECT_FALSE(c >= 0 && c < 0x20) << e.ToString();
  }
  // UTF-8 is left as it is.
  ConfigLoadResult zoe = LoadConfigString(BaseYaml() + "node: Zo\xC3\xAB\n");
  const ConfigError* utf8 = FindError(zoe.errors, "node");
  ASSERT_NE(utf8, nullptr);
  EXPECT_NE(utf8->message.find("'Zo\xC3\xAB'"), std::string::npos);
}

TEST(ConfigEdgesTest, RoutePatternEdges) {
  auto route = [](const std::string& match) {
    return BaseYaml() + "routes:\n  - {match: '" + match + "', upstream: api}\n";
  };
  ExpectError(route("GET /a%2Fb"), "routes[0].match", "contains '%'");
  ExpectError(route("GET /a/{}"), "routes[0].match", "must be an identifier");
  ExpectError(route("GET /a/{id"), "routes[0].match", "whole segment");
  ExpectError(route("GET /a/id}"), "routes[0].match", "whole segment");
  ExpectError(route("GET /a/{{id}}"), "routes[0].match", "must be an identifier");
  ExpectError(route("GET /a/.."), "routes[0].match", "dot segments");
  ExpectError(route("GET"), "routes[0].match", "must be 'METHOD /path'");
  ExpectError(route(""), "routes[0].match", "required");
  ExpectError(route("GET /caf\xC3\xA9"), "routes[0].match", "contains");
  ExpectError(route("GET /a b"), "routes[0].match", "spaces");
  ExpectError(BaseYaml() + "routes:\n  - {match: GET /a/**, upstream: api}\n  - {match: 'GET  /a/**', upstream: api}\n",
              "routes[1].match", "same method and path as routes[0]");
  // Overlaps that the router orders are allowed: specific before general, methods before '*'.
  ExpectOk(BaseYaml() + R"(routes:
  - {match: '* /a', upstream: api}
  - {match: 'GET /a', upstream: api}
  - {match: 'GET /a/{id}', upstream: api}
  - {match: 'GET /a/**', upstream: api}
  - {match: 'GET /a/b', upstream: api}
)");
}

TEST(ConfigEdgesTest, SecretsStayOutOfEveryMessage) {
  const std::string secret = "TOPSECRET-9f8e7d6c5b4a";
  const std::vector<std::string> docs = {
      // a secret written where a map or list is expected, or next to a merge key
      "admin: {tokens: [{" + secret + ": 1}]}\n",
      "admin: {tokens: [\"" + secret + "\\0\"]}\n",
      "auth: {jwt: [{algorithms: [HS256], allow_any_audience: true, secret: {" + secret + ": 1}}]}\n",
      "auth: {introspection: {endpoint: 'https://as/i', client_id: c, client_secret: {a: " + secret + "}}}\n",
      "audit: {archive: {command: \"cp '%p' /mnt/" + secret + "\"}}\nadmin: {enabled: false}\n",
      "audit: {archive: {command: \"cp %p /mnt/" + secret + "\\n\"}}\nadmin: {enabled: false}\n",
  };
  for (const std::string& doc : docs) {
    ConfigLoadResult r = LoadConfigString(doc);
    EXPECT_FALSE(r.ok()) << doc;
    for (const auto& e : r.errors) {
      EXPECT_EQ(e.ToString().find("TOPSECRET"), std::string::npos) << e.ToString();
    }
  }
}

}  // namespace
}  // namespace apitrail
