#include "demo/demo_api.h"

#include <charconv>

#include "core/ids.h"
#include "core/json_writer.h"
#include "query/query_params.h"

namespace apitrail {

namespace {

SimpleResponse Json(int status, std::string body) {
  SimpleResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

bool IsDigits(std::string_view s) {
  if (s.empty() || s.size() > 18) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// "/v1/users/42" with prefix "/v1/users/" → "42" (one segment only).
bool OneSegmentAfter(std::string_view path, std::string_view prefix, std::string_view* id) {
  if (path.size() <= prefix.size() || path.substr(0, prefix.size()) != prefix) return false;
  *id = path.substr(prefix.size());
  return id->find('/') == std::string_view::npos;
}

}  // namespace

SimpleResponse HandleDemoRequest(const SimpleRequest& request) {
  std::string path;
  QueryParams params;
  if (!SplitTarget(request.target, &path, &params).ok()) {
    return Json(400, JsonError("bad_request", "malformed target"));
  }
  std::string_view id;
  const std::string& m = request.method;
  if (path == "/v1/echo") {
    SimpleResponse r;
    JsonWriter w(&r.body);
    w.BeginObject();
    w.Field("method", m);
    w.Field("path", path);
    w.Key("query");
    w.BeginObject();
    for (const auto& [k, v] : params) w.Field(k, v);
    w.EndObject();
    w.Key("headers");
    w.BeginObject();
    for (const auto& [k, v] : request.headers) w.Field(k, v);
    w.EndObject();
    w.FieldUint("body_bytes", request.body.size());
    w.EndObject();
    for (const auto& [k, v] : params) {
      uint32_t ms = 0;
      if (k == "delay_ms" && std::from_chars(v.data(), v.data() + v.size(), ms).ec == std::errc()) {
        r.delay_ms = std::min<uint32_t>(ms, 10000);
      }
      int status = 0;
      if (k == "status" && std::from_chars(v.data(), v.data() + v.size(), status).ec == std::errc() &&
          status >= 200 && status <= 599) {
        r.status = status;
      }
    }
    return r;
  }
  if (m == "GET" && OneSegmentAfter(path, "/v1/users/", &id)) {
    if (!IsDigits(id)) return Json(404, JsonError("not_found", "no such user"));
    std::string out;
    JsonWriter w(&out);
    w.BeginObject();
    w.Field("user_id", id);
    w.Field("name", "Demo User " + std::string(id));
    w.Field("email", "user" + std::string(id) + "@example.com");
    w.EndObject();
    return Json(200, out);
  }
  if (m == "GET" && OneSegmentAfter(path, "/v1/orders/", &id)) {
    if (!IsDigits(id)) return Json(404, JsonError("not_found", "no such order"));
    std::string out;
    JsonWriter w(&out);
    w.BeginObject();
    w.Field("order_id", id);
    w.Field("status", "shipped");
    w.FieldInt("amount_cents", 1999 + static_cast<int64_t>(id.size()) * 100);
    w.EndObject();
    return Json(200, out);
  }
  if (m == "POST" && path == "/v1/orders") {
    std::string out;
    JsonWriter w(&out);
    w.BeginObject();
    w.Field("order_id", RandomHexId(4));
    w.Field("status", "created");
    w.FieldUint("received_bytes", request.body.size());
    w.EndObject();
    return Json(201, out);
  }
  if (m == "GET" && path == "/v1/admin/export") {
    return Json(200, R"({"export":"users","rows":[{"user_id":"1"},{"user_id":"2"},{"user_id":"3"}]})");
  }
  return Json(404, JsonError("not_found", "the demo API has no " + m + " " + path.substr(0, 128)));
}

Config BuildDemoConfig(const std::string& data_dir, const HostPort& gateway, const HostPort& admin,
                       const HostPort& upstream, const std::string& admin_token) {
  Config c;
  c.node = "demo";
  c.gateway.listen = gateway;
  c.gateway.workers = 2;
  UpstreamConfig up;
  up.name = "demo-api";
  up.address = upstream;
  c.upstreams.push_back(up);
  auto route = [&](const char* match, bool sensitive) {
    RouteConfig r;
    r.match = match;
    r.upstream = "demo-api";
    r.sensitive = sensitive;
    c.routes.push_back(r);
  };
  route("GET /v1/users/{user_id}", false);
  route("GET /v1/orders/{order_id}", false);
  route("POST /v1/orders", false);
  route("GET /v1/admin/export", true);
  route("* /v1/echo", false);
  c.audit.data_dir = data_dir;
  c.admin.listen = admin;
  c.admin.tokens = {admin_token};
  return c;
}

}  // namespace apitrail
