// The header rewriting of the proxy (RFC 9110 §7.6): what the upstream receives instead of
// what the client sent, and which client address is believed. Pure functions of their
// inputs, so the rules are unit-tested without sockets; called on worker threads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "auth/identity.h"
#include "config/config.h"

namespace apitrail {

using HeaderFields = std::vector<std::pair<std::string_view, std::string_view>>;

// Header names the client may not set and credential headers that stay at the gateway,
// lower-cased, built once from the config.
struct HeaderPolicy {
  std::vector<std::string> reserved;        // identity headers we inject
  std::vector<std::string> api_key_headers;  // e.g. x-api-key (not authorization)
  static HeaderPolicy FromConfig(const Config& config);
};

struct UpstreamHeadInput {
  std::string_view method;
  std::string_view path;   // already rewritten by the route (strip_prefix)
  std::string_view query;  // without '?'
  const HeaderFields* fields = nullptr;
  std::string_view peer_ip;
  std::string_view request_id;
  std::string_view traceparent;  // the new one, for the upstream hop
  std::string_view tracestate;   // validated; empty: none
  std::string_view host;
  const Identity* identity = nullptr;
  bool chunked = false;
  std::optional<uint64_t> content_length;
  bool tls = false;  // the client connection is TLS: X-Forwarded-Proto: https
};

struct UpstreamHead {
  std::string text;              // request line + fields + CRLF CRLF
  bool expect_continue = false;  // the client sent Expect: 100-continue (not forwarded)
};

// Drops hop-by-hop fields (and those named in Connection, but Host), any client-sent
// identity, correlation and X-Forwarded-* fields, Forwarded unless the peer is a trusted
// proxy, and API key credentials; adds the correlation id,
// trace context, X-Forwarded-For/-Proto/-Host and the verified identity. A name with '_' is
// judged as if each '_' were '-' (X_Apitrail_Subject is dropped like X-Apitrail-Subject):
// CGI/WSGI-style upstreams map both spellings to the same variable.
UpstreamHead BuildUpstreamHead(const UpstreamHeadInput& in, const GatewayConfig& gateway,
                               const IdentityHeadersConfig& identity_headers,
                               const HeaderPolicy& policy);

// Copies an upstream response's fields for the client: hop-by-hop fields and those named in
// Connection are dropped — except Content-Length where `keep_content_length` (the answer to
// HEAD, or a 304), where it describes the body the client did not ask for — and the
// upstream's request id header is replaced by ours. A 204 never keeps it: RFC 9110 §8.6
// forbids Content-Length in a 204, and a client could read one as a body to wait for.
void AppendResponseFields(std::string& head, const HeaderFields& fields,
                          std::string_view request_id_header, std::string_view request_id,
                          bool keep_content_length);

// The client address to record: the peer, or, when the peer is a trusted proxy, the
// right-most X-Forwarded-For address that is not itself a trusted proxy. An element may
// carry a port (a.b.c.d:port, [v6]:port); one that is no address ends the walk.
std::string ClientIpFrom(std::string_view peer_ip, std::string_view forwarded_for,
                         const std::vector<Cidr>& trusted);
// The same over all X-Forwarded-For lines of a request, joined as FieldList does: the
// address recorded is then read from the very list BuildUpstreamHead forwards.
std::string ClientIpFrom(std::string_view peer_ip, const HeaderFields& fields,
                         const std::vector<Cidr>& trusted);

// Every value of the field `name`, in order, as one comma-separated list (RFC 9110 §5.3: a
// field sent on several lines means the same as one line joining them). Returns a view of
// the only value (no copy, the usual case) or of *storage holding the joined values; empty
// if the field is absent.
std::string_view FieldList(const HeaderFields& fields, std::string_view name, std::string* storage);

bool IsTrusted(std::string_view ip, const std::vector<Cidr>& trusted);
// RFC 9110 §7.6.1 hop-by-hop fields plus the framing fields the proxy always sets itself, and
// Proxy-Authorization / Proxy-Authenticate (meant for this proxy, never relayed).
bool IsHopByHop(std::string_view name);
// True if `name` is listed in a Connection header value ("close, X-Foo"); '_' and '-' count
// as the same character (see BuildUpstreamHead).
bool NamedInConnection(std::string_view connection, std::string_view name);
void AppendHeader(std::string& out, std::string_view name, std::string_view value);
const char* ReasonPhrase(int status);

}  // namespace apitrail
