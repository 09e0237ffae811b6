#include "query/query_params.h"

#include <boost/url/parse.hpp>
#include <boost/url/pct_string_view.hpp>
#include <charconv>
#include <string_view>

#include "core/crypto_util.h"
#include "core/time_util.h"
#include "core/utf8.h"

namespace apitrail {

namespace {

Result<int64_t> ParseInt(const std::string& s, const std::string& name, int64_t lo, int64_t hi) {
  int64_t v = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size() || v < lo || v > hi) {
    return Status::InvalidArgument(name + ": expected an integer from " + std::to_string(lo) +
                                   " to " + std::to_string(hi) + ", got '" + s.substr(0, 32) + "'");
  }
  return v;
}

}  // namespace

std::string EncodeCursor(uint64_t before_seq) { return std::to_string(before_seq); }

Result<uint64_t> DecodeCursor(const std::string& cursor) {
  auto v = ParseInt(cursor, "cursor", 0, INT64_MAX);
  if (!v.ok()) return Status::InvalidArgument("cursor: not a cursor returned by this API");
  return static_cast<uint64_t>(*v);
}

namespace {

// The first parameter of the target's query whose name or value is not validly
// percent-encoded, for the 400 to name it (docs/OPERATIONS.md "Admin API errors"): a decodable
// name is decoded as the parameter list decodes it ('+' is a space), a malformed one is echoed
// as sent. False when every parameter is well-formed (the target is bad elsewhere).
bool FindMalformedParameter(std::string_view target, ParamError* error) {
  const size_t q = target.find('?');
  if (q == std::string_view::npos) return false;
  std::string_view query = target.substr(q + 1);
  for (;;) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const size_t eq = pair.find('=');
    const std::string_view name = pair.substr(0, eq);
    const std::string_view value =
        eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    auto decoded_name = boost::urls::make_pct_string_view(name);
    if (!decoded_name || !boost::urls::make_pct_string_view(value)) {
      ParamFail(
          error,
          decoded_name ? decoded_name->decode(boost::urls::encoding_opts(true)) : std::string(name),
          "not validly percent-encoded (a '%' must be followed by two hex digits)");
      return true;
    }
    if (amp == std::string_view::npos) return false;
    query.remove_prefix(amp + 1);
  }
}

bool IsUnreserved(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

// RFC 3986 §6.2.2.2 and §6.2.2.3 on a valid encoded path: percent-encoded unreserved
// characters decoded, then dot segments removed. Reserved ones stay encoded ("%2F" is not
// "/"), which Boost.URL's normalize_path does not keep apart.
std::string NormalizePath(std::string_view encoded) {
  std::string decoded;
  decoded.reserve(encoded.size());
  for (size_t i = 0; i < encoded.size(); ++i) {
    if (encoded[i] == '%' && i + 2 < encoded.size() && HexDigitValue(encoded[i + 1]) >= 0 &&
        HexDigitValue(encoded[i + 2]) >= 0) {
      const char c = static_cast<char>(HexDigitValue(encoded[i + 1]) * 16 + HexDigitValue(encoded[i + 2]));
      if (IsUnreserved(c)) {
        decoded += c;
        i += 2;
        continue;
      }
    }
    decoded += encoded[i];
  }
  std::vector<std::string_view> segments;
  std::string_view rest(decoded);
  bool trailing_slash = false;
  while (!rest.empty()) {
    rest.remove_prefix(rest.front() == '/' ? 1 : 0);
    const size_t end = std::min(rest.find('/'), rest.size());
    const std::string_view seg = rest.substr(0, end);
    rest.remove_prefix(end);
    trailing_slash = seg == "." || seg == ".." || (rest.empty() && seg.empty());
    if (seg == "..") {
      if (!segments.empty()) segments.pop_back();
    } else if (seg != ".") {
      if (!(seg.empty() && rest.empty())) segments.push_back(seg);
    }
  }
  std::string out;
  for (std::string_view seg : segments) out.append("/").append(seg);
  if (out.empty() || trailing_slash) out += '/';
  return out;
}

}  // namespace

Status SplitTarget(const std::string& target, std::string* path, QueryParams* params,
                   ParamError* bad_param) {
  auto u = boost::urls::parse_origin_form(target);
  if (!u) {
    // RFC 9112 §3.2.2: a server must accept the absolute-form as well ("GET http://host/x").
    // The authority is not checked: the server checked Host, and names nothing else.
    auto absolute = boost::urls::parse_absolute_uri(target);
    if (absolute && (absolute->scheme_id() == boost::urls::scheme::http ||
                     absolute->scheme_id() == boost::urls::scheme::https)) {
      u = absolute;
    }
  }
  if (!u) {
    if (bad_param != nullptr && FindMalformedParameter(target, bad_param)) {
      return Status::InvalidArgument(bad_param->message);
    }
    return Status::InvalidArgument("malformed request target");
  }
  // RFC 3986 §6.2.2: "/api/v1/%65vents" and "/api/v1/./events" name /api/v1/events. Routes
  // compare the normalized path (unreserved characters decoded, dot segments removed), so
  // an equivalent spelling reaches the same endpoint instead of a 404.
  *path = NormalizePath(u->encoded_path());
  params->clear();
  for (auto p : u->params()) {
    if (p.key.empty() && p.value.empty()) continue;  // "?" or "a=1&&b=2"
    if (params->size() >= 64) return Status::InvalidArgument("too many query parameters");
    params->emplace_back(std::string(p.key), std::string(p.value));
  }
  return Status::Ok();
}

bool ParamFail(ParamError* error, std::string_view parameter, std::string_view why) {
  // The name comes from the client and is echoed back: cut it, and only between UTF-8
  // sequences, so that a 1 MB name does not come back whole and a cut one is no mojibake.
  // utf8::CutLength looks at most 3 bytes back: backing off over every continuation byte
  // cut "%80%80…" to nothing, and the error then named no parameter at all.
  parameter = parameter.substr(0, utf8::CutLength(parameter, kMaxEchoedNameBytes));
  error->parameter = std::string(parameter);
  error->message = error->parameter + ": " + std::string(why);
  return false;
}

bool RejectRepeated(const QueryParams& params, ParamError* error) {
  for (size_t i = 0; i < params.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {  // at most 64 parameters (SplitTarget)
      if (params[j].first == params[i].first) {
        return ParamFail(error, params[i].first, "given more than once");
      }
    }
  }
  return true;
}

bool RejectUnknown(const QueryParams& params, std::initializer_list<std::string_view> known,
                   ParamError* error) {
  for (const auto& [name, value] : params) {
    bool ok = false;
    for (std::string_view k : known) ok = ok || name == k;
    if (ok) continue;
    std::string why = "unknown parameter (";
    if (known.size() == 0) why += "this endpoint takes none";
    for (std::string_view k : known) why.append(why.back() == '(' ? "known: " : ", ").append(k);
    return ParamFail(error, name, why + ")");
  }
  return true;
}

bool ParseEventQuery(const QueryParams& params, int64_t now_ns, EventQuery* out, ParamError* error) {
  EventQuery& q = *out;
  q = EventQuery{};
  if (!RejectRepeated(params, error)) return false;
  for (const auto& [name, value] : params) {
    if (value.size() > 1024) return ParamFail(error, name, "value too long");
    // A text filter with an empty value ("?subject=") cannot be looked up: neither the
    // in-memory index nor a part's index keeps postings for an empty field, so it matched
    // nothing, silently, though anonymous or unrouted events have exactly that value.
    // Refused, like every other parameter the query cannot answer.
    std::optional<std::string>* text = name == "subject"          ? &q.subject
                                       : name == "route"          ? &q.route
                                       : name == "method"         ? &q.method
                                       : name == "client_ip"      ? &q.client_ip
                                       : name == "correlation_id" ? &q.correlation_id
                                       : name == "trace_id"       ? &q.trace_id
                                                                  : nullptr;
    if (text != nullptr) {
      if (value.empty())
        return ParamFail(error, name, "must not be empty (leave it out to match any value)");
      *text = value;
    } else if (name == "resource") {
      auto eq = value.find('=');
      if (eq == std::string::npos || eq == 0) {
        return ParamFail(error, name, "expected name=value, e.g. order_id=42");
      }
      q.resource = {value.substr(0, eq), value.substr(eq + 1)};
    } else if (name == "status") {
      if (value.size() == 3 && (value[1] == 'x' || value[1] == 'X') && (value[2] == 'x' || value[2] == 'X') &&
          value[0] >= '1' && value[0] <= '5') {
        q.status_class = value[0] - '0';
      } else {
        auto v = ParseInt(value, "status", 100, 599);
        if (!v.ok()) return ParamFail(error, name, "expected a code like 404 or a class like 5xx");
        q.status = static_cast<int>(*v);
      }
    } else if (name == "decision") {
      if (value != "allow" && value != "deny") return ParamFail(error, name, "expected allow or deny");
      q.decision = value;
    } else if (name == "since" || name == "until") {
      auto t = ParseTimeOrAgo(value, now_ns);
      if (!t.ok()) return ParamFail(error, name, t.status().message());
      (name == "since" ? q.since_ns : q.until_ns) = *t;
    } else if (name == "limit") {
      auto v = ParseInt(value, "limit", 1, 1000);
      if (!v.ok()) return ParamFail(error, name, "expected an integer from 1 to 1000, got '" + value.substr(0, 32) + "'");
      q.limit = static_cast<uint32_t>(*v);
    } else if (name == "cursor") {
      auto c = DecodeCursor(value);
      if (!c.ok()) return ParamFail(error, name, "not a cursor returned by this API");
      q.before_seq = *c;
    } else {
      return ParamFail(error, name,
                       "unknown parameter (known: subject, route, resource, status, decision, method, "
                       "client_ip, correlation_id, trace_id, since, until, limit, cursor)");
    }
  }
  if (q.since_ns && q.until_ns && *q.since_ns > *q.until_ns) {
    return ParamFail(error, "since", "must not be after until");
  }
  return true;
}

}  // namespace apitrail
