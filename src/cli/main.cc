// apitrail: an authenticating reverse proxy that records who accessed what, and when.
// See README.md; each subcommand lives in its own *_command.cc.
#include <spdlog/spdlog.h>

#include <cstdio>
#include <iostream>

#include "cli/commands.h"
#include "cli/server_runtime.h"

#ifndef APITRAIL_VERSION
#define APITRAIL_VERSION "dev"
#endif

namespace {

// Whether everything written to stdout reached it. Without this a full disk (`export >
// leaves.txt`) or a lost key (`keys create > key.txt`) exits 0 with the output cut short, as
// stdio only reports the error at exit, where nobody checks it.
bool StdoutWritten() {
  std::cout.flush();
  if (std::fflush(stdout) == 0 && !std::ferror(stdout) && !std::cout.fail()) return true;
  std::cerr << "apitrail: writing to standard output failed (disk full?); the output is incomplete\n";
  return false;
}

}  // namespace

int main(int argc, char** argv) {
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
  // Only the servers take SIGTERM/SIGINT/SIGHUP through sigwait. Blocked in every command,
  // Ctrl-C and kill did nothing to a verify of a large log or a query of a stalled admin API.
  // Blocked when the subcommand is met, before its callback starts any thread.
  for (const char* server : {"serve", "demo"}) {
    app.get_subcommand(server)->preparse_callback([](size_t) { apitrail::BlockServerSignals(); });
  }
  app.add_subcommand("version", "Print the version")->callback([] {
    std::cout << "apitrail " << APITRAIL_VERSION << "\n";
  });
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;  // usage errors exit 2, like config errors
  }
  // serve and demo log to stdout for days: a log line lost to a full disk is not a failed run.
  const bool server = app.got_subcommand("serve") || app.got_subcommand("demo");
  if (exit_code == 0 && !server && !StdoutWritten()) return 1;
  return exit_code;
}
