// Config: the typed, validated form of apitrail.yaml (docs/CONFIG.md). Built once by
// LoadConfig (config_loader.h), then shared read-only as shared_ptr<const Config> by every
// thread. Every field has a default; sizes are bytes, times milliseconds.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace apitrail {

struct HostPort {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  // "127.0.0.1:8080", "[::1]:8080" (IPv6 hosts are stored without brackets).
  std::string ToString() const {
    bool v6 = host.find(':') != std::string::npos;
    return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
  }
};

struct Cidr {
  std::string text;      // as written in the config
  uint8_t addr[16] = {};  // IPv4 as IPv4-mapped IPv6
  int prefix_len = 0;     // in the IPv6 space (IPv4 /24 → 120)
};

// TLS termination on the gateway listener (gateway.tls). Enabled when cert_file is set.
struct GatewayTlsConfig {
  std::string cert_file;  // PEM: the server certificate, then its chain
  std::string key_file;   // PEM private key (unencrypted)
  std::string min_version = "1.2";  // 1.2 | 1.3
  std::string client_ca_file;       // PEM trust anchors for client certificates (mTLS)
  std::string client_auth = "none";  // none | optional | required
  bool enabled() const { return !cert_file.empty() || !key_file.empty(); }
};

struct GatewayConfig {
  HostPort listen{"127.0.0.1", 8080};
  int workers = 0;  // 0: one per core
  uint32_t max_header_bytes = 16 * 1024;
  uint32_t max_headers = 100;
  uint64_t max_body_bytes = 10 * 1024 * 1024;
  uint32_t header_timeout_ms = 10000;
  uint32_t idle_timeout_ms = 60000;
  uint32_t body_timeout_ms = 60000;   // between body bytes, either direction
  uint32_t upstream_connect_timeout_ms = 2000;
  uint32_t upstream_response_timeout_ms = 30000;
  uint32_t drain_timeout_ms = 10000;
  uint32_t max_connections = 10000;
  std::vector<Cidr> trusted_proxies;
  std::string unmatched = "reject";  // reject | pass
  std::string default_upstream;       // for unmatched: pass
  std::string request_id_header = "X-Request-ID";
  bool add_forwarded_headers = true;
  GatewayTlsConfig tls;
};

// TLS to one upstream (upstreams[].tls); present = enabled.
struct UpstreamTlsConfig {
  bool enabled = false;
  std::string ca_file;      // PEM trust anchors; empty: the system store
  std::string server_name;  // name (or IP) checked against the certificate; default: the address host
  bool verify = true;       // false: no certificate check at all (tests, never production)
};

struct UpstreamConfig {
  std::string name;
  HostPort address;
  uint32_t max_idle_connections = 64;  // per worker
  UpstreamTlsConfig tls;
};

struct RouteConfig {
  std::string match;     // "GET /v1/orders/{order_id}", "* /internal/**"
  std::string method;    // parsed from match: "GET" or "*"
  std::string pattern;   // parsed from match: "/v1/orders/{order_id}"
  std::string upstream;
  bool sensitive = false;
  std::string strip_prefix;  // only for prefix routes ("/internal/**")
  std::vector<std::string> scopes;  // required scopes (any missing → 403)
  std::vector<std::string> roles;   // required roles (any missing → 403)
};

struct ApiKeyAuthConfig {
  bool enabled = true;
  std::string file;  // default: <data_dir>/keys.json
  std::vector<std::string> headers = {"Authorization", "X-API-Key"};
};

struct JwtIssuerConfig {
  std::string issuer;                   // expected `iss`; empty: not checked
  std::vector<std::string> audiences;   // expected `aud` (any of); empty: not checked
  // No audiences would accept tokens the issuer minted for any of its other APIs, so a config
  // must ask for that by name (config_validate.cc); the verifier only looks at `audiences`.
  bool allow_any_audience = false;
  std::vector<std::string> algorithms;  // allowed: HS256 RS256 ES256
  std::string key_file;   // PEM public key (RS/ES)
  std::string jwks_file;  // JWKS JSON file
  std::string secret;     // HS256 shared secret (prefer secret_file)
  std::string secret_file;
  std::string subject_claim = "sub";
  // Claim names or dotted paths (claim_path.h): roles land in Identity::roles, the tenant
  // in Identity::tenant. Empty: not read. A configured tenant claim is required.
  std::string roles_claim = "roles";
  std::string tenant_claim;
  uint32_t leeway_s = 60;
  // A token without `exp` would be valid forever once leaked; refused unless this is false.
  bool require_exp = true;
  uint32_t max_token_bytes = 8192;
  std::vector<std::string> required_claims;  // must be present (and not null) in every token
  // Remote keys: a JWKS URL, or OIDC discovery (<issuer>/.well-known/openid-configuration →
  // jwks_uri). Fetched at start and in the background; see docs/CONFIG.md.
  std::string jwks_url;
  bool discovery = false;
  std::string ca_file;               // trust anchors for the fetches; empty: the system store
  bool allow_insecure_http = false;  // accept http:// URLs (tests on 127.0.0.1 only)
  uint32_t fetch_timeout_ms = 5000;
  uint32_t max_jwks_bytes = 512 * 1024;
  uint32_t jwks_refresh_min_interval_ms = 30000;  // unknown-kid refreshes at most this often
  uint32_t jwks_max_age_min_ms = 60000;           // Cache-Control max-age floor
  uint32_t jwks_max_age_max_ms = 86400000;        // ceiling, and the period without max-age
  bool has_remote_keys() const { return !jwks_url.empty() || discovery; }
};

// RFC 7662 token introspection for opaque bearer tokens (auth.introspection).
struct IntrospectionConfig {
  std::string endpoint;  // https URL; empty: introspection disabled
  std::string client_id;
  std::string client_secret;  // prefer client_secret_file
  std::string client_secret_file;
  std::string client_auth = "basic";  // basic | body
  std::string tokens = "opaque";      // opaque | all (JWT-shaped bearer tokens too)
  std::string issuer;                 // recorded as the identity's issuer; default: answer's iss
  std::vector<std::string> subject_claims = {"sub", "client_id", "username"};  // first present
  std::vector<std::string> audiences;  // if set, the answer's aud must contain one of them
  std::string roles_claim = "roles";  // as JwtIssuerConfig: name or dotted path; "" none
  std::string tenant_claim;           // as JwtIssuerConfig; required when set
  bool require_token_type = false;    // an answer without token_type is refused
  std::string ca_file;
  bool allow_insecure_http = false;
  uint32_t timeout_ms = 3000;
  uint32_t max_response_bytes = 64 * 1024;
  uint32_t max_token_bytes = 4096;
  uint32_t cache_max_ttl_ms = 300000;  // positive answers: min(exp, now + this)
  uint32_t negative_cache_ms = 5000;   // refusals the answer implies (active:false, aud, ...)
  uint32_t max_concurrent = 64;        // in-flight calls per process; excess → 503
  uint32_t cache_capacity = 10000;
  bool enabled() const { return !endpoint.empty(); }
};

struct IdentityHeadersConfig {
  std::string subject = "X-Apitrail-Subject";
  std::string auth_method = "X-Apitrail-Auth-Method";
  std::string scopes = "X-Apitrail-Scopes";
  std::string roles = "X-Apitrail-Roles";    // sent when the identity has roles
  std::string tenant = "X-Apitrail-Tenant";  // sent when the identity has a tenant
};

// Refusing clients that fail to authenticate too often (gateway/auth_failure_limiter.h).
struct AuthFailureLimitConfig {
  bool enabled = true;
  uint32_t max_failures = 10;   // failed authentications within window_s that start a block
  uint32_t window_s = 60;
  uint32_t block_s = 60;        // 429 with Retry-After for this long
  uint32_t max_tracked = 65536;  // client addresses remembered (LRU)
  uint32_t ipv6_prefix_len = 64;  // IPv6 clients are counted per prefix of this length
};

// Verified client certificates as identities (auth.mtls); needs gateway.tls.client_ca_file.
struct MtlsAuthConfig {
  bool enabled = false;
  // Where the subject comes from, first present wins: uri | dns | email (SAN entries) | cn.
  std::vector<std::string> subject_from = {"uri", "dns", "email", "cn"};
};

struct AuthConfig {
  ApiKeyAuthConfig api_keys;
  MtlsAuthConfig mtls;
  AuthFailureLimitConfig failure_limit;
  std::vector<JwtIssuerConfig> jwt;
  IntrospectionConfig introspection;
  IdentityHeadersConfig identity_headers;
  std::string realm = "apitrail";
};

struct RedactionConfig {
  std::vector<std::string> extra;  // added to the built-in list (case-insensitive names)
};

// One place every signed checkpoint is published to (docs/CONFIG.md `audit.checkpoints`).
struct WitnessConfig {
  std::string name;              // label in metrics and logs; default "<type>-<index>"
  std::string type;              // file | syslog | webhook
  std::string dir;               // file: directory outside the data dir
  HostPort address;              // syslog: receiver
  std::string protocol = "udp";  // syslog: udp | tcp (RFC 6587 octet counting)
  uint32_t facility = 16;        // syslog: 0..23, default local0
  std::string url;               // webhook: http://host:port/path
  HostPort url_address;          // parsed from url by validation
  std::string url_target = "/";  // parsed from url by validation: path and query
  uint32_t timeout_ms = 5000;    // syslog tcp / webhook: connect + send + answer
};

// When the writer signs a checkpoint, and where it is published.
struct CheckpointConfig {
  uint32_t every_events = 0;      // also sign after this many new records; 0: by time only
  uint32_t max_lag_ms = 1000;     // newest checkpoint at most this far behind the log
  uint32_t heartbeat_ms = 60000;  // re-sign the same size this often while idle
  uint32_t witness_queue = 1024;  // checkpoints waiting per witness; oldest dropped beyond
  uint32_t witness_retry_max_ms = 30000;  // backoff cap between failed attempts
  std::vector<WitnessConfig> witnesses;
};

// audit.rollups: per-minute counters for /api/v1/stats (docs/CONFIG.md).
struct RollupConfig {
  bool enabled = true;
  uint32_t max_keys = 1000;              // distinct keys per minute and per hour, each dimension
  uint32_t retention_days = 35;          // hours kept in memory behind the newest event
  uint32_t persist_interval_ms = 60000;  // a changed hour is written at most this much later
};

// audit.archive: copying sealed parts and checkpoint slices to cold storage (docs/CONFIG.md).
struct ArchiveConfig {
  std::string command;              // PostgreSQL style: %p path, %f file name, %% a %; empty: off
  uint32_t timeout_ms = 600000;     // per run; the process group is killed after it
  uint32_t retry_min_ms = 1000;     // first backoff after a failure, doubling ...
  uint32_t retry_max_ms = 300000;   // ... up to this
  uint32_t scan_interval_ms = 10000;  // how often parts/ is looked at
  bool enabled() const { return !command.empty(); }
};

// audit.retention: deleting old sealed parts locally (never checkpoints).
struct RetentionConfig {
  uint32_t days = 0;            // keep today and this many previous UTC days; 0: forever
  bool require_archive = true;  // delete only parts the archive command copied
};

struct AuditConfig {
  std::string data_dir = "./apitrail-data";
  std::string durability = "response";  // response | strict | batch
  uint32_t batch_interval_ms = 10;
  uint32_t queue_capacity = 65536;
  bool fail_open = false;
  // Write the active segment with O_DIRECT|O_DSYNC when responses wait for durability
  // (StoreOptions::direct_io); falls back to buffered I/O where the file system refuses it.
  bool direct_io = true;
  // With direct_io: gateway workers submit commits through io_uring and keep serving
  // (StoreOptions::async_commit).
  bool async_commit = true;
  uint64_t max_segment_bytes = 256ull * 1024 * 1024;
  // Decoded blocks of sealed parts kept for queries (StoreOptions::block_cache_bytes).
  uint32_t block_cache_mb = 64;
  // Also rotate the active segment at 00:00 UTC, so each sealed part holds one day.
  bool rotate_daily = true;
  CheckpointConfig checkpoints;
  RollupConfig rollups;
  ArchiveConfig archive;
  RetentionConfig retention;
  // Answer every response the gateway holds until its record is durable with an
  // Apitrail-Receipt header (node, seq, leaf hash) for GET /api/v1/proofs/inclusion.
  bool receipts = false;
};

struct AdminConfig {
  bool enabled = true;
  HostPort listen{"127.0.0.1", 8081};
  std::vector<std::string> tokens;  // bearer tokens; compared in constant time
  std::string token_file;           // one token per line
};

struct Config {
  std::string node = "node-1";
  GatewayConfig gateway;
  std::vector<UpstreamConfig> upstreams;
  std::vector<RouteConfig> routes;
  AuthConfig auth;
  RedactionConfig redaction;
  AuditConfig audit;
  AdminConfig admin;
  std::string log_level = "info";
};

}  // namespace apitrail
