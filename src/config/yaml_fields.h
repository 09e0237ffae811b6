// YamlMap: reads typed fields out of one YAML mapping for the config loader, recording
// every problem (unknown or duplicate key, wrong type, integer overflow) with its key path
// and YAML line instead of stopping at the first. Internal to src/config.
// Not thread-safe; one per mapping being read. Never puts the value of a field marked
// Secret::kYes into an error message.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <initializer_list>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config_loader.h"

namespace apitrail::config_internal {

enum class Secret { kNo, kYes };

// Shared by all readers of one document: the errors found while reading, and the line of
// every key path seen (so validation errors found later can name a line too).
struct ReadContext {
  std::vector<ConfigError> errors;
  std::map<std::string, int> lines;  // key path → 1-based YAML line

  void Error(const std::string& path, const YAML::Node& at, std::string message);
};

// "(line 7)" from a node's mark, or "" when yaml-cpp has no position for it.
std::string LineSuffix(const YAML::Node& node);
// "a map", "a list", "'many'" (quoted, truncated) or "a value" for secrets.
std::string Describe(const YAML::Node& node, Secret secret);

class YamlMap {
 public:
  // `node` may be null/absent (reads nothing, keeps defaults) or a map; anything else is
  // reported as "expected a map". Keys not in `known` are reported as unknown.
  YamlMap(ReadContext* ctx, const YAML::Node& node, std::string path,
          std::initializer_list<std::string_view> known);

  bool is_map() const { return is_map_; }
  // The node under `key`, or an undefined node when absent or null.
  YAML::Node Get(std::string_view key) const;
  // "gateway.listen", or "node" at the root.
  std::string PathOf(std::string_view key) const;

  void String(std::string_view key, std::string* out, Secret secret = Secret::kNo);
  void Bool(std::string_view key, bool* out);
  void StringList(std::string_view key, std::vector<std::string>* out,
                  Secret secret = Secret::kNo);
  void HostPortField(std::string_view key, HostPort* out);
  // Any integer type; a value that does not fit the field is reported, the default kept.
  template <typename T>
  void Int(std::string_view key, T* out) {
    int64_t v = 0;
    // uint64_t fields are read as int64_t: sizes above 2^63 are not meaningful anyway.
    constexpr int64_t kMax =
        std::numeric_limits<T>::max() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())
            ? std::numeric_limits<int64_t>::max()
            : static_cast<int64_t>(std::numeric_limits<T>::max());
    if (ReadInt(key, static_cast<int64_t>(std::numeric_limits<T>::min()), kMax, &v)) {
      *out = static_cast<T>(v);
    }
  }

 private:
  bool ReadInt(std::string_view key, int64_t min, int64_t max, int64_t* out);

  ReadContext* ctx_;
  std::string path_;
  bool is_map_ = false;
  std::vector<std::pair<std::string, YAML::Node>> entries_;
};

// Elements of a sequence node ("routes"); null/absent gives none, a non-list is reported.
std::vector<YAML::Node> ReadList(ReadContext* ctx, const YAML::Node& node,
                                 const std::string& path);

}  // namespace apitrail::config_internal
