#include "config/yaml_fields.h"

#include <algorithm>
#include <charconv>
#include <utility>

namespace apitrail::config_internal {
namespace {

bool Present(const YAML::Node& n) { return n.IsDefined() && !n.IsNull(); }

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Levenshtein distance, for "did you mean" on unknown keys (key lists are tiny).
size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

// A NUL ("\0" in a double-quoted string) would cut the value where it reaches the OS: a
// path "/etc/a\0.bak" opens /etc/a. Secrets are bytes the config never passes on as C strings.
bool HasNul(const std::string& s, Secret secret) {
  return secret == Secret::kNo && s.find('\0') != std::string::npos;
}

}  // namespace

std::string LineSuffix(const YAML::Node& node) {
  if (!node.IsDefined()) return "";
  const YAML::Mark m = node.Mark();
  if (m.is_null()) return "";
  return " (line " + std::to_string(m.line + 1) + ")";
}

std::string Describe(const YAML::Node& node, Secret secret) {
  if (node.IsMap()) return "a map";
  if (node.IsSequence()) return "a list";
  if (secret == Secret::kYes) return "a value of another type";
  std::string s = node.Scalar();
  if (s.size() > 40) s = s.substr(0, 40) + "...";
  return "'" + s + "'";
}

void ReadContext::Error(const std::string& path, const YAML::Node& at, std::string message) {
  message += LineSuffix(at);
  errors.push_back({path, std::move(message)});
}

YamlMap::YamlMap(ReadContext* ctx, const YAML::Node& node, std::string path,
                 std::initializer_list<std::string_view> known)
    : ctx_(ctx), path_(std::move(path)) {
  if (!Present(node)) return;
  if (!node.IsMap()) {
    ctx_->Error(path_, node, "expected a map, got " + Describe(node, Secret::kNo));
    return;
  }
  is_map_ = true;
  for (auto it = node.begin(); it != node.end(); ++it) {
    if (!it->first.IsScalar()) {
      ctx_->Error(path_, it->first, "keys must be plain strings");
      continue;
    }
    std::string key = it->first.Scalar();
    std::string key_path = PathOf(key);
    ctx_->lines.emplace(key_path, it->first.Mark().line + 1);
    if (key == "<<") {  // yaml-cpp reads a merge key as an ordinary key
      ctx_->Error(key_path, it->first, "merge keys ('<<: *name') are not supported; write the keys out");
      continue;
    }
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      std::string msg = "unknown key";
      std::string best;
      size_t best_d = 3;  // suggest only close matches
      for (auto k : known) {
        size_t d = EditDistance(Lower(key), k);
        if (d < best_d) best_d = d, best = std::string(k);
      }
      if (!best.empty()) msg += ", did you mean '" + best + "'?";
      ctx_->Error(key_path, it->first, msg);
      continue;
    }
    bool dup = std::any_of(entries_.begin(), entries_.end(),
                           [&](const auto& e) { return e.first == key; });
    if (dup) {
      ctx_->Error(key_path, it->first, "duplicate key");
      continue;
    }
    entries_.emplace_back(key, it->second);
  }
}

YAML::Node YamlMap::Get(std::string_view key) const {
  for (const auto& [k, v] : entries_) {
    if (k == key && Present(v)) return v;
  }
  return YAML::Node(YAML::NodeType::Undefined);
}

std::string YamlMap::PathOf(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

void YamlMap::String(std::string_view key, std::string* out, Secret secret) {
  YAML::Node n = Get(key);
  if (!n.IsDefined()) return;
  if (!n.IsScalar()) {
    ctx_->Error(PathOf(key), n, "expected a string, got " + Describe(n, secret));
    return;
  }
  if (HasNul(n.Scalar(), secret)) {
    ctx_->Error(PathOf(key), n, "must not contain a NUL character");
    return;
  }
  *out = n.Scalar();
}

void YamlMap::Bool(std::string_view key, bool* out) {
  YAML::Node n = Get(key);
  if (!n.IsDefined()) return;
  std::string v = n.IsScalar() ? Lower(n.Scalar()) : "";
  if (v == "true" || v == "yes" || v == "on") {
    *out = true;
  } else if (v == "false" || v == "no" || v == "off") {
    *out = false;
  } else {
    ctx_->Error(PathOf(key), n, "expected true or false, got " + Describe(n, Secret::kNo));
  }
}

void YamlMap::StringList(std::string_view key, std::vector<std::string>* out, Secret secret) {
  YAML::Node n = Get(key);
  if (!n.IsDefined()) return;
  std::string path = PathOf(key);
  if (!n.IsSequence()) {
    ctx_->Error(path, n, "expected a list of strings, got " + Describe(n, secret));
    return;
  }
  // All or nothing: a list without its bad elements would shift the indices that validation
  // names ([2] reported as [1]), and the default it keeps is not reported again.
  std::vector<std::string> items;
  bool ok = true;
  for (size_t i = 0; i < n.size(); ++i) {
    YAML::Node e = n[i];
    if (!e.IsScalar()) {
      ctx_->Error(path + "[" + std::to_string(i) + "]", e,
                  "expected a string, got " + (e.IsNull() ? "nothing" : Describe(e, secret)));
      ok = false;
    } else if (HasNul(e.Scalar(), secret)) {
      ctx_->Error(path + "[" + std::to_string(i) + "]", e, "must not contain a NUL character");
      ok = false;
    } else {
      items.push_back(e.Scalar());
    }
  }
  if (ok) *out = std::move(items);
}

void YamlMap::HostPortField(std::string_view key, HostPort* out) {
  std::string text;
  YAML::Node n = Get(key);
  const size_t errors = ctx_->errors.size();
  String(key, &text);
  // Not parsed again when String refused it (a NUL): one error per key.
  if (!n.IsDefined() || !n.IsScalar() || ctx_->errors.size() != errors) return;
  std::string error;
  if (!ParseHostPort(text, out, &error)) ctx_->Error(PathOf(key), n, error);
}

bool YamlMap::ReadInt(std::string_view key, int64_t min, int64_t max, int64_t* out) {
  YAML::Node n = Get(key);
  if (!n.IsDefined()) return false;
  std::string path = PathOf(key);
  if (!n.IsScalar()) {
    ctx_->Error(path, n, "expected an integer, got " + Describe(n, Secret::kNo));
    return false;
  }
  std::string_view s = n.Scalar();
  std::string_view digits = !s.empty() && s[0] == '+' ? s.substr(1) : s;
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  // from_chars takes a '-' after the '+' taken off above: "+-5" is no integer.
  if (digits.empty() || (digits.data() != s.data() && digits[0] == '-') || ptr != digits.data() + digits.size() ||
      (ec != std::errc() && ec != std::errc::result_out_of_range)) {
    ctx_->Error(path, n, "expected an integer, got " + Describe(n, Secret::kNo));
    return false;
  }
  if (ec == std::errc::result_out_of_range || v < min || v > max) {
    ctx_->Error(path, n,
                "must be between " + std::to_string(min) + " and " + std::to_string(max) +
                    ", got " + std::string(s));
    return false;
  }
  *out = v;
  return true;
}

std::vector<YAML::Node> ReadList(ReadContext* ctx, const YAML::Node& node,
                                 const std::string& path) {
  std::vector<YAML::Node> out;
  if (!Present(node)) return out;
  if (!node.IsSequence()) {
    ctx->Error(path, node, "expected a list, got " + Describe(node, Secret::kNo));
    return out;
  }
  for (size_t i = 0; i < node.size(); ++i) {
    out.push_back(node[i]);
    if (!node[i].Mark().is_null()) {
      ctx->lines.emplace(path + "[" + std::to_string(i) + "]", node[i].Mark().line + 1);
    }
  }
  return out;
}

}  // namespace apitrail::config_internal
