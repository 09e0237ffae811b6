#include <spdlog/spdlog.h>

#include <iostream>

#include "cli/commands.h"
#include "cli/server_runtime.h"
#include "config/config_loader.h"

namespace apitrail {

void AddServeCommand(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("serve", "Run the gateway, the audit store and the admin API");
  auto* path = new std::string;
  cmd->add_option("-c,--config", *path, "Configuration file (YAML)")->required();
  cmd->callback([path, exit_code] {
    ConfigLoadResult loaded = LoadConfigFile(*path);
    if (!loaded.ok()) {
      std::cerr << "apitrail: " << *path << " is not valid:\n";
      for (const auto& e : loaded.errors) std::cerr << "  " << e.ToString() << "\n";
      *exit_code = 2;
      return;
    }
    auto level = spdlog::level::from_str(loaded.config.log_level);
    spdlog::set_level(level);
    *exit_code = RunServer(std::make_shared<const Config>(std::move(loaded.config)), nullptr);
  });
}

}  // namespace apitrail
