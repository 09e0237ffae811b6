#include "gateway/route_table.h"

#include <algorithm>

#include "config/route_pattern.h"
#include "core/crypto_util.h"
#include "gateway/path_check.h"
#include "gateway/redaction.h"

namespace apitrail {

// Raw (still encoded) values of the {params} on the current trie walk. Fixed size so a
// lookup never allocates; validation caps params per route at kMaxRouteParams.
struct RouteTable::Captures {
  std::string_view values[kMaxRouteParams];
  size_t count = 0;
};

struct RouteTable::Hit {
  uint32_t route = 0;  // index into routes_
};

namespace {

// Three-way compare of the percent-decoded bytes of `raw` with `literal`, as unsigned
// bytes (the order std::string uses), without decoding into a buffer.
int CompareDecoded(std::string_view raw, std::string_view literal) {
  // Without a '%' the raw bytes are the decoded bytes (string_view compares as unsigned char).
  if (raw.find('%') == std::string_view::npos) {
    const int c = raw.compare(literal);
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  size_t i = 0, j = 0;
  while (i < raw.size() && j < literal.size()) {
    unsigned char c = static_cast<unsigned char>(raw[i]);
    if (c == '%' && i + 2 < raw.size() && HexDigitValue(raw[i + 1]) >= 0 &&
        HexDigitValue(raw[i + 2]) >= 0) {
      c = static_cast<unsigned char>(HexDigitValue(raw[i + 1]) * 16 + HexDigitValue(raw[i + 2]));
      i += 3;
    } else {
      ++i;
    }
    unsigned char l = static_cast<unsigned char>(literal[j++]);
    if (c != l) return c < l ? -1 : 1;
  }
  if (i < raw.size()) return 1;
  if (j < literal.size()) return -1;
  return 0;
}

// Splits "/seg/rest..." into "seg" and "/rest..." (empty when seg is the last one).
void NextSegment(std::string_view rest, std::string_view* seg, std::string_view* after) {
  size_t slash = rest.find('/', 1);
  if (slash == std::string_view::npos) {
    *seg = rest.substr(1);
    *after = std::string_view();
  } else {
    *seg = rest.substr(1, slash - 1);
    *after = rest.substr(slash);
  }
}

}  // namespace

Result<std::unique_ptr<RouteTable>> RouteTable::Create(const Config& config) {
  std::unique_ptr<RouteTable> table(new RouteTable());
  table->nodes_.emplace_back();
  const Redactor redactor(config.redaction);
  for (size_t i = 0; i < config.routes.size(); ++i) {
    const RouteConfig& rc = config.routes[i];
    const std::string where = "routes[" + std::to_string(i) + "]";
    std::string match = rc.match.empty() ? rc.method + " " + rc.pattern : rc.match;
    RoutePattern pattern;
    std::string error;
    if (!ParseRouteMatch(match, &pattern, &error)) {
      return Status::InvalidArgument(where + ".match: " + error);
    }
    RouteInfo info;
    info.route_template = pattern.Template();
    info.prefix = pattern.prefix;
    info.sensitive = rc.sensitive;
    if (!ParseStripPrefix(pattern, rc.strip_prefix, &info.strip_segments, &error)) {
      return Status::InvalidArgument(where + ".strip_prefix: " + error);
    }
    auto up = std::find_if(config.upstreams.begin(), config.upstreams.end(),
                           [&](const UpstreamConfig& u) { return u.name == rc.upstream; });
    if (up == config.upstreams.end()) {
      return Status::InvalidArgument(where + ".upstream: unknown upstream '" + rc.upstream + "'");
    }
    info.upstream = static_cast<size_t>(up - config.upstreams.begin());

    uint32_t node = 0;  // indices, not references: nodes_ grows while we insert
    for (const RoutePattern::Segment& seg : pattern.segments) {
      if (seg.kind == RoutePattern::SegmentKind::kParam) {
        info.param_names.push_back(seg.text);
        info.secret_params.push_back(redactor.IsSecretName(seg.text));
        if (table->nodes_[node].param < 0) {
          table->nodes_[node].param = static_cast<int32_t>(table->nodes_.size());
          table->nodes_.emplace_back();
        }
        node = static_cast<uint32_t>(table->nodes_[node].param);
        continue;
      }
      auto& lits = table->nodes_[node].literals;
      auto it = std::find_if(lits.begin(), lits.end(),
                             [&](const auto& l) { return l.first == seg.text; });
      if (it != lits.end()) {
        node = it->second;
      } else {
        uint32_t child = static_cast<uint32_t>(table->nodes_.size());
        lits.emplace_back(seg.text, child);
        table->nodes_.emplace_back();
        node = child;
      }
    }
    Endpoints& ep = pattern.prefix ? table->nodes_[node].prefix : table->nodes_[node].terminal;
    const uint32_t route = static_cast<uint32_t>(i);
    bool duplicate = false;
    if (pattern.method == "*") {
      duplicate = ep.any >= 0;
      ep.any = static_cast<int32_t>(route);
    } else {
      duplicate = std::any_of(ep.exact.begin(), ep.exact.end(),
                              [&](const auto& e) { return e.first == pattern.method; });
      ep.exact.emplace_back(pattern.method, route);
    }
    if (duplicate) {
      return Status::InvalidArgument(where + ".match: same method and path as an earlier route");
    }
    table->routes_.push_back(std::move(info));
  }
  for (Node& n : table->nodes_) std::sort(n.literals.begin(), n.literals.end());

  const GatewayConfig& g = config.gateway;
  if (g.unmatched == "pass") {
    auto up = std::find_if(config.upstreams.begin(), config.upstreams.end(),
                           [&](const UpstreamConfig& u) { return u.name == g.default_upstream; });
    if (up == config.upstreams.end()) {
      return Status::InvalidArgument("gateway.default_upstream: unknown upstream '" +
                                     g.default_upstream + "'");
    }
    table->default_upstream_ = static_cast<size_t>(up - config.upstreams.begin());
  }
  return table;
}

int32_t RouteTable::FindLiteral(const Node& node, std::string_view raw_segment) const {
  auto it = std::lower_bound(
      node.literals.begin(), node.literals.end(), raw_segment,
      [](const auto& lit, std::string_view raw) { return CompareDecoded(raw, lit.first) > 0; });
  if (it != node.literals.end() && CompareDecoded(raw_segment, it->first) == 0) {
    return static_cast<int32_t>(it->second);
  }
  return -1;
}

namespace {

int32_t Pick(const std::vector<std::pair<std::string, uint32_t>>& exact, int32_t any,
             std::string_view method) {
  for (const auto& [m, route] : exact) {
    if (m == method) return static_cast<int32_t>(route);
  }
  return any;
}

}  // namespace

// Depth-first in precedence order; `caps` holds the params of the current branch and is
// left as-is on success. Depth is bounded by the longest pattern (kMaxRouteSegments).
bool RouteTable::Search(uint32_t node_index, std::string_view rest, std::string_view method,
                        Captures* caps, Hit* hit) const {
  const Node& node = nodes_[node_index];
  if (rest.empty()) {
    int32_t r = Pick(node.terminal.exact, node.terminal.any, method);
    if (r >= 0) {
      hit->route = static_cast<uint32_t>(r);
      return true;
    }
  } else {
    std::string_view seg, after;
    NextSegment(rest, &seg, &after);
    if (!seg.empty()) {
      int32_t child = FindLiteral(node, seg);
      if (child >= 0 && Search(static_cast<uint32_t>(child), after, method, caps, hit)) {
        return true;
      }
      if (node.param >= 0 && caps->count < kMaxRouteParams) {
        caps->values[caps->count++] = seg;
        if (Search(static_cast<uint32_t>(node.param), after, method, caps, hit)) return true;
        --caps->count;
      }
    }
  }
  int32_t r = Pick(node.prefix.exact, node.prefix.any, method);
  if (r >= 0) {
    hit->route = static_cast<uint32_t>(r);
    return true;
  }
  return false;
}

std::optional<RouteMatch> RouteTable::Match(std::string_view method,
                                            std::string_view path) const {
  std::string_view rest = (path.empty() || path == "/") ? std::string_view() : path;
  Captures caps;
  Hit hit;
  if (!Search(0, rest, method, &caps, &hit)) return std::nullopt;

  const RouteInfo& info = routes_[hit.route];
  RouteMatch m;
  m.route_index = hit.route;
  m.upstream_index = info.upstream;
  m.route_template = info.route_template;
  m.sensitive = info.sensitive;
  m.resources.reserve(caps.count);
  size_t copied = 0;  // path bytes already in recorded_path, once a secret was met
  for (size_t i = 0; i < caps.count && i < info.param_names.size(); ++i) {
    if (!info.secret_params[i]) {
      m.resources.emplace_back(info.param_names[i], PercentDecode(caps.values[i], false));
      continue;
    }
    m.resources.emplace_back(info.param_names[i], std::string(Redactor::kRedacted));
    // Captures view `path` in order, each a whole segment.
    const size_t at = static_cast<size_t>(caps.values[i].data() - path.data());
    m.recorded_path.append(path.substr(copied, at - copied)).append(Redactor::kRedacted);
    copied = at + caps.values[i].size();
  }
  if (copied > 0) m.recorded_path.append(path.substr(copied));
  m.upstream_path = path.empty() ? std::string_view("/") : path;
  if (info.strip_segments > 0) {
    size_t pos = 0;
    for (size_t k = 0; k < info.strip_segments && pos < path.size(); ++k) {
      size_t next = path.find('/', pos + 1);
      pos = next == std::string_view::npos ? path.size() : next;
    }
    std::string_view stripped = path.substr(pos);
    m.upstream_path = stripped.empty() ? std::string_view("/") : stripped;
  }
  return m;
}

void RouteTable::CollectMethods(uint32_t node_index, std::string_view rest,
                                std::vector<std::string>* out) const {
  const Node& node = nodes_[node_index];
  auto add = [out](const Endpoints& ep) {
    for (const auto& e : ep.exact) out->push_back(e.first);
    if (ep.any >= 0) out->push_back("*");
  };
  if (rest.empty()) {
    add(node.terminal);
  } else {
    std::string_view seg, after;
    NextSegment(rest, &seg, &after);
    if (!seg.empty()) {
      int32_t child = FindLiteral(node, seg);
      if (child >= 0) CollectMethods(static_cast<uint32_t>(child), after, out);
      if (node.param >= 0) CollectMethods(static_cast<uint32_t>(node.param), after, out);
    }
  }
  add(node.prefix);
}

std::vector<std::string> RouteTable::AllowedMethods(std::string_view path) const {
  std::vector<std::string> out;
  CollectMethods(0, (path.empty() || path == "/") ? std::string_view() : path, &out);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace apitrail
