#include "gateway/forward_headers.h"

#include <arpa/inet.h>
#include <strings.h>

#include <boost/container/small_vector.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>

#include "config/config_loader.h"

namespace apitrail {

namespace {

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

// Field names as CGI, WSGI and PHP upstreams see them: case-insensitive, and '_' the same
// as '-' (both become '_' in their variable names).
bool SameFieldName(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i] == '_' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(a[i])));
    char y = b[i] == '_' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(b[i])));
    if (x != y) return false;
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// SameFieldName's equality as an order, to sort and search names by.
bool FieldNameLess(std::string_view a, std::string_view b) {
  auto fold = [](char c) {
    return static_cast<unsigned char>(
        c == '_' ? '-' : std::tolower(static_cast<unsigned char>(c)));
  };
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(),
                                      [&](char x, char y) { return fold(x) < fold(y); });
}

// The names listed in Connection, sorted once so that each field is looked up in log time:
// max_headers and max_header_bytes allow 10,000 fields beside a list of 100,000 names, and
// NamedInConnection for every field would compare each pair (seconds per request).
class ConnectionNames {
 public:
  explicit ConnectionNames(std::string_view connection) {
    size_t pos = 0;
    while (pos < connection.size()) {
      size_t comma = connection.find(',', pos);
      if (comma == std::string_view::npos) comma = connection.size();
      std::string_view tok = Trim(connection.substr(pos, comma - pos));
      if (!tok.empty()) names_.push_back(tok);
      pos = comma + 1;
    }
    std::sort(names_.begin(), names_.end(), FieldNameLess);
  }
  bool Contains(std::string_view name) const {
    return std::binary_search(names_.begin(), names_.end(), name, FieldNameLess);
  }

 private:
  // Inline for the common lists ("keep-alive", "close, TE"): one is built for every request
  // and every upstream response.
  boost::container::small_vector<std::string_view, 8> names_;
};

bool AnySameFieldName(std::string_view name, const std::vector<std::string>& list) {
  for (const auto& n : list) {
    if (SameFieldName(name, n)) return true;
  }
  return false;
}

std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Canonical text form of an IPv4/IPv6 address, or "" if `s` is not one.
std::string CanonicalIp(std::string_view s) {
  std::string text(s);
  char out[INET6_ADDRSTRLEN];
  unsigned char buf[16];
  if (inet_pton(AF_INET, text.c_str(), buf) == 1) return inet_ntop(AF_INET, buf, out, sizeof(out));
  if (inet_pton(AF_INET6, text.c_str(), buf) == 1) return inet_ntop(AF_INET6, buf, out, sizeof(out));
  return {};
}

// The address of one X-Forwarded-For element, canonical, or "" if it names none. Besides a
// bare address, the forms proxies write with the client's port: a.b.c.d:port (Azure
// Application Gateway, IIS ARR) and the RFC 7239 §6 node forms [v6] and [v6]:port.
std::string ForwardedForAddress(std::string_view s) {
  std::string_view port;
  bool has_port = false;
  if (!s.empty() && s.front() == '[') {
    size_t close = s.find(']');
    if (close == std::string_view::npos) return {};
    std::string_view after = s.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return {};
      port = after.substr(1);
      has_port = true;
    }
    s = s.substr(1, close - 1);
    if (s.find(':') == std::string_view::npos) return {};  // brackets hold IPv6 only
  } else if (size_t colon = s.find(':');
             colon != std::string_view::npos && colon == s.rfind(':')) {
    // One ':' cannot be IPv6 (which has at least two): an IPv4 address and a port.
    port = s.substr(colon + 1);
    has_port = true;
    s = s.substr(0, colon);
  }
  if (has_port) {
    uint16_t number = 0;
    auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), number);
    if (port.empty() || ec != std::errc() || ptr != port.data() + port.size()) return {};
  }
  return CanonicalIp(s);
}

}  // namespace

HeaderPolicy HeaderPolicy::FromConfig(const Config& config) {
  HeaderPolicy p;
  const auto& ih = config.auth.identity_headers;
  for (const auto& h : {ih.subject, ih.auth_method, ih.scopes, ih.roles, ih.tenant}) {
    if (!h.empty()) p.reserved.push_back(Lower(h));
  }
  for (const auto& h : config.auth.api_keys.headers) {
    if (!h.empty() && Lower(h) != "authorization") p.api_key_headers.push_back(Lower(h));
  }
  return p;
}

bool IsHopByHop(std::string_view name) {
  // Proxy-Authorization is the client's credential for this proxy (RFC 9110 §11.7.2; hop-by-hop
  // in RFC 2616 §13.5.1, as Go's ReverseProxy still treats it): relayed, it handed the upstream
  // a password meant for someone else. Proxy-Authenticate is its challenge.
  static const std::string_view kNames[] = {"connection", "keep-alive", "proxy-connection",
                                            "te", "trailer", "transfer-encoding", "upgrade",
                                            "content-length", "proxy-authorization",
                                            "proxy-authenticate"};
  for (auto n : kNames) {
    if (IEquals(name, n)) return true;
  }
  return false;
}

bool NamedInConnection(std::string_view connection, std::string_view name) {
  size_t pos = 0;
  while (pos < connection.size()) {
    size_t comma = connection.find(',', pos);
    if (comma == std::string_view::npos) comma = connection.size();
    std::string_view tok = Trim(connection.substr(pos, comma - pos));
    if (!tok.empty() && SameFieldName(tok, name)) return true;
    pos = comma + 1;
  }
  return false;
}

void AppendHeader(std::string& out, std::string_view name, std::string_view value) {
  // One size change and three copies instead of four appends (a head has a dozen lines).
  const size_t at = out.size();
  out.resize(at + name.size() + value.size() + 4);
  char* p = out.data() + at;
  // memcpy with a null source is undefined even for 0 bytes, and an empty string_view may
  // hold one (UBSan flagged it).
  if (!name.empty()) std::memcpy(p, name.data(), name.size());
  p += name.size();
  *p++ = ':';
  *p++ = ' ';
  if (!value.empty()) std::memcpy(p, value.data(), value.size());
  p += value.size();
  *p++ = '\r';
  *p = '\n';
}

const char* ReasonPhrase(int status) {
  switch (status) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Error";
  }
}

bool IsTrusted(std::string_view ip, const std::vector<Cidr>& trusted) { return AnyCidrContains(trusted, ip); }

std::string_view FieldList(const HeaderFields& fields, std::string_view name, std::string* storage) {
  std::string_view first;
  int count = 0;
  for (const auto& [n, v] : fields) {
    if (!IEquals(n, name)) continue;
    if (++count == 1) {
      first = v;
      continue;
    }
    if (count == 2) storage->assign(first);
    storage->append(", ").append(v);
  }
  return count > 1 ? std::string_view(*storage) : first;
}

std::string ClientIpFrom(std::string_view peer_ip, const HeaderFields& fields,
                         const std::vector<Cidr>& trusted) {
  if (trusted.empty()) return std::string(peer_ip);  // the header is not read at all
  std::string storage;
  return ClientIpFrom(peer_ip, FieldList(fields, "x-forwarded-for", &storage), trusted);
}

std::string ClientIpFrom(std::string_view peer_ip, std::string_view forwarded_for,
                         const std::vector<Cidr>& trusted) {
  if (forwarded_for.empty() || trusted.empty() || !IsTrusted(peer_ip, trusted)) {
    return std::string(peer_ip);
  }
  // Walk X-Forwarded-For from the right: the first address not of a trusted proxy is the
  // client. Anything left of it was written by the client and cannot be believed.
  std::string candidate(peer_ip);
  size_t end = forwarded_for.size();
  while (end > 0) {
    size_t comma = forwarded_for.rfind(',', end - 1);
    size_t begin = comma == std::string_view::npos ? 0 : comma + 1;
    std::string_view element = Trim(forwarded_for.substr(begin, end - begin));
    // RFC 9110 §5.6.1: empty list elements are ignored (an empty line joined by FieldList
    // leaves one).
    if (!element.empty()) {
      std::string ip = ForwardedForAddress(element);
      if (ip.empty()) break;  // garbage: stop at the last address we could trust
      candidate = ip;
      if (!IsTrusted(candidate, trusted)) return candidate;
    }
    if (comma == std::string_view::npos) break;
    end = comma;
  }
  return candidate;
}

void AppendResponseFields(std::string& head, const HeaderFields& fields,
                          std::string_view request_id_header, std::string_view request_id,
                          bool keep_content_length) {
  std::string connection_storage;
  const ConnectionNames connection(FieldList(fields, "connection", &connection_storage));
  for (const auto& [name, value] : fields) {
    if (IsHopByHop(name) || connection.Contains(name)) {
      if (keep_content_length && IEquals(name, "content-length")) AppendHeader(head, name, value);
      continue;
    }
    if (IEquals(name, request_id_header)) continue;
    AppendHeader(head, name, value);
  }
  AppendHeader(head, request_id_header, request_id);
}

UpstreamHead BuildUpstreamHead(const UpstreamHeadInput& in, const GatewayConfig& gw,
                               const IdentityHeadersConfig& ih, const HeaderPolicy& policy) {
  UpstreamHead out;
  std::string& head = out.text;
  head.reserve(1024);
  head.append(in.method).append(" ").append(in.path);
  if (!in.query.empty()) head.append("?").append(in.query);
  head.append(" HTTP/1.1\r\n");
  // Connection and X-Forwarded-For as lists over all their lines (a client could otherwise
  // hide a hop-by-hop name, or an address, on a line the proxy does not read).
  std::string connection_storage, xff_storage;
  const ConnectionNames connection(FieldList(*in.fields, "connection", &connection_storage));
  std::string_view xff = FieldList(*in.fields, "x-forwarded-for", &xff_storage);
  std::string xfp_storage;
  std::string_view xfp = Trim(FieldList(*in.fields, "x-forwarded-proto", &xfp_storage));
  const bool api_key = in.identity != nullptr && in.identity->auth_method == "api_key";
  const bool trusted_peer = IsTrusted(in.peer_ip, gw.trusted_proxies);
  std::string dashed;
  bool host_sent = false;
  for (const auto& [name, value] : *in.fields) {
    // CGI, WSGI and PHP map '-' and '_' alike: X_Apitrail_Subject would reach such an
    // upstream as the identity header we set. So every check below sees '_' as '-' (n is
    // the name spelled with '-' for the fixed names, SameFieldName compares configured
    // ones): a name is dropped wherever its '-' spelling would be.
    std::string_view n = name;
    if (name.find('_') != std::string_view::npos) {
      dashed.assign(name);
      for (auto& c : dashed) c = c == '_' ? '-' : c;
      n = dashed;
    }
    // Host is for every recipient and an HTTP/1.1 request needs it (RFC 9112 §3.2): naming
    // it in Connection would leave the upstream an empty one, unlike the Host recorded.
    if (IsHopByHop(n) || (connection.Contains(n) && !IEquals(n, "host"))) continue;
    if (IEquals(n, "expect")) {
      out.expect_continue = IEquals(value, "100-continue");
      continue;
    }
    if (SameFieldName(n, gw.request_id_header) || IEquals(n, "traceparent") ||
        IEquals(n, "tracestate") || IEquals(n, "x-forwarded-for") ||
        IEquals(n, "x-forwarded-proto") || IEquals(n, "x-forwarded-host")) {
      continue;
    }
    // RFC 7239 Forwarded says the same as X-Forwarded-*, and some upstreams read it first:
    // believed, like X-Forwarded-For, only from a trusted proxy.
    if (IEquals(n, "forwarded") && !trusted_peer) continue;
    if (AnySameFieldName(n, policy.reserved) ||
        (n.size() >= 11 && IEquals(n.substr(0, 11), "x-apitrail-"))) {
      continue;
    }
    // API keys stay at the gateway: the upstream gets the verified identity instead.
    if (api_key && (IEquals(n, "authorization") || AnySameFieldName(n, policy.api_key_headers))) {
      continue;
    }
    if (IEquals(n, "host")) host_sent = true;
    AppendHeader(head, name, value);
  }
  // RFC 9112 §3.2: every HTTP/1.1 request carries Host; an HTTP/1.0 client may have sent none,
  // and then its target has no authority: the field is sent empty.
  if (!host_sent) AppendHeader(head, "Host", "");
  AppendHeader(head, gw.request_id_header, in.request_id);
  AppendHeader(head, "traceparent", in.traceparent);
  if (!in.tracestate.empty()) AppendHeader(head, "tracestate", in.tracestate);
  if (gw.add_forwarded_headers) {
    // Each field of a trusted proxy on its own: a TLS-terminating balancer may send only
    // X-Forwarded-Proto.
    if (trusted_peer && !xff.empty()) {
      AppendHeader(head, "X-Forwarded-For", std::string(xff) + ", " + std::string(in.peer_ip));
    } else {
      AppendHeader(head, "X-Forwarded-For", in.peer_ip);
    }
    // A trusted proxy's scheme only when it is one: upstreams build redirects and cookie
    // flags from it, and a list or anything else ("https, http", "javascript") was passed on.
    std::string_view proto = in.tls ? "https" : "http";
    if (trusted_peer && IEquals(xfp, "https")) proto = "https";
    if (trusted_peer && IEquals(xfp, "http")) proto = "http";
    AppendHeader(head, "X-Forwarded-Proto", proto);
    if (!in.host.empty()) AppendHeader(head, "X-Forwarded-Host", in.host);
  }
  if (in.identity != nullptr) {
    if (!ih.subject.empty()) AppendHeader(head, ih.subject, in.identity->subject);
    if (!ih.auth_method.empty()) AppendHeader(head, ih.auth_method, in.identity->auth_method);
    if (!ih.scopes.empty() && !in.identity->scopes.empty()) {
      std::string joined;
      for (const auto& s : in.identity->scopes) joined.append(joined.empty() ? "" : " ").append(s);
      AppendHeader(head, ih.scopes, joined);
    }
    if (!ih.roles.empty() && !in.identity->roles.empty()) {
      std::string joined;
      for (const auto& r : in.identity->roles) joined.append(joined.empty() ? "" : " ").append(r);
      AppendHeader(head, ih.roles, joined);
    }
    if (!ih.tenant.empty() && !in.identity->tenant.empty()) {
      AppendHeader(head, ih.tenant, in.identity->tenant);
    }
  }
  if (in.chunked) {
    AppendHeader(head, "Transfer-Encoding", "chunked");
  } else if (in.content_length) {
    AppendHeader(head, "Content-Length", std::to_string(*in.content_length));
  }
  head.append("\r\n");
  return out;
}

}  // namespace apitrail
