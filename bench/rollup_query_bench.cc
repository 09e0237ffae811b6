// rollup_query_bench: what the rollups buy for "top endpoints" and "failures per minute"
// (issue #3 item 7), against SQLite doing GROUP BY over the same events with indexes.
//
//   BM_RollupAdd/count:0          Rollups::AddCommitted with Rollups' thread counting in
//                                 parallel, batches of 256: the CPU column is what the store's
//                                 writer thread pays (a lock and usually a vector swap per batch).
//   BM_RollupAdd/count:1          the same plus the counting itself (done by Rollups' own thread
//                                 in the store; here on the benchmark thread): events/s on one
//                                 core.
//   BM_RollupTopRoutes30d         top-10 routes over 30 whole days.
//   BM_RollupTopSubjects30d       top-10 subjects over 30 whole days (the high-cardinality dim).
//   BM_RollupTopRoutesRagged      top-10 routes over ~29.5 days with since/until mid-hour: the
//                                 edge minutes are read back from two hour files.
//   BM_RollupErrorsPerMinuteDay   5xx per minute over one day (1440 points).
//   BM_SqliteTopRoutes30d         SELECT route, count(*) … GROUP BY route ORDER BY 2 DESC LIMIT 10
//                                 over the 30 days (index on time; covering index on
//                                 (time, route) so it never reads the table).
//   BM_SqliteErrorsPerMinuteDay   SELECT time/60e9, count(*) … WHERE status >= 500 … GROUP BY 1
//                                 over one day (index on (status, time)).
//
// Events: deterministic (seed 7), APITRAIL_BENCH_EVENTS of them (default 2000000) spread
// evenly over 30 days, 200 routes and 5000 subjects with Zipf popularity, 3000 client IPs,
// ~3% 4xx and ~1% 5xx. Files go to $APITRAIL_BENCH_DIR (default /tmp/apitrail-bench/rollup),
// removed at exit. The SQLite load is done once, outside the timings.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "store/rollup/rollups.h"

#ifdef APITRAIL_BENCH_HAVE_SQLITE
#include <sqlite3.h>
#endif

namespace apitrail {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kDayNs = 24 * kNsPerHour;
constexpr int64_t kStart = 1'761'955'200'000'000'000;  // 2025-11-01T00:00:00Z
constexpr int kDays = 30;

std::vector<double> ZipfCumulative(size_t n, double s) {
  std::vector<double> c(n);
  double sum = 0;
  for (size_t i = 0; i < n; ++i) c[i] = (sum += 1.0 / std::pow(static_cast<double>(i + 1), s));
  return c;
}

size_t Pick(const std::vector<double>& cum, std::mt19937_64& rng) {
  const double x = std::uniform_real_distribution<double>(0, cum.back())(rng);
  return static_cast<size_t>(std::upper_bound(cum.begin(), cum.end(), x) - cum.begin());
}

struct Data {
  std::string dir;
  std::vector<RollupEvent> events;
  std::unique_ptr<Rollups> rollups;
#ifdef APITRAIL_BENCH_HAVE_SQLITE
  sqlite3* db = nullptr;
#endif

  Data() {
    const char* base = std::getenv("APITRAIL_BENCH_DIR");
    dir = std::string(base ? base : "/tmp/apitrail-bench") + "/rollup";
    fs::remove_all(dir);
    fs::create_directories(dir);
    const char* n_env = std::getenv("APITRAIL_BENCH_EVENTS");
    const size_t n = n_env ? std::strtoull(n_env, nullptr, 10) : 2000000;
    std::mt19937_64 rng(7);
    const auto routes = ZipfCumulative(200, 0.9);
    const auto subjects = ZipfCumulative(5000, 1.1);
    events.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      RollupEvent e;
      e.seq = i;
      e.time_ns = kStart + static_cast<int64_t>(static_cast<double>(i) / static_cast<double>(n) * kDays * kDayNs);
      const int roll = static_cast<int>(rng() % 1000);
      e.status = roll < 10 ? 503 : roll < 40 ? (roll < 25 ? 404 : 403) : 200;
      e.denied = e.status == 403;
      char b[64];
      const size_t r = Pick(routes, rng);
      std::snprintf(b, sizeof b, "%s /api/v1/res%03zu/{id}", r % 3 == 0 ? "POST" : "GET", r);
      e.keys[0] = b;
      const size_t s = Pick(subjects, rng);
      std::snprintf(b, sizeof b, "u-%05zu", s);
      e.keys[1] = b;
      std::snprintf(b, sizeof b, "10.%zu.%zu.%zu", s % 3000 / 256, s % 256, (s * 7) % 3000 % 256);
      e.keys[2] = b;
      events.push_back(std::move(e));
    }
    auto opened = Rollups::Open(DefaultFileSystem(), dir, RollupOptions{});
    rollups = std::move(opened).value();
    std::vector<RollupEvent> batch;
    for (size_t i = 0; i < events.size(); ++i) {
      batch.push_back(events[i]);
      if (batch.size() == 256 || i + 1 == events.size()) rollups->AddCommitted(&batch, i + 1);
    }
    (void)rollups->Persist();
#ifdef APITRAIL_BENCH_HAVE_SQLITE
    sqlite3_open((dir + "/events.db").c_str(), &db);
    sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                     "CREATE TABLE events(time INTEGER, route TEXT, subject TEXT, client_ip TEXT, status INTEGER);",
                 nullptr, nullptr, nullptr);
    sqlite3_stmt* ins = nullptr;
    sqlite3_prepare_v2(db, "INSERT INTO events VALUES(?,?,?,?,?)", -1, &ins, nullptr);
    sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
    for (const auto& e : events) {
      sqlite3_bind_int64(ins, 1, e.time_ns);
      for (int d = 0; d < 3; ++d) {
        sqlite3_bind_text(ins, 2 + d, e.keys[d].data(), static_cast<int>(e.keys[d].size()), SQLITE_STATIC);
      }
      sqlite3_bind_int(ins, 5, e.status);
      sqlite3_step(ins);
      sqlite3_reset(ins);
    }
    sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
    sqlite3_finalize(ins);
    sqlite3_exec(db, "CREATE INDEX ev_time ON events(time);"
                     "CREATE INDEX ev_time_route ON events(time, route);"
                     "CREATE INDEX ev_status_time ON events(status, time);"
                     "ANALYZE;",
                 nullptr, nullptr, nullptr);
#endif
  }
  ~Data() {
#ifdef APITRAIL_BENCH_HAVE_SQLITE
    sqlite3_close(db);
#endif
    rollups.reset();
    fs::remove_all(dir);
  }
};

Data& Get() {
  static Data d;
  return d;
}

void BM_RollupAdd(benchmark::State& state) {
  Data& d = Get();
  const std::string dir = d.dir + "/add";
  fs::create_directories(dir);
  RollupOptions o;
  o.persist_interval_ms = 3600000;
  const size_t n = std::min<size_t>(d.events.size(), 200000);
  for (auto _ : state) {
    state.PauseTiming();
    auto r = Rollups::Open(DefaultFileSystem(), dir, o).value();
    if (state.range(0) == 0) r->Start();  // as in the store: its thread counts, in parallel
    std::vector<std::vector<RollupEvent>> batches;
    for (size_t i = 0; i < n; i += 256) {
      batches.emplace_back(d.events.begin() + static_cast<std::ptrdiff_t>(i),
                           d.events.begin() + static_cast<std::ptrdiff_t>(std::min(n, i + 256)));
    }
    state.ResumeTiming();
    for (auto& b : batches) r->AddCommitted(&b, 0);
    if (state.range(0) == 1) benchmark::DoNotOptimize(r->Stats());  // counts what is pending
    state.PauseTiming();
    r.reset();
    fs::remove_all(dir);
    fs::create_directories(dir);
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n));
}
BENCHMARK(BM_RollupAdd)->ArgName("count")->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->Iterations(3);

void Top(benchmark::State& state, RollupDim dim, int64_t since, int64_t until) {
  Data& d = Get();
  uint64_t top = 0;
  for (auto _ : state) {
    auto r = d.rollups->Top(TopQuery{dim, RollupMetric::kRequests, since, until, 10});
    if (!r.ok()) {
      state.SkipWithError(r.status().message().c_str());
      return;
    }
    top = r->items.empty() ? 0 : r->items[0].second.requests;
    benchmark::DoNotOptimize(top);
  }
  state.counters["top1"] = static_cast<double>(top);
  state.counters["events"] = static_cast<double>(d.events.size());
}

void BM_RollupTopRoutes30d(benchmark::State& state) { Top(state, RollupDim::kRoute, kStart, kStart + kDays * kDayNs); }
void BM_RollupTopSubjects30d(benchmark::State& state) { Top(state, RollupDim::kSubject, kStart, kStart + kDays * kDayNs); }
void BM_RollupTopRoutesRagged(benchmark::State& state) {
  Top(state, RollupDim::kRoute, kStart + 7 * kNsPerHour + 13 * kNsPerMinute,
      kStart + (kDays - 1) * kDayNs + 19 * kNsPerHour + 41 * kNsPerMinute);
}
BENCHMARK(BM_RollupTopRoutes30d)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_RollupTopSubjects30d)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_RollupTopRoutesRagged)->Unit(benchmark::kMicrosecond);

void BM_RollupErrorsPerMinuteDay(benchmark::State& state) {
  Data& d = Get();
  uint64_t sum = 0;
  for (auto _ : state) {
    auto r = d.rollups->Series(SeriesQuery{RollupMetric::kErrors, 1, kStart + 10 * kDayNs, kStart + 11 * kDayNs});
    sum = 0;
    for (uint64_t v : r->values) sum += v;
    benchmark::DoNotOptimize(sum);
  }
  state.counters["errors"] = static_cast<double>(sum);
}
BENCHMARK(BM_RollupErrorsPerMinuteDay)->Unit(benchmark::kMicrosecond);

#ifdef APITRAIL_BENCH_HAVE_SQLITE
double RunSql(benchmark::State& state, const char* sql, int64_t since, int64_t until) {
  Data& d = Get();
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(d.db, sql, -1, &st, nullptr) != SQLITE_OK) {
    state.SkipWithError(sqlite3_errmsg(d.db));
    return 0;
  }
  double first = 0;
  for (auto _ : state) {
    sqlite3_bind_int64(st, 1, since);
    sqlite3_bind_int64(st, 2, until);
    double sum = 0;
    bool got_first = false;
    while (sqlite3_step(st) == SQLITE_ROW) {
      if (!got_first) first = sqlite3_column_double(st, 1);
      got_first = true;
      sum += sqlite3_column_double(st, 1);
    }
    sqlite3_reset(st);
    benchmark::DoNotOptimize(sum);
  }
  sqlite3_finalize(st);
  return first;
}

void BM_SqliteTopRoutes30d(benchmark::State& state) {
  state.counters["top1"] = RunSql(state,
      "SELECT route, count(*) AS c FROM events WHERE time >= ?1 AND time < ?2 GROUP BY route ORDER BY c DESC LIMIT 10",
      kStart, kStart + kDays * kDayNs);
}
void BM_SqliteErrorsPerMinuteDay(benchmark::State& state) {
  RunSql(state,
         "SELECT time / 60000000000 AS m, count(*) FROM events WHERE status >= 500 AND time >= ?1 AND time < ?2 GROUP BY m",
         kStart + 10 * kDayNs, kStart + 11 * kDayNs);
}
BENCHMARK(BM_SqliteTopRoutes30d)->Unit(benchmark::kMillisecond)->MinTime(1.0);
BENCHMARK(BM_SqliteErrorsPerMinuteDay)->Unit(benchmark::kMicrosecond);
#endif

}  // namespace
}  // namespace apitrail

BENCHMARK_MAIN();
