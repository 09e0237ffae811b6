// Differential test of event queries: a deterministic pseudo-random log (identities, routes,
// resources, ids and statuses drawn from small pools of values that are prefixes of one
// another, non-ASCII or empty; times spread over three days with many repeats, out of seq
// order) is written through the Store so that it lies in parts sealed by an earlier run, in
// parts sealed by this run, in a recovered segment and in the live one. Every query goes
// through AdminApi (GET /api/v1/events, as a client sends it) and every page is compared
// with a brute-force filter over the generated events: same events, newest first, no
// duplicates and nothing missing across the pages a cursor leads through.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "api/admin_api.h"
#include "core/time_util.h"
#include "core/utf8.h"
#include "query/query_params.h"
#include "store/index/event_index.h"
#include "store_test_util.h"

namespace apitrail {
namespace {

using namespace apitrail::testing;

constexpr char kToken[] = "differential-token-0123456789";
constexpr int64_t kNsPerHour = 3'600'000'000'000;
// 2026-11-20T00:00:00Z: the generated times lie in the three days from here.
constexpr int64_t kT0 = 1'795'132'800'000'000'000;

// splitmix64: the same sequence on every platform (std distributions are not specified).
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  uint64_t Below(uint64_t n) { return Next() % n; }
  bool Percent(uint64_t p) { return Below(100) < p; }
  template <typename T>
  const T& Pick(const std::vector<T>& pool) {
    return pool[Below(pool.size())];
  }

 private:
  uint64_t state_;
};

// Pools of values: prefixes of one another, case variants, non-ASCII, invalid UTF-8 (which the
// store writes as U+FFFD), long ones, and "" for absent.
const std::string kLongSubject(300, 's');
const std::string kLongSubjectPrefix(299, 's');
const std::string kLongResource(500, '4');
const std::vector<std::string> kSubjects = {
    "alice", "alice-admin", "al",          "Alice",    "bob",        "ünïcødé",
    "用户",  "用户-1",      "svc:billing", "bad-\xFF", kLongSubject, kLongSubjectPrefix,
    ""};
const std::vector<std::string> kRoutes = {
    "GET /v1/orders/{order_id}",       "GET /v1/orders",      "POST /v1/orders",
    "GET /v1/orders/{order_id}/items", "GET /v1/ördérs/{id}", ""};
const std::vector<std::string> kMethods = {"GET", "POST", "DELETE", "PATCH", ""};
const std::vector<std::string> kDecisions = {"allow", "allow", "allow", "deny", ""};
const std::vector<std::string> kClientIps = {"10.0.0.1", "10.0.0.10",   "10.0.0.100",
                                             "::1",      "2001:db8::1", ""};
const std::vector<std::string> kSharedCorrelationIds = {"req-1",  "req-12",  "req-123",
                                                        "ñ-corr", "retry-7", "req-\xE2\x82"};
const std::vector<std::string> kSharedTraceIds = {"4bf92f3577b34da6a3ce929d0e0e4736",
                                                  "4bf92f3577b34da6a3ce929d0e0e4737",
                                                  "00000000000000000000000000000001"};
const std::vector<int> kStatuses = {200, 200, 201, 204, 301, 401, 403, 404, 500, 503, 599, 100, 0};
const std::vector<std::pair<std::string, std::string>> kResources = {
    {"order_id", "4"},          {"order_id", "42"},    {"order_id", "420"},  {"order_id", ""},
    {"customer", "ü"},          {"customer", "ü-1"},   {"item", "4"},        {"order", "id=4"},
    {"order=id", "4"},          {"order_id", "4\xFF"}, {"order_id", "\xC3"}, {"ключ", "4"},
    {"order_id", kLongResource}};

std::string Hex(uint64_t v, int digits) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(static_cast<size_t>(digits), '0');
  for (int i = digits - 1; i >= 0; --i, v >>= 4) out[static_cast<size_t>(i)] = kDigits[v & 15];
  return out;
}

// Events in an "early" stretch of seqs lie in the first 30 hours, the others anywhere in the
// three days: a time range in the later hours skips the early blocks of the in-memory index
// (EventIndex::kBlockSize seqs each), and the parts of those events.
constexpr int64_t kEarlyEnd = kT0 + 30 * kNsPerHour;

// A time: often one of a few shared instants (exact repeats, hour boundaries and the
// nanosecond before one), mostly within six busy hours, sometimes anywhere in three days.
int64_t MakeTime(Rng& rng, bool early, const std::vector<int64_t>& shared) {
  if (rng.Percent(25)) {
    const int64_t t = rng.Pick(shared);
    if (!early || t < kEarlyEnd) return t;
  }
  if (early) return kT0 + static_cast<int64_t>(rng.Below(30 * kNsPerHour));
  if (rng.Percent(60)) return kEarlyEnd + static_cast<int64_t>(rng.Below(6 * kNsPerHour));
  return kT0 + static_cast<int64_t>(rng.Below(72 * kNsPerHour));
}

AuditEvent MakeRandomEvent(Rng& rng, uint64_t i, bool early,
                           const std::vector<int64_t>& shared_times) {
  AuditEvent e;
  e.id = "0190a6e0-" + Hex(i >> 48, 4) + "-7000-8000-" + Hex(i, 12);
  e.node = "node-1";
  e.time_ns = MakeTime(rng, early, shared_times);
  e.duration_us = static_cast<int64_t>(rng.Below(5000));
  e.decision = rng.Pick(kDecisions);
  e.subject = rng.Pick(kSubjects);
  e.auth_method = e.subject.empty() ? "" : "api_key";
  e.method = rng.Pick(kMethods);
  e.route = rng.Pick(kRoutes);
  // Other fields hold filter values too, so that a byte search alone cannot tell a match.
  e.path = "/v1/orders/" + rng.Pick(kSubjects) + "/" + rng.Pick(kSharedCorrelationIds);
  e.user_agent = rng.Pick(kClientIps) + " " + rng.Pick(kMethods);
  std::set<std::string> names;
  for (uint64_t n = rng.Below(4); n > 0; --n) {
    const auto& kv = rng.Pick(kResources);
    // The API answers resources as a JSON object: one value per name.
    if (names.insert(kv.first).second) e.resources.push_back(kv);
  }
  e.status = rng.Pick(kStatuses);
  e.client_ip = rng.Pick(kClientIps);
  const uint64_t c = rng.Below(10);
  e.correlation_id = c < 4   ? "req-" + std::to_string(i)
                     : c < 7 ? rng.Pick(kSharedCorrelationIds)
                             : "";
  const uint64_t t = rng.Below(10);
  e.trace_id = t < 5 ? Hex(rng.Next(), 16) + Hex(i, 16) : t < 8 ? rng.Pick(kSharedTraceIds) : "";
  return e;
}

std::string Valid(std::string_view s) {
  std::string out;
  utf8::AppendValid(&out, s);
  return out;
}

// The event as the store keeps it: every string valid UTF-8 (docs/FORMAT.md §5).
AuditEvent AsStored(AuditEvent e) {
  for (std::string* s : {&e.subject, &e.route, &e.method, &e.decision, &e.path, &e.user_agent,
                         &e.client_ip, &e.correlation_id, &e.trace_id}) {
    *s = Valid(*s);
  }
  for (auto& [name, value] : e.resources) {
    name = Valid(name);
    value = Valid(value);
  }
  return e;
}

// What the store must answer: every generated event matching q, newest (highest seq) first.
bool Matches(const AuditEvent& e, uint64_t seq, const EventQuery& q) {
  auto eq = [](const std::optional<std::string>& want, const std::string& have) {
    return !want || *want == have;
  };
  if (!eq(q.subject, e.subject) || !eq(q.route, e.route) || !eq(q.decision, e.decision) ||
      !eq(q.method, e.method) || !eq(q.client_ip, e.client_ip) ||
      !eq(q.correlation_id, e.correlation_id) || !eq(q.trace_id, e.trace_id)) {
    return false;
  }
  if (q.status && e.status != *q.status) return false;
  if (q.status_class && e.status / 100 != *q.status_class) return false;
  if (q.since_ns && e.time_ns < *q.since_ns) return false;
  if (q.until_ns && e.time_ns >= *q.until_ns) return false;
  if (q.before_seq && seq >= *q.before_seq) return false;
  return !q.resource ||
         std::find(e.resources.begin(), e.resources.end(), *q.resource) != e.resources.end();
}

std::string PercentEncode(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += "0123456789ABCDEF"[c >> 4];
      out += "0123456789ABCDEF"[c & 15];
    }
  }
  return out;
}

// The fields SameEvent compares, from an event of the API's answer (DecodeEventJson
// without writing each event out and parsing it again).
bool FromJson(const boost::json::object& o, AuditEvent* e) {
  auto text = [&o](std::string_view key) {
    const boost::json::value* v = o.if_contains(key);
    return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
  };
  const boost::json::value* seq = o.if_contains("seq");
  const boost::json::value* status = o.if_contains("status");
  auto time = ParseRfc3339(text("time"));
  if (seq == nullptr || !seq->is_number() || !time.ok()) return false;
  e->seq = seq->to_number<uint64_t>();
  e->time_ns = *time;
  e->status = status != nullptr && status->is_number() ? status->to_number<int>() : 0;
  for (auto [field, key] : {std::pair{&AuditEvent::id, "id"},
                            {&AuditEvent::subject, "subject"},
                            {&AuditEvent::route, "route"},
                            {&AuditEvent::method, "method"},
                            {&AuditEvent::decision, "decision"},
                            {&AuditEvent::client_ip, "client_ip"},
                            {&AuditEvent::correlation_id, "correlation_id"},
                            {&AuditEvent::trace_id, "trace_id"},
                            {&AuditEvent::path, "path"},
                            {&AuditEvent::phase, "phase"},
                            {&AuditEvent::intent_id, "intent_id"},
                            {&AuditEvent::outcome, "outcome"}}) {
    e->*field = text(key);
  }
  if (const boost::json::value* r = o.if_contains("resources"); r != nullptr && r->is_object()) {
    for (const auto& kv : r->get_object()) {
      if (!kv.value().is_string()) return false;
      e->resources.emplace_back(std::string(kv.key()), std::string(kv.value().get_string()));
    }
  }
  return true;
}

// The request a client sends for q.
std::string TargetFor(const EventQuery& q) {
  std::string t = "/api/v1/events?limit=" + std::to_string(q.limit);
  auto add = [&t](std::string_view name, const std::string& value) {
    t.append("&").append(name).append("=").append(PercentEncode(value));
  };
  auto add_opt = [&add](std::string_view name, const std::optional<std::string>& v) {
    if (v) add(name, *v);
  };
  add_opt("subject", q.subject);
  add_opt("route", q.route);
  if (q.resource) add("resource", q.resource->first + "=" + q.resource->second);
  if (q.status) add("status", std::to_string(*q.status));
  if (q.status_class) add("status", std::to_string(*q.status_class) + "xx");
  add_opt("decision", q.decision);
  add_opt("method", q.method);
  add_opt("client_ip", q.client_ip);
  add_opt("correlation_id", q.correlation_id);
  add_opt("trace_id", q.trace_id);
  if (q.since_ns) add("since", FormatRfc3339(*q.since_ns));
  if (q.until_ns) add("until", FormatRfc3339(*q.until_ns));
  if (q.before_seq) add("cursor", EncodeCursor(*q.before_seq));
  return t;
}

struct Page {
  int status = 0;
  std::string body;
  std::vector<AuditEvent> events;
  std::optional<std::string> cursor;
};

class QueryDifferentialTest : public ::testing::Test {
 protected:
  static constexpr uint64_t kFirstRun = EventIndex::kBlockSize + 100;
  static constexpr uint64_t kSecondRun = 300;
  // Failures reported one by one before the rest are only counted.
  static constexpr int kReportedFailures = 12;

  // n events, those with seqs in [early_from, early_to) in the first 30 hours.
  void Generate(uint64_t n, uint64_t early_from, uint64_t early_to) {
    Rng rng(20261130);
    std::vector<int64_t> shared;
    for (int h : {0, 1, 30, 31, 33, 35, 36, 71}) {
      shared.push_back(kT0 + h * kNsPerHour);
      shared.push_back(kT0 + h * kNsPerHour - 1);
    }
    for (int k = 0; k < 12; ++k) shared.push_back(MakeTime(rng, false, {kT0}));
    for (uint64_t i = 0; i < n; ++i) {
      const bool early = i >= early_from && i < early_to;
      written_events_.push_back(MakeRandomEvent(rng, i, early, shared));
      MakeIntentOrOutcome(rng, &written_events_.back());
      events_.push_back(AsStored(written_events_.back()));
    }
  }

  // durability strict's pairs: some events are intents, some later ones their outcomes
  // (in the same part, another part or another run), some intents never get one.
  void MakeIntentOrOutcome(Rng& rng, AuditEvent* e) {
    if (!open_intents_.empty() && rng.Percent(4)) {
      const size_t k = rng.Below(open_intents_.size());
      e->phase = "outcome";
      e->intent_id = written_events_[open_intents_[k]].id;
      open_intents_.erase(open_intents_.begin() + static_cast<std::ptrdiff_t>(k));
    } else if (rng.Percent(6)) {
      e->phase = "intent";
      open_intents_.push_back(written_events_.size() - 1);
    }
  }

  // What the API says of each intent written so far: whether its outcome is in the log yet.
  void SetOutcomes() {
    outcomes_.assign(written_, "");
    for (uint64_t seq = 0; seq < written_; ++seq) {
      if (events_[seq].phase == "intent") outcomes_[seq] = "unknown";
      if (events_[seq].phase != "outcome") continue;
      const auto intent =
          std::find_if(events_.begin(), events_.begin() + static_cast<std::ptrdiff_t>(seq),
                       [&](const AuditEvent& e) { return e.id == events_[seq].intent_id; });
      outcomes_[static_cast<size_t>(intent - events_.begin())] = "recorded";
    }
  }

  // `seal`: small segments, each sealed into a part of small blocks once rotated.
  StoreOptions Options(bool seal) {
    StoreOptions o;
    o.data_dir = dir_.path() + "/data";
    if (seal) {
      o.max_segment_bytes = 16 * 1024;  // ~50 records per part
      o.part_block_bytes = 2048;        // several blocks per hour of a part
    }
    o.request_path_busy = [] { return false; };  // seal at once, however busy the test is
    o.seal_at_low_priority = false;               // and however busy the host is
    return o;
  }

  void Open(bool seal = true) {
    store_ = OpenOrDie(Options(seal));
    ASSERT_NE(store_, nullptr);
    AdminApiOptions o;
    o.store = store_.get();
    o.tokens = {kToken};
    api_ = std::make_unique<AdminApi>(std::move(o));
  }
  void Close() {
    api_.reset();
    store_->Close();
    store_.reset();
  }

  // Appends events [from, to) and checks each lands at its own index as seq.
  void Append(uint64_t from, uint64_t to) {
    std::vector<uint64_t> seqs(to - from, UINT64_MAX);
    for (uint64_t i = from; i < to; ++i) {
      ASSERT_TRUE(store_
                      ->Append(
                          written_events_[i],
                          [&seqs, i, from](const Status& st, uint64_t seq) {
                            if (st.ok()) seqs[i - from] = seq;
                          },
                          nullptr)
                      .ok());
    }
    ASSERT_NO_FATAL_FAILURE(WaitAllSealed());
    for (uint64_t i = from; i < to; ++i) ASSERT_EQ(seqs[i - from], i);
    written_ = to;
    SetOutcomes();
  }

  // As WaitSealed, but patient: a loaded machine (a parallel build, ctest -j) slows sealing
  // down even at the test's own priority (Options: seal_at_low_priority off).
  void WaitAllSealed() {
    ASSERT_TRUE(store_->Flush().ok());
    for (int i = 0; i < 6000 && store_->Stats().seal_pending > 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_EQ(store_->Stats().seal_pending, 0u);
    ASSERT_EQ(store_->Stats().seal_errors, 0u) << store_->Stats().last_seal_error;
  }

  // Retention: the oldest part goes, and with it every record below the next one's first seq.
  void RemoveOldestPart() {
    std::vector<std::string> parts;
    for (const auto& f : std::filesystem::directory_iterator(dir_.path() + "/data/parts")) {
      if (f.path().extension() == ".part") parts.push_back(f.path().string());
    }
    std::sort(parts.begin(), parts.end());  // 20-digit first seqs: by name is by seq
    ASSERT_GE(parts.size(), 2u);
    ASSERT_TRUE(store_->RemoveOldestPart(parts[0]).ok());
    const std::string next = std::filesystem::path(parts[1]).stem().string();
    first_kept_ = std::stoull(next.substr(next.find('-') + 1));
    ASSERT_GT(first_kept_, 0u);
  }

  Page Get(const std::string& target) {
    SimpleRequest r;
    r.method = "GET";
    r.target = target;
    r.headers.emplace_back("Authorization", std::string("Bearer ") + kToken);
    SimpleResponse resp = api_->Handle(r);
    Page page;
    page.status = resp.status;
    page.body = std::move(resp.body);
    if (page.status != 200) return page;
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(page.body, ec);
    if (ec || !v.is_object() || !v.get_object().contains("events")) {
      page.status = -1;
      return page;
    }
    for (const auto& ev : v.get_object().at("events").as_array()) {
      if (!ev.is_object() || !FromJson(ev.get_object(), &page.events.emplace_back())) {
        page.status = -1;
        return page;
      }
    }
    const auto& c = v.get_object().at("next_cursor");
    if (c.is_string()) page.cursor = std::string(c.get_string());
    return page;
  }

  void Fail(const std::string& what) {
    if (++failures_ <= kReportedFailures) ADD_FAILURE() << what;
  }

  std::vector<uint64_t> Expected(const EventQuery& q) const {
    std::vector<uint64_t> out;
    for (uint64_t seq = written_; seq-- > first_kept_;) {
      if (Matches(events_[seq], seq, q)) out.push_back(seq);
    }
    return out;
  }

  // The event the API returned is the one generated for its seq, field by field.
  bool SameEvent(const AuditEvent& got) const {
    if (got.seq >= written_ || got.seq < first_kept_) return false;
    const AuditEvent& want = events_[got.seq];
    return got.phase == want.phase && got.intent_id == want.intent_id &&
           (got.outcome == outcomes_[got.seq] ||
            (outcomes_may_grow_ && outcomes_[got.seq] == "unknown" && got.outcome == "recorded")) &&
           got.id == want.id && got.time_ns == want.time_ns && got.subject == want.subject &&
           got.route == want.route && got.method == want.method && got.decision == want.decision &&
           got.status == want.status && got.client_ip == want.client_ip &&
           got.correlation_id == want.correlation_id && got.trace_id == want.trace_id &&
           got.resources == want.resources && got.path == want.path;
  }

  static std::string Describe(const std::vector<uint64_t>& seqs) {
    std::string out = "[" + std::to_string(seqs.size()) + ":";
    for (size_t i = 0; i < seqs.size() && i < 24; ++i) out += " " + std::to_string(seqs[i]);
    return out + (seqs.size() > 24 ? " …]" : "]");
  }

  // Follows q's cursors to the end; the pages together must be exactly Expected(q), each full
  // when a cursor follows it, and no cursor may lead to an empty page.
  void CheckPaged(EventQuery q) {
    ++queries_;
    const std::vector<uint64_t> want = Expected(q);
    const std::string first = TargetFor(q);
    std::vector<uint64_t> got;
    for (size_t pages = 0; pages <= want.size() / q.limit + 1; ++pages) {
      const std::string target = TargetFor(q);
      Page page = Get(target);
      ++pages_;
      if (page.status != 200)
        return Fail(target + " answered " + std::to_string(page.status) + " " + page.body);
      if (page.events.size() > q.limit) return Fail(target + ": more events than the limit");
      if (page.events.empty() && pages > 0) return Fail(target + ": a cursor led to an empty page");
      for (const AuditEvent& e : page.events) {
        if (!SameEvent(e))
          return Fail(target + ": seq " + std::to_string(e.seq) +
                      " is not the event written there");
        got.push_back(e.seq);
      }
      if (!page.cursor) break;
      if (page.events.size() != q.limit)
        return Fail(target + ": a cursor after a page that is not full");
      auto cursor = DecodeCursor(*page.cursor);
      if (!cursor.ok()) return Fail(target + ": undecodable cursor " + *page.cursor);
      q.before_seq = *cursor;
    }
    if (got != want) Fail(first + "\n  want " + Describe(want) + "\n  got  " + Describe(got));
  }

  // Limits from 1 up, capped so that following every cursor stays within ~30 pages.
  void CheckLimits(EventQuery q, std::initializer_list<uint32_t> limits) {
    const size_t n = Expected(q).size();
    for (uint32_t limit : limits) {
      q.limit = static_cast<uint32_t>(std::max<size_t>(limit, n / 30 + 1));
      CheckPaged(q);
    }
  }

  // Each filter alone with every value of its pool (and one no event has), paged from the
  // smallest limit CheckLimits allows (whole pages of 1000 come with the combinations).
  void CheckEachFilterAlone() {
    auto each = [&](const std::vector<std::string>& pool,
                    std::optional<std::string> EventQuery::*field) {
      for (const std::string& v : pool) {
        if (v.empty()) continue;  // the API refuses an empty filter (checked elsewhere)
        EventQuery q;
        q.*field = v;
        CheckLimits(q, {1});
        // Invalid UTF-8: found by the value the store keeps and the API shows.
        if (Valid(v) == v) continue;
        q.*field = Valid(v);
        CheckLimits(q, {1});
      }
      if (field == &EventQuery::decision) return;  // the API takes allow or deny only
      EventQuery none;
      none.*field = pool.front() + "-none";
      CheckLimits(none, {5});
    };
    each(kSubjects, &EventQuery::subject);
    each(kRoutes, &EventQuery::route);
    each(kMethods, &EventQuery::method);
    each(kDecisions, &EventQuery::decision);
    each(kClientIps, &EventQuery::client_ip);
    each(kSharedCorrelationIds, &EventQuery::correlation_id);
    each(kSharedTraceIds, &EventQuery::trace_id);
    for (const auto& kv : kResources) {
      if (kv.first.find('=') != std::string::npos) continue;  // the API splits at the first '='
      EventQuery q;
      q.resource = kv;
      CheckLimits(q, {1});
      if (Valid(kv.second) == kv.second) continue;
      q.resource->second = Valid(kv.second);
      CheckLimits(q, {1});
    }
    for (int status : kStatuses) {
      if (status < 100) continue;  // the API takes 100 … 599
      EventQuery q;
      q.status = status;
      CheckLimits(q, {2});
    }
    for (int c = 1; c <= 5; ++c) {
      EventQuery q;
      q.status_class = c;
      CheckLimits(q, {3});
    }
    CheckLimits(EventQuery{}, {1, 1000});
  }

  // Per-event ids: unique correlation ids and trace ids of a sample of events.
  void CheckUniqueIds(Rng& rng) {
    for (int k = 0; k < 25; ++k) {
      const AuditEvent& e = events_[rng.Below(written_)];
      EventQuery q;
      if (!e.correlation_id.empty()) {
        q.correlation_id = e.correlation_id;
        CheckLimits(q, {1, 1000});
      }
      if (!e.trace_id.empty()) {
        q = EventQuery{};
        q.trace_id = e.trace_id;
        CheckLimits(q, {1});
      }
    }
  }

  // A random combination of filters, each taking the value of one event (so that most
  // combinations match something) or, at times, of another.
  EventQuery RandomCombination(Rng& rng) {
    const AuditEvent& e = events_[rng.Below(written_)];
    const AuditEvent& other = events_[rng.Below(written_)];
    auto from = [&](const std::string& a, const std::string& b) {
      const std::string& v = rng.Percent(85) ? a : b;
      return v.empty() ? std::optional<std::string>() : std::optional<std::string>(v);
    };
    EventQuery q;
    const uint64_t mask = rng.Next();
    if (mask & 1) q.subject = from(e.subject, other.subject);
    if (mask & 2) q.route = from(e.route, other.route);
    if (mask & 4) q.method = from(e.method, other.method);
    if (mask & 8) q.decision = from(e.decision, other.decision);
    if ((mask & 16) && rng.Percent(50)) q.client_ip = from(e.client_ip, other.client_ip);
    if ((mask & 32) && rng.Percent(40))
      q.correlation_id = from(e.correlation_id, other.correlation_id);
    if ((mask & 64) && rng.Percent(30)) q.trace_id = from(e.trace_id, other.trace_id);
    if ((mask & 128) && !e.resources.empty()) {
      const auto& kv = e.resources[rng.Below(e.resources.size())];
      if (kv.first.find('=') == std::string::npos)
        q.resource = kv;  // the API splits at the first '='
    }
    if ((mask & 256) && e.status >= 100) {
      if (rng.Percent(50))
        q.status = e.status;
      else
        q.status_class = e.status / 100;
    }
    if (mask & 512) RandomTimeRange(rng, &q);
    return q;
  }

  // since and until at an event's time exactly, a nanosecond either side, or open.
  void RandomTimeRange(Rng& rng, EventQuery* q) {
    int64_t a = events_[rng.Below(written_)].time_ns + static_cast<int64_t>(rng.Below(3)) - 1;
    int64_t b = events_[rng.Below(written_)].time_ns + static_cast<int64_t>(rng.Below(3)) - 1;
    if (a > b) std::swap(a, b);
    const uint64_t which = rng.Below(4);
    if (which != 1) q->since_ns = a;
    if (which != 2) q->until_ns = which == 3 ? a : b;  // 3: since == until, an empty range
  }

  void CheckCombinations(Rng& rng, int n) {
    for (int k = 0; k < n; ++k) {
      EventQuery q = RandomCombination(rng);
      CheckLimits(q, {static_cast<uint32_t>(1 + rng.Below(4)), 1000});
    }
  }

  // Time ranges alone and with one filter, bounded exactly at generated times.
  void CheckTimeRanges(Rng& rng, int n) {
    for (int k = 0; k < n; ++k) {
      EventQuery q;
      RandomTimeRange(rng, &q);
      if (rng.Percent(50)) q.subject = rng.Pick(kSubjects);
      if (q.subject && q.subject->empty()) q.subject.reset();
      CheckLimits(q, {static_cast<uint32_t>(1 + rng.Below(10)), 1000});
    }
  }

  // Every limit from 1 to one past the number of matches, for queries with few matches.
  void CheckEveryLimit(Rng& rng) {
    int done = 0;
    for (int k = 0; k < 200 && done < 12; ++k) {
      EventQuery q = RandomCombination(rng);
      const size_t n = Expected(q).size();
      if (n < 2 || n > 25) continue;
      ++done;
      for (uint32_t limit = 1; limit <= n + 1; ++limit) {
        q.limit = limit;
        CheckPaged(q);
      }
    }
  }

  // A cursor is a seq: one taken from another query, cut short or changed is still a place
  // in the log, and must give exactly the matches below it. Anything else is a 400 naming
  // the cursor.
  void CheckCursors(Rng& rng) {
    for (int k = 0; k < 30; ++k) {
      EventQuery q = RandomCombination(rng);
      q.limit = 1 + static_cast<uint32_t>(rng.Below(20));
      uint64_t before = rng.Below(written_ + 2);
      if (k % 3 == 1) before /= 10;                     // a truncated cursor
      if (k % 3 == 2) before ^= 1ull << rng.Below(10);  // a tampered one
      q.before_seq = before;
      CheckPaged(q);
    }
    EventQuery far;
    far.before_seq = uint64_t{INT64_MAX};
    far.limit = 1000;
    CheckPaged(far);
    far.before_seq = 0;
    CheckPaged(far);
    for (const char* bad : {"", "-1", "abc", "1.5", "0x10", " 5", "5 ", "+5", "%00",
                            "9223372036854775808", "99999999999999999999", "1e3", "٣"}) {
      const std::string target = "/api/v1/events?cursor=" + PercentEncode(bad);
      Page page = Get(target);
      if (page.status != 400 || page.body.find("cursor") == std::string::npos) {
        Fail(target + " answered " + std::to_string(page.status) + " " + page.body);
      }
    }
  }

  // Filters the API cannot answer are refused, never answered with a wrong page.
  void CheckRefusals() {
    for (const char* target :
         {"/api/v1/events?subject=", "/api/v1/events?route=", "/api/v1/events?resource==4",
          "/api/v1/events?resource=order_id", "/api/v1/events?limit=0", "/api/v1/events?limit=1001",
          "/api/v1/events?status=6xx", "/api/v1/events?status=99",
          "/api/v1/events?since=2026-11-21T00:00:00Z&until=2026-11-20T23:59:59.999999999Z",
          "/api/v1/events?subject=alice&subject=bob"}) {
      Page page = Get(target);
      if (page.status != 400)
        Fail(std::string(target) + " answered " + std::to_string(page.status));
    }
  }

  // GET /api/v1/events/{id}, the id also in upper case: the event, or 404 once retention
  // removed it.
  void CheckGetById(Rng& rng) {
    for (int k = 0; k < 40; ++k) {
      const uint64_t seq = rng.Below(written_);
      std::string id = events_[seq].id;
      if (k % 2 == 1)
        std::transform(id.begin(), id.end(), id.begin(), [](char c) { return std::toupper(c); });
      const std::string target = "/api/v1/events/" + id;
      SimpleRequest r;
      r.method = "GET";
      r.target = target;
      r.headers.emplace_back("Authorization", std::string("Bearer ") + kToken);
      const SimpleResponse resp = api_->Handle(r);
      ++queries_;
      if (seq < first_kept_) {
        if (resp.status != 404) Fail(target + " (removed) answered " + std::to_string(resp.status));
        continue;
      }
      boost::system::error_code ec;
      const boost::json::value v = boost::json::parse(resp.body, ec);
      AuditEvent got;
      if (resp.status != 200 || ec || !v.is_object() || !FromJson(v.get_object(), &got) ||
          got.seq != seq || !SameEvent(got)) {
        Fail(target + " answered " + std::to_string(resp.status) + " " + resp.body.substr(0, 200));
      }
    }
  }

  // Every kind of check, with queries drawn afresh each time.
  void CheckAll() {
    failures_ = queries_ = pages_ = 0;
    Rng rng(++check_round_);
    CheckRefusals();
    CheckEachFilterAlone();
    CheckUniqueIds(rng);
    CheckCombinations(rng, 60);
    CheckTimeRanges(rng, 16);
    CheckEveryLimit(rng);
    CheckCursors(rng);
    CheckGetById(rng);
    ExpectNoFailures();
  }

  void ExpectNoFailures() {
    EXPECT_EQ(failures_, 0) << failures_ << " of " << queries_ << " queries (" << pages_
                            << " pages) differ from the brute-force answer";
  }

  TempDir dir_;
  std::vector<AuditEvent> written_events_;  // as appended
  std::vector<AuditEvent> events_;          // as the store must keep them (AsStored)
  std::vector<std::string> outcomes_;       // by seq: what the API says of an intent
  // Appends run during the queries: an outcome logged after written_ may already be seen.
  bool outcomes_may_grow_ = false;
  uint64_t written_ = 0;
  uint64_t first_kept_ = 0;           // below it, retention removed the parts
  std::vector<size_t> open_intents_;  // intents without an outcome yet, while generating
  std::unique_ptr<Store> store_;
  std::unique_ptr<AdminApi> api_;
  int failures_ = 0;
  int queries_ = 0;
  int pages_ = 0;
  uint64_t check_round_ = 0;  // seeds each CheckAll's queries
};

TEST_F(QueryDifferentialTest, PartsOfEarlierRunsThisRunsAndTheLiveSegmentAnswerAlike) {
  Generate(kFirstRun + kSecondRun, 0, EventIndex::kBlockSize);
  ASSERT_NO_FATAL_FAILURE(Open());
  ASSERT_NO_FATAL_FAILURE(Append(0, kFirstRun));
  ASSERT_GT(store_->Stats().parts, 5u);
  // Sealed in this run: the in-memory index still finds them.
  CheckAll();
  // Retention took the oldest part, whose records the index still lists.
  ASSERT_NO_FATAL_FAILURE(RemoveOldestPart());
  CheckAll();
  Close();

  ASSERT_NO_FATAL_FAILURE(Open());
  ASSERT_NO_FATAL_FAILURE(Append(kFirstRun, kFirstRun + kSecondRun));
  // Parts of the first run (their own indexes), a recovered segment, parts sealed since and
  // the live segment.
  CheckAll();
  Close();

  // Reopened once more: parts of both runs and a recovered segment; retention takes the
  // oldest part the store now reads through the part's own index.
  ASSERT_NO_FATAL_FAILURE(Open());
  ASSERT_NO_FATAL_FAILURE(RemoveOldestPart());
  CheckAll();
  Close();
}

// The in-memory index skips whole blocks of EventIndex::kBlockSize seqs whose times lie outside a
// query's range. Here the second block of a run's records lies in the first 30 hours and the blocks
// around it anywhere: a range in the later hours must skip exactly that block, with and without a
// posting list driving the walk.
TEST_F(QueryDifferentialTest, TimeRangesSkipExactlyTheIndexBlocksOutsideThem) {
  const uint64_t n = 2 * EventIndex::kBlockSize + 300;
  Generate(n, EventIndex::kBlockSize, 2 * EventIndex::kBlockSize);
  ASSERT_NO_FATAL_FAILURE(Open(/*seal=*/false));
  ASSERT_NO_FATAL_FAILURE(Append(0, n));
  Rng rng(7);
  // A time of the later hours, at an event's time exactly or a nanosecond either side.
  auto later = [&] {
    for (;;) {
      const int64_t t = events_[rng.Below(n)].time_ns + static_cast<int64_t>(rng.Below(3)) - 1;
      if (t > kEarlyEnd) return t;
    }
  };
  for (int k = 0; k < 30; ++k) {
    EventQuery q;
    if (k % 3 == 0) {
      RandomTimeRange(rng, &q);
    } else {  // wholly in the later hours: the early block is skipped
      q.since_ns = later();
      if (k % 3 == 2) q.until_ns = std::max(*q.since_ns, later());
    }
    if (rng.Percent(50)) q.subject = rng.Pick(kSubjects);
    if (q.subject && q.subject->empty()) q.subject.reset();
    CheckLimits(q, {static_cast<uint32_t>(1 + rng.Below(50))});
  }
  ExpectNoFailures();
  Close();
}

// Queries while another thread appends and segments rotate and are sealed: the records below
// a cursor taken before a query started are fixed, so every page must be what the same
// query finds once all is quiet — whether the index, a segment being sealed or a new part
// answers it.
TEST_F(QueryDifferentialTest, QueriesWhileSegmentsAreSealedAnswerAsWhenQuiet) {
  constexpr uint64_t kN = 1200;
  constexpr uint64_t kBatch = 50;
  Generate(kN, 0, 0);
  ASSERT_NO_FATAL_FAILURE(Open());
  ASSERT_NO_FATAL_FAILURE(Append(0, 200));
  std::atomic<uint64_t> durable{written_};
  std::thread appender([&] {
    for (uint64_t from = durable.load(); from < kN; from += kBatch) {
      const uint64_t to = std::min(from + kBatch, kN);
      for (uint64_t i = from; i < to; ++i) {
        if (!store_->Append(written_events_[i], nullptr, nullptr).ok()) return;
      }
      if (!store_->Flush().ok()) return;
      durable.store(to);
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  });
  Rng rng(11);
  outcomes_may_grow_ = true;
  // Until everything is appended and sealed, a query at a time: the pause after each lets
  // the sealer seal between them.
  for (int k = 0; k < 400 && (durable.load() < kN || store_->Stats().seal_pending > 0); ++k) {
    written_ = durable.load();
    SetOutcomes();
    EventQuery q = RandomCombination(rng);
    q.before_seq = written_;
    q.limit = 1 + static_cast<uint32_t>(rng.Below(20));
    CheckPaged(q);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  appender.join();
  ASSERT_EQ(durable.load(), kN);
  ASSERT_NO_FATAL_FAILURE(WaitAllSealed());
  written_ = kN;
  SetOutcomes();
  outcomes_may_grow_ = false;
  CheckCombinations(rng, 20);
  ExpectNoFailures();
  Close();
}

}  // namespace
}  // namespace apitrail
