// StringHash: a transparent hash for maps keyed by std::string, so that a lookup by
// std::string_view builds no string (use with std::equal_to<>). Stateless; any thread.
#pragma once

#include <cstddef>
#include <functional>
#include <string_view>

namespace apitrail {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

}  // namespace apitrail
