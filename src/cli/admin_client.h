// AdminClient: what the online CLI commands (`query`, `stats`) share — the --admin/--token/
// --data flags, finding the admin token (flag, APITRAIL_ADMIN_TOKEN, the demo's credentials in
// the data dir), one GET with encoded query parameters, and turning every failure into one
// message on stderr and an exit code. Used on the CLI's main thread.
#pragma once

#include <CLI/CLI.hpp>
#include <boost/json/value.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace apitrail {

struct AdminFlags {
  std::string admin = "127.0.0.1:8081";
  std::string token;
  std::string data = "./apitrail-data";
};

// Adds --admin, --token and --data to `cmd`.
void AddAdminFlags(CLI::App* cmd, AdminFlags* f);

// GETs `path` with the non-empty `params` (percent-encoded) from the admin API. On a 200
// returns the body; otherwise prints "<tool>: <why>" and sets *exit_code (2 for bad flags and
// HTTP 400, else 1) and returns nullopt.
std::optional<std::string> AdminGet(std::string_view tool, const AdminFlags& f, std::string path,
                                    const std::vector<std::pair<std::string, std::string>>& params,
                                    uint32_t timeout_ms, int* exit_code);

// Parses an answer expected to be a JSON object; prints "<tool>: unexpected answer" and sets
// *exit_code = 1 otherwise.
std::optional<boost::json::value> ParseAdminAnswer(std::string_view tool, const std::string& body,
                                                   int* exit_code);

}  // namespace apitrail
