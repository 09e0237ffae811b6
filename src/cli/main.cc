// apitrail: an authenticating reverse proxy that records who accessed what, and when.
// See README.md; each subcommand lives in its own *_command.cc.
#include <spdlog/spdlog.h>

#include <iostream>

#include "cli/commands.h"
#include "cli/server_runtime.h"

#ifndef APITRAIL_VERSION
#define APITRAIL_VERSION "dev"
#endif

int main(int argc, char** argv) {
  apitrail::BlockServerSignals();
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%fZ %^%l%$ %v", spdlog::pattern_time_type::utc);
  CLI::App app{"apitrail — who accessed what, and when, for any REST API"};
  app.require_subcommand(1);
  int exit_code = 0;
  apitrail::AddServeCommand(app, &exit_code);
  apitrail::AddDemoCommand(app, &exit_code);
  apitrail::AddKeysCommand(app, &exit_code);
  apitrail::AddQueryCommand(app, &exit_code);
  apitrail::AddStatsCommand(app, &exit_code);
  apitrail::AddVerifyCommand(app, &exit_code);
  apitrail::AddConfigCommand(app, &exit_code);
  apitrail::AddKeyCommand(app, &exit_code);
  apitrail::AddProofCommands(app, &exit_code);
  apitrail::AddJwtCommand(app, &exit_code);
  apitrail::AddExportCommand(app, &exit_code);
  app.add_subcommand("version", "Print the version")->callback([] {
    std::cout << "apitrail " << APITRAIL_VERSION << "\n";
  });
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;  // usage errors exit 2, like config errors
  }
  return exit_code;
}
