// Turns the filters of GET /api/v1/events (and `apitrail query` flags, which use the same
// names) into an EventQuery. Every unknown or malformed parameter is an error naming it.
// Pure functions; thread-safe.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"
#include "query/event_query.h"

namespace apitrail {

using QueryParams = std::vector<std::pair<std::string, std::string>>;

// A bad parameter: which one, and why. `message` starts with "<parameter>: ", so it reads on
// its own; the admin API answers both in one 400 shape (api/api_errors.h).
struct ParamError {
  std::string parameter;
  std::string message;
};

// Fills *error and returns false, so parsers can `return ParamFail(error, "k", "…")`. The
// name is cut to kMaxEchoedNameBytes (whole UTF-8 sequences); JSON escaping is the writer's.
inline constexpr size_t kMaxEchoedNameBytes = 64;
bool ParamFail(ParamError* error, std::string_view parameter, std::string_view why);

// A parameter given twice (?limit=1&limit=1000) is refused rather than "last one wins": a
// client or proxy that appends its own copy must not silently change what is asked.
bool RejectRepeated(const QueryParams& params, ParamError* error);

// Refuses any parameter not in `known`; an empty `known` means the endpoint takes none.
bool RejectUnknown(const QueryParams& params, std::initializer_list<std::string_view> known,
                   ParamError* error);

// subject, route, resource (name=value), status (404 | 5xx), decision, method, client_ip,
// correlation_id, trace_id, since, until (RFC 3339 or "24h" ago), limit (1..1000), cursor.
// Returns false with *error set when a parameter is unknown or malformed.
bool ParseEventQuery(const QueryParams& params, int64_t now_ns, EventQuery* out, ParamError* error);

// Splits an origin-form target into its path and percent-decoded query parameters. When the
// target is refused because a parameter's name or value is not validly percent-encoded
// ("?subject=%zz") and `bad_param` is not null, *bad_param names that parameter too.
Status SplitTarget(const std::string& target, std::string* path, QueryParams* params,
                   ParamError* bad_param = nullptr);

std::string EncodeCursor(uint64_t before_seq);
Result<uint64_t> DecodeCursor(const std::string& cursor);

}  // namespace apitrail
