#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <filesystem>
#include <iostream>

#include "auth/key_store.h"
#include "cli/commands.h"
#include "cli/credentials_file.h"
#include "cli/server_runtime.h"
#include "config/config_loader.h"
#include "core/crypto_util.h"
#include "core/ids.h"
#include "demo/demo_api.h"

namespace apitrail {

namespace {

struct DemoFlags {
  std::string data = "./apitrail-data";
  std::string gateway = "127.0.0.1:8080";
  std::string admin = "127.0.0.1:8081";
  std::string upstream = "127.0.0.1:8090";
};

// Reuses the credentials of an earlier run while its key is still valid, so the commands a
// user copied keep working; otherwise mints new ones.
Result<DemoCredentials> EnsureCredentials(const std::string& data_dir) {
  std::string key_path = KeyFilePath(ApiKeyAuthConfig{}, data_dir);
  if (auto old = ReadDemoCredentials(data_dir); old.ok()) {
    auto keys = LoadKeyFile(key_path);
    auto id = ParseApiKey(old->api_key);
    if (keys.ok() && id.ok()) {
      const ApiKeyRecord* rec = keys->Find(*id);
      if (rec && !rec->revoked_ns && !rec->expires_ns &&
          ConstantTimeEquals(rec->hash, HashApiKey(old->api_key))) {
        return old;
      }
    }
  }
  auto key = CreateKey(key_path, "demo-user", {"orders:read", "orders:write"}, std::nullopt,
                       "created by apitrail demo");
  if (!key.ok()) return key.status();
  DemoCredentials c{key->key, "adm_" + RandomHexId(24)};
  APITRAIL_RETURN_IF_ERROR(WriteDemoCredentials(data_dir, c));
  return c;
}

void PrintBanner(const DemoFlags& f, const DemoCredentials& c, const ServerReady& r, const Config& cfg) {
  std::string gw = "http://" + cfg.gateway.listen.host + ":" + std::to_string(r.gateway_port);
  std::string adm = "http://" + cfg.admin.listen.host + ":" + std::to_string(r.admin_port);
  std::cout << "\n"
            << "apitrail demo is running\n"
            << "  gateway     " << gw << "   (in front of the demo API on " << f.upstream << ")\n"
            << "  admin API   " << adm << "\n"
            << "  data        " << f.data << "   (credentials in " << DemoCredentialsPath(f.data) << ")\n\n"
            << "  API key     " << c.api_key << "\n"
            << "  admin token " << c.admin_token << "\n\n"
            << "Try:\n"
            << "  curl -i " << gw << "/v1/orders/42\n"
            << "      # refused: no identity, no access (401, and audited)\n"
            << "  curl -i -H 'Authorization: Bearer " << c.api_key << "' " << gw << "/v1/orders/42\n"
            << "      # allowed, forwarded, recorded before the answer is released\n"
            << "  curl -s -H 'Authorization: Bearer " << c.admin_token << "' '" << adm
            << "/api/v1/events?limit=5'\n"
            << "      # who accessed what, and when\n"
            << "  ./build/apitrail query --data " << f.data << " --admin " << cfg.admin.listen.host << ":"
            << r.admin_port << "\n"
            << "  ./build/apitrail verify --data " << f.data << "\n\n"
            << "Stop with Ctrl-C.\n"
            << std::flush;
}

}  // namespace

void AddDemoCommand(CLI::App& app, int* exit_code) {
  auto* f = new DemoFlags;
  auto* cmd = app.add_subcommand("demo", "Run the gateway in front of a built-in demo API");
  cmd->add_option("--data", f->data, "Data directory")->capture_default_str();
  cmd->add_option("--gateway", f->gateway, "Gateway listen address")->capture_default_str();
  cmd->add_option("--admin", f->admin, "Admin API listen address")->capture_default_str();
  cmd->add_option("--upstream", f->upstream, "Demo API listen address")->capture_default_str();
  cmd->callback([f, exit_code] {
    HostPort gw, adm, up;
    std::string err;
    if (!ParseHostPort(f->gateway, &gw, &err) || !ParseHostPort(f->admin, &adm, &err) ||
        !ParseHostPort(f->upstream, &up, &err)) {
      std::cerr << "apitrail demo: " << err << "\n";
      *exit_code = 2;
      return;
    }
    std::error_code ec;
    std::filesystem::create_directories(f->data, ec);
    ::chmod(f->data.c_str(), 0700);
    auto creds = EnsureCredentials(f->data);
    if (!creds.ok()) {
      std::cerr << "apitrail demo: " << creds.status().message() << "\n";
      *exit_code = 1;
      return;
    }
    auto upstream = SimpleHttpServer::Create(up, SimpleServerOptions{.threads = 1}, HandleDemoRequest);
    if (!upstream.ok()) {
      std::cerr << "apitrail demo: demo API: " << upstream.status().message() << "\n";
      *exit_code = 1;
      return;
    }
    (*upstream)->Start();
    up.port = (*upstream)->port();
    Config cfg = BuildDemoConfig(f->data, gw, adm, up, creds->admin_token);
    auto errors = ValidateConfig(cfg);
    if (!errors.empty()) {
      for (const auto& e : errors) std::cerr << "apitrail demo: " << e.ToString() << "\n";
      *exit_code = 2;
      return;
    }
    auto shared = std::make_shared<const Config>(std::move(cfg));
    DemoCredentials c = *creds;
    *exit_code = RunServer(shared, [&](const ServerReady& r) { PrintBanner(*f, c, r, *shared); });
    (*upstream)->Stop();
  });
}

}  // namespace apitrail
