// The rollup endpoints of the admin API: GET /api/v1/stats/top and /api/v1/stats/series
// (docs/OPERATIONS.md "Rollups"). Parameter parsing and the JSON answers; every bad
// parameter is a 400 whose body names it. Pure functions over a thread-safe Rollups.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "net/simple_http.h"
#include "query/query_params.h"
#include "store/rollup/rollups.h"

namespace apitrail {

// since/until default to the last 24 hours before now_ns; k to 10; metric to requests;
// step to 1m. Returns false with *error set when a parameter is unknown or malformed, or
// the range or k exceeds the limits in `options`.
bool ParseTopQuery(const QueryParams& params, int64_t now_ns, const RollupOptions& options,
                   TopQuery* out, ParamError* error);
bool ParseSeriesQuery(const QueryParams& params, int64_t now_ns, const RollupOptions& options,
                      SeriesQuery* out, ParamError* error);

// Handles a path under /api/v1/stats/ (the caller has checked the admin token).
SimpleResponse HandleStats(std::string_view path, const QueryParams& params, Rollups* rollups,
                           int64_t now_ns);

}  // namespace apitrail
