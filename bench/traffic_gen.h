// TrafficGen: a deterministic stream of realistic audit events for the query benchmark
// (issue #3): thousands of subjects with skewed activity, ~200 route templates with resource
// ids, ~3% 4xx, ~1% 5xx (plus two short incidents), a correlation id per request, spread
// over `days` days with a diurnal curve and quieter weekends. Shaped like
// /work/shared/bench/peers/gen_events.py (the peer runners' generator), but streamed: event
// i is produced without holding the others, so 50 M events need no more memory than 2 M.
//
// Same options give the same events (ids included: they come from the seeded generator, not
// from the CSPRNG). Single-threaded: one generator per thread.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "core/event.h"

namespace apitrail::bench {

// The vocabulary of synthetic traffic, shared by every benchmark that makes events: API
// resources (route templates are built from them), sub-resources, and User-Agent strings
// with their relative weights.
inline constexpr const char* kResources[] = {
    "projects", "issues", "comments", "users", "orgs", "teams", "repos", "builds",
    "deployments", "releases", "artifacts", "invoices", "payments", "customers",
    "subscriptions", "plans", "orders", "items", "carts", "products", "reviews",
    "tickets", "messages", "threads", "files", "folders", "webhooks", "tokens",
    "keys", "sessions", "audits", "reports", "dashboards", "alerts", "metrics",
    "jobs", "schedules", "environments", "secrets", "policies"};
inline constexpr const char* kSubres[] = {"members", "labels", "events", "attachments", "versions",
                               "logs", "settings", "permissions", "history", "notes"};
inline constexpr const char* kUserAgents[] = {
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:131.0) Gecko/20100101 Firefox/131.0",
    "curl/8.5.0", "python-requests/2.32.3", "Go-http-client/1.1", "okhttp/4.12.0",
    "axios/1.7.7", "Java/17.0.12", "acme-sdk-python/3.4.1 (Linux; x86_64) cpython/3.12.7",
    "acme-sdk-go/2.18.0 (linux; amd64) go1.23.2", "acme-cli/1.9.3 (darwin; arm64)",
    "terraform-provider-acme/0.44.1 (+https://www.terraform.io) Terraform/1.9.8"};
inline constexpr double kUaWeight[] = {9, 5, 3, 4, 6, 5, 2, 3, 1, 6, 5, 4, 3};

struct TrafficOptions {
  uint64_t events = 2'000'000;
  int64_t start_ns = 1'790'812'800'000'000'000;  // 2026-10-01T00:00:00Z (a Thursday)
  int days = 30;
  uint64_t seed = 42;
  int subjects = 5000;
  int routes = 200;
};

class TrafficGen {
 public:
  explicit TrafficGen(const TrafficOptions& options);

  // The next event in time order (non-decreasing time_ns); false after options.events.
  bool Next(AuditEvent* e);
  uint64_t produced() const { return produced_; }
  const TrafficOptions& options() const { return options_; }
  // "u-00101": subjects are rank-ordered, u-00000 the most active.
  static std::string SubjectName(int rank);

 private:
  struct Route {
    std::string method;
    std::string tmpl;                // /api/v1/projects/{project_id}/members
    std::vector<std::string> names;  // parameter names, in order
  };
  struct User {
    std::string subject, tenant, auth_method, credential_id, ua;
    std::vector<std::string> ips;
  };

  double Uniform() { return std::uniform_real_distribution<double>(0, 1)(rng_); }
  size_t Pick(const std::vector<double>& cum);
  int64_t TimeOf(uint64_t i);
  bool InIncident(int64_t t) const;
  std::string Uuid(int version, int64_t time_ns);

  TrafficOptions options_;
  std::mt19937_64 rng_;
  std::vector<Route> routes_;
  std::vector<double> route_cum_;
  std::vector<User> users_;
  std::vector<double> user_cum_;
  std::vector<double> minute_cum_;  // cumulative traffic weight per minute of the span
  size_t minute_ = 0;               // TimeOf's cursor into minute_cum_
  uint64_t produced_ = 0;
  // Event ids as one gateway process mints them (NewEventId), from a seeded origin.
  uint64_t id_origin_;
  uint32_t id_counter_;
  std::lognormal_distribution<double> latency_{2.6, 0.8}, resp_size_{7.2, 1.2}, req_size_{6.0, 1.0};
};

}  // namespace apitrail::bench
