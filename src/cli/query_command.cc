#include <boost/json/value.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

#include <iostream>

#include "cli/admin_client.h"
#include "cli/commands.h"

namespace apitrail {

namespace {

struct QueryFlags {
  AdminFlags admin;
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
  AddAdminFlags(cmd, &f->admin);
  cmd->add_option("--id", f->id, "Show one event by id");
  for (const char* name : {"subject", "route", "resource", "status", "decision", "method", "client_ip",
                           "correlation_id", "trace_id", "since", "until", "limit", "cursor"}) {
    auto* value = new std::string;
    f->filters.emplace_back(name, value);
    cmd->add_option(std::string("--") + name, *value, std::string("Filter: ") + name);
  }
  cmd->add_flag("--json", f->json, "Print the API's JSON instead of a table");
  cmd->callback([f, exit_code] {
    std::string path = "/api/v1/events";
    std::vector<std::pair<std::string, std::string>> params;
    if (!f->id.empty()) {
      path += "/" + boost::urls::encode(f->id, boost::urls::unreserved_chars);
    } else {
      for (const auto& [name, value] : f->filters) params.emplace_back(name, *value);
    }
    auto body = AdminGet("apitrail query", f->admin, path, params, 10000, exit_code);
    if (!body) return;
    // Checked for --json too: a wrong --admin (another HTTP service) answers 200 with HTML,
    // which a script would have been handed with exit 0.
    auto v = ParseAdminAnswer("apitrail query", *body, exit_code);
    if (!v) return;
    if (f->json || !f->id.empty()) {
      std::cout << *body << "\n";
      return;
    }
    const auto& o = v->get_object();
    if (auto* ev = o.if_contains("events"); ev && ev->is_array()) PrintTable(ev->get_array());
    if (auto* nc = o.if_contains("next_cursor"); nc && nc->is_string()) {
      std::cout << "(more: --cursor " << std::string_view(nc->get_string()) << ")\n";
    }
  });
}

}  // namespace apitrail
