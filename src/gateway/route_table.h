// RouteTable: maps (method, path) to a configured route, built once from a validated
// Config. Immutable after Create(): share one instance (e.g. shared_ptr<const RouteTable>)
// across all workers; every const method is thread-safe and takes no lock.
//
// Matching (docs/CONFIG.md, "Route precedence"): the path is walked segment by segment
// through a trie, trying at each level a literal segment first, then a {param}, then a
// "/**" prefix ending there. The first route, in that order, whose method matches wins;
// at one node an exact method beats "*". So literal beats param beats "/**", and a longer
// "/**" prefix beats a shorter one. Literal segments are compared against the percent-
// decoded request segment ("/v1/%75sers" matches "/v1/users"); a {param} matches exactly
// one non-empty segment; "/**" matches zero or more remaining segments. A trailing '/'
// is an extra empty segment: "/v1/users/42/" does not match "/v1/users/{user_id}".
// Paths should have passed CheckRequestTarget (path_check.h) first.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "core/event.h"
#include "core/status.h"

namespace apitrail {

struct RouteMatch {
  size_t route_index = 0;     // into Config::routes
  size_t upstream_index = 0;  // into Config::upstreams
  // "GET /v1/orders/{order_id}": the match as written, normalised to one space. Points
  // into the table; valid as long as the RouteTable lives.
  std::string_view route_template;
  // Path parameters, percent-decoded, in pattern order: {"order_id", "42"}. A parameter
  // whose name is a secret's under the redaction rules ({token}, {api_key}: a reset link's
  // token) has the value "[REDACTED]".
  KeyValues resources;
  // The path to record when a secret parameter is in it: `path` with that segment
  // "[REDACTED]". Empty when the path may be recorded as sent.
  std::string recorded_path;
  // The path to send upstream: `path` itself, or for a "/**" route with strip_prefix the
  // rest of it after the stripped segments ("/" when nothing is left). Views either the
  // `path` passed to Match() or static storage: valid as long as that path's buffer.
  std::string_view upstream_path;
  bool sensitive = false;
};

class RouteTable {
 public:
  // Builds the trie. Fails (InvalidArgument, naming routes[i]) only for a Config that did
  // not pass ValidateConfig: a bad match, unknown upstream or bad strip_prefix.
  static Result<std::unique_ptr<RouteTable>> Create(const Config& config);

  RouteTable(const RouteTable&) = delete;
  RouteTable& operator=(const RouteTable&) = delete;

  // The route for this request, or nullopt. `method` is compared case-sensitively; `path`
  // is the raw path without the query. A miss allocates nothing.
  std::optional<RouteMatch> Match(std::string_view method, std::string_view path) const;

  // Methods of the routes whose path matches (any method), sorted, without duplicates;
  // contains "*" if an any-method route matches. Empty when no route's path matches. For
  // answering 405 with Allow after Match() missed. Allocates; not for the hot path.
  std::vector<std::string> AllowedMethods(std::string_view path) const;

  // Index into Config::upstreams of gateway.default_upstream when gateway.unmatched is
  // "pass", otherwise nullopt (unmatched requests are rejected).
  std::optional<size_t> default_upstream_index() const { return default_upstream_; }

  size_t route_count() const { return routes_.size(); }

 private:
  struct RouteInfo {
    std::string route_template;
    std::vector<std::string> param_names;  // in pattern order
    std::vector<bool> secret_params;        // per param: its name is a secret's (Redactor)
    size_t upstream = 0;
    size_t strip_segments = 0;  // leading path segments removed before forwarding
    bool prefix = false;
    bool sensitive = false;
  };
  struct Endpoints {
    std::vector<std::pair<std::string, uint32_t>> exact;  // (method, route)
    int32_t any = -1;                                     // the "*" route, or -1
    bool empty() const { return exact.empty() && any < 0; }
  };
  struct Node {
    std::vector<std::pair<std::string, uint32_t>> literals;  // sorted (segment, node)
    int32_t param = -1;                                      // child node for {name}
    Endpoints terminal;                                      // routes ending here
    Endpoints prefix;                                        // "/**" routes ending here
  };
  struct Captures;
  struct Hit;

  RouteTable() = default;
  int32_t FindLiteral(const Node& node, std::string_view raw_segment) const;
  bool Search(uint32_t node, std::string_view rest, std::string_view method, Captures* caps,
              Hit* hit) const;
  void CollectMethods(uint32_t node, std::string_view rest, std::vector<std::string>* out) const;

  std::vector<Node> nodes_;  // nodes_[0] is the root ("/")
  std::vector<RouteInfo> routes_;
  std::optional<size_t> default_upstream_;
};

}  // namespace apitrail
