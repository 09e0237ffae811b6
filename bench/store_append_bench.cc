// store_append_bench: how many audit events per second the store makes durable, and what
// limits it (see bench/README.md).
//
//   BM_StoreAppend/producers:P/shape:S
//                                Store::Append with durability `response` from P producer
//                                threads, each keeping at most 256 events in flight and waiting
//                                for every callback (what gateway workers do). A full producer
//                                sleeps until half its events are durable: a gateway worker's
//                                io_context is woken once for a burst of completions, not once
//                                per event (a wake-up per callback cost 0.6 us/event of context
//                                switches that no gateway pays). Each event gets its id from
//                                the store, as in the gateway. Producers append events of
//                                the pool by reference (Store::Append(const AuditEvent&)),
//                                stamping the time in place, as SQLite binds its rows from
//                                the pool; APITRAIL_BENCH_COPY=1 copies each
//                                event and moves the copy in (what sessions up to 20
//                                measured: ~4% more CPU per event). items_per_second
//                                = durable events/s; counters: syncs (fdatasync group commits),
//                                events_per_sync, commit_us_mean (submission to durable),
//                                record_bytes, cpu_us_per_event (whole process:
//                                producers + writer). S=0 peer-shaped ~270-byte records, S=1
//                                gateway-shaped ~380-byte records (see MakePool).
//   BM_Sha256Record/shape:S      SHA-256 of the same record bytes (0x00 || record, the Merkle
//                                leaf hash) on one core: the hashing limit of the writer thread.
//   BM_EncodeRecord/shape:S      AuditEvent -> canonical record bytes (done on the producer).
//   BM_SqliteWal/sync:S          SQLite WAL, same rows, indexes on (time) and (subject, time),
//                                transactions of 512 rows; S=2 synchronous=FULL (fsync per
//                                commit, comparable with `response`), S=1 NORMAL (no fsync on
//                                commit: not durable). Only when built with libsqlite3.
//
// Events are synthetic and deterministic (bench/traffic_gen.h, seed 42), shaped like
// /work/shared/bench/peers/gen_events.py: 5000 subjects with Zipf-Mandelbrot activity, 200 route
// templates over 40 resources with Zipf popularity and Zipf-ish resource ids, ~3% 4xx and ~1%
// 5xx, a UUIDv4 correlation id per request.
//
// Data goes to a fresh directory under $APITRAIL_BENCH_DIR (default /tmp/apitrail-bench/store),
// removed at the end of each benchmark.

#include <benchmark/benchmark.h>

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "core/crypto_util.h"
#include "core/event.h"
#include "core/ids.h"
#include "core/record_codec.h"
#include "core/time_util.h"
#include "gateway/redaction.h"
#include "store/merkle/compact_range.h"
#include "store/merkle/merkle_hash.h"
#include "store/part/part_builder.h"
#include "store/part/part_reader.h"
#include "store/store.h"
#include "traffic_gen.h"

#ifdef APITRAIL_BENCH_HAVE_SQLITE
#include <sqlite3.h>
#endif

namespace apitrail {
namespace {

namespace fs = std::filesystem;

// ---------------------------------------------------------------- synthetic events

// A pool of events; producers cycle through it (copying, since Append takes the event).
struct EventPool {
  std::vector<AuditEvent> events;
  std::vector<std::string> records;  // EncodeRecord of each, for the hashing benchmark
  double mean_record_bytes = 0;
  double pct_4xx = 0, pct_5xx = 0;
};

// Shape 0 ("peer"): the fields gen_events.py writes (time, correlation id, subject, tenant, auth
// method, method, route, path, status, duration, bytes, client ip, user agent) plus the event id
// and decision: ~270-byte encoded records, the same rows the SQLite benchmark inserts.
// Shape 1 ("gateway"): everything the gateway records for a proxied request (node, host,
// resources, credential id, trace/span ids, upstream): ~380-byte encoded records, like the ones
// bench/gateway.sh finds in the store.
enum Shape { kPeer = 0, kGateway = 1 };

// One line of the peer runners' TSV (gen_events.py --format tsv: ts, seq, req_id, user_id,
// org, auth, method, route, path?query, status, latency_ms, req_bytes, resp_bytes,
// client_ip, ua) as the event the peer shape holds. False for a malformed line.
bool EventFromPeerTsv(std::string_view line, AuditEvent* e) {
  std::vector<std::string_view> c;
  for (size_t start = 0;;) {
    const size_t tab = line.find('\t', start);
    c.push_back(line.substr(start, tab == std::string_view::npos ? std::string_view::npos : tab - start));
    if (tab == std::string_view::npos) break;
    start = tab + 1;
  }
  if (c.size() != 15) return false;
  Result<int64_t> t = ParseRfc3339(c[0]);
  if (!t.ok()) return false;
  *e = AuditEvent();
  e->time_ns = *t;
  e->decision = "allow";
  e->correlation_id = c[2];
  e->subject = c[3];
  e->tenant = c[4];
  e->auth_method = c[5];
  e->method = c[6];
  e->route = std::string(c[6]) + " " + std::string(c[7]);
  const std::string_view target = c[8];
  const size_t q = target.find('?');
  e->path = target.substr(0, q);
  // Recorded as the gateway records a query string: decoded, secrets redacted.
  static const Redactor redactor{RedactionConfig{}};
  if (q != std::string_view::npos) e->query = redactor.RedactQuery(target.substr(q + 1));
  e->status = std::atoi(std::string(c[9]).c_str());
  if (e->status == 401 || e->status == 403) {  // as TrafficGen records them
    e->decision = "deny";
    e->deny_reason = e->status == 401 ? "invalid_credentials" : "missing_scope";
  }
  e->duration_us = std::llround(std::atof(std::string(c[10]).c_str()) * 1000);
  e->bytes_in = std::strtoull(std::string(c[11]).c_str(), nullptr, 10);
  e->bytes_out = std::strtoull(std::string(c[12]).c_str(), nullptr, 10);
  e->client_ip = c[13];
  e->user_agent = c[14];
  // The store mints the id at append; this one is only for the pool's own records.
  e->id = NewEventId(e->time_ns);
  return true;
}

void AddToPool(EventPool* p, AuditEvent&& e) {
  p->records.push_back(EncodeRecord(e));
  p->events.push_back(std::move(e));
}

// The pool's means, once every event is in.
void Summarize(EventPool* p) {
  const double n = static_cast<double>(p->events.size());
  double bytes = 0, n4 = 0, n5 = 0;
  for (const std::string& r : p->records) bytes += static_cast<double>(r.size());
  for (const AuditEvent& e : p->events) {
    n4 += e.status >= 400 && e.status < 500;
    n5 += e.status >= 500;
  }
  p->mean_record_bytes = bytes / n;
  p->pct_4xx = 100.0 * n4 / n;
  p->pct_5xx = 100.0 * n5 / n;
}

// The events come from the query benchmark's generator (bench/traffic_gen.h), one day of
// it; or, for the peer shape with $APITRAIL_BENCH_EVENTS_TSV set, from the peer runners'
// TSV (bench/append.sh: the very rows the peer runner's SQLite loads in the same run).
EventPool MakePool(Shape shape) {
  EventPool p;
  AuditEvent e;
  if (const char* tsv = std::getenv("APITRAIL_BENCH_EVENTS_TSV"); shape == kPeer && tsv && *tsv) {
    std::ifstream in(tsv);
    std::string line;
    for (size_t lineno = 1; std::getline(in, line); ++lineno) {
      if (!EventFromPeerTsv(line, &e)) {
        std::fprintf(stderr, "store_append_bench: %s:%zu: not a gen_events.py TSV line\n", tsv, lineno);
        std::exit(2);
      }
      AddToPool(&p, std::move(e));
    }
    if (p.events.empty()) {
      std::fprintf(stderr, "store_append_bench: %s: no events\n", tsv);
      std::exit(2);
    }
    Summarize(&p);
    return p;
  }
  bench::TrafficOptions options;
  options.events = 1 << 16;
  options.start_ns = 1793491200LL * 1000000000LL;  // 2026-11-01T00:00:00Z
  options.days = 1;
  bench::TrafficGen gen(options);
  std::mt19937_64 rng(42);  // trace ids
  while (gen.Next(&e)) {
    if (shape == kGateway) {
      char hex[48];
      std::snprintf(hex, sizeof hex, "%016llx%016llx", static_cast<unsigned long long>(rng()),
                    static_cast<unsigned long long>(rng()));
      e.trace_id = hex;
      e.span_id = std::string(hex).substr(8, 16);
    } else {
      e.node.clear();
      e.credential_id.clear();
      e.host.clear();
      e.upstream.clear();
      e.resources.clear();
    }
    AddToPool(&p, std::move(e));
  }
  Summarize(&p);
  return p;
}

const EventPool& Pool(int shape) {
  static const EventPool peer = MakePool(kPeer);
  static const EventPool gateway = MakePool(kGateway);
  return shape == kGateway ? gateway : peer;
}

std::string FreshDir(const std::string& name) {
  const char* base = std::getenv("APITRAIL_BENCH_DIR");
  fs::path dir = fs::path(base ? base : "/tmp/apitrail-bench/store") /
                 (name + "-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

// ---------------------------------------------------------------- Store::Append

// Appended events are stamped with the wall clock, as the gateway stamps a request when it
// arrives: the pool's own times span a day, and replaying that day every ~8 iterations would
// make the store's rollups close an hour ~200 times a second (a durable file write each), which
// no live store sees. SQLite's rows get the same stamps.
int64_t WallClockNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

double ProcessCpuSeconds() {  // every thread of this process, user + system
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

constexpr int kInFlight = 256;
constexpr size_t kEventsPerIteration = 8192;

struct Producer {
  std::mutex mu;
  std::condition_variable cv;
  int in_flight = 0;
  uint64_t failed = 0;
};

void BM_StoreAppend(benchmark::State& state) {
  const EventPool& pool = Pool(static_cast<int>(state.range(1)));
  const int producers = static_cast<int>(state.range(0));
  StoreOptions opt;
  opt.data_dir = FreshDir("append");
  opt.durability = Durability::kResponse;
  auto opened = Store::Open(opt);
  if (!opened.ok()) {
    state.SkipWithError(("Store::Open: " + opened.status().message()).c_str());
    return;
  }
  std::unique_ptr<Store> store = std::move(*opened);
  std::atomic<uint64_t> rejected{0}, errors{0};
  // Producers stamp the time into this copy of the pool in place. An iteration's producers
  // take disjoint runs of it (kEventsPerIteration < the pool's size), and the next
  // iteration starts after they are joined: no event is touched by two threads at once.
  if (pool.events.size() < kEventsPerIteration) {
    state.SkipWithError("the event pool must hold at least one iteration's events (8192)");
    return;
  }
  const bool copy_events = std::getenv("APITRAIL_BENCH_COPY") != nullptr;
  std::vector<AuditEvent> events = pool.events;
  for (AuditEvent& e : events) e.id.clear();  // minted by Append: the pool repeats, ids must not
  const uint64_t syncs0 = store->Stats().syncs;
  const double cpu0 = ProcessCpuSeconds();
  size_t cursor = 0;
  uint64_t total = 0;
  // Producers outlive the loop: the writer thread may still be unlocking a producer's mutex
  // right after that producer saw its last callback.
  std::vector<std::unique_ptr<Producer>> producer_state;

  for (auto _ : state) {
    std::vector<std::thread> threads;
    const size_t per = kEventsPerIteration / producers;
    for (int p = 0; p < producers; ++p) {
      size_t first = cursor + p * per;
      producer_state.push_back(std::make_unique<Producer>());
      Producer* prp = producer_state.back().get();
      threads.emplace_back([&, first, prp] {
        Producer& pr = *prp;
        for (size_t i = 0; i < per; ++i) {
          {
            std::unique_lock lk(pr.mu);
            if (pr.in_flight >= kInFlight) pr.cv.wait(lk, [&] { return pr.in_flight <= kInFlight / 2; });
            ++pr.in_flight;
          }
          AuditEvent& e = events[(first + i) % events.size()];
          e.time_ns = WallClockNs();
          for (;;) {
            AppendCallback done = [&pr, &errors](const Status& s, uint64_t) {
              if (!s.ok()) errors.fetch_add(1, std::memory_order_relaxed);
              std::lock_guard lk(pr.mu);
              --pr.in_flight;
              if (pr.in_flight == kInFlight / 2 || pr.in_flight == 0) pr.cv.notify_one();
            };
            Status st = copy_events ? store->Append(AuditEvent(e), std::move(done))
                                    : store->Append(std::as_const(e), std::move(done), nullptr);
            if (st.ok()) break;
            if (st.code() != StatusCode::kResourceExhausted) {
              errors.fetch_add(1, std::memory_order_relaxed);
              std::lock_guard lk(pr.mu);
              --pr.in_flight;
              break;
            }
            rejected.fetch_add(1, std::memory_order_relaxed);
            std::this_thread::yield();
          }
        }
        std::unique_lock lk(pr.mu);  // wait for every callback: all events durable
        pr.cv.wait(lk, [&] { return pr.in_flight == 0; });
      });
    }
    for (auto& t : threads) t.join();
    cursor += per * producers;
    total += per * producers;
  }
  const double cpu = ProcessCpuSeconds() - cpu0;  // producers + writer thread
  StoreStats st = store->Stats();
  store->Close();
  fs::remove_all(opt.data_dir);
  const double syncs = static_cast<double>(st.syncs - syncs0);
  state.SetItemsProcessed(static_cast<int64_t>(total));
  state.SetBytesProcessed(static_cast<int64_t>(total * pool.mean_record_bytes));
  state.counters["syncs"] = syncs;
  state.counters["syncs_per_s"] = benchmark::Counter(syncs, benchmark::Counter::kIsRate);
  state.counters["events_per_sync"] = syncs > 0 ? total / syncs : 0;
  // Submission to durable, per group commit (apitrail_store_commit_seconds): the device's
  // share of a commit cycle, with the time its completion waits for a CPU.
  state.counters["commit_us_mean"] =
      st.commit_latency.count > 0 ? static_cast<double>(st.commit_latency.sum_us) / st.commit_latency.count : 0;
  state.counters["record_bytes"] = pool.mean_record_bytes;
  state.counters["cpu_us_per_event"] = total ? cpu * 1e6 / total : 0;
  state.counters["rejected_full"] = static_cast<double>(rejected.load());
  state.counters["errors"] = static_cast<double>(errors.load());
  state.counters["parts_sealed"] = static_cast<double>(st.parts_sealed);
  state.counters["seal_deferred_ms"] = static_cast<double>(st.seal_deferred_ms);
  if (errors.load() || st.failed) state.SkipWithError("store reported errors (see counters)");
}
// A run of 2 s (BM_SqliteWal's too) rotates one or two 256 MiB segments, whose sealing waits for a lull (up to 4
// queued, LogStore::SealerLoop): a burst rate. APITRAIL_BENCH_APPEND_SECONDS=30 runs long
// enough that sealing competes with the appends, as it does under a sustained load.
double AppendSeconds() {
  const char* s = std::getenv("APITRAIL_BENCH_APPEND_SECONDS");
  return s != nullptr && std::atof(s) > 0 ? std::atof(s) : 2.0;
}
BENCHMARK(BM_StoreAppend)->ArgNames({"producers", "shape"})
    ->Args({1, kPeer})->Args({2, kPeer})->Args({4, kPeer})->Args({4, kGateway})->UseRealTime()
    ->MinTime(AppendSeconds())->Unit(benchmark::kMillisecond);

// ---------------------------------------------------------------- hashing limit

void BM_Sha256Record(benchmark::State& state) {
  const EventPool& pool = Pool(static_cast<int>(state.range(0)));
  Sha256Hasher h;
  const uint8_t leaf = 0x00;
  size_t i = 0;
  uint64_t bytes = 0;
  for (auto _ : state) {
    const std::string& r = pool.records[i++ % pool.records.size()];
    h.Init();
    h.Update(&leaf, 1);
    h.Update(r.data(), r.size());
    Hash256 d = h.Final();
    benchmark::DoNotOptimize(d);
    bytes += r.size();
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  state.counters["record_bytes"] = pool.mean_record_bytes;
}
BENCHMARK(BM_Sha256Record)->ArgName("shape")->Arg(kPeer)->Arg(kGateway);

void BM_EncodeRecord(benchmark::State& state) {
  const EventPool& pool = Pool(static_cast<int>(state.range(0)));
  size_t i = 0;
  for (auto _ : state) {
    std::string r = EncodeRecord(pool.events[i++ % pool.events.size()]);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["record_bytes"] = pool.mean_record_bytes;
  state.counters["pct_4xx"] = pool.pct_4xx;
  state.counters["pct_5xx"] = pool.pct_5xx;
}
BENCHMARK(BM_EncodeRecord)->ArgName("shape")->Arg(kPeer)->Arg(kGateway);

// ---------------------------------------------------------------- SQLite WAL peer

#ifdef APITRAIL_BENCH_HAVE_SQLITE
bool Exec(sqlite3* db, const char* sql, benchmark::State& state) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    state.SkipWithError((std::string(sql) + ": " + (err ? err : "?")).c_str());
    sqlite3_free(err);
    return false;
  }
  return true;
}

std::string JoinKv(const KeyValues& kv) {
  std::string s;
  for (const auto& [k, v] : kv) s += (s.empty() ? "" : "&") + k + "=" + v;
  return s;
}

void BM_SqliteWal(benchmark::State& state) {
  const EventPool& pool = Pool(kPeer);
  const int sync = static_cast<int>(state.range(0));
  const std::string dir = FreshDir("sqlite");
  sqlite3* db = nullptr;
  if (sqlite3_open((dir + "/events.db").c_str(), &db) != SQLITE_OK) {
    state.SkipWithError("sqlite3_open failed");
    return;
  }
  std::string pragmas = "PRAGMA journal_mode=WAL; PRAGMA synchronous=" + std::to_string(sync) + ";";
  const char* schema =
      "CREATE TABLE events(seq INTEGER PRIMARY KEY, id TEXT NOT NULL, node TEXT, time_ns INTEGER NOT NULL,"
      " duration_us INTEGER, kind TEXT, decision TEXT, deny_reason TEXT, subject TEXT NOT NULL,"
      " auth_method TEXT, credential_id TEXT, tenant TEXT, method TEXT, host TEXT, path TEXT,"
      " route TEXT, resources TEXT, query TEXT, status INTEGER, bytes_in INTEGER, bytes_out INTEGER,"
      " client_ip TEXT, user_agent TEXT, correlation_id TEXT, upstream TEXT);"
      "CREATE INDEX ev_time ON events(time_ns);"
      "CREATE INDEX ev_subject_time ON events(subject, time_ns);";
  if (!Exec(db, pragmas.c_str(), state) || !Exec(db, schema, state)) {
    sqlite3_close(db);
    return;
  }
  sqlite3_stmt* ins = nullptr;
  sqlite3_prepare_v2(db,
                     "INSERT INTO events VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                     -1, &ins, nullptr);
  constexpr int kBatch = 512;
  uint64_t seq = 0;
  size_t i = 0;
  for (auto _ : state) {  // one iteration = one transaction of 512 rows
    Exec(db, "BEGIN", state);
    for (int b = 0; b < kBatch; ++b) {
      const AuditEvent& e = pool.events[i++ % pool.events.size()];
      std::string res = JoinKv(e.resources), q = JoinKv(e.query);
      int c = 1;
      auto text = [&](const std::string& s) {
        sqlite3_bind_text(ins, c++, s.data(), static_cast<int>(s.size()), SQLITE_STATIC);
      };
      sqlite3_bind_int64(ins, c++, static_cast<int64_t>(++seq));
      text(e.id); text(e.node);
      sqlite3_bind_int64(ins, c++, WallClockNs());
      sqlite3_bind_int64(ins, c++, e.duration_us);
      text(e.kind); text(e.decision); text(e.deny_reason); text(e.subject); text(e.auth_method);
      text(e.credential_id); text(e.tenant); text(e.method); text(e.host); text(e.path);
      text(e.route); text(res); text(q);
      sqlite3_bind_int(ins, c++, e.status);
      sqlite3_bind_int64(ins, c++, static_cast<int64_t>(e.bytes_in));
      sqlite3_bind_int64(ins, c++, static_cast<int64_t>(e.bytes_out));
      text(e.client_ip); text(e.user_agent); text(e.correlation_id); text(e.upstream);
      if (sqlite3_step(ins) != SQLITE_DONE) {
        state.SkipWithError(sqlite3_errmsg(db));
        break;
      }
      sqlite3_reset(ins);
    }
    Exec(db, "COMMIT", state);
  }
  sqlite3_finalize(ins);
  sqlite3_close(db);
  uint64_t size = 0;
  for (const auto& f : fs::directory_iterator(dir)) size += f.file_size();
  fs::remove_all(dir);
  state.SetItemsProcessed(static_cast<int64_t>(seq));
  state.counters["commits_per_s"] = benchmark::Counter(static_cast<double>(state.iterations()),
                                                        benchmark::Counter::kIsRate);
  state.counters["bytes_per_row"] = seq ? static_cast<double>(size) / seq : 0;
}
BENCHMARK(BM_SqliteWal)->ArgName("sync")->Arg(2)->Arg(1)->UseRealTime()->MinTime(AppendSeconds())
    ->Unit(benchmark::kMillisecond);
#else
void BM_SqliteWal_Skipped(benchmark::State& state) {
  for (auto _ : state) {
  }
  state.SkipWithError("built without libsqlite3-dev: SQLite WAL benchmark skipped");
}
BENCHMARK(BM_SqliteWal_Skipped)->Iterations(1);
#endif

// ---------------------------------------------------------------- sealed part size

// Not a timing benchmark: seals the pool's 65 536 events (about a minute of traffic at
// 1k req/s) into one part and reports its size per event, split into blocks (zstd records)
// and the rest (header, block table, index, footer). Run alone:
//   store_append_bench --benchmark_filter=PartSize
void BM_PartSize(benchmark::State& state) {
  const EventPool& pool = Pool(static_cast<int>(state.range(0)));
  const std::string path = FreshDir("part") + "/part-00000000000000000000.part";
  uint64_t total = 0, blocks = 0, raw = 0;
  for (auto _ : state) {
    fs::remove(path);
    auto b = part::PartBuilder::Create(DefaultFileSystem(), path, "node-1", 0, merkle::CompactRange());
    if (!b.ok()) {
      state.SkipWithError(b.status().ToString().c_str());
      return;
    }
    merkle::CompactRange after;
    for (size_t i = 0; i < pool.events.size(); ++i) {
      after.Append(merkle::LeafHash(merkle::ThreadHasher(), pool.records[i]));
      raw += pool.records[i].size();
      (void)(*b)->Add(pool.records[i], pool.events[i]);
    }
    if (Status st = (*b)->Finish(after); !st.ok()) {
      state.SkipWithError(st.ToString().c_str());
      return;
    }
    total = fs::file_size(path);
    auto r = part::PartReader::Open(DefaultFileSystem(), path);
    if (!r.ok()) {
      state.SkipWithError(r.status().ToString().c_str());
      return;
    }
    for (const auto& m : (*r)->blocks()) blocks += m.stored_size;
  }
  const double n = static_cast<double>(pool.events.size());
  state.counters["record_bytes"] = static_cast<double>(raw) / n;
  state.counters["part_bytes_per_event"] = static_cast<double>(total) / n;
  state.counters["block_bytes_per_event"] = static_cast<double>(blocks) / n;
  state.counters["index_etc_bytes_per_event"] = static_cast<double>(total - blocks) / n;
}
BENCHMARK(BM_PartSize)->ArgName("shape")->Arg(kPeer)->Arg(kGateway)->Iterations(1);

// `store_append_bench --fill DIR N`: writes N events of the gateway shape into a fresh data
// dir through Store::Append (durability: batch, so filling is quick; the bytes are the same)
// and exits; bench/verify.sh measures `apitrail verify` against `sha256sum` on it.
int Fill(const std::string& dir, uint64_t n) {
  if (fs::exists(dir) && !fs::is_empty(dir)) {
    std::fprintf(stderr, "--fill: %s exists and is not empty\n", dir.c_str());
    return 2;
  }
  StoreOptions opt;
  opt.data_dir = dir;
  opt.durability = Durability::kBatch;
  opt.batch_interval_ms = 50;
  auto opened = Store::Open(opt);
  if (!opened.ok()) {
    std::fprintf(stderr, "--fill: %s\n", opened.status().ToString().c_str());
    return 1;
  }
  const EventPool& pool = Pool(kGateway);
  for (uint64_t i = 0; i < n; ++i) {
    for (;;) {
      Status st = (*opened)->Append(pool.events[i % pool.events.size()], nullptr);
      if (st.ok()) break;
      if (st.code() != StatusCode::kResourceExhausted) {
        std::fprintf(stderr, "--fill: %s\n", st.ToString().c_str());
        return 1;
      }
      std::this_thread::yield();
    }
  }
  Status flushed = (*opened)->Flush();
  (*opened)->Close();
  if (!flushed.ok()) {
    std::fprintf(stderr, "--fill: %s\n", flushed.ToString().c_str());
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace apitrail

int main(int argc, char** argv) {
  if (argc == 4 && std::string_view(argv[1]) == "--fill") {
    return apitrail::Fill(argv[2], std::strtoull(argv[3], nullptr, 10));
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
