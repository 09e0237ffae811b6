// LoadConfigFile / LoadConfigString: YAML → Config (config.h), then ValidateConfig.
// yaml-cpp reports syntax errors by exception; they are caught here and become one
// ConfigError carrying the YAML line. Nothing escapes to callers.
#include "config/config_loader.h"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "config/yaml_fields.h"

namespace apitrail {
namespace {

using config_internal::LineSuffix;
using config_internal::ReadContext;
using config_internal::ReadList;
using config_internal::Secret;
using config_internal::YamlMap;

std::string Index(const std::string& path, size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

void ReadGateway(ReadContext* ctx, const YAML::Node& node, GatewayConfig* g) {
  YamlMap m(ctx, node, "gateway",
            {"listen", "workers", "max_header_bytes", "max_headers", "max_body_bytes",
             "header_timeout_ms", "idle_timeout_ms", "body_timeout_ms",
             "upstream_connect_timeout_ms", "upstream_response_timeout_ms", "drain_timeout_ms",
             "max_connections", "trusted_proxies", "unmatched", "default_upstream",
             "request_id_header", "add_forwarded_headers", "tls"});
  m.HostPortField("listen", &g->listen);
  m.Int("workers", &g->workers);
  m.Int("max_header_bytes", &g->max_header_bytes);
  m.Int("max_headers", &g->max_headers);
  m.Int("max_body_bytes", &g->max_body_bytes);
  m.Int("header_timeout_ms", &g->header_timeout_ms);
  m.Int("idle_timeout_ms", &g->idle_timeout_ms);
  m.Int("body_timeout_ms", &g->body_timeout_ms);
  m.Int("upstream_connect_timeout_ms", &g->upstream_connect_timeout_ms);
  m.Int("upstream_response_timeout_ms", &g->upstream_response_timeout_ms);
  m.Int("drain_timeout_ms", &g->drain_timeout_ms);
  m.Int("max_connections", &g->max_connections);
  std::vector<std::string> proxies;
  m.StringList("trusted_proxies", &proxies);
  YAML::Node proxies_node = m.Get("trusted_proxies");
  for (size_t i = 0; i < proxies.size(); ++i) {
    Cidr cidr;
    std::string error;
    if (ParseCidr(proxies[i], &cidr, &error)) {
      g->trusted_proxies.push_back(cidr);
    } else {
      ctx->Error(Index("gateway.trusted_proxies", i), proxies_node[i], error);
    }
  }
  m.String("unmatched", &g->unmatched);
  m.String("default_upstream", &g->default_upstream);
  m.String("request_id_header", &g->request_id_header);
  m.Bool("add_forwarded_headers", &g->add_forwarded_headers);
  YamlMap t(ctx, m.Get("tls"), "gateway.tls",
            {"cert_file", "key_file", "min_version", "client_ca_file", "client_auth"});
  t.String("cert_file", &g->tls.cert_file);
  t.String("key_file", &g->tls.key_file);
  t.String("min_version", &g->tls.min_version);
  t.String("client_ca_file", &g->tls.client_ca_file);
  t.String("client_auth", &g->tls.client_auth);
  // TLS is on when a certificate is named; a gateway.tls map without one (a min_version
  // written before the files exist, or {}) would otherwise leave the listener plain HTTP.
  // Client-certificate settings without one get validation's own error.
  if (t.is_map() && g->tls.cert_file.empty() && g->tls.key_file.empty() &&
      g->tls.client_ca_file.empty() && g->tls.client_auth == "none") {
    ctx->Error("gateway.tls.cert_file", m.Get("tls"),
               "required when gateway.tls is set (remove gateway.tls for plain HTTP)");
  }
}

void ReadUpstreams(ReadContext* ctx, const YAML::Node& node, std::vector<UpstreamConfig>* out) {
  std::vector<YAML::Node> items = ReadList(ctx, node, "upstreams");
  for (size_t i = 0; i < items.size(); ++i) {
    YamlMap m(ctx, items[i], Index("upstreams", i),
              {"name", "address", "max_idle_connections", "tls"});
    UpstreamConfig u;
    m.String("name", &u.name);
    u.address.port = 0;  // no default address: validation reports a missing one
    m.HostPortField("address", &u.address);
    m.Int("max_idle_connections", &u.max_idle_connections);
    YAML::Node tls = m.Get("tls");
    u.tls.enabled = tls.IsDefined() && !tls.IsNull();
    YamlMap t(ctx, tls, Index("upstreams", i) + ".tls", {"ca_file", "server_name", "verify"});
    t.String("ca_file", &u.tls.ca_file);
    t.String("server_name", &u.tls.server_name);
    t.Bool("verify", &u.tls.verify);
    out->push_back(std::move(u));
  }
}

void ReadRoutes(ReadContext* ctx, const YAML::Node& node, std::vector<RouteConfig>* out) {
  std::vector<YAML::Node> items = ReadList(ctx, node, "routes");
  for (size_t i = 0; i < items.size(); ++i) {
    YamlMap m(ctx, items[i], Index("routes", i),
              {"match", "upstream", "sensitive", "strip_prefix", "scopes", "roles"});
    RouteConfig r;
    m.String("match", &r.match);
    m.String("upstream", &r.upstream);
    m.Bool("sensitive", &r.sensitive);
    m.String("strip_prefix", &r.strip_prefix);
    m.StringList("scopes", &r.scopes);
    m.StringList("roles", &r.roles);
    out->push_back(std::move(r));
  }
}

void ReadAuth(ReadContext* ctx, const YAML::Node& node, AuthConfig* a) {
  YamlMap m(ctx, node, "auth",
            {"api_keys", "mtls", "jwt", "introspection", "identity_headers", "realm",
             "failure_limit"});
  YamlMap mt(ctx, m.Get("mtls"), "auth.mtls", {"enabled", "subject_from"});
  mt.Bool("enabled", &a->mtls.enabled);
  mt.StringList("subject_from", &a->mtls.subject_from);
  YamlMap keys(ctx, m.Get("api_keys"), "auth.api_keys", {"enabled", "file", "headers"});
  keys.Bool("enabled", &a->api_keys.enabled);
  keys.String("file", &a->api_keys.file);
  keys.StringList("headers", &a->api_keys.headers);
  std::vector<YAML::Node> jwts = ReadList(ctx, m.Get("jwt"), "auth.jwt");
  for (size_t i = 0; i < jwts.size(); ++i) {
    YamlMap j(ctx, jwts[i], Index("auth.jwt", i),
              {"issuer", "audiences", "algorithms", "key_file", "jwks_file", "secret",
               "secret_file", "subject_claim", "leeway_s", "max_token_bytes", "required_claims",
               "jwks_url", "discovery", "ca_file", "allow_insecure_http", "fetch_timeout_ms",
               "max_jwks_bytes", "jwks_refresh_min_interval_ms", "jwks_max_age_min_ms",
               "jwks_max_age_max_ms", "roles_claim", "tenant_claim", "allow_any_audience",
               "require_exp"});
    JwtIssuerConfig c;
    j.String("issuer", &c.issuer);
    j.StringList("audiences", &c.audiences);
    j.Bool("allow_any_audience", &c.allow_any_audience);
    j.StringList("algorithms", &c.algorithms);
    j.String("key_file", &c.key_file);
    j.String("jwks_file", &c.jwks_file);
    j.String("secret", &c.secret, Secret::kYes);
    j.String("secret_file", &c.secret_file);
    j.String("subject_claim", &c.subject_claim);
    j.String("roles_claim", &c.roles_claim);
    j.String("tenant_claim", &c.tenant_claim);
    j.Int("leeway_s", &c.leeway_s);
    j.Bool("require_exp", &c.require_exp);
    j.Int("max_token_bytes", &c.max_token_bytes);
    j.StringList("required_claims", &c.required_claims);
    j.String("jwks_url", &c.jwks_url);
    j.Bool("discovery", &c.discovery);
    j.String("ca_file", &c.ca_file);
    j.Bool("allow_insecure_http", &c.allow_insecure_http);
    j.Int("fetch_timeout_ms", &c.fetch_timeout_ms);
    j.Int("max_jwks_bytes", &c.max_jwks_bytes);
    j.Int("jwks_refresh_min_interval_ms", &c.jwks_refresh_min_interval_ms);
    j.Int("jwks_max_age_min_ms", &c.jwks_max_age_min_ms);
    j.Int("jwks_max_age_max_ms", &c.jwks_max_age_max_ms);
    a->jwt.push_back(std::move(c));
  }
  YamlMap in(ctx, m.Get("introspection"), "auth.introspection",
             {"endpoint", "client_id", "client_secret", "client_secret_file", "client_auth",
              "tokens", "issuer", "subject_claims", "audiences", "ca_file", "allow_insecure_http",
              "timeout_ms", "max_response_bytes", "max_token_bytes", "cache_max_ttl_ms",
              "negative_cache_ms", "max_concurrent", "cache_capacity", "roles_claim",
              "tenant_claim", "require_token_type"});
  IntrospectionConfig& ic = a->introspection;
  in.String("endpoint", &ic.endpoint);
  in.String("client_id", &ic.client_id);
  in.String("client_secret", &ic.client_secret, Secret::kYes);
  in.String("client_secret_file", &ic.client_secret_file);
  in.String("client_auth", &ic.client_auth);
  in.String("tokens", &ic.tokens);
  in.String("issuer", &ic.issuer);
  in.StringList("subject_claims", &ic.subject_claims);
  in.StringList("audiences", &ic.audiences);
  in.String("roles_claim", &ic.roles_claim);
  in.String("tenant_claim", &ic.tenant_claim);
  in.String("ca_file", &ic.ca_file);
  in.Bool("allow_insecure_http", &ic.allow_insecure_http);
  in.Bool("require_token_type", &ic.require_token_type);
  in.Int("timeout_ms", &ic.timeout_ms);
  in.Int("max_response_bytes", &ic.max_response_bytes);
  in.Int("max_token_bytes", &ic.max_token_bytes);
  in.Int("cache_max_ttl_ms", &ic.cache_max_ttl_ms);
  in.Int("negative_cache_ms", &ic.negative_cache_ms);
  in.Int("max_concurrent", &ic.max_concurrent);
  in.Int("cache_capacity", &ic.cache_capacity);
  YamlMap ih(ctx, m.Get("identity_headers"), "auth.identity_headers",
             {"subject", "auth_method", "scopes", "roles", "tenant"});
  ih.String("subject", &a->identity_headers.subject);
  ih.String("auth_method", &a->identity_headers.auth_method);
  ih.String("scopes", &a->identity_headers.scopes);
  ih.String("roles", &a->identity_headers.roles);
  ih.String("tenant", &a->identity_headers.tenant);
  m.String("realm", &a->realm);
  YamlMap fl(ctx, m.Get("failure_limit"), "auth.failure_limit",
             {"enabled", "max_failures", "window_s", "block_s", "max_tracked", "ipv6_prefix_len"});
  fl.Bool("enabled", &a->failure_limit.enabled);
  fl.Int("max_failures", &a->failure_limit.max_failures);
  fl.Int("window_s", &a->failure_limit.window_s);
  fl.Int("block_s", &a->failure_limit.block_s);
  fl.Int("max_tracked", &a->failure_limit.max_tracked);
  fl.Int("ipv6_prefix_len", &a->failure_limit.ipv6_prefix_len);
}

void ReadCheckpoints(ReadContext* ctx, const YAML::Node& node, CheckpointConfig* c) {
  YamlMap m(ctx, node, "audit.checkpoints",
            {"every_events", "max_lag_ms", "heartbeat_ms", "witness_queue", "witness_retry_max_ms",
             "witnesses"});
  m.Int("every_events", &c->every_events);
  m.Int("max_lag_ms", &c->max_lag_ms);
  m.Int("heartbeat_ms", &c->heartbeat_ms);
  m.Int("witness_queue", &c->witness_queue);
  m.Int("witness_retry_max_ms", &c->witness_retry_max_ms);
  std::vector<YAML::Node> ws = ReadList(ctx, m.Get("witnesses"), "audit.checkpoints.witnesses");
  for (size_t i = 0; i < ws.size(); ++i) {
    YamlMap w(ctx, ws[i], Index("audit.checkpoints.witnesses", i),
              {"name", "type", "dir", "address", "protocol", "facility", "url", "timeout_ms"});
    WitnessConfig wc;
    w.String("name", &wc.name);
    w.String("type", &wc.type);
    w.String("dir", &wc.dir);
    w.HostPortField("address", &wc.address);
    w.String("protocol", &wc.protocol);
    w.Int("facility", &wc.facility);
    w.String("url", &wc.url);
    w.Int("timeout_ms", &wc.timeout_ms);
    c->witnesses.push_back(std::move(wc));
  }
}

void ReadDocument(ReadContext* ctx, const YAML::Node& root, Config* c) {
  YamlMap m(ctx, root, "",
            {"node", "log_level", "gateway", "upstreams", "routes", "auth", "redaction", "audit",
             "admin"});
  if (root.IsDefined() && !root.IsNull() && !m.is_map()) return;
  m.String("node", &c->node);
  m.String("log_level", &c->log_level);
  ReadGateway(ctx, m.Get("gateway"), &c->gateway);
  ReadUpstreams(ctx, m.Get("upstreams"), &c->upstreams);
  ReadRoutes(ctx, m.Get("routes"), &c->routes);
  ReadAuth(ctx, m.Get("auth"), &c->auth);

  YamlMap red(ctx, m.Get("redaction"), "redaction", {"extra"});
  red.StringList("extra", &c->redaction.extra);

  YamlMap au(ctx, m.Get("audit"), "audit",
             {"data_dir", "durability", "batch_interval_ms", "queue_capacity", "fail_open",
              "max_segment_bytes", "rotate_daily", "checkpoints", "rollups", "receipts",
              "direct_io", "async_commit", "archive", "retention", "block_cache_mb"});
  au.String("data_dir", &c->audit.data_dir);
  au.String("durability", &c->audit.durability);
  au.Int("batch_interval_ms", &c->audit.batch_interval_ms);
  au.Int("queue_capacity", &c->audit.queue_capacity);
  au.Bool("fail_open", &c->audit.fail_open);
  au.Bool("receipts", &c->audit.receipts);
  au.Bool("direct_io", &c->audit.direct_io);
  au.Bool("async_commit", &c->audit.async_commit);
  au.Int("max_segment_bytes", &c->audit.max_segment_bytes);
  au.Int("block_cache_mb", &c->audit.block_cache_mb);
  au.Bool("rotate_daily", &c->audit.rotate_daily);
  ReadCheckpoints(ctx, au.Get("checkpoints"), &c->audit.checkpoints);
  YamlMap ru(ctx, au.Get("rollups"), "audit.rollups",
             {"enabled", "max_keys", "retention_days", "persist_interval_ms"});
  ru.Bool("enabled", &c->audit.rollups.enabled);
  ru.Int("max_keys", &c->audit.rollups.max_keys);
  ru.Int("retention_days", &c->audit.rollups.retention_days);
  ru.Int("persist_interval_ms", &c->audit.rollups.persist_interval_ms);
  YamlMap ar(ctx, au.Get("archive"), "audit.archive",
             {"command", "timeout_ms", "retry_min_ms", "retry_max_ms", "scan_interval_ms"});
  // The command may carry credentials (a bucket key in a URL): never echoed in errors.
  ar.String("command", &c->audit.archive.command, Secret::kYes);
  ar.Int("timeout_ms", &c->audit.archive.timeout_ms);
  ar.Int("retry_min_ms", &c->audit.archive.retry_min_ms);
  ar.Int("retry_max_ms", &c->audit.archive.retry_max_ms);
  ar.Int("scan_interval_ms", &c->audit.archive.scan_interval_ms);
  YamlMap re(ctx, au.Get("retention"), "audit.retention", {"days", "require_archive"});
  re.Int("days", &c->audit.retention.days);
  re.Bool("require_archive", &c->audit.retention.require_archive);

  YamlMap ad(ctx, m.Get("admin"), "admin", {"enabled", "listen", "tokens", "token_file"});
  ad.Bool("enabled", &c->admin.enabled);
  ad.HostPortField("listen", &c->admin.listen);
  ad.StringList("tokens", &c->admin.tokens, Secret::kYes);
  ad.String("token_file", &c->admin.token_file);
}

// A validation error about a path that already had a read error would repeat it (a field
// that failed to parse keeps its default, which validation may then reject).
bool Covered(const std::vector<ConfigError>& read_errors, const std::string& path) {
  for (const auto& e : read_errors) {
    if (e.path == path || path.rfind(e.path + ".", 0) == 0 || path.rfind(e.path + "[", 0) == 0 ||
        e.path.rfind(path + ".", 0) == 0 || e.path.rfind(path + "[", 0) == 0) {
      return true;
    }
  }
  return false;
}

// What no reader of the document should see, or "": aliases beyond `limit`, or a tag.
// Aliases share their node, so a few lines of anchors can stand for billions of nodes
// ("billion laughs"), which reading them would copy into the Config. Counts nodes and scalar
// bytes with aliases expanded, and stops as soon as `limit` is reached. A stack, not
// recursion: aliases nested in anchors nest deeper than yaml-cpp's parse depth limit, and
// an anchor may even contain itself (&a [*a]).
// yaml-cpp keeps a local tag (`!env DATA_DIR`, `!secret key` as other tools use them) and
// gives the text after it: the value would be the literal "DATA_DIR". Only the core
// schema's tags (`!!str`) are accepted.
std::string DocumentProblem(const YAML::Node& root, const size_t limit) {
  size_t budget = limit;
  std::vector<YAML::Node> todo{root};
  while (!todo.empty()) {
    YAML::Node n = std::move(todo.back());
    todo.pop_back();
    size_t cost = 1 + (n.IsScalar() ? n.Scalar().size() : 0);
    if (cost > budget) {
      return "aliases (*name) expand to more than " + std::to_string(limit) +
             " nodes and bytes; write the repeated parts out";
    }
    budget -= cost;
    const std::string& tag = n.Tag();
    if (!tag.empty() && tag != "?" && tag != "!" && tag.rfind("tag:yaml.org,2002:", 0) != 0) {
      return "YAML tag '" + tag.substr(0, 64) +
             "' is not supported: values are read as written, nothing is expanded" +
             LineSuffix(n);
    }
    if (n.IsSequence()) {
      for (const auto& e : n) todo.push_back(e);
    } else if (n.IsMap()) {
      for (const auto& kv : n) {
        todo.push_back(kv.first);
        todo.push_back(kv.second);
      }
    }
  }
  return "";
}

// Parses and validates; file paths are left as written.
ConfigLoadResult Load(const std::string& yaml) {
  ConfigLoadResult result;
  ReadContext ctx;
  YAML::Node root;
  if (yaml.size() > kMaxConfigBytes) {
    result.errors.push_back({"", "the configuration is larger than " +
                                     std::to_string(kMaxConfigBytes) + " bytes"});
    return result;
  }
  try {
    // LoadAll, not Load: Load reads the first document and ignores the rest, so a file
    // that went on after a '---' would lose its second half without a word.
    std::vector<YAML::Node> docs = YAML::LoadAll(yaml);
    if (docs.size() > 1) {
      result.errors.push_back({"", "the configuration holds " + std::to_string(docs.size()) +
                                       " YAML documents (separated by '---'); a configuration "
                                       "is one document" + LineSuffix(docs[1])});
      return result;
    }
    if (!docs.empty()) root = docs[0];
  } catch (const YAML::DeepRecursion& e) {
    result.errors.push_back({"", "invalid YAML: nested too deeply (line " +
                                     std::to_string(e.mark.line + 1) + ")"});
    return result;
  } catch (const YAML::Exception& e) {
    // e.msg is yaml-cpp's description without the document text, so no secret leaks.
    std::string where = e.mark.is_null() ? "" : " (line " + std::to_string(e.mark.line + 1) +
                                                    ", column " +
                                                    std::to_string(e.mark.column + 1) + ")";
    result.errors.push_back({"", "invalid YAML: " + e.msg + where});
    return result;
  }
  // Twice what the largest file could hold without aliases.
  if (std::string problem = DocumentProblem(root, 2 * kMaxConfigBytes); !problem.empty()) {
    result.errors.push_back({"", std::move(problem)});
    return result;
  }
  try {
    ReadDocument(&ctx, root, &result.config);
  } catch (const YAML::Exception& e) {  // not expected: every access checks the node type
    ctx.errors.push_back({"", "cannot read YAML: " + e.msg});
  }
  result.errors = std::move(ctx.errors);
  // A document that is not a map at all: validating the defaults would only add noise.
  if (!result.errors.empty() && result.errors.front().path.empty()) return result;
  for (ConfigError& e : ValidateConfig(result.config)) {
    if (Covered(result.errors, e.path)) continue;
    // The line of the key, or of its nearest enclosing key ("routes[1]") when absent.
    std::string path = e.path;
    while (!path.empty()) {
      auto line = ctx.lines.find(path);
      if (line != ctx.lines.end()) {
        e.message += " (line " + std::to_string(line->second) + ")";
        break;
      }
      size_t cut = path.find_last_of(".[");
      path.resize(cut == std::string::npos ? 0 : cut);
    }
    result.errors.push_back(std::move(e));
  }
  return result;
}

// Errors quote values and keys as written, and a string may hold a newline or a terminal
// escape: printed by config check or logged on SIGHUP, "x\n  admin: ok" would read as a
// line of its own. Control characters are shown escaped (\n, \x1b).
ConfigLoadResult Escaped(ConfigLoadResult result) {
  auto escape = [](std::string* s) {
    if (std::none_of(s->begin(), s->end(), [](char c) { return c >= 0 && c < 0x20; }) &&
        s->find('\x7f') == std::string::npos) {
      return;
    }
    std::string out;
    for (char c : *s) {
      if (c == '\n') {
        out += "\\n";
      } else if (c == '\t') {
        out += "\\t";
      } else if ((c >= 0 && c < 0x20) || c == 0x7f) {
        static constexpr char kHex[] = "0123456789abcdef";
        out += "\\x";
        out += kHex[(c >> 4) & 0xf];
        out += kHex[c & 0xf];
      } else {
        out += c;
      }
    }
    *s = std::move(out);
  };
  for (ConfigError& e : result.errors) {
    escape(&e.path);
    escape(&e.message);
  }
  return result;
}

void Resolve(const std::filesystem::path& dir, std::string* p) {
  if (p->empty() || dir.empty()) return;
  std::filesystem::path path(*p);
  if (path.is_absolute()) return;
  *p = (dir / path).lexically_normal().string();
}

ConfigLoadResult LoadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in || std::filesystem::is_directory(path)) {
    ConfigLoadResult result;
    result.errors.push_back({"", "cannot read '" + path + "': " +
                                     (in ? "is a directory" : std::strerror(errno))});
    return result;
  }
  // At most one byte past the limit: `-c /dev/zero` or a log file given by mistake would
  // otherwise be read into memory without end.
  std::string text(kMaxConfigBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (in.bad()) {
    ConfigLoadResult result;
    result.errors.push_back({"", "cannot read '" + path + "': " + std::strerror(errno)});
    return result;
  }
  if (text.size() > kMaxConfigBytes) {
    ConfigLoadResult result;
    result.errors.push_back({"", "cannot read '" + path + "': larger than " +
                                     std::to_string(kMaxConfigBytes) + " bytes"});
    return result;
  }
  ConfigLoadResult result = Load(text);
  // Relative paths mean "next to the config file", so `serve -c /etc/apitrail/x.yaml`
  // works from any working directory. The config's own path is made absolute first: with
  // `-c apitrail.yaml` its directory would be "" and every path stay relative — then wrong
  // for whatever runs elsewhere (an archive_command that cd's, a later chdir).
  std::error_code abs_ec;
  std::filesystem::path dir = std::filesystem::absolute(path, abs_ec).parent_path();
  if (abs_ec) dir = std::filesystem::path(path).parent_path();
  Config& c = result.config;
  Resolve(dir, &c.audit.data_dir);
  Resolve(dir, &c.auth.api_keys.file);
  for (JwtIssuerConfig& j : c.auth.jwt) {
    Resolve(dir, &j.key_file);
    Resolve(dir, &j.jwks_file);
    Resolve(dir, &j.secret_file);
    Resolve(dir, &j.ca_file);
  }
  Resolve(dir, &c.auth.introspection.client_secret_file);
  Resolve(dir, &c.auth.introspection.ca_file);
  Resolve(dir, &c.admin.token_file);
  Resolve(dir, &c.gateway.tls.cert_file);
  Resolve(dir, &c.gateway.tls.key_file);
  Resolve(dir, &c.gateway.tls.client_ca_file);
  for (UpstreamConfig& u : c.upstreams) Resolve(dir, &u.tls.ca_file);
  for (WitnessConfig& w : c.audit.checkpoints.witnesses) Resolve(dir, &w.dir);
  if (result.ok()) {
    // Only now are both paths absolute: a witness inside the data dir is no witness.
    for (ConfigError& e : CheckWitnessDirs(c)) result.errors.push_back(std::move(e));
  }
  return result;
}

}  // namespace

ConfigLoadResult LoadConfigString(const std::string& yaml) { return Escaped(Load(yaml)); }

ConfigLoadResult LoadConfigFile(const std::string& path) { return Escaped(LoadFile(path)); }

}  // namespace apitrail
