// The admin API's error answers, one JSON shape for every endpoint (docs/OPERATIONS.md
// "Admin API errors"):
//   {"error":"<code>","message":"…"}
//   {"error":"bad_request","parameter":"<name>","message":"<name>: …"}  (a bad parameter)
// so a client finds the offending parameter in the same field whichever endpoint it asked.
// Pure functions; thread-safe.
#pragma once

#include <string_view>

#include "net/simple_http.h"
#include "query/query_params.h"

namespace apitrail {

SimpleResponse ErrorResponse(int status, std::string_view code, std::string_view message);
// 400 bad_request naming e.parameter.
SimpleResponse BadParamResponse(const ParamError& e);

}  // namespace apitrail
