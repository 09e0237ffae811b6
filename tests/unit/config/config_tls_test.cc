// gateway.tls, upstreams[].tls and auth.mtls: parsed, defaulted and validated with key paths.
// (The files themselves are read when the gateway starts: tests/integration/test_tls.py.)
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "config/config_loader.h"
#include "config_test_util.h"

namespace apitrail {
namespace {

using testing_config::BaseYaml;
using testing_config::Dump;
using testing_config::ExpectError;
using testing_config::FindError;

TEST(ConfigTlsTest, DefaultsAreOff) {
  ConfigLoadResult r = LoadConfigString(BaseYaml());
  ASSERT_TRUE(r.ok()) << Dump(r.errors);
  EXPECT_FALSE(r.config.gateway.tls.enabled());
  EXPECT_EQ(r.config.gateway.tls.min_version, "1.2");
  EXPECT_EQ(r.config.gateway.tls.client_auth, "none");
  EXPECT_FALSE(r.config.upstreams[0].tls.enabled);
  EXPECT_FALSE(r.config.auth.mtls.enabled);
  EXPECT_EQ(r.config.auth.mtls.subject_from, (std::vector<std::string>{"uri", "dns", "email", "cn"}));
}

TEST(ConfigTlsTest, FullTlsConfigParses) {
  std::string yaml = R"(
gateway:
  tls:
    cert_file: /etc/apitrail/server.pem
    key_file: /etc/apitrail/server.key
    min_version: "1.3"
    client_ca_file: /etc/apitrail/clients.pem
    client_auth: required
upstreams:
  - name: api
    address: 127.0.0.1:8443
    tls:
      ca_file: /etc/apitrail/upstream-ca.pem
      server_name: api.internal
  - name: plain
    address: 127.0.0.1:8090
  - name: bare
    address: 127.0.0.1:8444
    tls: {}
auth:
  mtls:
    enabled: true
    subject_from: [dns, cn]
admin:
  tokens: ["0123456789abcdef0123"]
)";
  ConfigLoadResult r = LoadConfigString(yaml);
  ASSERT_TRUE(r.ok()) << Dump(r.errors);
  const GatewayTlsConfig& t = r.config.gateway.tls;
  EXPECT_TRUE(t.enabled());
  EXPECT_EQ(t.cert_file, "/etc/apitrail/server.pem");
  EXPECT_EQ(t.key_file, "/etc/apitrail/server.key");
  EXPECT_EQ(t.min_version, "1.3");
  EXPECT_EQ(t.client_auth, "required");
  EXPECT_TRUE(r.config.upstreams[0].tls.enabled);
  EXPECT_TRUE(r.config.upstreams[0].tls.verify);
  EXPECT_EQ(r.config.upstreams[0].tls.server_name, "api.internal");
  EXPECT_EQ(r.config.upstreams[0].tls.ca_file, "/etc/apitrail/upstream-ca.pem");
  EXPECT_FALSE(r.config.upstreams[1].tls.enabled);
  EXPECT_TRUE(r.config.upstreams[2].tls.enabled);  // `tls: {}`: system CAs, the address's host
  EXPECT_TRUE(r.config.auth.mtls.enabled);
  EXPECT_EQ(r.config.auth.mtls.subject_from, (std::vector<std::string>{"dns", "cn"}));
}

TEST(ConfigTlsTest, GatewayTlsErrorsNameTheKey) {
  ExpectError(BaseYaml() + "gateway:\n  tls:\n    cert_file: a.pem\n", "gateway.tls.key_file",
              "required when gateway.tls is set");
  ExpectError(BaseYaml() + "gateway:\n  tls:\n    key_file: a.key\n", "gateway.tls.cert_file",
              "required when gateway.tls is set");
  ExpectError(BaseYaml() + "gateway:\n  tls:\n    cert_file: a\n    key_file: b\n    min_version: '1.1'\n",
              "gateway.tls.min_version", "must be one of 1.2, 1.3, got '1.1'");
  ExpectError(BaseYaml() + "gateway:\n  tls:\n    cert_file: a\n    key_file: b\n    client_auth: maybe\n",
              "gateway.tls.client_auth", "must be one of none, optional, required");
  ExpectError(BaseYaml() + "gateway:\n  tls:\n    cert_file: a\n    key_file: b\n    client_auth: required\n",
              "gateway.tls.client_ca_file", "required when client_auth is 'required'");
  ExpectError(BaseYaml() + "gateway:\n  tls:\n    cert_file: a\n    key_file: b\n    client_ca_file: c\n",
              "gateway.tls.client_auth", "set to optional or required");
  ExpectError(BaseYaml() + "gateway:\n  tls:\n    client_auth: optional\n    client_ca_file: c\n",
              "gateway.tls.cert_file", "client certificates need TLS");
  ExpectError(BaseYaml() + "gateway:\n  tls:\n    cert: a\n", "gateway.tls.cert", "unknown key");
}

TEST(ConfigTlsTest, UpstreamTlsErrors) {
  std::string head = "upstreams:\n  - name: api\n    address: 127.0.0.1:8443\n    tls:\n";
  std::string admin = "admin:\n  tokens: [\"0123456789abcdef0123\"]\n";
  ExpectError(head + "      server_name: 'bad name'\n" + admin, "upstreams[0].tls.server_name",
              "is not a host name or IP address");
  ExpectError(head + "      verify: false\n      ca_file: x.pem\n" + admin, "upstreams[0].tls.verify",
              "ignores ca_file");
  ExpectError(head + "      verify: sometimes\n" + admin, "upstreams[0].tls.verify",
              "expected true or false");
  ExpectError(head + "      sni: x\n" + admin, "upstreams[0].tls.sni", "unknown key");
  ConfigLoadResult ok = LoadConfigString(head + "      server_name: '::1'\n" + admin);
  EXPECT_TRUE(ok.ok()) << Dump(ok.errors);
}

TEST(ConfigTlsTest, MtlsNeedsClientCertificates) {
  ExpectError(BaseYaml() + "auth:\n  mtls:\n    enabled: true\n", "auth.mtls.enabled",
              "needs gateway.tls with client_auth optional or required");
  ExpectError(BaseYaml() + "auth:\n  mtls:\n    subject_from: [cn, serial]\n",
              "auth.mtls.subject_from[1]", "must be one of uri, dns, email, cn, got 'serial'");
  ExpectError(BaseYaml() + "auth:\n  mtls:\n    subject_from: []\n", "auth.mtls.subject_from",
              "at least one");
}

TEST(ConfigTlsTest, RelativePathsResolvedNextToTheConfigFile) {
  auto dir = std::filesystem::temp_directory_path() /
             ("apitrail-config-tls-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::string path = (dir / "apitrail.yaml").string();
  {
    std::ofstream out(path);
    out << "gateway:\n  tls:\n    cert_file: s.pem\n    key_file: keys/s.key\n"
           "    client_auth: optional\n    client_ca_file: /abs/ca.pem\n"
        << "upstreams:\n  - name: api\n    address: 127.0.0.1:8443\n    tls: {ca_file: up.pem}\n"
        << "admin:\n  tokens: [\"0123456789abcdef0123\"]\n";
  }
  ConfigLoadResult r = LoadConfigFile(path);
  std::filesystem::remove_all(dir);
  ASSERT_TRUE(r.ok()) << Dump(r.errors);
  EXPECT_EQ(r.config.gateway.tls.cert_file, (dir / "s.pem").string());
  EXPECT_EQ(r.config.gateway.tls.key_file, (dir / "keys/s.key").string());
  EXPECT_EQ(r.config.gateway.tls.client_ca_file, "/abs/ca.pem");
  EXPECT_EQ(r.config.upstreams[0].tls.ca_file, (dir / "up.pem").string());
}

}  // namespace
}  // namespace apitrail
