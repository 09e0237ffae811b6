#include "core/time_util.h"

#include <charconv>
#include <cstdio>
#include <ctime>

namespace apitrail {

int64_t ClockNs(clockid_t clock) {
  timespec ts;
  clock_gettime(clock, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

int64_t NowNs() { return ClockNs(CLOCK_REALTIME); }
int64_t MonotonicNowNs() { return ClockNs(CLOCK_MONOTONIC); }
int64_t MonotonicCoarseNowNs() { return ClockNs(CLOCK_MONOTONIC_COARSE); }

std::string FormatRfc3339(int64_t unix_ns) {
  int64_t secs = unix_ns / 1000000000;
  int64_t frac = unix_ns % 1000000000;
  if (frac < 0) {
    frac += 1000000000;
    secs -= 1;
  }
  time_t t = static_cast<time_t>(secs);
  tm tm_utc;
  gmtime_r(&t, &tm_utc);
  char buf[48];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ", tm_utc.tm_year + 1900,
                tm_utc.tm_mon + 1, tm_utc.tm_mday, tm_utc.tm_hour, tm_utc.tm_min, tm_utc.tm_sec,
                static_cast<long long>(frac));
  return buf;
}

namespace {
bool ParseFixed(std::string_view s, size_t pos, size_t len, int* out) {
  if (pos + len > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + len; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

int DaysInMonth(int year, int mon) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return mon == 2 && leap ? 29 : kDays[mon - 1];
}
}  // namespace

Result<int64_t> ParseRfc3339(std::string_view s) {
  auto bad = [&] {
    return Status::InvalidArgument("not an RFC 3339 time (2026-01-31T12:00:00Z): '" +
                                   std::string(s.substr(0, 64)) + "'");
  };
  auto out_of_range = [&] {
    return Status::InvalidArgument("time outside 1677-09-21T00:12:44Z..2262-04-11T23:47:16Z: '" +
                                   std::string(s.substr(0, 64)) + "'");
  };
  int year, mon, day, hour, min, sec;
  if (s.size() < 20 || !ParseFixed(s, 0, 4, &year) || s[4] != '-' || !ParseFixed(s, 5, 2, &mon) ||
      s[7] != '-' || !ParseFixed(s, 8, 2, &day) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
      !ParseFixed(s, 11, 2, &hour) || s[13] != ':' || !ParseFixed(s, 14, 2, &min) ||
      s[16] != ':' || !ParseFixed(s, 17, 2, &sec)) {
    return bad();
  }
  // Checked here because timegm would quietly roll 2026-02-30 over into March.
  if (mon < 1 || mon > 12 || day < 1 || day > DaysInMonth(year, mon) || hour > 23 || min > 59 ||
      sec > 60) {
    return bad();
  }
  size_t pos = 19;
  int64_t frac = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int digits = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (digits < 9) {
        frac = frac * 10 + (s[pos] - '0');
        ++digits;
      }
      ++pos;
    }
    if (digits == 0) return bad();
    for (int d = digits; d < 9; ++d) frac *= 10;
  }
  int64_t offset_s = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh, om;
    if (!ParseFixed(s, pos + 1, 2, &oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !ParseFixed(s, pos + 4, 2, &om) || oh > 23 || om > 59) {
      return bad();
    }
    offset_s = (oh * 3600 + om * 60) * (s[pos] == '+' ? 1 : -1);
    pos += 6;
  } else {
    return bad();
  }
  if (pos != s.size()) return bad();
  // A leap second is only ever inserted as 23:59:60 UTC; any other :60 is not a time.
  if (sec == 60 && ((hour * 3600 + min * 60 - offset_s) % 86400 + 86400) % 86400 != 86340) {
    return bad();
  }
  tm t{};
  t.tm_year = year - 1900;
  t.tm_mon = mon - 1;
  t.tm_mday = day;
  t.tm_hour = hour;
  t.tm_min = min;
  t.tm_sec = sec > 59 ? 59 : sec;
  time_t secs = timegm(&t);
  // Years far from 1970 (3000, 0001) do not fit int64 nanoseconds; unchecked they wrap into
  // an unrelated time that a query would then silently use.
  int64_t utc_s, ns;
  if (__builtin_sub_overflow(static_cast<int64_t>(secs), offset_s, &utc_s)) return out_of_range();
  if (utc_s < 0 && frac > 0) {  // so that the earliest representable time does not overflow
    utc_s += 1;
    frac -= 1000000000;
  }
  if (__builtin_mul_overflow(utc_s, int64_t{1000000000}, &ns) ||
      __builtin_add_overflow(ns, frac, &ns)) {
    return out_of_range();
  }
  return ns;
}

Result<int64_t> ParseDuration(std::string_view s) {
  auto bad = [&] {
    return Status::InvalidArgument("not a duration (500ms, 30s, 15m, 24h, 7d): '" +
                                   std::string(s.substr(0, 64)) + "'");
  };
  int64_t n = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), n);
  if (r.ec != std::errc() || n < 0 || r.ptr == s.data()) return bad();
  std::string_view unit(r.ptr, static_cast<size_t>(s.data() + s.size() - r.ptr));
  int64_t mult;
  if (unit == "ms") mult = 1000000;
  else if (unit == "s") mult = 1000000000;
  else if (unit == "m") mult = 60LL * 1000000000;
  else if (unit == "h") mult = 3600LL * 1000000000;
  else if (unit == "d") mult = 86400LL * 1000000000;
  else return bad();
  if (n > INT64_MAX / mult) return bad();
  return n * mult;
}

Result<int64_t> ParseTimeOrAgo(std::string_view s, int64_t now_ns) {
  if (s.size() >= 20 && s[4] == '-') return ParseRfc3339(s);
  auto d = ParseDuration(s);
  if (!d.ok()) {
    return Status::InvalidArgument("not an RFC 3339 time or a relative duration like 24h: '" +
                                   std::string(s.substr(0, 64)) + "'");
  }
  int64_t t;
  if (__builtin_sub_overflow(now_ns, *d, &t)) {
    return Status::InvalidArgument("duration reaches before 1677: '" + std::string(s.substr(0, 64)) + "'");
  }
  return t;
}

}  // namespace apitrail
