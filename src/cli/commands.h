// One registration function per subcommand (one file each). Each adds its subcommand to the
// app and sets a callback that stores the exit code in *exit_code. Called once from main.
#pragma once

#include <CLI/CLI.hpp>

namespace apitrail {

void AddServeCommand(CLI::App& app, int* exit_code);
void AddDemoCommand(CLI::App& app, int* exit_code);
void AddKeysCommand(CLI::App& app, int* exit_code);
void AddQueryCommand(CLI::App& app, int* exit_code);
void AddStatsCommand(CLI::App& app, int* exit_code);   // `stats top|series`
void AddVerifyCommand(CLI::App& app, int* exit_code);
void AddConfigCommand(CLI::App& app, int* exit_code);
void AddKeyCommand(CLI::App& app, int* exit_code);
void AddProofCommands(CLI::App& app, int* exit_code);  // `prove …` and `proof check`
void AddJwtCommand(CLI::App& app, int* exit_code);
void AddExportCommand(CLI::App& app, int* exit_code);  // `export --leaves`

}  // namespace apitrail
