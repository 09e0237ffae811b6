// Rollups' read side: top-k and series over day, range, hour and minute counters
// (rollups.h). Same class, its own file: the write side is rollups.cc.
#include "store/rollup/rollups.h"

#include <algorithm>
#include <cstdint>

namespace apitrail {

namespace {

void MergeMinutes(const HourRollup& h, int a, int b, RollupDim dim, KeyMap* acc, KeyCounts* other) {
  const int d = static_cast<int>(dim);
  for (auto it = h.minutes.lower_bound(a); it != h.minutes.end() && it->first < b; ++it) {
    for (const auto& [key, counts] : it->second.keys[d]) {
      auto found = acc->find(std::string_view(key));
      if (found == acc->end()) found = acc->emplace(key, KeyCounts{}).first;
      found->second.Add(counts);
    }
    other->Add(it->second.other[d]);
  }
}

void MergeOne(const RollupSummary& s, RollupDim dim, KeyMap* acc, KeyCounts* other) {
  const int d = static_cast<int>(dim);
  for (const auto& [key, counts] : s.keys[d]) {
    auto found = acc->find(std::string_view(key));
    if (found == acc->end()) found = acc->emplace(key, KeyCounts{}).first;
    found->second.Add(counts);
  }
  other->Add(s.other[d]);
}

int64_t CeilDiv(int64_t a, int64_t b) { return -FloorDiv(-a, b); }
}  // namespace

std::shared_ptr<const RollupSummary> Rollups::DaySummaryLocked(int64_t day) const {
  if (auto it = day_cache_.find(day); it != day_cache_.end()) return it->second;
  const auto first = hours_.lower_bound(day * 24);
  const auto last = hours_.lower_bound((day + 1) * 24);
  if (first == last) return nullptr;
  for (auto it = first; it != last; ++it) {
    if (!it->second.summary) return nullptr;  // an hour still changing: go hour by hour
  }
  std::array<KeyMap, kRollupDims> maps;
  std::array<KeyCounts, kRollupDims> other{};
  for (auto it = first; it != last; ++it) MergeSummary(*it->second.summary, &maps, &other);
  auto s = CapSummary(std::move(maps), other, static_cast<size_t>(options_.max_keys) * 8);
  day_cache_[day] = s;
  return s;
}

std::shared_ptr<const RollupSummary> Rollups::RangeSummaryLocked(int64_t d0, int64_t d1) const {
  if (auto it = range_cache_.find({d0, d1}); it != range_cache_.end()) return it->second;
  std::array<KeyMap, kRollupDims> maps;
  std::array<KeyCounts, kRollupDims> other{};
  for (int64_t d = d0; d < d1; ++d) MergeSummary(*DaySummaryLocked(d), &maps, &other);
  // Not capped again: it is the exact sum of its days, so a cached answer equals an uncached one.
  auto s = CapSummary(std::move(maps), other, SIZE_MAX);
  if (range_cache_.size() >= kRangeCacheEntries) range_cache_.erase(range_cache_.begin());
  range_cache_[{d0, d1}] = s;
  return s;
}

namespace {

constexpr int64_t kMaxStepMinutes = 24 * 60;

// Ranges are rounded out to whole steps (at most a day): times within two days of the int64
// limits (years 1677 and 2262) would overflow doing so.
bool WithinRoundableRange(int64_t since_ns, int64_t until_ns) {
  constexpr int64_t kMargin = 2 * 24 * kNsPerHour;
  return since_ns >= INT64_MIN + kMargin && until_ns <= INT64_MAX - kMargin;
}

}  // namespace

void Rollups::InvalidateDayLocked(int64_t day) {
  day_cache_.erase(day);
  for (auto it = range_cache_.begin(); it != range_cache_.end();) {
    it = it->first.first <= day && day < it->first.second ? range_cache_.erase(it) : std::next(it);
  }
}

Result<TopResult> Rollups::Top(const TopQuery& q) {
  TopResult out;
  if (!WithinRoundableRange(q.since_ns, q.until_ns)) return Status::InvalidArgument("since/until: out of range");
  // Unsigned: until - since of two valid int64 times may not fit an int64.
  if (q.until_ns <= q.since_ns ||
      static_cast<uint64_t>(q.until_ns) - static_cast<uint64_t>(q.since_ns) >
          static_cast<uint64_t>(options_.max_range_days + 1) * 24 * kNsPerHour) {
    return Status::InvalidArgument("since/until: empty or longer than " +
                                   std::to_string(options_.max_range_days) + " days");
  }
  const int64_t m0 = FloorDiv(q.since_ns, kNsPerMinute);
  const int64_t m1 = CeilDiv(q.until_ns, kNsPerMinute);
  out.since_ns = m0 * kNsPerMinute;
  out.until_ns = m1 * kNsPerMinute;
  KeyMap acc;
  std::vector<std::shared_ptr<const RollupSummary>> sources;
  struct Edge {
    int64_t hour;
    int a, b;
  };
  std::vector<Edge> edges;
  {
    std::lock_guard<std::mutex> lock(mu_);
    DrainLocked();
    int64_t h = FloorDiv(m0, 60);
    while (h * 60 < m1) {
      if (FloorDiv(h, 24) * 24 == h && h * 60 >= m0 && (h + 24) * 60 <= m1) {
        // A run of whole, settled days: one (cached) summary for all of them.
        const int64_t d0 = FloorDiv(h, 24);
        int64_t d1 = d0;
        while ((d1 + 1) * 24 * 60 <= m1 && DaySummaryLocked(d1) != nullptr) ++d1;
        if (d1 > d0) {
          sources.push_back(d1 - d0 == 1 ? DaySummaryLocked(d0) : RangeSummaryLocked(d0, d1));
          for (auto it = hours_.lower_bound(h); it != hours_.end() && it->first < d1 * 24; ++it) {
            for (const auto& t : it->second.totals) out.total += t.Get(q.metric);
          }
          h = d1 * 24;
          continue;
        }
      }
      const int a = static_cast<int>(std::max(m0, h * 60) - h * 60);
      const int b = static_cast<int>(std::min(m1, (h + 1) * 60) - h * 60);
      auto it = hours_.find(h);
      if (it != hours_.end()) {
        const HourState& s = it->second;
        for (int m = a; m < b; ++m) out.total += s.totals[static_cast<size_t>(m)].Get(q.metric);
        if (s.detail) {
          MergeMinutes(*s.detail, a, b, q.dim, &acc, &out.other);
        } else if (a == 0 && b == 60) {
          sources.push_back(s.summary);
        } else {
          edges.push_back({h, a, b});
        }
      }
      ++h;
    }
  }
  for (const auto& s : sources) MergeOne(*s, q.dim, &acc, &out.other);
  for (const Edge& e : edges) {
    APITRAIL_ASSIGN_OR_RETURN(HourRollup h, ReadFile(e.hour));
    MergeMinutes(h, e.a, e.b, q.dim, &acc, &out.other);
  }
  std::vector<std::pair<std::string, KeyCounts>> items;
  items.reserve(acc.size());
  for (auto& kv : acc) {
    if (kv.second.Get(q.metric) > 0) items.emplace_back(kv.first, kv.second);
  }
  auto better = [&](const auto& x, const auto& y) {
    const uint64_t a = x.second.Get(q.metric), b = y.second.Get(q.metric);
    return a != b ? a > b : x.first < y.first;
  };
  const size_t k = std::min<size_t>(q.k, items.size());
  std::partial_sort(items.begin(), items.begin() + static_cast<std::ptrdiff_t>(k), items.end(), better);
  items.resize(k);
  out.items = std::move(items);
  return out;
}

Result<SeriesResult> Rollups::Series(const SeriesQuery& q) {
  SeriesResult out;
  const int64_t step = q.step_minutes;
  if (step < 1) return Status::InvalidArgument("step: must be at least one minute");
  if (step > kMaxStepMinutes) return Status::InvalidArgument("step: at most one day");
  if (!WithinRoundableRange(q.since_ns, q.until_ns)) return Status::InvalidArgument("since/until: out of range");
  const int64_t m0 = FloorDiv(FloorDiv(q.since_ns, kNsPerMinute), step) * step;
  const int64_t m1 = CeilDiv(CeilDiv(q.until_ns, kNsPerMinute), step) * step;
  out.since_ns = m0 * kNsPerMinute;
  out.until_ns = m1 * kNsPerMinute;
  out.step_minutes = step;
  const int64_t points = (m1 - m0) / step;
  if (points < 1) return Status::InvalidArgument("since: must be before until");
  if (points > static_cast<int64_t>(options_.max_points)) {
    return Status::InvalidArgument("step: " + std::to_string(points) + " points, at most " +
                                   std::to_string(options_.max_points) + "; use a larger step or a shorter range");
  }
  out.values.assign(static_cast<size_t>(points), 0);
  std::lock_guard<std::mutex> lock(mu_);
  DrainLocked();
  for (auto it = hours_.lower_bound(FloorDiv(m0, 60)); it != hours_.end() && it->first * 60 < m1; ++it) {
    for (int m = 0; m < 60; ++m) {
      const int64_t minute = it->first * 60 + m;
      if (minute < m0 || minute >= m1) continue;
      out.values[static_cast<size_t>((minute - m0) / step)] += it->second.totals[static_cast<size_t>(m)].Get(q.metric);
    }
  }
  return out;
}

}  // namespace apitrail
