// query_bench: query latency of the audit store against SQLite on the same events (issue #3,
// "query latency on 50 M events over 30 days"). See bench/README.md "query_bench".
//
//   BM_Query/<system>/<query>   one query, repeated; real time per run. Counters: p50_us,
//                               p99_us (over the runs of the reported batch), rows, check.
//   systems:  apitrail  Store::Query (subject, resource, correlation id) and Store::rollups()
//                       (top-k, series): only the public API, so it measures whatever the
//                       store does underneath.
//             sqlite    the C library, one connection, the same events with the peer runner's
//                       indexes (/work/shared/bench/peers/sqlite_bench.py) plus the ones the
//                       two extra queries need (kSqliteSchema, kSqliteIndexes below).
//   queries:  subject_day      one subject's newest 100 events in one day (mid-popularity
//                              subject u-00101, as the peer runner)
//             subject_day_hot  the same for the most active subject u-00000
//             resource         one object's history: newest 100 events touching it
//             correlation_id   the event(s) of one correlation id
//             top10_routes     top-10 routes by requests over the 30 days
//             errors_per_min   5xx per minute over the last day (1440 points)
//
// Data: APITRAIL_BENCH_EVENTS (default 2,000,000) events from TrafficGen (seed 42) over 30
// days from 2026-10-01, loaded once before the first benchmark, outside the timings, into
// $APITRAIL_BENCH_DIR (default /tmp/apitrail-bench/query)/{apitrail,sqlite}; removed at exit
// unless APITRAIL_BENCH_KEEP=1, which also writes params.tsv there; APITRAIL_BENCH_REUSE=1
// then queries that kept load (same APITRAIL_BENCH_EVENTS) instead of loading again; any
// other run refuses to replace a kept load unless APITRAIL_BENCH_KEEP=1 (it would delete
// what may have taken half an hour to load); APITRAIL_BENCH_RELOAD_APITRAIL=1 loads the
// same events into a new apitrail store beside a kept SQLite database (after a change to the
// store's format). The store is loaded with durability `batch` (the loading speed
// is not what this measures), every rotated segment is sealed into a part (waited for, so the
// queries always see the same layout), then closed and reopened (APITRAIL_BENCH_REOPEN=0
// skips this), so queries run against what a restarted node has.
// APITRAIL_BENCH_SEGMENT_BYTES (default: the store's 256 MiB) sets audit.max_segment_bytes,
// so a small run still reads sealed parts (e.g. 16777216 for 200k events). APITRAIL_BENCH_CH_TSV=FILE also writes
// the events as TSV for bench/query_clickhouse.py; APITRAIL_BENCH_RESULTS=FILE appends one
// JSON line per result (and one with the query parameters) for bench/query.sh.
//
// After the benchmarks a summary table prints p50/p99 per query (the first run after the load
// apart: it is kept out of the samples) and SQLite p50 / apitrail p50. One thread.
#include <benchmark/benchmark.h>

#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <stdexcept>
#include <string_view>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "store/store.h"
#include "traffic_gen.h"

#ifdef APITRAIL_BENCH_HAVE_SQLITE
#include <sqlite3.h>
#endif

namespace apitrail::bench {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr int64_t kDayNs = 86'400'000'000'000;

double Seconds(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

uint64_t DirBytes(const std::string& dir) {
  uint64_t n = 0;
  std::error_code ec;
  for (const auto& f : fs::recursive_directory_iterator(dir, ec)) {
    if (f.is_regular_file(ec)) n += f.file_size(ec);
  }
  return n;
}

// Records held by sealed parts: the parts are a prefix of the log and their segments are
// deleted, so it is the first seq of the oldest remaining segment (seg-<20 digits>.log).
uint64_t RecordsInParts(const std::string& data_dir) {
  uint64_t first = UINT64_MAX;
  std::error_code ec;
  for (const auto& f : fs::directory_iterator(data_dir + "/segments", ec)) {
    const std::string name = f.path().filename().string();
    if (name.size() == 4 + 20 + 4 && name.rfind("seg-", 0) == 0) first = std::min<uint64_t>(first, std::strtoull(name.c_str() + 4, nullptr, 10));
  }
  return first == UINT64_MAX ? 0 : first;
}

// Resident memory of this process (VmRSS), MB: with the events in memory nowhere else, what
// the store's in-memory state costs is the change across its reopen.
double RssMb() {
  FILE* f = std::fopen("/proc/self/status", "r");
  if (!f) return 0;
  char line[256];
  double kb = 0;
  while (std::fgets(line, sizeof line, f)) {
    if (std::sscanf(line, "VmRSS: %lf kB", &kb) == 1) break;
  }
  std::fclose(f);
  return kb / 1024;
}

const char* Env(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

// The parameters of each query: fixed or drawn from the generated events, so every run (and
// the ClickHouse runner, through the params JSON line) asks the same questions.
struct Params {
  std::string subject = TrafficGen::SubjectName(101);
  std::string hot_subject = TrafficGen::SubjectName(0);
  int64_t day_since = 0, day_until = 0;    // subject queries: day 14 (a Thursday)
  std::string res_name, res_value;         // an object of some popularity (id 5..50)
  std::string correlation_id;              // of the event at 70% of the log
  int64_t span_since = 0, span_until = 0;  // top-10: the 30 days
  int64_t err_since = 0, err_until = 0;    // errors per minute: the last day
};

class Data {
 public:
  Data();
  ~Data();
  Store& store() { return *store_; }
  const Params& params() const { return p_; }
  uint64_t events() const { return n_; }
#ifdef APITRAIL_BENCH_HAVE_SQLITE
  sqlite3* db() { return db_; }
  // A prepared statement for `sql`, prepared once (as an application caches it) and finalized
  // with the connection. Throws on a preparation error.
  sqlite3_stmt* Stmt(const char* sql);
#endif
  void PrintLoadSummary(FILE* out) const;
  std::string ParamsJson() const;

 private:
  void Load();
  std::unique_ptr<Store> OpenStore();

  std::string dir_;
  bool keep_ = false;
  bool load_sqlite_ = true;  // false: APITRAIL_BENCH_RELOAD_APITRAIL=1 keeps the peer's db
  void WriteParams() const;
  bool Reuse();
  void Reopen();
  void MeasureAndCheck();
  uint64_t n_ = 0;
  Params p_;
  std::unique_ptr<Store> store_;
  double gen_load_s_ = 0, reopen_s_ = 0, sqlite_index_s_ = 0;
  double rss_closed_mb_ = 0, rss_open_mb_ = 0;  // around the reopen
  uint64_t apitrail_bytes_ = 0, sqlite_bytes_ = 0;
  uint64_t part_bytes_ = 0, part_records_ = 0;  // sealed parts alone
#ifdef APITRAIL_BENCH_HAVE_SQLITE
  sqlite3* db_ = nullptr;
  std::map<std::string, sqlite3_stmt*> stmts_;
#endif
};

#ifdef APITRAIL_BENCH_HAVE_SQLITE
void Exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::fprintf(stderr, "query_bench: sqlite: %s: %s\n", sql, err ? err : "?");
    std::exit(1);
  }
}

// The peer runner's schema (sqlite_bench.py: ts in epoch ms, seq the rowid) plus a resources
// table: SQLite has no list column, so "events touching project 42" is a side table keyed by
// (name, value, seq), the normal relational form.
constexpr const char* kSqliteSchema =
    "CREATE TABLE events(seq INTEGER PRIMARY KEY, ts INTEGER NOT NULL, req_id TEXT NOT NULL,"
    " user_id TEXT NOT NULL, org TEXT, auth TEXT, method TEXT, route TEXT, path TEXT,"
    " status INTEGER, latency_ms REAL, req_bytes INTEGER, resp_bytes INTEGER, client_ip TEXT,"
    " ua TEXT);"
    "CREATE TABLE resources(name TEXT NOT NULL, value TEXT NOT NULL, seq INTEGER NOT NULL,"
    " PRIMARY KEY(name, value, seq)) WITHOUT ROWID;";
// The peer runner's indexes (ts), (user_id, ts), and (req_id) for the correlation-id query.
// Created after the load (a sorted build: faster to load and compact, which favours SQLite;
// the peer runner creates them before).
constexpr const char* kSqliteIndexes =
    "CREATE INDEX ev_ts ON events(ts);"
    "CREATE INDEX ev_user_ts ON events(user_id, ts);"
    "CREATE INDEX ev_req_id ON events(req_id);";
#endif

Data::Data() {
  dir_ = std::string(Env("APITRAIL_BENCH_DIR", "/tmp/apitrail-bench/query"));
  keep_ = std::string(Env("APITRAIL_BENCH_KEEP", "0")) == "1";
  n_ = std::strtoull(Env("APITRAIL_BENCH_EVENTS", "2000000"), nullptr, 10);
  if (n_ < 1000) {
    std::fprintf(stderr, "query_bench: APITRAIL_BENCH_EVENTS must be >= 1000\n");
    std::exit(1);
  }
  if (std::string(Env("APITRAIL_BENCH_REUSE", "0")) == "1" && Reuse()) return;
  if (std::string(Env("APITRAIL_BENCH_RELOAD_APITRAIL", "0")) == "1") {
    // A new store format needs a new apitrail load, not a new SQLite one (16 GB at 50 M):
    // the generator is deterministic, so the same events go into a fresh store beside the
    // kept database.
    std::ifstream f(dir_ + "/params.tsv");
    std::string line;
    if (!std::getline(f, line) || line != "events\t" + std::to_string(n_) ||
        !fs::exists(dir_ + "/sqlite/events.db")) {
      std::fprintf(stderr, "query_bench: APITRAIL_BENCH_RELOAD_APITRAIL=1 needs a kept load of %" PRIu64
                           " events in %s\n", n_, dir_.c_str());
      std::exit(1);
    }
    keep_ = true;
    load_sqlite_ = false;
    fs::remove_all(dir_ + "/apitrail");
    fs::create_directories(dir_ + "/apitrail");
    Load();
    return;
  }
  if (!keep_ && fs::exists(dir_ + "/params.tsv")) {
    // A kept load may have taken half an hour: only an explicit new kept load replaces it.
    std::fprintf(stderr,
                 "query_bench: %s holds a kept load (params.tsv). Query it with APITRAIL_BENCH_REUSE=1 "
                 "and its APITRAIL_BENCH_EVENTS, replace it with APITRAIL_BENCH_KEEP=1, or remove "
                 "the directory.\n",
                 dir_.c_str());
    std::exit(1);
  }
  fs::remove_all(dir_);
  fs::create_directories(dir_ + "/apitrail");
  fs::create_directories(dir_ + "/sqlite");
  Load();
  if (keep_) WriteParams();
}

// The params of a kept load, one "name<TAB>value" line each, so that a later run with
// APITRAIL_BENCH_REUSE=1 queries the same data without loading it again (50 M events take
// ~15 minutes to load).
void Data::WriteParams() const {
  std::ofstream f(dir_ + "/params.tsv");
  f << "events\t" << n_ << "\nsubject\t" << p_.subject << "\nhot_subject\t" << p_.hot_subject
    << "\nday_since\t" << p_.day_since << "\nday_until\t" << p_.day_until << "\nres_name\t"
    << p_.res_name << "\nres_value\t" << p_.res_value << "\ncorrelation_id\t" << p_.correlation_id
    << "\nspan_since\t" << p_.span_since << "\nspan_until\t" << p_.span_until << "\nerr_since\t"
    << p_.err_since << "\nerr_until\t" << p_.err_until << "\n";
}

bool Data::Reuse() {
  std::ifstream f(dir_ + "/params.tsv");
  std::map<std::string, std::string> kv;
  for (std::string line; std::getline(f, line);) {
    const size_t tab = line.find('\t');
    if (tab != std::string::npos) kv[line.substr(0, tab)] = line.substr(tab + 1);
  }
  if (kv["events"] != std::to_string(n_)) {
    std::fprintf(stderr, "query_bench: no kept load of %" PRIu64 " events in %s: loading\n", n_, dir_.c_str());
    return false;
  }
  const auto num = [&](const char* k) { return std::strtoll(kv[k].c_str(), nullptr, 10); };
  p_.subject = kv["subject"];
  p_.hot_subject = kv["hot_subject"];
  p_.day_since = num("day_since");
  p_.day_until = num("day_until");
  p_.res_name = kv["res_name"];
  p_.res_value = kv["res_value"];
  p_.correlation_id = kv["correlation_id"];
  p_.span_since = num("span_since");
  p_.span_until = num("span_until");
  p_.err_since = num("err_since");
  p_.err_until = num("err_until");
  keep_ = true;  // what was kept stays
  std::fprintf(stderr, "query_bench: reusing the kept load in %s\n", dir_.c_str());
#ifdef APITRAIL_BENCH_HAVE_SQLITE
  if (sqlite3_open((dir_ + "/sqlite/events.db").c_str(), &db_) != SQLITE_OK) {
    std::fprintf(stderr, "query_bench: cannot open SQLite db in %s/sqlite\n", dir_.c_str());
    std::exit(1);
  }
  Exec(db_, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-2000;");
  struct stat st{};
  if (::stat((dir_ + "/sqlite/events.db").c_str(), &st) == 0) sqlite_bytes_ = static_cast<uint64_t>(st.st_size);
#endif
  Reopen();
  MeasureAndCheck();
  return true;
}

Data::~Data() {
#ifdef APITRAIL_BENCH_HAVE_SQLITE
  for (auto& [sql, st] : stmts_) sqlite3_finalize(st);
  sqlite3_close(db_);
#endif
  if (store_) store_->Close();
  store_.reset();
  if (!keep_) fs::remove_all(dir_);
}

#ifdef APITRAIL_BENCH_HAVE_SQLITE
sqlite3_stmt* Data::Stmt(const char* sql) {
  sqlite3_stmt*& st = stmts_[sql];
  if (!st && sqlite3_prepare_v2(db_, sql, -1, &st, nullptr) != SQLITE_OK) {
    st = nullptr;
    throw std::runtime_error(sqlite3_errmsg(db_));
  }
  return st;
}
#endif

std::unique_ptr<Store> Data::OpenStore() {
  StoreOptions o;
  o.data_dir = dir_ + "/apitrail";
  // Loading only: `batch` acknowledges before fdatasync (every 10 ms), so the load is not
  // bounded by the disk's sync latency. Queries do not depend on the mode.
  o.durability = Durability::kBatch;
  if (const char* seg = std::getenv("APITRAIL_BENCH_SEGMENT_BYTES"); seg && *seg) {
    o.max_segment_bytes = std::strtoull(seg, nullptr, 10);
  }
  auto opened = Store::Open(o);
  if (!opened.ok()) {
    std::fprintf(stderr, "query_bench: Store::Open(%s): %s\n", o.data_dir.c_str(),
                 opened.status().message().c_str());
    std::exit(1);
  }
  return std::move(opened).value();
}

void Data::Load() {
  TrafficOptions topts;
  topts.events = n_;
  TrafficGen gen(topts);
  const int64_t start = topts.start_ns;
  p_.day_since = start + 14 * kDayNs;
  p_.day_until = p_.day_since + kDayNs;
  p_.span_since = start;
  p_.span_until = start + topts.days * kDayNs;
  p_.err_since = start + (topts.days - 1) * kDayNs;
  p_.err_until = p_.err_since + kDayNs;

  std::fprintf(stderr, "query_bench: generating and loading %" PRIu64 " events into %s ...\n", n_, dir_.c_str());
  const auto t0 = Clock::now();
  store_ = OpenStore();
  FILE* tsv = nullptr;
  if (const char* path = std::getenv("APITRAIL_BENCH_CH_TSV"); path && *path) {
    tsv = std::fopen(path, "w");
    if (!tsv) {
      std::fprintf(stderr, "query_bench: cannot write %s\n", path);
      std::exit(1);
    }
  }
#ifdef APITRAIL_BENCH_HAVE_SQLITE
  if (sqlite3_open((dir_ + "/sqlite/events.db").c_str(), &db_) != SQLITE_OK) {
    std::fprintf(stderr, "query_bench: cannot open SQLite db in %s/sqlite\n", dir_.c_str());
    std::exit(1);
  }
  // The load is not timed: no fsync and a 256 MB page cache while loading (so 50 M rows load in
  // minutes); the peer runner's synchronous=NORMAL and default 2 MB cache for the queries.
  sqlite3_stmt* ins = nullptr;
  sqlite3_stmt* ins_res = nullptr;
  if (load_sqlite_) {
    Exec(db_, "PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF; PRAGMA cache_size=-262144;");
    Exec(db_, kSqliteSchema);
    sqlite3_prepare_v2(db_, "INSERT INTO events VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", -1, &ins, nullptr);
    sqlite3_prepare_v2(db_, "INSERT INTO resources VALUES(?,?,?)", -1, &ins_res, nullptr);
    Exec(db_, "BEGIN");
  } else {
    Exec(db_, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-2000;");
  }
#endif
  std::atomic<uint64_t> failed{0};
  std::string fallback_name, fallback_value;
  AuditEvent e;
  for (uint64_t i = 0; gen.Next(&e); ++i) {
    if (p_.res_name.empty() && i >= n_ / 2) {
      for (const auto& [name, value] : e.resources) {
        const long v = std::strtol(value.c_str(), nullptr, 10);
        if (v >= 5 && v <= 50) p_.res_name = name, p_.res_value = value;
      }
    }
    if (!e.resources.empty()) fallback_name = e.resources.back().first, fallback_value = e.resources.back().second;
    if (i == n_ * 7 / 10) p_.correlation_id = e.correlation_id;
    const int64_t ms = e.time_ns / 1'000'000;
    // method + " " + template: the peer keeps method and route template apart.
    const std::string_view tmpl = std::string_view(e.route).substr(e.method.size() + 1);
#ifdef APITRAIL_BENCH_HAVE_SQLITE
    auto text = [](sqlite3_stmt* st, int col, std::string_view s) {
      sqlite3_bind_text(st, col, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
    };
    if (load_sqlite_) {
    sqlite3_bind_int64(ins, 1, static_cast<int64_t>(i));
    sqlite3_bind_int64(ins, 2, ms);
    text(ins, 3, e.correlation_id);
    text(ins, 4, e.subject);
    text(ins, 5, e.tenant);
    text(ins, 6, e.auth_method);
    text(ins, 7, e.method);
    text(ins, 8, tmpl);
    text(ins, 9, e.path);
    sqlite3_bind_int(ins, 10, e.status);
    sqlite3_bind_double(ins, 11, static_cast<double>(e.duration_us) / 1000.0);
    sqlite3_bind_int64(ins, 12, static_cast<int64_t>(e.bytes_in));
    sqlite3_bind_int64(ins, 13, static_cast<int64_t>(e.bytes_out));
    text(ins, 14, e.client_ip);
    text(ins, 15, e.user_agent);
    sqlite3_step(ins);
    sqlite3_reset(ins);
    for (const auto& [name, value] : e.resources) {
      text(ins_res, 1, name);
      text(ins_res, 2, value);
      sqlite3_bind_int64(ins_res, 3, static_cast<int64_t>(i));
      sqlite3_step(ins_res);
      sqlite3_reset(ins_res);
    }
    if (i % 50000 == 49999) Exec(db_, "COMMIT; BEGIN");
    }
#endif
    if (tsv) {
      // ClickHouse 18.16 TabSeparated: DateTime as text, ms apart, resources as an array.
      const time_t sec = static_cast<time_t>(ms / 1000);
      struct tm tm;
      gmtime_r(&sec, &tm);
      char ts[32];
      std::strftime(ts, sizeof ts, "%Y-%m-%d %H:%M:%S", &tm);
      std::string res = "[";
      for (const auto& [name, value] : e.resources) {
        if (res.size() > 1) res += ',';
        res += "'" + name + "=" + value + "'";
      }
      res += "]";
      std::fprintf(tsv, "%s\t%d\t%" PRIu64 "\t%s\t%s\t%s\t%s\t%s\t%.*s\t%s\t%d\t%.3f\t%" PRIu64 "\t%" PRIu64 "\t%s\t%s\t%s\n",
                   ts, static_cast<int>(ms % 1000), i, e.correlation_id.c_str(), e.subject.c_str(),
                   e.tenant.c_str(), e.auth_method.c_str(), e.method.c_str(), static_cast<int>(tmpl.size()),
                   tmpl.data(), e.path.c_str(), e.status, static_cast<double>(e.duration_us) / 1000.0,
                   e.bytes_in, e.bytes_out, e.client_ip.c_str(), e.user_agent.c_str(), res.c_str());
    }
    auto done = [&failed](const Status& s, uint64_t) {
      if (!s.ok()) failed.fetch_add(1);
    };
    for (;;) {
      // Append takes the event; keep a copy only for the rare retry of a full queue.
      AuditEvent copy = e;
      Status s = store_->Append(std::move(copy), done);
      if (s.ok()) break;
      if (s.code() != StatusCode::kResourceExhausted) {
        std::fprintf(stderr, "query_bench: Append: %s\n", s.message().c_str());
        std::exit(1);
      }
      (void)store_->Flush();  // the writer is behind: wait for it
    }
    if (i % 5'000'000 == 4'999'999) std::fprintf(stderr, "  %" PRIu64 " events, %.0f s\n", i + 1, Seconds(t0));
  }
  if (p_.res_name.empty()) p_.res_name = fallback_name, p_.res_value = fallback_value;
  if (Status s = store_->Flush(); !s.ok() || failed.load() != 0) {
    std::fprintf(stderr, "query_bench: store load failed (%" PRIu64 " appends failed): %s\n", failed.load(),
                 s.message().c_str());
    std::exit(1);
  }
  if (tsv) std::fclose(tsv);
  // Sealing runs behind the writer; a query must not race it (it would read a segment or a
  // part depending on timing). At most ten minutes.
  for (int i = 0; i < 60000 && store_->Stats().seal_pending > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (const StoreStats s = store_->Stats(); s.seal_pending > 0 || s.seal_errors > 0) {
    std::fprintf(stderr, "query_bench: sealing did not finish: %" PRIu64 " pending, %" PRIu64 " failed %s\n",
                 s.seal_pending, s.seal_errors, s.last_seal_error.c_str());
    std::exit(1);
  }
#ifdef APITRAIL_BENCH_HAVE_SQLITE
  gen_load_s_ = Seconds(t0);
  if (load_sqlite_) {
    Exec(db_, "COMMIT");
    sqlite3_finalize(ins);
    sqlite3_finalize(ins_res);
    const auto t1 = Clock::now();
    Exec(db_, kSqliteIndexes);
    Exec(db_, "PRAGMA synchronous=NORMAL; PRAGMA cache_size=-2000; PRAGMA wal_checkpoint(TRUNCATE);");
    sqlite_index_s_ = Seconds(t1);
  }
  struct stat st{};
  if (::stat((dir_ + "/sqlite/events.db").c_str(), &st) == 0) sqlite_bytes_ = static_cast<uint64_t>(st.st_size);
#else
  gen_load_s_ = Seconds(t0);
#endif
  if (std::string(Env("APITRAIL_BENCH_REOPEN", "1")) == "1") Reopen();
  MeasureAndCheck();
}

// (Re)opens the store as a restarted process would, measuring the time and memory it takes.
void Data::Reopen() {
  if (store_) store_->Close();
  store_.reset();
  rss_closed_mb_ = RssMb();
  const auto t = Clock::now();
  store_ = OpenStore();
  reopen_s_ = Seconds(t);
  rss_open_mb_ = RssMb();
}

void Data::MeasureAndCheck() {
  apitrail_bytes_ = DirBytes(dir_ + "/apitrail");
  part_bytes_ = DirBytes(dir_ + "/apitrail/parts");
  part_records_ = RecordsInParts(dir_ + "/apitrail");
  const StoreStats stats = store_->Stats();
  if (stats.size != n_) {
    std::fprintf(stderr, "query_bench: the store holds %" PRIu64 " records, expected %" PRIu64 "\n", stats.size, n_);
    std::exit(1);
  }
  PrintLoadSummary(stderr);
}

void Data::PrintLoadSummary(FILE* out) const {
  const double n = static_cast<double>(n_);
  std::fprintf(out,
               "query_bench: %" PRIu64 " events, 30 days from 2026-10-01; generate + load both: %.1f s; "
               "SQLite index build %.1f s; store reopen %.2f s (process RSS %.0f -> %.0f MB)\n"
               "  disk: apitrail %.1f MB (%.0f B/event), SQLite %.1f MB (%.0f B/event)\n"
               "  sealed parts: %.1f MB for %" PRIu64 " events (%.1f B/event)\n"
               "  params: subject %s (hot %s) on day 14; resource %s=%s; correlation id %s; errors: last day\n",
               n_, gen_load_s_, sqlite_index_s_, reopen_s_, rss_closed_mb_, rss_open_mb_, static_cast<double>(apitrail_bytes_) / 1e6,
               static_cast<double>(apitrail_bytes_) / n, static_cast<double>(sqlite_bytes_) / 1e6,
               static_cast<double>(sqlite_bytes_) / n, static_cast<double>(part_bytes_) / 1e6, part_records_,
               part_records_ ? static_cast<double>(part_bytes_) / static_cast<double>(part_records_) : 0.0,
               p_.subject.c_str(), p_.hot_subject.c_str(),
               p_.res_name.c_str(), p_.res_value.c_str(), p_.correlation_id.c_str());
}

std::string Data::ParamsJson() const {
  char b[1024];
  std::snprintf(b, sizeof b,
                "{\"params\":{\"events\":%" PRIu64 ",\"subject\":\"%s\",\"hot_subject\":\"%s\","
                "\"day_since_s\":%" PRId64 ",\"day_until_s\":%" PRId64 ",\"resource\":\"%s=%s\","
                "\"correlation_id\":\"%s\",\"span_since_s\":%" PRId64 ",\"span_until_s\":%" PRId64 ","
                "\"err_since_s\":%" PRId64 ",\"err_until_s\":%" PRId64 ",\"apitrail_bytes\":%" PRIu64
                ",\"sqlite_bytes\":%" PRIu64 "}}",
                n_, p_.subject.c_str(), p_.hot_subject.c_str(), p_.day_since / 1'000'000'000,
                p_.day_until / 1'000'000'000, p_.res_name.c_str(), p_.res_value.c_str(),
                p_.correlation_id.c_str(), p_.span_since / 1'000'000'000, p_.span_until / 1'000'000'000,
                p_.err_since / 1'000'000'000, p_.err_until / 1'000'000'000, apitrail_bytes_, sqlite_bytes_);
  return b;
}

Data* g_data = nullptr;  // created on first use, so --benchmark_list_tests generates nothing

Data& Get() {
  static Data d;
  g_data = &d;
  return d;
}

// ---------------------------------------------------------------- the queries

// What one run of a query returns: rows, and a value both systems must agree on (rows for
// event queries, the top route's count for top-10, the sum of the series for errors).
struct Answer {
  size_t rows = 0;
  uint64_t check = 0;
};
using QueryFn = std::function<Answer(Data&)>;

const char* const kQueries[] = {"subject_day", "subject_day_hot", "resource", "correlation_id",
                                "top10_routes", "errors_per_min"};

Answer ApitrailEvents(Data& d, const EventQuery& q) {
  auto page = d.store().Query(q);
  if (!page.ok()) throw std::runtime_error(page.status().message());
  benchmark::DoNotOptimize(page->events.data());
  return {page->events.size(), page->events.size()};
}

QueryFn ApitrailQuery(const std::string& name) {
  if (name == "subject_day" || name == "subject_day_hot") {
    const bool hot = name == "subject_day_hot";
    return [hot](Data& d) {
      EventQuery q;
      q.subject = hot ? d.params().hot_subject : d.params().subject;
      q.since_ns = d.params().day_since;
      q.until_ns = d.params().day_until;
      q.limit = 100;
      return ApitrailEvents(d, q);
    };
  }
  if (name == "resource") {
    return [](Data& d) {
      EventQuery q;
      q.resource = std::make_pair(d.params().res_name, d.params().res_value);
      q.limit = 100;
      return ApitrailEvents(d, q);
    };
  }
  if (name == "correlation_id") {
    return [](Data& d) {
      EventQuery q;
      q.correlation_id = d.params().correlation_id;
      q.limit = 100;
      return ApitrailEvents(d, q);
    };
  }
  if (name == "top10_routes") {
    return [](Data& d) {
      Rollups* r = d.store().rollups();
      if (!r) throw std::runtime_error("rollups disabled");
      auto top = r->Top(TopQuery{RollupDim::kRoute, RollupMetric::kRequests, d.params().span_since,
                                 d.params().span_until, 10});
      if (!top.ok()) throw std::runtime_error(top.status().message());
      return Answer{top->items.size(), top->items.empty() ? 0 : top->items[0].second.requests};
    };
  }
  return [](Data& d) {  // errors_per_min
    Rollups* r = d.store().rollups();
    if (!r) throw std::runtime_error("rollups disabled");
    auto s = r->Series(SeriesQuery{RollupMetric::kErrors, 1, d.params().err_since, d.params().err_until});
    if (!s.ok()) throw std::runtime_error(s.status().message());
    Answer a;
    for (uint64_t v : s->values) a.check += v, a.rows += v != 0;
    return a;
  };
}

#ifdef APITRAIL_BENCH_HAVE_SQLITE
// The SQL for each query: the peer runner's text where it has one (q1, q2, q3).
const char* SqliteSql(const std::string& name) {
  if (name == "subject_day" || name == "subject_day_hot") {
    return "SELECT * FROM events WHERE user_id=?1 AND ts>=?2 AND ts<?3 ORDER BY ts DESC LIMIT 100";
  }
  if (name == "resource") {
    return "SELECT e.* FROM resources r JOIN events e ON e.seq = r.seq WHERE r.name=?1 AND r.value=?2 "
           "ORDER BY r.seq DESC LIMIT 100";
  }
  if (name == "correlation_id") return "SELECT * FROM events WHERE req_id=?1 ORDER BY seq DESC LIMIT 100";
  if (name == "top10_routes") {
    // All events are inside the 30 days, so like the peer runner: no time filter.
    return "SELECT method, route, count(*) AS c FROM events GROUP BY method, route ORDER BY c DESC LIMIT 10";
  }
  return "SELECT ts/60000 AS minute, count(*) FROM events WHERE ts>=?1 AND ts<?2 AND status>=500 "
         "GROUP BY minute ORDER BY minute";
}

void SqliteBind(sqlite3_stmt* st, const std::string& name, const Params& p) {
  auto text = [st](int col, const std::string& s) {
    sqlite3_bind_text(st, col, s.data(), static_cast<int>(s.size()), SQLITE_STATIC);
  };
  if (name == "subject_day" || name == "subject_day_hot") {
    text(1, name == "subject_day_hot" ? p.hot_subject : p.subject);
    sqlite3_bind_int64(st, 2, p.day_since / 1'000'000);
    sqlite3_bind_int64(st, 3, p.day_until / 1'000'000);
  } else if (name == "resource") {
    text(1, p.res_name);
    text(2, p.res_value);
  } else if (name == "correlation_id") {
    text(1, p.correlation_id);
  } else if (name == "errors_per_min") {
    sqlite3_bind_int64(st, 1, p.err_since / 1'000'000);
    sqlite3_bind_int64(st, 2, p.err_until / 1'000'000);
  }
}

QueryFn SqliteQuery(const std::string& name) {
  // Every column of every row is read, as the apitrail side decodes whole events.
  return [name](Data& d) {
    sqlite3_stmt* st = d.Stmt(SqliteSql(name));
    SqliteBind(st, name, d.params());
    Answer a;
    size_t bytes = 0;
    const int cols = sqlite3_column_count(st);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      for (int c = 0; c < cols; ++c) {
        if (sqlite3_column_type(st, c) == SQLITE_TEXT) {
          bytes += static_cast<size_t>(sqlite3_column_bytes(st, c));
          benchmark::DoNotOptimize(sqlite3_column_text(st, c));
        }
      }
      const uint64_t last = static_cast<uint64_t>(sqlite3_column_int64(st, cols - 1));
      if (name == "top10_routes") {
        if (a.rows == 0) a.check = last;
      } else if (name == "errors_per_min") {
        a.check += last;
      }
      ++a.rows;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) throw std::runtime_error(sqlite3_errmsg(d.db()));
    if (name != "top10_routes" && name != "errors_per_min") a.check = a.rows;
    benchmark::DoNotOptimize(bytes);
    return a;
  };
}
#endif

// ---------------------------------------------------------------- timing and results

struct QueryResult {
  std::vector<double> samples_us;  // the reported (last) batch of runs
  double first_us = -1;            // the very first run after the load
  Answer answer;
  std::string error;
};
std::map<std::string, QueryResult> g_results;  // "system/query"; benchmarks run on one thread

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

void RunQuery(benchmark::State& state, const std::string& key, const QueryFn& fn) {
  Data& d = Get();
  QueryResult& r = g_results[key];
  r.samples_us.clear();
  r.samples_us.reserve(static_cast<size_t>(state.max_iterations));
  auto timed = [&] {
    const auto t0 = Clock::now();
    r.answer = fn(d);
    return std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
  };
  try {
    // The first run after the load is reported apart and kept out of the samples: it may
    // build caches (the rollups' 30-day summary), and Google Benchmark would otherwise size
    // its batches from it.
    if (r.first_us < 0) r.first_us = timed();
    for (auto _ : state) r.samples_us.push_back(timed());
  } catch (const std::exception& ex) {
    r.error = ex.what();
    state.SkipWithError(r.error.c_str());
    return;
  }
  state.counters["p50_us"] = Percentile(r.samples_us, 0.50);
  state.counters["p99_us"] = Percentile(r.samples_us, 0.99);
  state.counters["rows"] = static_cast<double>(r.answer.rows);
  state.counters["check"] = static_cast<double>(r.answer.check);
}

void PrintSummary() {
  if (!g_data) return;
  std::printf("\nquery latency, %" PRIu64 " events (p50 / p99 ms over the reported runs; first = first run "
              "after the load)\n", g_data->events());
  std::printf("%-16s %28s %28s %9s  %s\n", "query", "apitrail p50/p99 [first]", "SQLite p50/p99 [first]",
              "SQL/apit", "rows a/s, check a/s");
  FILE* json = nullptr;
  if (const char* path = std::getenv("APITRAIL_BENCH_RESULTS"); path && *path) {
    json = std::fopen(path, "a");
    if (json) std::fprintf(json, "%s\n", g_data->ParamsJson().c_str());
  }
  for (const char* q : kQueries) {
    auto cell = [&](const std::string& system, char* out, size_t size) -> double {
      auto it = g_results.find(system + "/" + q);
      if (it == g_results.end() || it->second.samples_us.empty()) {
        std::snprintf(out, size, "%s", it == g_results.end() ? "-" : "error");
        return 0;
      }
      const QueryResult& r = it->second;
      const double p50 = Percentile(r.samples_us, 0.5) / 1000, p99 = Percentile(r.samples_us, 0.99) / 1000;
      std::snprintf(out, size, "%.3f/%.3f [%.3f]", p50, p99, r.first_us / 1000);
      if (json) {
        std::fprintf(json, "{\"system\":\"%s\",\"query\":\"%s\",\"p50_ms\":%.4f,\"p99_ms\":%.4f,\"first_ms\":%.4f,"
                     "\"runs\":%zu,\"rows\":%zu,\"check\":%" PRIu64 "}\n",
                     system.c_str(), q, p50, p99, r.first_us / 1000, r.samples_us.size(), r.answer.rows,
                     r.answer.check);
      }
      return p50;
    };
    char a[64], s[64], ratio[16] = "-";
    const double pa = cell("apitrail", a, sizeof a), ps = cell("sqlite", s, sizeof s);
    if (pa > 0 && ps > 0) std::snprintf(ratio, sizeof ratio, "%.1fx", ps / pa);
    const auto ia = g_results.find(std::string("apitrail/") + q), is = g_results.find(std::string("sqlite/") + q);
    std::string rows;
    if (ia != g_results.end() && is != g_results.end()) {
      rows = std::to_string(ia->second.answer.rows) + "/" + std::to_string(is->second.answer.rows) + ", " +
             std::to_string(ia->second.answer.check) + "/" + std::to_string(is->second.answer.check) +
             (ia->second.answer.check == is->second.answer.check ? "" : "  MISMATCH");
    }
    std::printf("%-16s %28s %28s %9s  %s\n", q, a, s, ratio, rows.c_str());
  }
  if (json) std::fclose(json);
  std::printf("SQL/apit = SQLite p50 / apitrail p50 (> 1: apitrail faster). A shared machine makes single "
              "figures noisy; compare ratios within one run.\n");
#ifdef APITRAIL_BENCH_HAVE_SQLITE
  std::printf("SQLite plans:\n");
  for (const char* q : kQueries) {
    sqlite3_stmt* st = nullptr;
    const std::string sql = std::string("EXPLAIN QUERY PLAN ") + SqliteSql(q);
    if (sqlite3_prepare_v2(g_data->db(), sql.c_str(), -1, &st, nullptr) != SQLITE_OK) continue;
    SqliteBind(st, q, g_data->params());
    std::string plan;
    while (sqlite3_step(st) == SQLITE_ROW) {
      plan += plan.empty() ? "" : "; ";
      plan += reinterpret_cast<const char*>(sqlite3_column_text(st, 3));
    }
    sqlite3_finalize(st);
    std::printf("  %-16s %s\n", q, plan.c_str());
  }
#endif
  g_data->PrintLoadSummary(stdout);
}

void Register() {
  for (const char* q : kQueries) {
    std::vector<std::pair<std::string, QueryFn>> systems = {{"apitrail", ApitrailQuery(q)}};
#ifdef APITRAIL_BENCH_HAVE_SQLITE
    systems.emplace_back("sqlite", SqliteQuery(q));
#endif
    for (auto& [system, fn] : systems) {
      const std::string key = system + "/" + q;
      benchmark::RegisterBenchmark(("BM_Query/" + key).c_str(),
                                   [key, fn](benchmark::State& st) { RunQuery(st, key, fn); })
          ->Unit(benchmark::kMicrosecond)
          ->UseRealTime();
    }
  }
}

}  // namespace
}  // namespace apitrail::bench

int main(int argc, char** argv) {
  apitrail::bench::Register();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  apitrail::bench::PrintSummary();
#ifndef APITRAIL_BENCH_HAVE_SQLITE
  std::printf("SQLite (libsqlite3-dev) not found at build time: SQLite side skipped\n");
#endif
  benchmark::Shutdown();
  return 0;
}
