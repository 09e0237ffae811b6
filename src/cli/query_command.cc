#include <boost/json/parse.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

#include <iostream>

#include "cli/commands.h"
#include "cli/credentials_file.h"
#include "config/config_loader.h"
#include "net/simple_http.h"

namespace apitrail {

namespace {

struct QueryFlags {
  std::string admin = "127.0.0.1:8081";
  std::string token;
  std::string data = "./apitrail-data";
  std::vector<std::pair<std::string, std::string*>> filters;
  std::string id;
  bool json = false;
};

std::string Str(const boost::json::object& o, const char* k) {
  auto* v = o.if_contains(k);
  if (!v) return "";
  if (v->is_string()) return std::string(v->get_string());
  if (v->is_int64()) return std::to_string(v->get_int64());
  return "";
}

void PrintTable(const boost::json::array& events) {
  std::printf("%-30s %-16s %-6s %-32s %-6s %-6s %-22s %s\n", "TIME", "SUBJECT", "METHOD", "PATH",
              "STATUS", "DECIS", "DENY_REASON", "CORRELATION_ID");
  for (const auto& v : events) {
    if (!v.is_object()) continue;
    const auto& o = v.get_object();
    std::printf("%-30s %-16s %-6s %-32s %-6s %-6s %-22s %s\n", Str(o, "time").c_str(),
                Str(o, "subject").c_str(), Str(o, "method").c_str(), Str(o, "path").substr(0, 32).c_str(),
                Str(o, "status").c_str(), Str(o, "decision").c_str(), Str(o, "deny_reason").c_str(),
                Str(o, "correlation_id").c_str());
  }
}

}  // namespace

void AddQueryCommand(CLI::App& app, int* exit_code) {
  auto* f = new QueryFlags;
  auto* cmd = app.add_subcommand("query", "Search the audit trail through the admin API (newest first)");
  cmd->add_option("--admin", f->admin, "Admin API address")->capture_default_str();
  cmd->add_option("--token", f->token, "Admin token (default: APITRAIL_ADMIN_TOKEN, or the demo's credentials in --data)");
  cmd->add_option("--data", f->data, "Data directory holding demo-credentials.json")->capture_default_str();
  cmd->add_option("--id", f->id, "Show one event by id");
  for (const char* name : {"subject", "route", "resource", "status", "decision", "method", "client_ip",
                           "correlation_id", "trace_id", "since", "until", "limit", "cursor"}) {
    auto* value = new std::string;
    f->filters.emplace_back(name, value);
    cmd->add_option(std::string("--") + name, *value, std::string("Filter: ") + name);
  }
  cmd->add_flag("--json", f->json, "Print the API's JSON instead of a table");
  cmd->callback([f, exit_code] {
    HostPort admin;
    std::string err;
    if (!ParseHostPort(f->admin, &admin, &err)) {
      std::cerr << "apitrail query: --admin: " << err << "\n";
      *exit_code = 2;
      return;
    }
    std::string token = f->token;
    if (token.empty() && std::getenv("APITRAIL_ADMIN_TOKEN")) token = std::getenv("APITRAIL_ADMIN_TOKEN");
    if (token.empty()) {
      auto creds = ReadDemoCredentials(f->data);
      if (creds.ok()) token = creds->admin_token;
    }
    if (token.empty()) {
      std::cerr << "apitrail query: no admin token (use --token or APITRAIL_ADMIN_TOKEN)\n";
      *exit_code = 2;
      return;
    }
    std::string target;
    if (!f->id.empty()) {
      target = "/api/v1/events/" + boost::urls::encode(f->id, boost::urls::unreserved_chars);
    } else {
      target = "/api/v1/events";
      char sep = '?';
      for (const auto& [name, value] : f->filters) {
        if (value->empty()) continue;
        target += sep + name + "=" + boost::urls::encode(*value, boost::urls::unreserved_chars);
        sep = '&';
      }
    }
    auto res = HttpRequest(admin, "GET", target, {{"Authorization", "Bearer " + token}}, "", 10000);
    if (!res.ok()) {
      std::cerr << "apitrail query: " << res.status().message() << "\n";
      *exit_code = 1;
      return;
    }
    if (res->status != 200) {
      std::cerr << "apitrail query: HTTP " << res->status << ": " << res->body << "\n";
      *exit_code = res->status == 400 ? 2 : 1;
      return;
    }
    if (f->json) {
      std::cout << res->body << "\n";
      return;
    }
    boost::system::error_code ec;
    auto v = boost::json::parse(res->body, ec);
    if (ec || !v.is_object()) {
      std::cerr << "apitrail query: unexpected answer\n";
      *exit_code = 1;
      return;
    }
    if (!f->id.empty()) {
      std::cout << res->body << "\n";
      return;
    }
    const auto& o = v.get_object();
    if (auto* ev = o.if_contains("events"); ev && ev->is_array()) PrintTable(ev->get_array());
    if (auto* nc = o.if_contains("next_cursor"); nc && nc->is_string()) {
      std::cout << "(more: --cursor " << std::string_view(nc->get_string()) << ")\n";
    }
  });
}

}  // namespace apitrail
