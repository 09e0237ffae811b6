#include "core/event.h"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "core/json_writer.h"
#include "core/time_util.h"

namespace apitrail {

namespace {

void OptString(JsonWriter& w, std::string_view key, const std::string& v) {
  if (!v.empty()) w.Field(key, v);
}

void OptKeyValues(JsonWriter& w, std::string_view key, const KeyValues& kv) {
  if (kv.empty()) return;
  w.Key(key);
  w.BeginObject();
  for (const auto& [k, v] : kv) w.Field(k, v);
  w.EndObject();
}

void WriteFields(JsonWriter& w, const AuditEvent& e) {
  w.Field("id", e.id);
  OptString(w, "node", e.node);
  w.Field("time", FormatRfc3339(e.time_ns));
  if (e.duration_us >= 0) w.FieldInt("duration_us", e.duration_us);
  w.Field("kind", e.kind);
  OptString(w, "decision", e.decision);
  OptString(w, "deny_reason", e.deny_reason);
  OptString(w, "subject", e.subject);
  OptString(w, "auth_method", e.auth_method);
  OptString(w, "credential_id", e.credential_id);
  OptString(w, "issuer", e.issuer);
  if (!e.scopes.empty()) {
    w.Key("scopes");
    w.BeginArray();
    for (const auto& s : e.scopes) w.String(s);
    w.EndArray();
  }
  OptString(w, "tenant", e.tenant);
  OptString(w, "method", e.method);
  OptString(w, "host", e.host);
  OptString(w, "path", e.path);
  OptString(w, "route", e.route);
  OptKeyValues(w, "resources", e.resources);
  OptKeyValues(w, "query", e.query);
  OptKeyValues(w, "body_fields", e.body_fields);
  if (e.status != 0) w.FieldInt("status", e.status);
  if (e.bytes_in != 0) w.FieldUint("bytes_in", e.bytes_in);
  if (e.bytes_out != 0) w.FieldUint("bytes_out", e.bytes_out);
  OptString(w, "client_ip", e.client_ip);
  OptString(w, "user_agent", e.user_agent);
  OptString(w, "correlation_id", e.correlation_id);
  OptString(w, "invalid_request_id", e.invalid_request_id);
  OptString(w, "trace_id", e.trace_id);
  OptString(w, "span_id", e.span_id);
  OptString(w, "parent_span_id", e.parent_span_id);
  OptString(w, "tracestate", e.tracestate);
  OptString(w, "upstream", e.upstream);
  if (e.sensitive) w.FieldBool("sensitive", true);
  OptString(w, "service", e.service);
  OptString(w, "message", e.message);
  OptString(w, "phase", e.phase);
  OptString(w, "intent_id", e.intent_id);
  OptString(w, "outcome", e.outcome);
}

std::string GetString(const boost::json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_string()) return {};
  const auto& s = it->value().get_string();
  return std::string(s.data(), s.size());
}

int64_t GetInt(const boost::json::object& o, std::string_view key, int64_t def) {
  auto it = o.find(key);
  if (it == o.end()) return def;
  if (it->value().is_int64()) return it->value().get_int64();
  if (it->value().is_uint64()) return static_cast<int64_t>(it->value().get_uint64());
  return def;
}

KeyValues GetKeyValues(const boost::json::object& o, std::string_view key) {
  KeyValues out;
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_object()) return out;
  for (const auto& kv : it->value().get_object()) {
    if (!kv.value().is_string()) continue;
    const auto& s = kv.value().get_string();
    out.emplace_back(std::string(kv.key()), std::string(s.data(), s.size()));
  }
  return out;
}

}  // namespace

void AppendEventJson(const AuditEvent& e, std::string* out) {
  JsonWriter w(out);
  w.BeginObject();
  w.FieldUint("seq", e.seq);
  WriteFields(w, e);
  w.EndObject();
}

Result<AuditEvent> DecodeEventJson(std::string_view json) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(json, ec);
  if (ec || !v.is_object()) return Status::Corruption("record is not a JSON object");
  const auto& o = v.get_object();
  AuditEvent e;
  e.seq = static_cast<uint64_t>(GetInt(o, "seq", 0));
  e.id = GetString(o, "id");
  e.node = GetString(o, "node");
  auto t = ParseRfc3339(GetString(o, "time"));
  if (!t.ok()) return Status::Corruption("record has no valid time");
  e.time_ns = *t;
  e.duration_us = GetInt(o, "duration_us", -1);
  e.kind = GetString(o, "kind");
  e.decision = GetString(o, "decision");
  e.deny_reason = GetString(o, "deny_reason");
  e.subject = GetString(o, "subject");
  e.auth_method = GetString(o, "auth_method");
  e.credential_id = GetString(o, "credential_id");
  e.issuer = GetString(o, "issuer");
  if (auto it = o.find("scopes"); it != o.end() && it->value().is_array()) {
    for (const auto& s : it->value().get_array()) {
      if (s.is_string()) e.scopes.emplace_back(s.get_string().data(), s.get_string().size());
    }
  }
  e.tenant = GetString(o, "tenant");
  e.method = GetString(o, "method");
  e.host = GetString(o, "host");
  e.path = GetString(o, "path");
  e.route = GetString(o, "route");
  e.resources = GetKeyValues(o, "resources");
  e.query = GetKeyValues(o, "query");
  e.body_fields = GetKeyValues(o, "body_fields");
  e.status = static_cast<int>(GetInt(o, "status", 0));
  e.bytes_in = static_cast<uint64_t>(GetInt(o, "bytes_in", 0));
  e.bytes_out = static_cast<uint64_t>(GetInt(o, "bytes_out", 0));
  e.client_ip = GetString(o, "client_ip");
  e.user_agent = GetString(o, "user_agent");
  e.correlation_id = GetString(o, "correlation_id");
  e.invalid_request_id = GetString(o, "invalid_request_id");
  e.trace_id = GetString(o, "trace_id");
  e.span_id = GetString(o, "span_id");
  e.parent_span_id = GetString(o, "parent_span_id");
  e.tracestate = GetString(o, "tracestate");
  e.upstream = GetString(o, "upstream");
  if (auto it = o.find("sensitive"); it != o.end() && it->value().is_bool()) {
    e.sensitive = it->value().get_bool();
  }
  e.service = GetString(o, "service");
  e.message = GetString(o, "message");
  e.phase = GetString(o, "phase");
  e.intent_id = GetString(o, "intent_id");
  e.outcome = GetString(o, "outcome");
  return e;
}

}  // namespace apitrail
