#include <iostream>

#include "cli/commands.h"
#include "config/config_loader.h"
#include "gateway/tls_contexts.h"

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
      // The TLS files too (readable, PEM, key matching the certificate): the check an operator
      // runs before a SIGHUP that would otherwise be refused.
      auto tls = TlsContexts::Create(loaded.config);
      if (!tls.ok()) loaded.errors.push_back({"", tls.status().message()});
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
