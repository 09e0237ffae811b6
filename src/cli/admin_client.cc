#include "cli/admin_client.h"

#include <boost/json/parse.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

#include <cstdlib>
#include <iostream>

#include "cli/credentials_file.h"
#include "config/config_loader.h"
#include "net/simple_http.h"

namespace apitrail {

void AddAdminFlags(CLI::App* cmd, AdminFlags* f) {
  cmd->add_option("--admin", f->admin, "Admin API address")->capture_default_str();
  cmd->add_option("--token", f->token, "Admin token (default: APITRAIL_ADMIN_TOKEN, or the demo's credentials in --data)");
  cmd->add_option("--data", f->data, "Data directory holding demo-credentials.json")->capture_default_str();
}

std::optional<std::string> AdminGet(std::string_view tool, const AdminFlags& f, std::string path,
                                    const std::vector<std::pair<std::string, std::string>>& params,
                                    uint32_t timeout_ms, int* exit_code) {
  HostPort admin;
  std::string err;
  if (!ParseHostPort(f.admin, &admin, &err)) {
    std::cerr << tool << ": --admin: " << err << "\n";
    *exit_code = 2;
    return std::nullopt;
  }
  std::string token = f.token;
  if (token.empty() && std::getenv("APITRAIL_ADMIN_TOKEN")) token = std::getenv("APITRAIL_ADMIN_TOKEN");
  if (token.empty()) {
    auto creds = ReadDemoCredentials(f.data);
    if (creds.ok()) token = creds->admin_token;
  }
  if (token.empty()) {
    std::cerr << tool << ": no admin token (use --token or APITRAIL_ADMIN_TOKEN)\n";
    *exit_code = 2;
    return std::nullopt;
  }
  char sep = '?';
  for (const auto& [name, value] : params) {
    if (value.empty()) continue;
    path += sep + name + "=" + boost::urls::encode(value, boost::urls::unreserved_chars);
    sep = '&';
  }
  auto res = HttpRequest(admin, "GET", path, {{"Authorization", "Bearer " + token}}, "", timeout_ms);
  if (!res.ok()) {
    std::cerr << tool << ": " << res.status().message() << "\n";
    *exit_code = 1;
    return std::nullopt;
  }
  if (res->status != 200) {
    std::cerr << tool << ": HTTP " << res->status << ": " << res->body << "\n";
    *exit_code = res->status == 400 ? 2 : 1;
    return std::nullopt;
  }
  return std::move(res->body);
}

std::optional<boost::json::value> ParseAdminAnswer(std::string_view tool, const std::string& body,
                                                   int* exit_code) {
  boost::system::error_code ec;
  auto v = boost::json::parse(body, ec);
  if (ec || !v.is_object()) {
    std::cerr << tool << ": unexpected answer\n";
    *exit_code = 1;
    return std::nullopt;
  }
  return v;
}

}  // namespace apitrail
