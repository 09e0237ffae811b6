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
    std::string config_path = *path;
    ConfigReloader reload = [config_path]() -> Result<std::shared_ptr<const Config>> {
      ConfigLoadResult again = LoadConfigFile(config_path);
      if (!again.ok()) {
        std::string all = config_path + " is not valid:";
        for (const auto& e : again.errors) all += " " + e.ToString() + ";";
        return Status::InvalidArgument(all);
      }
      return std::make_shared<const Config>(std::move(again.config));
    };
    *exit_code = RunServer(std::make_shared<const Config>(std::move(loaded.config)), nullptr, reload);
  });
}

}  // namespace apitrail
