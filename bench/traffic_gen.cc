// See traffic_gen.h. The distributions follow gen_events.py (weights, status mix, log-normal
// sizes); only the timestamps are drawn differently, because gen_events.py samples all times
// and sorts them, which a streaming generator cannot do.
#include "traffic_gen.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iterator>

#include "core/ids.h"

namespace apitrail::bench {
namespace {

const int k4xx[] = {401, 403, 404, 400, 409, 422, 429};
const double k4xxWeight[] = {20, 15, 35, 10, 5, 10, 5};
const int k5xx[] = {500, 502, 503, 504};
const double k5xxWeight[] = {50, 20, 20, 10};
constexpr double kP4xx = 0.030;
constexpr double kP5xxBase = 0.0085;
constexpr double kP5xxIncident = 0.15;
constexpr int64_t kMinuteNs = 60'000'000'000;
constexpr int64_t kDayNs = 1440 * kMinuteNs;

std::vector<double> Cumulative(const double* w, size_t n) {
  std::vector<double> c(n);
  double s = 0;
  for (size_t i = 0; i < n; ++i) c[i] = (s += w[i]);
  return c;
}

}  // namespace

std::string TrafficGen::SubjectName(int rank) {
  char b[16];
  std::snprintf(b, sizeof b, "u-%05d", rank);
  return b;
}

TrafficGen::TrafficGen(const TrafficOptions& options)
    : options_(options),
      rng_(options.seed),
      id_origin_(std::mt19937_64(options.seed ^ 0x1d)() >> 22),
      id_counter_(static_cast<uint32_t>(std::mt19937_64(options.seed ^ 0x1d)())) {
  // Route templates with Zipf popularity over their order, GET boosted (gen_events.py).
  std::vector<double> rw;
  static const char* const m3[] = {"GET", "GET", "POST"};
  static const char* const m6[] = {"GET", "GET", "GET", "PUT", "PATCH", "DELETE"};
  static const char* const m4[] = {"GET", "GET", "POST", "DELETE"};
  static const char* const m4b[] = {"GET", "GET", "PATCH", "DELETE"};
  while (routes_.size() < static_cast<size_t>(options_.routes)) {
    const std::string res = kResources[rng_() % std::size(kResources)];
    const std::string single = res.substr(0, res.size() - 1);
    const std::string ver = Uniform() < 0.15 ? "v2" : "v1";
    const double shape = Uniform();
    Route r;
    if (shape < 0.30) {
      r.method = m3[rng_() % 3];
      r.tmpl = "/api/" + ver + "/" + res;
    } else if (shape < 0.70) {
      r.method = m6[rng_() % 6];
      r.tmpl = "/api/" + ver + "/" + res + "/{" + single + "_id}";
      r.names = {single + "_id"};
    } else if (shape < 0.92) {
      r.method = m4[rng_() % 4];
      r.tmpl = "/api/" + ver + "/" + res + "/{" + single + "_id}/" + kSubres[rng_() % std::size(kSubres)];
      r.names = {single + "_id"};
    } else {
      const std::string res2 = kResources[rng_() % std::size(kResources)];
      const std::string single2 = res2.substr(0, res2.size() - 1);
      if (single2 == single) continue;
      r.method = m4b[rng_() % 4];
      r.tmpl = "/api/" + ver + "/" + res + "/{" + single + "_id}/" + res2 + "/{" + single2 + "_id}";
      r.names = {single + "_id", single2 + "_id"};
    }
    const bool dup = std::any_of(routes_.begin(), routes_.end(), [&](const Route& o) {
      return o.method == r.method && o.tmpl == r.tmpl;
    });
    if (dup) continue;
    rw.push_back(1.0 / std::pow(static_cast<double>(routes_.size() + 1), 0.9) * (r.method == "GET" ? 3.0 : 1.0));
    routes_.push_back(std::move(r));
  }
  route_cum_ = Cumulative(rw.data(), rw.size());

  // Subjects: Zipf-Mandelbrot activity (rank r weight 1/(r+2.7)^1.07), 400 tenants, 1-3
  // client IPs each (35% private), one user agent, API key or JWT.
  const std::vector<double> ua_cum = Cumulative(kUaWeight, std::size(kUaWeight));
  std::vector<double> uw;
  for (int i = 0; i < options_.subjects; ++i) {
    User u;
    u.subject = SubjectName(i);
    char b[64];
    std::snprintf(b, sizeof b, "org-%03d", static_cast<int>(rng_() % 400));
    u.tenant = b;
    u.auth_method = Uniform() < 0.6 ? "jwt" : "api_key";
    if (u.auth_method == "api_key") {
      std::snprintf(b, sizeof b, "key_%016llx", static_cast<unsigned long long>(rng_()));
      u.credential_id = b;
    }
    static const int kIpCounts[] = {1, 1, 1, 2, 2, 3};
    for (int k = kIpCounts[rng_() % 6]; k > 0; --k) {
      const double r = Uniform();
      if (r < 0.35) {
        std::snprintf(b, sizeof b, "10.%d.%d.%d", static_cast<int>(rng_() % 256),
                      static_cast<int>(rng_() % 256), 1 + static_cast<int>(rng_() % 254));
      } else if (r < 0.93) {
        std::snprintf(b, sizeof b, "%d.%d.%d.%d", 11 + static_cast<int>(rng_() % 212),
                      static_cast<int>(rng_() % 256), static_cast<int>(rng_() % 256),
                      1 + static_cast<int>(rng_() % 254));
      } else {
        std::snprintf(b, sizeof b, "2001:db8:%x:%x::%x", static_cast<unsigned>(rng_() % 65536),
                      static_cast<unsigned>(rng_() % 65536), 1 + static_cast<unsigned>(rng_() % 65535));
      }
      u.ips.emplace_back(b);
    }
    u.ua = kUserAgents[Pick(ua_cum)];
    users_.push_back(std::move(u));
    uw.push_back(1.0 / std::pow(i + 1 + 2.7, 1.07));
  }
  user_cum_ = Cumulative(uw.data(), uw.size());

  // Traffic per minute: peak ~15:00 UTC, ~45% on weekends (day 0 is a Thursday).
  const int minutes = options_.days * 1440;
  minute_cum_.resize(static_cast<size_t>(minutes));
  double s = 0;
  for (int m = 0; m < minutes; ++m) {
    const int day = m / 1440;
    const double hod = (m % 1440) / 1440.0;
    double f = 1.0 + 0.75 * std::sin(2 * M_PI * (hod - 0.375));
    const int weekday = (3 + day) % 7;  // 0 = Monday
    if (weekday >= 5) f *= 0.45;
    minute_cum_[static_cast<size_t>(m)] = (s += f);
  }
}

size_t TrafficGen::Pick(const std::vector<double>& cum) {
  const double x = std::uniform_real_distribution<double>(0, cum.back())(rng_);
  return std::min(cum.size() - 1, static_cast<size_t>(std::upper_bound(cum.begin(), cum.end(), x) - cum.begin()));
}

// Event i sits at the (i + 0.5)/n quantile of the traffic curve: times are non-decreasing
// without sorting, and each minute gets its share of the events.
int64_t TrafficGen::TimeOf(uint64_t i) {
  const double target = (static_cast<double>(i) + 0.5) / static_cast<double>(options_.events) * minute_cum_.back();
  while (minute_ + 1 < minute_cum_.size() && minute_cum_[minute_] < target) ++minute_;
  const double before = minute_ == 0 ? 0 : minute_cum_[minute_ - 1];
  const double frac = std::clamp((target - before) / (minute_cum_[minute_] - before), 0.0, 1.0);
  return options_.start_ns + static_cast<int64_t>(minute_) * kMinuteNs +
         static_cast<int64_t>(frac * static_cast<double>(kMinuteNs - 1));
}

// Two short incidents (5xx at 15%): day 12 14:05-14:25 and the last day 03:10-03:18, so the
// "errors per minute over the last day" query has a spike to find.
bool TrafficGen::InIncident(int64_t t) const {
  const int64_t off = t - options_.start_ns;
  const int64_t a0 = 12 * kDayNs + (14 * 60 + 5) * kMinuteNs, a1 = a0 + 20 * kMinuteNs;
  const int64_t b0 = (options_.days - 1) * kDayNs + (3 * 60 + 10) * kMinuteNs, b1 = b0 + 8 * kMinuteNs;
  return (off >= a0 && off < a1) || (off >= b0 && off < b1);
}

// UUIDv4 (correlation id) or UUIDv7 (event id, time-ordered) from the seeded generator.
std::string TrafficGen::Uuid(int version, int64_t time_ns) {
  uint64_t hi = rng_(), lo = rng_();
  if (version == 7) {
    const uint64_t ms = static_cast<uint64_t>(time_ns / 1'000'000);
    hi = (ms << 16) | (hi & 0x0fff);
  }
  hi = (hi & ~0xf000ULL) | (static_cast<uint64_t>(version) << 12);
  lo = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;
  char b[40];
  std::snprintf(b, sizeof b, "%08llx-%04llx-%04llx-%04llx-%012llx",
                static_cast<unsigned long long>(hi >> 32), static_cast<unsigned long long>((hi >> 16) & 0xffff),
                static_cast<unsigned long long>(hi & 0xffff), static_cast<unsigned long long>(lo >> 48),
                static_cast<unsigned long long>(lo & 0xffffffffffffULL));
  return b;
}

bool TrafficGen::Next(AuditEvent* out) {
  if (produced_ >= options_.events) return false;
  AuditEvent e;
  e.time_ns = TimeOf(produced_++);
  e.id = FormatEventId(e.time_ns, id_origin_, id_counter_++);
  e.node = "node-1";
  e.decision = "allow";
  const Route& r = routes_[Pick(route_cum_)];
  const User& u = users_[Pick(user_cum_)];
  e.subject = u.subject;
  e.auth_method = u.auth_method;
  e.credential_id = u.credential_id;
  e.tenant = u.tenant;
  e.method = r.method;
  e.host = "api.example.com";
  e.route = r.method + " " + r.tmpl;
  e.upstream = "app";
  size_t ni = 0;
  for (size_t pos = 0; pos < r.tmpl.size();) {
    const size_t open = r.tmpl.find('{', pos);
    if (open == std::string::npos) {
      e.path.append(r.tmpl, pos, std::string::npos);
      break;
    }
    e.path.append(r.tmpl, pos, open - pos);
    // Zipf-ish object ids (Pareto, alpha 0.6): hot objects repeat, long tail up to ~10^6.
    uint64_t v = Uniform() < 0.8 ? static_cast<uint64_t>(std::pow(1.0 - Uniform(), -1.0 / 0.6)) : 1 + rng_() % 999999;
    if (v > 9999999) v = v % 9999999 + 1;
    std::string id = std::to_string(v);
    e.path += id;
    e.resources.emplace_back(r.names[ni++], std::move(id));
    pos = r.tmpl.find('}', open) + 1;
  }
  if (r.names.empty() && r.method == "GET" && Uniform() < 0.4) {
    e.query = {{"page", std::to_string(1 + rng_() % 50)}, {"limit", "50"}};
  }
  static const std::vector<double> c4 = Cumulative(k4xxWeight, std::size(k4xxWeight));
  static const std::vector<double> c5 = Cumulative(k5xxWeight, std::size(k5xxWeight));
  const double p5 = InIncident(e.time_ns) ? kP5xxIncident : kP5xxBase;
  const double s = Uniform();
  if (s < p5) {
    e.status = k5xx[Pick(c5)];
  } else if (s < p5 + kP4xx) {
    e.status = k4xx[Pick(c4)];
    if (e.status == 401 || e.status == 403) {
      e.decision = "deny";
      e.deny_reason = e.status == 401 ? "invalid_credentials" : "missing_scope";
    }
  } else {
    e.status = r.method == "POST" ? 201 : r.method == "DELETE" ? (Uniform() < 0.8 ? 204 : 200) : 200;
  }
  double lat_ms = latency_(rng_);
  if (e.status >= 500) lat_ms = lat_ms * 4 + (e.status == 504 ? 30000.0 : 0.0);
  e.duration_us = static_cast<int64_t>(lat_ms * 1000);
  e.bytes_in = (r.method == "GET" || r.method == "DELETE") ? 0 : static_cast<uint64_t>(req_size_(rng_));
  e.bytes_out = e.status == 204 ? 0 : static_cast<uint64_t>(resp_size_(rng_));
  e.client_ip = u.ips[u.ips.size() == 1 ? 0 : rng_() % u.ips.size()];
  e.user_agent = u.ua;
  e.correlation_id = Uuid(4, 0);
  *out = std::move(e);
  return true;
}

}  // namespace apitrail::bench
