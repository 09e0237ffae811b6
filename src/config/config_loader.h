// Turns apitrail.yaml into a validated Config. Collects every problem instead of stopping
// at the first, each naming its key path ("routes[3].upstream: unknown upstream 'x'").
// Thread-safe (no shared state). May be called at start and on reload.
#pragma once

#include <string>
#include <vector>

#include "config/config.h"
#include "core/status.h"

namespace apitrail {

struct ConfigError {
  std::string path;     // "routes[3].upstream", "gateway.listen"
  std::string message;  // "unknown upstream 'billing'"
  std::string ToString() const { return path.empty() ? message : path + ": " + message; }
};

struct ConfigLoadResult {
  Config config;
  std::vector<ConfigError> errors;  // empty: config is valid
  bool ok() const { return errors.empty(); }
};

// A configuration file (or string) longer than this is refused unread.
inline constexpr size_t kMaxConfigBytes = 1 << 20;

// Reads and validates the file. A missing/unreadable file or YAML syntax error is one
// error with path "" (or the YAML position in the message).
ConfigLoadResult LoadConfigFile(const std::string& path);
ConfigLoadResult LoadConfigString(const std::string& yaml);
// Validates an already-built Config (used by `demo`, which builds its config in code).
std::vector<ConfigError> ValidateConfig(Config& config);

// Checks that no file witness directory lies inside audit.data_dir (both paths already
// resolved); LoadConfigFile runs it after resolving relative paths.
std::vector<ConfigError> CheckWitnessDirs(const Config& config);

// "127.0.0.1:8080", "[::1]:80", ":8080" (host defaults to 127.0.0.1).
bool ParseHostPort(const std::string& text, HostPort* out, std::string* error);
bool ParseCidr(const std::string& text, Cidr* out, std::string* error);
// true if ip (text form, v4 or v6) is inside cidr.
bool CidrContains(const Cidr& cidr, const std::string& ip);
// true if ip is inside any of cidrs (the address is parsed once).
bool AnyCidrContains(const std::vector<Cidr>& cidrs, std::string_view ip);

}  // namespace apitrail
