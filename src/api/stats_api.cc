#include "api/stats_api.h"

#include <charconv>
#include <cstdint>

#include "api/api_errors.h"
#include "core/json_writer.h"
#include "core/time_util.h"

namespace apitrail {

namespace {

// since / until / (unknown) shared by both endpoints. Returns false on error; true when the
// parameter was one of the range parameters (consumed).
bool ParseRange(const std::string& name, const std::string& value, int64_t now_ns,
                int64_t* since, int64_t* until, bool* consumed, ParamError* error) {
  *consumed = false;
  if (name != "since" && name != "until") return true;
  *consumed = true;
  auto t = ParseTimeOrAgo(value, now_ns);
  if (!t.ok()) return ParamFail(error, name, t.status().message());
  (name == "since" ? *since : *until) = *t;
  return true;
}

bool CheckRange(int64_t since, int64_t until, const RollupOptions& o, ParamError* error) {
  if (since >= until) return ParamFail(error, "since", "must be before until");
  // The rollups round a range out to whole steps (up to a day) and refuse one within two days
  // of what int64 nanoseconds hold, where that would overflow; their refusal names no
  // parameter, so a valid but extreme time (until=2262-04-11T00:00:00Z) got a 400 without
  // one. Refused here, naming the side that is too close.
  constexpr int64_t kEdge = 2 * kNsPerDay;
  if (since < INT64_MIN + kEdge) {
    return ParamFail(error, "since", "must not be before " + FormatRfc3339(INT64_MIN + kEdge));
  }
  if (until > INT64_MAX - kEdge) {
    return ParamFail(error, "until", "must not be after " + FormatRfc3339(INT64_MAX - kEdge));
  }
  // 1678..2261 is more nanoseconds than int64 holds: unchecked, the span wraps negative and
  // passes the limit, and the rollups would then walk centuries of hours.
  int64_t span;
  if (__builtin_sub_overflow(until, since, &span) ||
      span > static_cast<int64_t>(o.max_range_days) * kNsPerDay) {
    return ParamFail(error, "since", "range is longer than " + std::to_string(o.max_range_days) + " days");
  }
  return true;
}

void WriteCounts(JsonWriter* w, const KeyCounts& c) {
  w->FieldUint("requests", c.requests);
  w->FieldUint("errors", c.errors);
  w->FieldUint("client_errors", c.client_errors);
  w->FieldUint("denied", c.denied);
}

}  // namespace

bool ParseTopQuery(const QueryParams& params, int64_t now_ns, const RollupOptions& options,
                   TopQuery* out, ParamError* error) {
  *out = TopQuery{};
  out->until_ns = now_ns;
  out->since_ns = now_ns - kNsPerDay;
  bool have_dim = false;
  if (!RejectRepeated(params, error)) return false;
  for (const auto& [name, value] : params) {
    bool consumed = false;
    if (!ParseRange(name, value, now_ns, &out->since_ns, &out->until_ns, &consumed, error)) return false;
    if (consumed) continue;
    if (name == "dim") {
      if (!ParseRollupDim(value, &out->dim)) return ParamFail(error, "dim", "expected route, subject or client_ip");
      have_dim = true;
    } else if (name == "metric") {
      if (!ParseRollupMetric(value, &out->metric)) {
        return ParamFail(error, "metric", "expected requests, errors, client_errors or denied");
      }
    } else if (name == "k") {
      uint32_t k = 0;
      auto r = std::from_chars(value.data(), value.data() + value.size(), k);
      if (r.ec != std::errc() || r.ptr != value.data() + value.size() || k < 1 || k > options.max_k) {
        return ParamFail(error, "k", "expected an integer from 1 to " + std::to_string(options.max_k));
      }
      out->k = k;
    } else {
      return ParamFail(error, name, "unknown parameter (known: dim, metric, k, since, until)");
    }
  }
  if (!have_dim) return ParamFail(error, "dim", "required: route, subject or client_ip");
  return CheckRange(out->since_ns, out->until_ns, options, error);
}

bool ParseSeriesQuery(const QueryParams& params, int64_t now_ns, const RollupOptions& options,
                      SeriesQuery* out, ParamError* error) {
  *out = SeriesQuery{};
  out->until_ns = now_ns;
  out->since_ns = now_ns - kNsPerDay;
  bool have_metric = false;
  if (!RejectRepeated(params, error)) return false;
  for (const auto& [name, value] : params) {
    bool consumed = false;
    if (!ParseRange(name, value, now_ns, &out->since_ns, &out->until_ns, &consumed, error)) return false;
    if (consumed) continue;
    if (name == "metric") {
      if (!ParseRollupMetric(value, &out->metric)) {
        return ParamFail(error, "metric", "expected requests, errors, client_errors or denied");
      }
      have_metric = true;
    } else if (name == "step") {
      static constexpr std::pair<std::string_view, int64_t> kSteps[] = {
          {"1m", 1}, {"5m", 5}, {"15m", 15}, {"1h", 60}, {"1d", 1440}};
      bool ok = false;
      for (const auto& [text, minutes] : kSteps) {
        if (value == text) {
          out->step_minutes = minutes;
          ok = true;
        }
      }
      if (!ok) return ParamFail(error, "step", "expected 1m, 5m, 15m, 1h or 1d");
    } else {
      return ParamFail(error, name, "unknown parameter (known: metric, step, since, until)");
    }
  }
  if (!have_metric) return ParamFail(error, "metric", "required: requests, errors, client_errors or denied");
  if (!CheckRange(out->since_ns, out->until_ns, options, error)) return false;
  const int64_t minutes = (out->until_ns - out->since_ns) / kNsPerMinute + 2;
  if (minutes / out->step_minutes > static_cast<int64_t>(options.max_points)) {
    return ParamFail(error, "step", "more than " + std::to_string(options.max_points) +
                                   " points; use a larger step or a shorter range");
  }
  return true;
}

SimpleResponse HandleStats(std::string_view path, const QueryParams& params, Rollups* rollups,
                           int64_t now_ns) {
  SimpleResponse r;
  if (path != "/api/v1/stats/top" && path != "/api/v1/stats/series") {
    r.status = 404;
    r.body = JsonError("not_found", "no such stats endpoint (top, series)");
    return r;
  }
  if (rollups == nullptr) {
    r.status = 404;
    r.body = JsonError("rollups_disabled", "audit.rollups.enabled is false");
    return r;
  }
  ParamError error;
  JsonWriter w(&r.body);
  if (path == "/api/v1/stats/top") {
    TopQuery q;
    if (!ParseTopQuery(params, now_ns, rollups->options(), &q, &error)) return BadParamResponse(error);
    auto top = rollups->Top(q);
    if (!top.ok()) {
      r.status = top.status().code() == StatusCode::kInvalidArgument ? 400 : 500;
      r.body = JsonError(r.status == 400 ? "bad_request" : "rollup_failed", top.status().message());
      return r;
    }
    w.BeginObject();
    w.Field("dim", RollupDimName(q.dim));
    w.Field("metric", RollupMetricName(q.metric));
    w.Field("since", FormatRfc3339(top->since_ns));
    w.Field("until", FormatRfc3339(top->until_ns));
    w.FieldUint("k", q.k);
    w.FieldUint("total", top->total);
    w.Key("items");
    w.BeginArray();
    for (const auto& [key, counts] : top->items) {
      w.BeginObject();
      w.Field("key", key);
      WriteCounts(&w, counts);
      w.EndObject();
    }
    w.EndArray();
    w.Key("other");
    w.BeginObject();
    WriteCounts(&w, top->other);
    w.EndObject();
    w.EndObject();
    return r;
  }
  SeriesQuery q;
  if (!ParseSeriesQuery(params, now_ns, rollups->options(), &q, &error)) return BadParamResponse(error);
  auto s = rollups->Series(q);
  if (!s.ok()) {
    r.status = s.status().code() == StatusCode::kInvalidArgument ? 400 : 500;
    r.body = JsonError(r.status == 400 ? "bad_request" : "rollup_failed", s.status().message());
    return r;
  }
  w.BeginObject();
  w.Field("metric", RollupMetricName(q.metric));
  w.FieldInt("step_seconds", s->step_minutes * 60);
  w.Field("since", FormatRfc3339(s->since_ns));
  w.Field("until", FormatRfc3339(s->until_ns));
  w.Key("points");
  w.BeginArray();
  uint64_t total = 0;
  for (size_t i = 0; i < s->values.size(); ++i) {
    w.BeginObject();
    w.Field("t", FormatRfc3339(s->since_ns + static_cast<int64_t>(i) * s->step_minutes * kNsPerMinute));
    w.FieldUint("value", s->values[i]);
    w.EndObject();
    total += s->values[i];
  }
  w.EndArray();
  w.FieldUint("total", total);
  w.EndObject();
  return r;
}

}  // namespace apitrail
