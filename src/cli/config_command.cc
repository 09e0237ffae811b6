#include <iostream>

#include "cli/commands.h"
#include "cli/config_files_check.h"
#include "config/config_loader.h"

namespace apitrail {

void AddConfigCommand(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("config", "Configuration tools");
  cmd->require_subcommand(1);
  auto* check = cmd->add_subcommand("check", "Validate a configuration file; exit 0 if valid, 2 if not");
  auto* path = new std::string;
  check->add_option("-c,--config", *path, "Configuration file (YAML)")->required();
  check->callback([path, exit_code] {
    ConfigLoadResult loaded = LoadConfigFile(*path);
    if (loaded.ok()) {
      // The files it names too: the check an operator runs before a serve or a SIGHUP that
      // would otherwise be refused.
      for (auto& problem : CheckConfigFiles(loaded.config)) loaded.errors.push_back({"", std::move(problem)});
    }
    if (loaded.ok()) {
      std::cout << *path << ": ok (" << loaded.config.routes.size() << " routes, "
                << loaded.config.upstreams.size() << " upstreams)\n";
      *exit_code = 0;
      return;
    }
    std::cerr << *path << ": " << loaded.errors.size() << " problem(s):\n";
    for (const auto& e : loaded.errors) std::cerr << "  " << e.ToString() << "\n";
    *exit_code = 2;
  });
}

}  // namespace apitrail
