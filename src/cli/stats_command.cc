// apitrail stats top|series: the rollups of a running node through its admin API
// (GET /api/v1/stats/top and /series), printed as a table or, with --json, as the API's JSON.
// Online like `apitrail query`: only the running server owns the data dir's writer and has
// the minutes not yet persisted.
#include <boost/json/value.hpp>

#include <cstdio>
#include <iostream>

#include "cli/admin_client.h"
#include "cli/commands.h"

namespace apitrail {

namespace {

struct StatsFlags {
  AdminFlags admin;
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
  const std::vector<std::pair<std::string, std::string>> params = {
      {"dim", f.dim}, {"metric", f.metric}, {"k", f.k}, {"step", f.step}, {"since", f.since}, {"until", f.until}};
  auto body = AdminGet("apitrail stats", f.admin, "/api/v1/stats/" + which, params, 30000, exit_code);
  if (!body) return;
  // Checked for --json too: a wrong --admin (another HTTP service) answers 200 with HTML,
  // which a script would have been handed with exit 0.
  auto v = ParseAdminAnswer("apitrail stats", *body, exit_code);
  if (!v) return;
  if (f.json) {
    std::cout << *body << "\n";
  } else if (which == "top") {
    PrintTop(v->get_object());
  } else {
    PrintSeries(v->get_object());
  }
}

void CommonFlags(CLI::App* cmd, StatsFlags* f) {
  AddAdminFlags(cmd, &f->admin);
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
