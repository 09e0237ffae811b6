// Helpers shared by the config tests.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config/config_loader.h"

namespace apitrail::testing_config {

// "path: message" of every error, one per line, for failure output.
inline std::string Dump(const std::vector<ConfigError>& errors) {
  std::string out;
  for (const auto& e : errors) out += e.ToString() + "\n";
  return out;
}

inline const ConfigError* FindError(const std::vector<ConfigError>& errors,
                                    const std::string& path) {
  for (const auto& e : errors) {
    if (e.path == path) return &e;
  }
  return nullptr;
}

// Minimal valid document; tests append or replace sections.
inline std::string BaseYaml() {
  return R"(
upstreams:
  - name: api
    address: 127.0.0.1:8090
admin:
  tokens: ["0123456789abcdef0123"]
)";
}

// Loads `yaml` and expects an error at `path` whose message contains `fragment`.
inline void ExpectError(const std::string& yaml, const std::string& path,
                        const std::string& fragment) {
  ConfigLoadResult r = LoadConfigString(yaml);
  const ConfigError* e = FindError(r.errors, path);
  ASSERT_NE(e, nullptr) << "no error at '" << path << "'; got:\n" << Dump(r.errors);
  EXPECT_NE(e->message.find(fragment), std::string::npos)
      << "message: " << e->message << "\nexpected to contain: " << fragment;
}

inline void ExpectOk(const std::string& yaml) {
  ConfigLoadResult r = LoadConfigString(yaml);
  EXPECT_TRUE(r.ok()) << yaml << "\n" << Dump(r.errors);
}

}  // namespace apitrail::testing_config
