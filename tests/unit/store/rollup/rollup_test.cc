// Rollups on their own: the hour encoding, caps and "other", top-k and series against a
// brute-force count over the same events (ragged minute edges, whole days, closed hours
// read back from files), persistence and reload, damaged files.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <thread>
#include <tuple>

#include "core/crc32c.h"
#include "core/time_util.h"
#include "store/index/event_index.h"
#include "store/log/coding.h"
#include "store/rollup/rollups.h"
#include "testutil/temp_dir.h"

namespace apitrail {
namespace {

using testing::TempDir;

constexpr int64_t kBase = 1'760'000'000'000'000'000;  // 2025-10-09T08:53:20Z
constexpr int64_t kSec = 1'000'000'000;

RollupEvent Ev(uint64_t seq, int64_t t, std::string route, std::string subject, int status,
               bool denied = false, std::string ip = "10.0.0.1") {
  RollupEvent e;
  e.seq = seq;
  e.time_ns = t;
  e.status = static_cast<uint16_t>(status);
  e.denied = denied;
  e.keys = {std::move(route), std::move(subject), std::move(ip)};
  return e;
}

std::unique_ptr<Rollups> OpenRollups(const std::string& dir, RollupOptions o = {}) {
  auto r = Rollups::Open(DefaultFileSystem(), dir, o);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return std::move(r).value();
}

TEST(HourRollup, EncodeDecodeRoundTrip) {
  HourRollup h;
  h.hour = FloorDiv(kBase, kNsPerHour);
  h.through_seq = 42;
  const int64_t t0 = h.hour * kNsPerHour;
  h.Add(Ev(0, t0 + 5 * kSec, "GET /a", "alice", 200), 100);
  h.Add(Ev(1, t0 + 65 * kSec, "GET /a", "bob", 503), 100);
  h.Add(Ev(2, t0 + 66 * kSec, "GET /b", "bob", 403, true), 100);
  const std::string bytes = h.Encode();
  auto back = HourRollup::Decode(bytes, "x.rollup");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->hour, h.hour);
  EXPECT_EQ(back->through_seq, 42u);
  EXPECT_EQ(back->Encode().size(), bytes.size());
  ASSERT_EQ(back->minutes.size(), 2u);
  const MinuteRollup& m1 = back->minutes.at(1);
  EXPECT_EQ(m1.totals.requests, 2u);
  EXPECT_EQ(m1.totals.status_class[5], 1u);
  EXPECT_EQ(m1.totals.status_class[4], 1u);
  EXPECT_EQ(m1.totals.denied, 1u);
  EXPECT_EQ(m1.keys[1].at("bob").requests, 2u);
  EXPECT_EQ(m1.keys[1].at("bob").errors, 1u);
  EXPECT_EQ(m1.keys[1].at("bob").denied, 1u);
  EXPECT_EQ(m1.keys[0].at("GET /b").client_errors, 1u);
}

TEST(HourRollup, EveryDamageIsCorruptionNamingTheFile) {
  HourRollup h;
  h.hour = 500000;
  h.Add(Ev(0, 500000 * kNsPerHour, "GET /a", "alice", 200), 100);
  const std::string good = h.Encode();
  for (size_t i = 0; i < good.size(); ++i) {
    std::string bad = good;
    bad[i] = static_cast<char>(bad[i] ^ 0x21);
    auto r = HourRollup::Decode(bad, "f.rollup");
    ASSERT_FALSE(r.ok()) << "flip at " << i;
    EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
    EXPECT_NE(r.status().message().find("f.rollup"), std::string::npos);
    EXPECT_NE(r.status().message().find("offset"), std::string::npos);
  }
  for (size_t n = 0; n < good.size(); ++n) {
    EXPECT_FALSE(HourRollup::Decode(good.substr(0, n), "f.rollup").ok()) << "cut at " << n;
  }
}

uint32_t DecodeFixed32ForTest(const std::string& b, size_t at) { return log::DecodeFixed32(b.data() + at); }

// A summary as a sorted list, for comparing two that hold the same keys in any order.
std::vector<std::tuple<int, std::string, uint64_t, uint64_t, uint64_t, uint64_t>> Flat(const RollupSummary& s) {
  std::vector<std::tuple<int, std::string, uint64_t, uint64_t, uint64_t, uint64_t>> out;
  for (int d = 0; d < kRollupDims; ++d) {
    for (const auto& [k, c] : s.keys[d]) out.emplace_back(d, k, c.requests, c.client_errors, c.errors, c.denied);
    const KeyCounts& o = s.other[d];
    out.emplace_back(d, "(other)", o.requests, o.client_errors, o.errors, o.denied);
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(HourRollup, DecodeSummaryEqualsDecodeThenTotalsAndSummarize) {
  std::mt19937 rng(5);
  for (int round = 0; round < 20; ++round) {
    HourRollup h;
    h.hour = 490000 + round;
    h.through_seq = 1000u + static_cast<uint64_t>(round);
    const int64_t t0 = h.hour * kNsPerHour;
    const int events = 200 + round * 50;
    for (int i = 0; i < events; ++i) {
      const int64_t t = t0 + static_cast<int64_t>(rng() % 3600) * kSec;
      h.Add(Ev(static_cast<uint64_t>(i), t, "GET /r" + std::to_string(rng() % 30), "u" + std::to_string(rng() % 40),
               static_cast<int>(rng() % 3 == 0 ? 500 : 200), rng() % 7 == 0, "10.0.0." + std::to_string(rng() % 9)),
            static_cast<size_t>(4 + round));  // minute caps: some keys go to "other"
    }
    const std::string bytes = h.Encode();
    for (size_t max_keys : {size_t{1}, size_t{3}, size_t{1000}}) {
      auto full = HourRollup::Decode(bytes, "x.rollup");
      auto summary = HourRollup::DecodeSummary(bytes, "x.rollup", max_keys);
      ASSERT_TRUE(full.ok() && summary.ok());
      EXPECT_EQ(summary->hour, h.hour);
      EXPECT_EQ(summary->through_seq, h.through_seq);
      const auto totals = full->Totals();
      for (size_t m = 0; m < 60; ++m) {
        EXPECT_EQ(summary->totals[m].requests, totals[m].requests) << m;
        EXPECT_EQ(summary->totals[m].status_class, totals[m].status_class) << m;
        EXPECT_EQ(summary->totals[m].denied, totals[m].denied) << m;
      }
      EXPECT_EQ(Flat(*summary->summary), Flat(*full->Summarize(max_keys))) << round << " " << max_keys;
    }
  }
}

TEST(HourRollup, DecodeSummaryRefusesWhatDecodeRefusesWithTheSameMessage) {
  HourRollup h;
  h.hour = 500000;
  const int64_t t = 500000 * kNsPerHour;
  h.Add(Ev(0, t, "GET /a", "alice", 200), 100);
  h.Add(Ev(1, t + kSec, "GET /b", "bob", 500), 100);
  const std::string good = h.Encode();
  auto same = [](const std::string& bytes, const std::string& what) {
    auto full = HourRollup::Decode(bytes, "f.rollup");
    auto summary = HourRollup::DecodeSummary(bytes, "f.rollup", 100);
    ASSERT_FALSE(full.ok()) << what;
    ASSERT_FALSE(summary.ok()) << what;
    EXPECT_EQ(summary.status().message(), full.status().message()) << what;
  };
  for (size_t i = 0; i < good.size(); ++i) {
    std::string bad = good;
    bad[i] = static_cast<char>(bad[i] ^ 0x21);
    same(bad, "flip at " + std::to_string(i));
  }
  for (size_t n = 0; n < good.size(); ++n) same(good.substr(0, n), "cut at " + std::to_string(n));
  // A valid checksum over a table that lists "GET /a" twice (FORMAT.md: each string at most
  // once): both decoders refuse it.
  std::string twice = good.substr(0, good.size() - 4);
  const size_t b = twice.find("GET /b");
  ASSERT_NE(b, std::string::npos);
  twice[b + 5] = 'a';
  log::PutFixed32(&twice, crc32c::Mask(crc32c::Value(twice.data(), twice.size())));
  same(twice, "a string listed twice");
  EXPECT_NE(HourRollup::Decode(twice, "f.rollup").status().message().find("listed twice"), std::string::npos);
}

TEST(HourRollup, CompressedFilesDecodeAsTheirVersionOneBytes) {
  HourRollup h;
  h.hour = 480000;
  h.through_seq = 77;
  const int64_t t0 = h.hour * kNsPerHour;
  for (int i = 0; i < 3000; ++i) {
    h.Add(Ev(static_cast<uint64_t>(i), t0 + (i % 3600) * kSec, "GET /r" + std::to_string(i % 17),
             "u" + std::to_string(i % 301), i % 11 == 0 ? 500 : 200),
          100);
  }
  const std::string v1 = h.Encode();
  const std::string v2 = HourRollup::Compress(v1);
  EXPECT_EQ(DecodeFixed32ForTest(v2, 8), HourRollup::kCompressedVersion);
  EXPECT_LT(v2.size() * 3, v1.size());  // counts of 0 and 1 and small indexes compress well
  auto back = HourRollup::Decode(v2, "c.rollup");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->hour, h.hour);
  EXPECT_EQ(back->through_seq, 77u);
  auto plain = HourRollup::Decode(v1, "p.rollup");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(back->Encode().size(), v1.size());
  EXPECT_TRUE(Flat(*back->Summarize(100000)) == Flat(*plain->Summarize(100000)));
  for (size_t m = 0; m < 60; ++m) EXPECT_EQ(back->Totals()[m].requests, plain->Totals()[m].requests) << m;
  auto summary = HourRollup::DecodeSummary(v2, "c.rollup", 50);
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_TRUE(Flat(*summary->summary) == Flat(*h.Summarize(50)));
  // Every flipped byte (the CRC) and every cut is corruption naming the file; so is a
  // CRC-valid file whose stated body size disagrees with its frame, or whose frame is cut.
  for (size_t i = 0; i < v2.size(); i += 7) {
    std::string bad = v2;
    bad[i] = static_cast<char>(bad[i] ^ 0x21);
    auto r = HourRollup::DecodeSummary(bad, "c.rollup", 50);
    ASSERT_FALSE(r.ok()) << "flip at " << i;
    EXPECT_NE(r.status().message().find("c.rollup"), std::string::npos);
  }
  for (size_t n = 0; n < v2.size(); n += 5) EXPECT_FALSE(HourRollup::Decode(v2.substr(0, n), "c.rollup").ok()) << n;
  auto resealed = [](std::string body) {
    log::PutFixed32(&body, crc32c::Mask(crc32c::Value(body.data(), body.size())));
    return body;
  };
  std::string sized = v2.substr(0, v2.size() - 4);
  sized[32] = static_cast<char>(sized[32] + 1);
  auto r = HourRollup::Decode(resealed(sized), "c.rollup");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("disagrees with its one zstd frame"), std::string::npos) << r.status().message();
  std::string cut = v2.substr(0, v2.size() - 4 - 10);
  r = HourRollup::Decode(resealed(cut), "c.rollup");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
  // A second (skippable) frame after the body: FORMAT.md allows one frame.
  std::string two = v2.substr(0, v2.size() - 4);
  two += std::string("\x50\x2a\x4d\x18\x00\x00\x00\x00", 8);  // skippable frame, empty
  r = HourRollup::Decode(resealed(two), "c.rollup");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("one zstd frame"), std::string::npos) << r.status().message();
}

TEST(HourRollup, ASmallCompressedFileCannotStateAHugeBody) {
  // 300 distinct strings of 60,002 bytes sharing a prefix, no minutes: a valid version 1
  // body of 18 MB that zstd stores in a few KB. As version 2 it is refused before anything
  // is allocated for it (the body may be at most 128 times its frame, plus 1 MiB).
  std::string body(HourRollup{}.Encode().substr(0, 32));
  log::PutFixed32(&body, 300);
  for (uint32_t i = 0; i < 300; ++i) {
    log::PutFixed16(&body, 60002);
    body.append(60000, 'a');
    body.push_back(static_cast<char>(i));
    body.push_back(static_cast<char>(i >> 8));
  }
  log::PutFixed32(&body, 0);  // no minutes
  log::PutFixed32(&body, crc32c::Mask(crc32c::Value(body.data(), body.size())));
  ASSERT_TRUE(HourRollup::Decode(body, "big.rollup").ok());  // as version 1, the file is that big
  const std::string packed = HourRollup::Compress(body);
  ASSERT_LT(packed.size() * 128 + (1u << 20), body.size());
  auto r = HourRollup::DecodeSummary(packed, "big.rollup", 100);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("the limit"), std::string::npos) << r.status().message();
}

TEST(HourRollup, KeysBeyondTheCapGoToOther) {
  HourRollup h;
  h.hour = 400000;
  const int64_t t = h.hour * kNsPerHour;
  for (int i = 0; i < 10; ++i) h.Add(Ev(i, t, "r", "user-" + std::to_string(i), 500), 4);
  h.Add(Ev(10, t, "r", "user-0", 200), 4);  // a known key still counts as itself
  const MinuteRollup& m = h.minutes.at(0);
  EXPECT_EQ(m.keys[1].size(), 4u);
  EXPECT_EQ(m.keys[1].at("user-0").requests, 2u);
  EXPECT_EQ(m.other[1].requests, 6u);
  EXPECT_EQ(m.other[1].errors, 6u);
  EXPECT_EQ(m.totals.requests, 11u);
  auto s = h.Summarize(2);
  EXPECT_EQ(s->keys[1].size(), 2u);
  uint64_t sum = s->other[1].requests;
  for (const auto& kv : s->keys[1]) sum += kv.second.requests;
  EXPECT_EQ(sum, 11u);
}

// The appending thread hands over the hashes the index computed (LogStore::AppendEvent):
// they must be those of the keys as kept, capped ones included, or a lookup would miss
// and a key would be counted twice or in `other`.
TEST(HourRollup, KeysHashedOnTheAppendingThreadCountAsTheSameKeys) {
  AuditEvent e;
  e.kind = "http";
  e.time_ns = 400000 * kNsPerHour;
  e.status = 200;
  e.route = "GET /v1/orders/{order_id}";
  e.subject = std::string(kMaxRollupKeyBytes + 7, 's');  // capped
  e.client_ip = "10.1.2.3";
  std::array<size_t, kRollupDims> hashes;
  (void)IndexKeys::FromEvent(e, "id", &hashes);
  const RollupEvent copied = RollupEvent::Copy(e, &hashes);
  ASSERT_TRUE(copied.hashed);
  EXPECT_EQ(copied.keys[1].size(), kMaxRollupKeyBytes);
  for (int d = 0; d < kRollupDims; ++d)
    EXPECT_EQ(copied.key_hashes[d], StringHash{}(copied.keys[d])) << d;
  EXPECT_EQ(RollupEvent::Copy(e).key_hashes, copied.key_hashes);
  AuditEvent moved = e;
  const RollupEvent taken = RollupEvent::Take(moved, &hashes);
  EXPECT_EQ(taken.keys, copied.keys);
  EXPECT_EQ(taken.key_hashes, copied.key_hashes);

  HourRollup h;
  h.hour = 400000;
  h.Add(copied, 1);
  h.Add(taken, 1);
  RollupEvent unhashed =
      Ev(2, e.time_ns, copied.keys[0], copied.keys[1], 200, false, copied.keys[2]);
  ASSERT_FALSE(unhashed.hashed);
  h.Add(unhashed, 1);
  const MinuteRollup& m = h.minutes.at(0);
  for (int d = 0; d < kRollupDims; ++d) {
    ASSERT_EQ(m.keys[d].size(), 1u) << d;
    EXPECT_EQ(m.keys[d].begin()->second.requests, 3u) << d;
    EXPECT_EQ(m.other[d].requests, 0u) << d;
  }
}

TEST(HourRollup, FileNames) {
  int64_t hour = 0;
  ASSERT_TRUE(ParseRollupFileName("2026-11-26T14.rollup", &hour));
  EXPECT_EQ(hour * kNsPerHour / kSec, 1795701600);  // 2026-11-26T14:00:00Z
  EXPECT_EQ(RollupFileName(hour), "2026-11-26T14.rollup");
  EXPECT_FALSE(ParseRollupFileName("2026-02-30T01.rollup", &hour));
  EXPECT_FALSE(ParseRollupFileName("2026-11-26T24.rollup", &hour));
  EXPECT_FALSE(ParseRollupFileName("2026-11-26T14.rollup.tmp", &hour));
}

// A deterministic multi-day workload and a brute-force reference over it.
struct Workload {
  std::vector<RollupEvent> events;
  Workload(int n, int64_t span_ns, uint32_t seed) {
    std::mt19937_64 rng(seed);
    for (int i = 0; i < n; ++i) {
      // Completion order: times mostly increase, with some jitter backwards.
      const int64_t t = kBase + span_ns * i / n - static_cast<int64_t>(rng() % (90 * kSec));
      const int route = static_cast<int>(rng() % 7);
      const int subj = static_cast<int>((rng() % 30) * (rng() % 30) / 30);  // skewed
      const int roll = static_cast<int>(rng() % 100);
      const int status = roll < 3 ? 404 : roll < 5 ? 503 : roll < 8 ? 401 : 200;
      events.push_back(Ev(static_cast<uint64_t>(i), t, "GET /r" + std::to_string(route),
                          "s" + std::to_string(subj), status, status == 401,
                          "ip" + std::to_string(subj % 5)));
    }
  }
  std::map<std::string, KeyCounts> Count(RollupDim dim, int64_t since, int64_t until) const {
    std::map<std::string, KeyCounts> out;
    for (const auto& e : events) {
      if (e.time_ns < since || e.time_ns >= until) continue;
      out[e.keys[static_cast<int>(dim)]].Add(CountsOf(e));
    }
    return out;
  }
};

void ExpectTopMatches(Rollups& r, const Workload& w, RollupDim dim, RollupMetric metric,
                      int64_t since, int64_t until) {
  TopQuery q{dim, metric, since, until, 1000};
  auto top = r.Top(q);
  ASSERT_TRUE(top.ok()) << top.status().ToString();
  auto want = w.Count(dim, top->since_ns, top->until_ns);
  std::map<std::string, KeyCounts> got;
  for (const auto& [k, c] : top->items) got[k] = c;
  uint64_t total = 0;
  size_t nonzero = 0;
  for (const auto& [k, c] : want) {
    total += c.Get(metric);
    if (c.Get(metric) == 0) continue;
    ++nonzero;
    ASSERT_TRUE(got.count(k)) << k;
    EXPECT_EQ(got[k].requests, c.requests) << k;
    EXPECT_EQ(got[k].errors, c.errors) << k;
    EXPECT_EQ(got[k].client_errors, c.client_errors) << k;
    EXPECT_EQ(got[k].denied, c.denied) << k;
  }
  EXPECT_EQ(got.size(), nonzero);
  EXPECT_EQ(top->total, total);
  EXPECT_EQ(top->other.requests, 0u);
  for (size_t i = 1; i < top->items.size(); ++i) {
    EXPECT_GE(top->items[i - 1].second.Get(metric), top->items[i].second.Get(metric));
  }
}

void ExpectSeriesMatches(Rollups& r, const Workload& w, RollupMetric metric, int64_t step,
                         int64_t since, int64_t until) {
  auto s = r.Series(SeriesQuery{metric, step, since, until});
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  std::vector<uint64_t> want(s->values.size(), 0);
  for (const auto& e : w.events) {
    if (e.time_ns < s->since_ns || e.time_ns >= s->until_ns) continue;
    const KeyCounts c = CountsOf(e);
    want[static_cast<size_t>((e.time_ns - s->since_ns) / (step * kNsPerMinute))] += c.Get(metric);
  }
  EXPECT_EQ(s->values, want);
}

void Feed(Rollups& r, const Workload& w, size_t from, size_t to) {
  std::vector<RollupEvent> batch;
  for (size_t i = from; i < to; ++i) {
    batch.push_back(w.events[i]);
    if (batch.size() == 97 || i + 1 == to) r.AddCommitted(&batch, i + 1);
  }
}

TEST(Rollups, TopAndSeriesMatchBruteForceAcrossDaysHoursAndMinutes) {
  TempDir dir;
  Workload w(20000, 3 * 24 * 3600 * kSec, 7);
  auto r = OpenRollups(dir.path());
  r->Start();
  Feed(*r, w, 0, w.events.size());
  ASSERT_TRUE(r->Persist().ok());  // closes all but the newest hours: old edges come from files
  EXPECT_LT(r->Stats().hours_with_detail, 4u);
  EXPECT_GT(r->Stats().hours_in_memory, 70u);
  const int64_t day = 24 * kNsPerHour;
  const std::vector<std::pair<int64_t, int64_t>> ranges = {
      {kBase - day, kBase + 4 * day},                                      // everything
      {kBase + 17 * kSec, kBase + 2 * day + 3 * kNsPerHour + 59 * kSec},  // ragged both ends
      {FloorDiv(kBase, day) * day + day, FloorDiv(kBase, day) * day + 2 * day},  // one whole day
      {kBase + 3600 * kSec + 61 * kSec, kBase + 3600 * kSec + 300 * kSec},       // minutes
      {kBase + 70 * kNsPerHour + 5 * kSec, kBase + 71 * kNsPerHour + 59 * kSec},  // open hours
  };
  for (const auto& [since, until] : ranges) {
    for (auto dim : {RollupDim::kRoute, RollupDim::kSubject, RollupDim::kClientIp}) {
      ExpectTopMatches(*r, w, dim, RollupMetric::kRequests, since, until);
    }
    ExpectTopMatches(*r, w, RollupDim::kRoute, RollupMetric::kErrors, since, until);
    ExpectTopMatches(*r, w, RollupDim::kSubject, RollupMetric::kDenied, since, until);
    ExpectSeriesMatches(*r, w, RollupMetric::kRequests, 1, since, until);
    ExpectSeriesMatches(*r, w, RollupMetric::kErrors, 5, since, until);
    ExpectSeriesMatches(*r, w, RollupMetric::kClientErrors, 60, since, until);
    ExpectSeriesMatches(*r, w, RollupMetric::kDenied, 1440, since, until);
  }
  r->Close();

  // Reloaded from the files alone: the same answers, and a replay of records the files
  // cover counts nothing twice.
  auto again = OpenRollups(dir.path());
  for (size_t i = 0; i < w.events.size(); ++i) {
    AuditEvent e;
    e.time_ns = w.events[i].time_ns;
    e.status = w.events[i].status;
    e.decision = w.events[i].denied ? "deny" : "allow";
    e.route = w.events[i].keys[0];
    e.subject = w.events[i].keys[1];
    e.client_ip = w.events[i].keys[2];
    again->Replay(i, e);
  }
  EXPECT_FALSE(again->FinishRecovery(w.events.size()));
  EXPECT_EQ(again->Stats().events, 0u);
  for (const auto& [since, until] : ranges) {
    ExpectTopMatches(*again, w, RollupDim::kSubject, RollupMetric::kRequests, since, until);
    ExpectSeriesMatches(*again, w, RollupMetric::kRequests, 1, since, until);
  }
}

TEST(Rollups, ALateEventReopensAClosedHourAndRefreshesCachedDays) {
  TempDir dir;
  Workload w(6000, 4 * 24 * 3600 * kSec, 9);
  auto r = OpenRollups(dir.path());
  Feed(*r, w, 0, w.events.size());
  ASSERT_TRUE(r->Persist().ok());
  const int64_t day = 24 * kNsPerHour;
  const int64_t d0 = FloorDiv(kBase, day) * day + day;  // three whole days, all settled
  ExpectTopMatches(*r, w, RollupDim::kRoute, RollupMetric::kRequests, d0, d0 + 3 * day);
  const size_t with_detail = r->Stats().hours_with_detail;
  // A request that started on the second day completes now (a late, slow one).
  w.events.push_back(Ev(w.events.size(), d0 + day + 5 * kNsPerHour + 7 * kSec, "GET /late", "s1", 504));
  std::vector<RollupEvent> batch = {w.events.back()};
  r->AddCommitted(&batch, w.events.size());
  ExpectTopMatches(*r, w, RollupDim::kRoute, RollupMetric::kRequests, d0, d0 + 3 * day);
  ExpectTopMatches(*r, w, RollupDim::kRoute, RollupMetric::kErrors, d0 + day, d0 + 2 * day);
  EXPECT_EQ(r->Stats().hours_with_detail, with_detail + 1);  // the hour was read back
  ASSERT_TRUE(r->Persist().ok());
  EXPECT_EQ(r->Stats().hours_with_detail, with_detail);  // and settled again
  ExpectTopMatches(*r, w, RollupDim::kRoute, RollupMetric::kRequests, d0 + 17 * kSec, d0 + 3 * day - 17 * kSec);
  ExpectSeriesMatches(*r, w, RollupMetric::kErrors, 60, d0, d0 + 3 * day);
}

TEST(Rollups, ReplayCountsOnlyRecordsAfterTheFilesThroughSeq) {
  TempDir dir;
  Workload w(3000, 2 * 3600 * kSec, 11);
  {
    auto r = OpenRollups(dir.path());
    Feed(*r, w, 0, 1000);
    r->Close();  // files cover seq < 1000
  }
  auto r = OpenRollups(dir.path());
  for (size_t i = 0; i < w.events.size(); ++i) {
    AuditEvent e;
    e.time_ns = w.events[i].time_ns;
    e.status = w.events[i].status;
    e.route = w.events[i].keys[0];
    e.subject = w.events[i].keys[1];
    e.client_ip = w.events[i].keys[2];
    e.decision = w.events[i].denied ? "deny" : "allow";
    r->Replay(i, e);
  }
  EXPECT_FALSE(r->FinishRecovery(w.events.size()));
  EXPECT_EQ(r->Stats().events, 2000u);
  ExpectTopMatches(*r, w, RollupDim::kRoute, RollupMetric::kRequests, kBase - kNsPerHour, kBase + 4 * kNsPerHour);
}

TEST(Rollups, AFileAheadOfTheLogAsksForAFullRebuild) {
  TempDir dir;
  Workload w(500, 3600 * kSec, 3);
  {
    auto r = OpenRollups(dir.path());
    Feed(*r, w, 0, 500);
    r->Close();
  }
  auto r = OpenRollups(dir.path());
  EXPECT_TRUE(r->FinishRecovery(200));  // the log has only 200 records now
  EXPECT_FALSE(r->TakeWarnings().empty());
  EXPECT_EQ(r->Stats().hours_in_memory, 0u);
}

TEST(Rollups, ADamagedFileIsSetAsideReportedAndNotFatal) {
  TempDir dir;
  Workload w(500, 3 * 3600 * kSec, 5);
  std::string victim;
  {
    auto r = OpenRollups(dir.path());
    Feed(*r, w, 0, 500);
    r->Close();
  }
  for (const auto& entry : std::filesystem::directory_iterator(dir.path() + "/rollups")) {
    victim = entry.path().string();
    break;
  }
  ASSERT_FALSE(victim.empty());
  {
    std::ifstream in(victim, std::ios::binary);
    std::string head(12, '\0');
    in.read(head.data(), 12);
    EXPECT_EQ(DecodeFixed32ForTest(head, 8), HourRollup::kCompressedVersion);  // files are written compressed
  }
  testing::FlipByte(victim, 40);
  auto r = OpenRollups(dir.path());
  auto warnings = r->TakeWarnings();
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find(victim), std::string::npos) << warnings[0];
  EXPECT_NE(warnings[0].find("rebuilt from the log"), std::string::npos);
  EXPECT_EQ(r->Stats().corrupt_files, 1u);
  EXPECT_TRUE(std::filesystem::exists(victim + ".corrupt"));
  EXPECT_FALSE(std::filesystem::exists(victim));
}

TEST(Rollups, EventsOutsideTheWindowAreDroppedAndCounted) {
  TempDir dir;
  RollupOptions o;
  o.retention_days = 1;
  auto r = OpenRollups(dir.path(), o);
  std::vector<RollupEvent> batch = {Ev(0, kBase, "r", "a", 200), Ev(1, kBase - 3 * 24 * kNsPerHour, "r", "a", 200),
                                    Ev(2, NowNs() + 3 * 24 * kNsPerHour, "r", "a", 200)};
  r->AddCommitted(&batch, 3);
  EXPECT_EQ(r->Stats().events, 1u);
  EXPECT_EQ(r->Stats().dropped, 2u);
}

TEST(Rollups, AWriterQueriesAndPersistsAtOnceAgreeWithTheCount) {
  TempDir dir;
  Workload w(30000, 6 * 3600 * kSec, 13);
  RollupOptions o;
  o.persist_interval_ms = 100;
  auto r = OpenRollups(dir.path(), o);
  r->Start();
  std::atomic<bool> done{false};
  std::thread writer([&] {
    Feed(*r, w, 0, w.events.size());
    done = true;
  });
  uint64_t last_total = 0;
  while (!done) {  // answers only grow, and every one is internally consistent
    auto top = r->Top(TopQuery{RollupDim::kSubject, RollupMetric::kRequests, kBase - kNsPerHour, kBase + 7 * kNsPerHour, 5});
    ASSERT_TRUE(top.ok());
    EXPECT_GE(top->total, last_total);
    last_total = top->total;
    ASSERT_TRUE(r->Series(SeriesQuery{RollupMetric::kErrors, 5, kBase - kNsPerHour, kBase + 7 * kNsPerHour}).ok());
    (void)r->Persist();
  }
  writer.join();
  ExpectTopMatches(*r, w, RollupDim::kSubject, RollupMetric::kRequests, kBase - kNsPerHour, kBase + 7 * kNsPerHour);
  ExpectSeriesMatches(*r, w, RollupMetric::kErrors, 5, kBase - kNsPerHour, kBase + 7 * kNsPerHour);
  r->Close();
  auto again = OpenRollups(dir.path());
  EXPECT_FALSE(again->FinishRecovery(w.events.size()));
  ExpectTopMatches(*again, w, RollupDim::kSubject, RollupMetric::kRequests, kBase - kNsPerHour, kBase + 7 * kNsPerHour);
}

TEST(Rollups, RangesAreCheckedEvenWithoutTheApi) {
  TempDir dir;
  auto r = OpenRollups(dir.path());
  EXPECT_EQ(r->Top(TopQuery{RollupDim::kRoute, RollupMetric::kRequests, kBase, kBase, 10}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(r->Top(TopQuery{RollupDim::kRoute, RollupMetric::kRequests, 0, kBase, 10}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(r->Series(SeriesQuery{RollupMetric::kErrors, 0, kBase, kBase + kNsPerHour}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(r->Series(SeriesQuery{RollupMetric::kErrors, 1, kBase + kNsPerHour, kBase}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(r->Series(SeriesQuery{RollupMetric::kErrors, 1, 0, kBase}).status().code(),
            StatusCode::kInvalidArgument);
  // until - since past INT64_MAX must not wrap under the range limit; rounding near the
  // int64 ends must not overflow.
  EXPECT_EQ(r->Top(TopQuery{RollupDim::kRoute, RollupMetric::kRequests, -5'000'000'000'000'000'000,
                            5'000'000'000'000'000'000, 10}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(r->Series(SeriesQuery{RollupMetric::kErrors, 1440, INT64_MAX - 1000, INT64_MAX}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(r->Series(SeriesQuery{RollupMetric::kErrors, 1441, kBase, kBase + kNsPerHour}).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(Rollups, TopKeepsKBestWithTiesByKey) {
  TempDir dir;
  auto r = OpenRollups(dir.path());
  std::vector<RollupEvent> batch;
  uint64_t seq = 0;
  for (auto [route, n] : std::vector<std::pair<std::string, int>>{{"c", 3}, {"a", 5}, {"b", 5}, {"d", 1}}) {
    for (int i = 0; i < n; ++i) batch.push_back(Ev(seq++, kBase + i * kSec, route, "s", 200));
  }
  r->AddCommitted(&batch, seq);
  auto top = r->Top(TopQuery{RollupDim::kRoute, RollupMetric::kRequests, kBase - kNsPerHour, kBase + kNsPerHour, 3});
  ASSERT_TRUE(top.ok());
  ASSERT_EQ(top->items.size(), 3u);
  EXPECT_EQ(top->items[0].first, "a");
  EXPECT_EQ(top->items[1].first, "b");
  EXPECT_EQ(top->items[2].first, "c");
  EXPECT_EQ(top->total, 14u);
}

}  // namespace
}  // namespace apitrail
