#include "api/api_errors.h"

#include "core/json_writer.h"

namespace apitrail {

SimpleResponse ErrorResponse(int status, std::string_view code, std::string_view message) {
  SimpleResponse r;
  r.status = status;
  r.body = JsonError(code, message);
  return r;
}

SimpleResponse BadParamResponse(const ParamError& e) {
  SimpleResponse r;
  r.status = 400;
  JsonWriter w(&r.body);
  w.BeginObject();
  w.Field("error", "bad_request");
  w.Field("parameter", e.parameter);
  w.Field("message", e.message);
  w.EndObject();
  return r;
}

}  // namespace apitrail
