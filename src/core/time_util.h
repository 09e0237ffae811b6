// Time helpers: wall clock in ns, RFC 3339 formatting and parsing, relative durations
// ("24h", "15m", "7d"). Pure functions; thread-safe.
#pragma once

#include <time.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace apitrail {

inline constexpr int64_t kNsPerDay = 86'400'000'000'000;

// Floor division, for putting times into buckets (hours, days): a time before 1970 still
// lands in the bucket below it, where `/` would round towards zero.
inline int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

int64_t ClockNs(clockid_t clock);  // clock_gettime in ns (any clock, e.g. CPU-time clocks)
int64_t NowNs();            // CLOCK_REALTIME
int64_t MonotonicNowNs();   // CLOCK_MONOTONIC
// CLOCK_MONOTONIC_COARSE: the time of the last timer tick (1-10 ms behind), read from memory
// without touching the clock source. For deadlines counted in milliseconds or more, set
// and checked with this same clock; never for measuring durations.
int64_t MonotonicCoarseNowNs();

// 2026-11-26T13:50:12.123456789Z (always 9 fractional digits, always Z).
std::string FormatRfc3339(int64_t unix_ns);
// Accepts RFC 3339 with any fraction (0-9 digits) and Z or ±hh:mm offsets. Refuses dates
// that do not exist (2026-02-30) and times whose nanoseconds do not fit int64 (before
// 1677-09-21 or after 2262-04-11). A leap second (23:59:60 UTC, in any offset) reads as
// 23:59:59 plus its fraction, since Unix time has no slot for it.
Result<int64_t> ParseRfc3339(std::string_view s);
// "90s", "15m", "24h", "7d", "500ms" → nanoseconds.
Result<int64_t> ParseDuration(std::string_view s);
// A point in time for query filters: RFC 3339, or a duration meaning "that long before now".
Result<int64_t> ParseTimeOrAgo(std::string_view s, int64_t now_ns);

}  // namespace apitrail
