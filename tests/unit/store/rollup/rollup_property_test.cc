// Property: for any events and any window, GET /api/v1/stats/top and /stats/series (here
// HandleStats over a real LogStore's Rollups) equal a brute-force count over the events
// appended — in the active segment and in sealed parts, after a clean restart, after a
// crash (a forked child killed with SIGKILL after its appends were acknowledged), across
// hour and UTC day boundaries (daily rotation by an injected wall clock), with events
// appended out of time order (a request's start time, appended at completion), keys longer
// than the 1024-byte cap, intents, non-HTTP events, every status class, allow and deny, and
// windows whose since/until are not minute-aligned (the answer widens them to whole
// minutes/steps and says so: the brute force counts the range the answer names). Past
// audit.rollups.max_keys the answers must stay honest: every listed count a lower bound,
// sum(listed) + other = total, and other = 0 only when every count is exact.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "api/stats_api.h"
#include "core/json_writer.h"
#include "core/time_util.h"
#include "store/rollup/rollups.h"
#include "store/store.h"
#include "unit/store/store_test_util.h"

namespace apitrail {
namespace {

using testing::TempDir;

constexpr int64_t kSec = 1'000'000'000;
constexpr int64_t kDay = 24 * kNsPerHour;
// 2025-10-10T00:00:00Z: in the past wherever this runs (events more than a day ahead of
// the wall clock are dropped by design), and a UTC day boundary to cross.
constexpr int64_t kMidnight = (1'760'000'000'000'000'000 / kDay + 1) * kDay;
constexpr uint64_t kSeed = 0x5eed'2026'1129ull;

const std::string& LongPrefix() {
  static const std::string p(1020, 'L');
  return p;
}

// Event i of a workload: a pure function of (seed, i), so a parent can tell what a crashed
// child appended. Completion (the wall clock when it is appended) advances ~`gap` per event
// from `t0`; the event's time is its start, up to hours earlier for a few slow requests.
struct Workload {
  uint64_t seed;
  int64_t t0;
  int64_t gap;
  int routes = 14;
  int subjects = 45;
  int ips = 23;

  int64_t CompletionNs(uint64_t i) const { return t0 + static_cast<int64_t>(i) * gap; }

  AuditEvent Make(uint64_t i) const {
    std::mt19937_64 rng(seed * 1'000'003 + i);
    auto pick = [&](uint64_t n) { return rng() % n; };
    AuditEvent e;
    char id[64];
    std::snprintf(id, sizeof id, "0190a6e0-0000-7000-8000-%012llu",
                  static_cast<unsigned long long>(seed % 1000 * 1'000'000'000 + i));
    e.id = id;
    e.node = "node-1";
    const uint64_t lat = pick(1000);
    int64_t latency = static_cast<int64_t>(pick(3 * kSec));
    if (lat < 60)
      latency = static_cast<int64_t>(pick(static_cast<uint64_t>(2 * kNsPerHour)));  // slow
    if (lat < 8)
      latency = static_cast<int64_t>(pick(static_cast<uint64_t>(7 * kNsPerHour)));  // very slow
    e.time_ns = CompletionNs(i) - latency;
    e.duration_us = latency / 1000;
    const uint64_t kind = pick(100);
    e.kind = kind < 3 ? "admin" : kind < 5 ? "system" : "http";
    const uint64_t r = pick(static_cast<uint64_t>(routes) + 5);
    if (r < static_cast<uint64_t>(routes)) {
      e.route = "GET /v1/r" + std::to_string(r) + "/{id}";
    } else if (r == static_cast<uint64_t>(routes)) {
      e.route = "";  // no route matched
    } else {
      // Longer than the cap (1024 bytes): these differ only after it, so they are one key;
      // two have different 2-byte UTF-8 characters across the cut (é, ж).
      const uint64_t v = r - static_cast<uint64_t>(routes);
      e.route = LongPrefix() +
                (v == 3   ? "abc\xC3\xA9"
                 : v == 4 ? "abc\xD0\xB6"
                          : "abcd") +
                std::string(200 + r, 'x') + std::to_string(r);
    }
    const uint64_t s = pick(static_cast<uint64_t>(subjects)) *
                       pick(static_cast<uint64_t>(subjects)) /
                       static_cast<uint64_t>(subjects);  // skewed
    e.subject = s == 0 ? "" : "user-" + std::to_string(s);
    e.client_ip = "10.1." + std::to_string(pick(static_cast<uint64_t>(ips))) + ".7";
    static constexpr int kStatus[] = {200, 200, 200, 200, 200, 201, 204, 304, 101, 400, 401,
                                      403, 404, 404, 429, 500, 502, 503, 504, 599, 0,   600};
    e.status = kStatus[pick(std::size(kStatus))];
    e.decision = (e.status == 401 || e.status == 403 || (e.status == 429 && pick(2) == 0))
                     ? "deny"
                     : "allow";
    e.method = "GET";
    e.path = "/v1/x";
    e.correlation_id = "c-" + std::to_string(i);
    return e;
  }
};

// What the rollups should count of an event, by the documented rules: HTTP outcomes only
// (no admin/system events, no intents), keys cut to at most 1024 bytes at a UTF-8 character
// boundary, 5xx errors, 4xx client errors, decision deny.
struct Expected {
  int64_t time_ns;
  std::array<std::string, kRollupDims> keys;
  KeyCounts counts;
};

struct Model {
  std::vector<Expected> events;

  void Add(const AuditEvent& e) {
    if (e.kind != "http" || e.phase == "intent") return;
    Expected x;
    x.time_ns = e.time_ns;
    x.keys = {e.route, e.subject, e.client_ip};
    for (auto& k : x.keys) {
      if (k.size() <= 1024) continue;
      size_t n = 1024;  // at a character boundary: never a character's first bytes alone
      while (n > 0 && (static_cast<unsigned char>(k[n]) & 0xC0) == 0x80) --n;
      k.resize(n);
    }
    const int c = e.status >= 100 && e.status <= 599 ? e.status / 100 : 0;
    x.counts = KeyCounts{1, c == 4 ? 1u : 0u, c == 5 ? 1u : 0u, e.decision == "deny" ? 1u : 0u};
    events.push_back(std::move(x));
  }
  std::map<std::string, KeyCounts> Top(int dim, int64_t since, int64_t until) const {
    std::map<std::string, KeyCounts> out;
    for (const auto& e : events) {
      if (e.time_ns >= since && e.time_ns < until)
        out[e.keys[static_cast<size_t>(dim)]].Add(e.counts);
    }
    return out;
  }
};

// A key as the JSON answer shows it: invalid UTF-8 (a character cut at 1024 bytes) becomes
// U+FFFD per byte, as JsonWriter writes it.
std::string AsJson(const std::string& key) {
  std::string out;
  JsonWriter::AppendEscaped(&out, key);  // quoted
  return std::string(boost::json::parse(out).as_string());
}

const char* kDims[] = {"route", "subject", "client_ip"};
const char* kMetrics[] = {"requests", "errors", "client_errors", "denied"};
const char* kSteps[] = {"1m", "5m", "15m", "1h", "1d"};
constexpr int64_t kStepMinutes[] = {1, 5, 15, 60, 1440};

KeyCounts CountsFrom(const boost::json::object& o) {
  return KeyCounts{static_cast<uint64_t>(o.at("requests").as_int64()),
                   static_cast<uint64_t>(o.at("client_errors").as_int64()),
                   static_cast<uint64_t>(o.at("errors").as_int64()),
                   static_cast<uint64_t>(o.at("denied").as_int64())};
}

uint64_t Get(const KeyCounts& c, int metric) { return c.Get(static_cast<RollupMetric>(metric)); }

boost::json::object Ask(Rollups* r, std::string_view path, QueryParams params) {
  SimpleResponse resp = HandleStats(path, params, r, kMidnight);
  EXPECT_EQ(resp.status, 200) << path << ": " << resp.body;
  if (resp.status != 200) return {};
  return boost::json::parse(resp.body).as_object();
}

struct Checker {
  Rollups* r;
  const Model* m;
  bool exact = true;  // distinct keys within the caps: every answer exact, other = 0
  int queries = 0;

  void Window(int64_t since, int64_t until, const std::string& what) {
    SCOPED_TRACE(what + " since=" + FormatRfc3339(since) + " until=" + FormatRfc3339(until));
    for (int d = 0; d < kRollupDims; ++d) {
      for (int metric = 0; metric < 4; ++metric) Top(d, metric, since, until);
    }
    for (int metric = 0; metric < 4; ++metric) {
      for (int s = 0; s < 5; ++s) {
        if ((until - since) / kNsPerMinute / kStepMinutes[s] > 9000) continue;
        Series(metric, s, since, until);
      }
    }
  }

  void Top(int d, int metric, int64_t since, int64_t until) {
    ++queries;
    auto o = Ask(r, "/api/v1/stats/top",
                 {{"dim", kDims[d]},
                  {"metric", kMetrics[metric]},
                  {"k", "1000"},
                  {"since", FormatRfc3339(since)},
                  {"until", FormatRfc3339(until)}});
    if (o.empty()) return;
    const auto a = ParseRfc3339(o.at("since").as_string());
    const auto b = ParseRfc3339(o.at("until").as_string());
    ASSERT_TRUE(a.ok() && b.ok());
    // Widened to whole minutes, never narrowed, by less than a minute on each side.
    EXPECT_LE(*a, since);
    EXPECT_GT(*a, since - kNsPerMinute);
    EXPECT_GE(*b, until);
    EXPECT_LT(*b, until + kNsPerMinute);
    EXPECT_EQ(FloorDiv(*a, kNsPerMinute) * kNsPerMinute, *a);
    EXPECT_EQ(FloorDiv(*b, kNsPerMinute) * kNsPerMinute, *b);
    std::map<std::string, KeyCounts> want_raw = m->Top(d, *a, *b);
    std::map<std::string, KeyCounts> want;
    KeyCounts want_all;
    for (const auto& [k, c] : want_raw) {
      want[AsJson(k)].Add(c);
      want_all.Add(c);
    }
    std::map<std::string, KeyCounts> got;
    KeyCounts got_sum;
    uint64_t prev = UINT64_MAX;
    for (const auto& item : o.at("items").as_array()) {
      const auto& io = item.as_object();
      const std::string key(io.at("key").as_string());
      const KeyCounts c = CountsFrom(io);
      EXPECT_LE(Get(c, metric), prev) << "ranked by " << kMetrics[metric];
      prev = Get(c, metric);
      EXPECT_GT(Get(c, metric), 0u) << key.substr(0, 40);
      EXPECT_TRUE(got.emplace(key, c).second) << "listed twice: " << key.substr(0, 40);
      got_sum.Add(c);
    }
    const KeyCounts other = CountsFrom(o.at("other").as_object());
    EXPECT_EQ(static_cast<uint64_t>(o.at("total").as_int64()), Get(want_all, metric));
    if (exact) {
      EXPECT_EQ(other.requests, 0u);
      size_t nonzero = 0;
      for (const auto& [k, c] : want) {
        if (Get(c, metric) == 0) continue;
        ++nonzero;
        auto it = got.find(k);
        ASSERT_NE(it, got.end()) << kDims[d] << " key missing: " << k.substr(0, 40);
        EXPECT_EQ(it->second.requests, c.requests) << k.substr(0, 40);
        EXPECT_EQ(it->second.errors, c.errors) << k.substr(0, 40);
        EXPECT_EQ(it->second.client_errors, c.client_errors) << k.substr(0, 40);
        EXPECT_EQ(it->second.denied, c.denied) << k.substr(0, 40);
      }
      EXPECT_EQ(got.size(), nonzero);
      return;
    }
    // Beyond a cap: no invented counts, and nothing unaccounted for.
    for (const auto& [k, c] : got) {
      auto it = want.find(k);
      ASSERT_NE(it, want.end()) << "invented key " << k;
      EXPECT_LE(c.requests, it->second.requests) << k;
      EXPECT_LE(c.errors, it->second.errors) << k;
      EXPECT_LE(c.client_errors, it->second.client_errors) << k;
      EXPECT_LE(c.denied, it->second.denied) << k;
    }
    if (got.size() < 1000) {  // every key with a non-zero metric is listed
      EXPECT_EQ(Get(got_sum, metric) + Get(other, metric), Get(want_all, metric));
    }
    if (other.requests == 0 && other.errors == 0 && other.client_errors == 0 && other.denied == 0) {
      for (const auto& [k, c] : want) {
        if (Get(c, metric) == 0) continue;
        auto it = got.find(k);
        ASSERT_NE(it, got.end()) << "other is 0 but a key is missing: " << k;
        EXPECT_EQ(Get(it->second, metric), Get(c, metric)) << "other is 0 but inexact: " << k;
      }
    }
  }

  void Series(int metric, int s, int64_t since, int64_t until) {
    ++queries;
    auto o = Ask(r, "/api/v1/stats/series",
                 {{"metric", kMetrics[metric]},
                  {"step", kSteps[s]},
                  {"since", FormatRfc3339(since)},
                  {"until", FormatRfc3339(until)}});
    if (o.empty()) return;
    const int64_t step = kStepMinutes[s] * kNsPerMinute;
    EXPECT_EQ(o.at("step_seconds").as_int64(), step / kSec);
    const auto a = ParseRfc3339(o.at("since").as_string());
    const auto b = ParseRfc3339(o.at("until").as_string());
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_LE(*a, since);
    EXPECT_GT(*a, since - step);
    EXPECT_GE(*b, until);
    EXPECT_LT(*b, until + step);
    EXPECT_EQ(FloorDiv(*a, step) * step, *a);
    const auto& points = o.at("points").as_array();
    ASSERT_EQ(static_cast<int64_t>(points.size()), (*b - *a) / step);
    std::vector<uint64_t> want(points.size(), 0);
    uint64_t want_total = 0;
    for (const auto& e : m->events) {
      if (e.time_ns < *a || e.time_ns >= *b) continue;
      want[static_cast<size_t>((e.time_ns - *a) / step)] += Get(e.counts, metric);
      want_total += Get(e.counts, metric);
    }
    std::vector<uint64_t> got;
    for (size_t i = 0; i < points.size(); ++i) {
      const auto& p = points[i].as_object();
      EXPECT_EQ(*ParseRfc3339(p.at("t").as_string()), *a + static_cast<int64_t>(i) * step);
      got.push_back(static_cast<uint64_t>(p.at("value").as_int64()));
    }
    EXPECT_EQ(got, want) << kMetrics[metric] << " step " << kSteps[s];
    EXPECT_EQ(static_cast<uint64_t>(o.at("total").as_int64()), want_total);
  }

  // Fixed windows at the awkward places, then `random` ragged ones over [lo, hi).
  void Windows(int64_t lo, int64_t hi, int random, uint64_t seed, const std::string& what) {
    Window(lo - kNsPerHour, hi + kNsPerHour, what + " all");
    Window(kMidnight - kDay, kMidnight, what + " the day before midnight");
    Window(kMidnight, kMidnight + kDay, what + " the day after midnight");
    Window(kMidnight - 1, kMidnight + 1, what + " 1 ns each side of midnight");
    Window(kMidnight - kNsPerHour, kMidnight + kNsPerHour, what + " hours around midnight");
    Window(kMidnight - kNsPerMinute + 1, kMidnight + kNsPerMinute - 1, what + " ragged minutes");
    Window(kMidnight - 3 * kNsPerHour + 30 * kSec, kMidnight - 2 * kNsPerHour - 30 * kSec,
           what + " hour, ragged");
    std::mt19937_64 rng(seed);
    for (int i = 0; i < random; ++i) {
      const int64_t since = lo + static_cast<int64_t>(rng() % static_cast<uint64_t>(hi - lo));
      int64_t len =
          static_cast<int64_t>(rng() % static_cast<uint64_t>(kNsPerHour * (i % 3 == 0 ? 9 : 1))) +
          1;
      if (i % 4 == 1) len = static_cast<int64_t>(rng() % 200) * kSec + 1;  // a few minutes
      Window(since, since + len, what + " random " + std::to_string(i));
    }
  }
};

class RollupPropertyTest : public ::testing::Test {
 protected:
  StoreOptions Options() {
    StoreOptions o;
    o.data_dir = dir_.path();
    o.max_segment_bytes = 48 * 1024;  // many sealed parts
    o.rotate_daily = true;
    o.wall_clock = [this] { return wall_.load(); };
    o.rollups.persist_interval_ms = 200;
    o.seal_at_low_priority = false;  // WaitSealed: a loaded host's CPUs must not starve it
    return o;
  }
  // Appends events [from, to) of `w` (intents first for some), each at its completion time.
  // False on any error (no gtest macros: a forked child must tell its own failures apart).
  bool AppendRange(Store& s, const Workload& w, uint64_t from, uint64_t to) {
    for (uint64_t i = from; i < to; ++i) {
      AuditEvent e = w.Make(i);
      wall_.store(w.CompletionNs(i));
      if (e.kind == "http" && i % 17 == 0) {  // durability strict's two records
        AuditEvent intent = e;
        intent.phase = "intent";
        intent.status = 0;
        intent.id[0] = '1';
        e.phase = "outcome";
        e.intent_id = intent.id;
        if (!s.Append(std::move(intent), nullptr).ok()) return false;
      }
      if (!s.Append(std::move(e), nullptr).ok()) return false;
      if (i % 64 == 63 && !s.Flush().ok()) return false;
    }
    return s.Flush().ok();
  }
  void Append(Store& s, const Workload& w, uint64_t from, uint64_t to) {
    ASSERT_TRUE(AppendRange(s, w, from, to));
  }
  void AddToModel(const Workload& w, uint64_t from, uint64_t to) {
    for (uint64_t i = from; i < to; ++i) model_.Add(w.Make(i));
  }
  // Forks a child that opens the store, appends [from, to), flushes (acknowledged) and is
  // killed with SIGKILL without closing: what a crash leaves on disk.
  void CrashAfterAppending(const Workload& w, uint64_t from, uint64_t to, bool wait_sealed) {
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      auto s = Store::Open(Options());
      if (!s.ok()) _exit(3);
      if (!AppendRange(**s, w, from, to)) _exit(4);
      for (int i = 0; wait_sealed && i < 2000 && (*s)->Stats().seal_pending > 0; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      raise(SIGKILL);
      _exit(5);
    }
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "child status " << status;
    AddToModel(w, from, to);
  }
  void Check(Store& s, const Workload& w, uint64_t n, int random, const std::string& what) {
    Checker c{s.rollups(), &model_};
    c.Windows(w.CompletionNs(0) - 8 * kNsPerHour, w.CompletionNs(n) + kNsPerHour, random, kSeed + n,
              what);
    queries_ += c.queries;
  }

  TempDir dir_;
  std::atomic<int64_t> wall_{0};
  Model model_;
  int queries_ = 0;
};

// Workload: from 21:00 to ~03:00 UTC, so over five hour boundaries and midnight, where the
// log rotates daily, and with slow requests landing in hours already closed.
Workload Main() { return Workload{kSeed, kMidnight - 3 * kNsPerHour, 3 * kSec}; }

TEST_F(RollupPropertyTest, TopAndSeriesEqualABruteForceCountThroughPartsRestartsAndCrashes) {
  const Workload w = Main();
  const uint64_t n1 = 2400, n2 = 4400, n3 = 5400, n4 = 6400, n5 = 7200;
  {
    auto s = testing::OpenOrDie(Options());
    ASSERT_NE(s, nullptr);
    Append(*s, w, 0, n1);
    AddToModel(w, 0, n1);
    Check(*s, w, n1, 12, "active+pending");
    testing::WaitSealed(*s);
    EXPECT_GT(s->Stats().parts, 3u);
    Check(*s, w, n1, 12, "sealed");
    Append(*s, w, n1, n2);  // across midnight
    AddToModel(w, n1, n2);
    ASSERT_TRUE(s->rollups()->Persist().ok());
    Check(*s, w, n2, 12, "across midnight");
    s->Close();
  }
  {
    auto s = testing::OpenOrDie(Options());
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->rollups()->Stats().events, 0u) << "a clean restart counts nothing again";
    Check(*s, w, n2, 12, "after a clean restart");
    s->Close();
  }
  CrashAfterAppending(w, n2, n3, /*wait_sealed=*/false);
  {
    auto s = testing::OpenOrDie(Options());
    ASSERT_NE(s, nullptr);
    Check(*s, w, n3, 12, "after a crash");
    s->Close();
  }
  CrashAfterAppending(w, n3, n4, /*wait_sealed=*/true);
  {
    auto s = testing::OpenOrDie(Options());
    ASSERT_NE(s, nullptr);
    Check(*s, w, n4, 12, "after a crash with everything sealed");
    Append(*s, w, n4, n5);
    AddToModel(w, n4, n5);
    Check(*s, w, n5, 12, "appending after recovery");
    s->Close();
  }
  {
    auto s = testing::OpenOrDie(Options());
    ASSERT_NE(s, nullptr);
    Check(*s, w, n5, 6, "final restart");
  }
  std::printf("[ info ] %d queries against %zu counted events\n", queries_, model_.events.size());
}

// Rollup files are derived data (FORMAT.md §14: "a rollup file may be deleted at any time
// (it is rebuilt from the log at the next start)"): deleting the directory, or a file being
// set aside as damaged, must not lose the counts of records already sealed into parts.
TEST_F(RollupPropertyTest, DeletedOrDamagedRollupFilesAreRebuiltFromPartsToo) {
  const Workload w = Main();
  const uint64_t n = 3000;
  {
    auto s = testing::OpenOrDie(Options());
    ASSERT_NE(s, nullptr);
    Append(*s, w, 0, n);
    testing::WaitSealed(*s);
    s->Close();
  }
  AddToModel(w, 0, n);
  const std::string rollups = dir_.path() + "/rollups";
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(rollups))
    files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  ASSERT_GE(files.size(), 3u);
  testing::FlipByte(files[1], 40);  // damaged: set aside and "rebuilt from the log"
  {
    auto s = testing::OpenOrDie(Options());
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->rollups()->Stats().corrupt_files, 1u);
    Check(*s, w, n, 4, "a damaged file");
    s->Close();
  }
  std::filesystem::remove_all(rollups);  // "always safe while the node is stopped"
  {
    auto s = testing::OpenOrDie(Options());
    ASSERT_NE(s, nullptr);
    Check(*s, w, n, 4, "rollups/ deleted");
    s->Close();
  }
  auto s = testing::OpenOrDie(Options());
  ASSERT_NE(s, nullptr);
  Check(*s, w, n, 4, "the restart after the rebuild");
}

// Many distinct keys per minute and per hour, with a small max_keys: counts past the cap go
// to `other`, listed counts are lower bounds, listed + other = total, and `other` = 0 means
// exact — in detail minutes, hour summaries read back after a restart, and day summaries.
TEST_F(RollupPropertyTest, PastTheKeyCapAnswersStayHonest) {
  Workload w = Main();
  w.gap = 9 * kSec;
  w.subjects = 200;
  w.ips = 120;
  w.routes = 40;
  const uint64_t n = 3000;
  StoreOptions o = Options();
  o.rollups.max_keys = 12;
  for (int round = 0; round < 2; ++round) {
    auto s = testing::OpenOrDie(o);
    ASSERT_NE(s, nullptr);
    if (round == 0) {
      Append(*s, w, 0, n);
      AddToModel(w, 0, n);
      testing::WaitSealed(*s);
      ASSERT_TRUE(s->rollups()->Persist().ok());
    }
    Checker c{s->rollups(), &model_, /*exact=*/false};
    c.Windows(w.CompletionNs(0) - 8 * kNsPerHour, w.CompletionNs(n) + kNsPerHour, 10, kSeed + round,
              round == 0 ? "capped" : "capped, restarted");
    // And the cap does bite: something was unattributed over the whole range.
    auto top = s->rollups()->Top(TopQuery{RollupDim::kSubject, RollupMetric::kRequests,
                                          kMidnight - kDay, kMidnight + kDay, 1000});
    ASSERT_TRUE(top.ok());
    EXPECT_GT(top->other.requests, 0u);
    s->Close();
  }
}

}  // namespace
}  // namespace apitrail
