// StringHash: a transparent hash for maps keyed by std::string, so that a lookup by
// std::string_view builds no string (use with std::equal_to<>); and PrehashedKey, a lookup
// key whose StringHash another thread computed already. Stateless; any thread.
#pragma once

#include <cstddef>
#include <functional>
#include <string_view>

namespace apitrail {

// `hash` must be StringHash{}(key); a wrong one only makes the lookup miss.
struct PrehashedKey {
  std::string_view key;
  size_t hash;
  friend bool operator==(const PrehashedKey& a, std::string_view b) { return a.key == b; }
};

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  size_t operator()(const PrehashedKey& k) const { return k.hash; }
};

}  // namespace apitrail
