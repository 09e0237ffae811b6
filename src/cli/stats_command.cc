// apitrail stats top|series: the rollups of a running node through its admin API
// (GET /api/v1/stats/top and /series), printed as a table or, with --json, as the API's JSON.
// Online like `apitrail query`: only the running server owns the data dir's writer and has
// the minutes not yet persisted.
#include <boost/json/parse.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

#include <cstdio>
#include <iostream>

#include "cli/commands.h"
#include "cli/credentials_file.h"
#include "config/config_loader.h"
#include "net/simple_http.h"

namespace apitrail {

namespace {

struct StatsFlags {
  std::string admin = "127.0.0.1:8081";
  std::string token;
  std::string data = "./apitrail-data";
  std::string dim, metric, k, step, since, until;
  bool json = false;
};

uint64_t U(const boost::json::object& o, const char* k) {
  auto* v = o.if_contains(k);
  if (v && v->is_int64()) return static_cast<uint64_t>(v->get_int64());
  if (v && v->is_uint64()) return v->get_uint64();
  return 0;
}

std::string S(const boost::json::object& o, const char* k) {
  auto* v = o.if_contains(k);
  return v && v->is_string() ? std::string(v->get_string()) : "";
}

void PrintTop(const boost::json::object& o) {
  std::printf("top %s by %s, %s .. %s (total %llu)\n", S(o, "dim").c_str(), S(o, "metric").c_str(),
              S(o, "since").c_str(), S(o, "until").c_str(), static_cast<unsigned long long>(U(o, "total")));
  std::printf("%10s %8s %8s %8s  %s\n", "REQUESTS", "5XX", "4XX", "DENIED", "KEY");
  auto row = [](const boost::json::object& c, const std::string& key) {
    std::printf("%10llu %8llu %8llu %8llu  %s\n", static_cast<unsigned long long>(U(c, "requests")),
                static_cast<unsigned long long>(U(c, "errors")), static_cast<unsigned long long>(U(c, "client_errors")),
                static_cast<unsigned long long>(U(c, "denied")), key.c_str());
  };
  if (auto* items = o.if_contains("items"); items && items->is_array()) {
    for (const auto& v : items->get_array()) {
      if (v.is_object()) row(v.get_object(), S(v.get_object(), "key").empty() ? "(none)" : S(v.get_object(), "key"));
    }
  }
  if (auto* other = o.if_contains("other"); other && other->is_object() && U(other->get_object(), "requests") > 0) {
    row(other->get_object(), "(other: keys beyond audit.rollups.max_keys)");
  }
}

void PrintSeries(const boost::json::object& o) {
  std::printf("%s per %llds, %s .. %s (total %llu)\n", S(o, "metric").c_str(),
              static_cast<long long>(U(o, "step_seconds")), S(o, "since").c_str(), S(o, "until").c_str(),
              static_cast<unsigned long long>(U(o, "total")));
  if (auto* points = o.if_contains("points"); points && points->is_array()) {
    for (const auto& v : points->get_array()) {
      if (v.is_object()) {
        std::printf("%s %llu\n", S(v.get_object(), "t").c_str(),
                    static_cast<unsigned long long>(U(v.get_object(), "value")));
      }
    }
  }
}

void Run(const StatsFlags& f, const std::string& which, int* exit_code) {
  HostPort admin;
  std::string err;
  if (!ParseHostPort(f.admin, &admin, &err)) {
    std::cerr << "apitrail stats: --admin: " << err << "\n";
    *exit_code = 2;
    return;
  }
  std::string token = f.token;
  if (token.empty() && std::getenv("APITRAIL_ADMIN_TOKEN")) token = std::getenv("APITRAIL_ADMIN_TOKEN");
  if (token.empty()) {
    auto creds = ReadDemoCredentials(f.data);
    if (creds.ok()) token = creds->admin_token;
  }
  if (token.empty()) {
    std::cerr << "apitrail stats: no admin token (use --token or APITRAIL_ADMIN_TOKEN)\n";
    *exit_code = 2;
    return;
  }
  std::string target = "/api/v1/stats/" + which;
  char sep = '?';
  const std::pair<const char*, const std::string*> params[] = {
      {"dim", &f.dim}, {"metric", &f.metric}, {"k", &f.k}, {"step", &f.step}, {"since", &f.since}, {"until", &f.until}};
  for (const auto& [name, value] : params) {
    if (value->empty()) continue;
    target += sep + std::string(name) + "=" + boost::urls::encode(*value, boost::urls::unreserved_chars);
    sep = '&';
  }
  auto res = HttpRequest(admin, "GET", target, {{"Authorization", "Bearer " + token}}, "", 30000);
  if (!res.ok()) {
    std::cerr << "apitrail stats: " << res.status().message() << "\n";
    *exit_code = 1;
    return;
  }
  if (res->status != 200) {
    std::cerr << "apitrail stats: HTTP " << res->status << ": " << res->body << "\n";
    *exit_code = res->status == 400 ? 2 : 1;
    return;
  }
  if (f.json) {
    std::cout << res->body << "\n";
    return;
  }
  boost::system::error_code ec;
  auto v = boost::json::parse(res->body, ec);
  if (ec || !v.is_object()) {
    std::cerr << "apitrail stats: unexpected answer\n";
    *exit_code = 1;
    return;
  }
  if (which == "top") {
    PrintTop(v.get_object());
  } else {
    PrintSeries(v.get_object());
  }
}

void CommonFlags(CLI::App* cmd, StatsFlags* f) {
  cmd->add_option("--admin", f->admin, "Admin API address")->capture_default_str();
  cmd->add_option("--token", f->token, "Admin token (default: APITRAIL_ADMIN_TOKEN, or the demo's credentials in --data)");
  cmd->add_option("--data", f->data, "Data directory holding demo-credentials.json")->capture_default_str();
  cmd->add_option("--since", f->since, "Start: RFC 3339 or a duration ago (default 24h)");
  cmd->add_option("--until", f->until, "End: RFC 3339 or a duration ago (default now)");
  cmd->add_flag("--json", f->json, "Print the API's JSON instead of a table");
}

}  // namespace

void AddStatsCommand(CLI::App& app, int* exit_code) {
  auto* stats = app.add_subcommand("stats", "Rollups of a running node: top keys and per-minute series");
  stats->require_subcommand(1);
  auto* top_flags = new StatsFlags;
  auto* top = stats->add_subcommand("top", "Top routes, subjects or client IPs (GET /api/v1/stats/top)");
  CommonFlags(top, top_flags);
  top->add_option("--dim", top_flags->dim, "route, subject or client_ip")->required();
  top->add_option("--metric", top_flags->metric, "requests (default), errors (5xx), client_errors (4xx) or denied");
  top->add_option("--k", top_flags->k, "How many (1..1000, default 10)");
  top->callback([top_flags, exit_code] { Run(*top_flags, "top", exit_code); });
  auto* series_flags = new StatsFlags;
  auto* series = stats->add_subcommand("series", "Counts per step (GET /api/v1/stats/series)");
  CommonFlags(series, series_flags);
  series->add_option("--metric", series_flags->metric, "requests, errors (5xx), client_errors (4xx) or denied")->required();
  series->add_option("--step", series_flags->step, "1m (default), 5m, 15m, 1h or 1d");
  series->callback([series_flags, exit_code] { Run(*series_flags, "series", exit_code); });
}

}  // namespace apitrail
