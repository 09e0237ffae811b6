#include "core/failpoint.h"

#include <cstdlib>
#include <string>

namespace apitrail {

bool FailpointSet(std::string_view name) {
  static const std::string active = [] {
    const char* value = std::getenv("APITRAIL_FAILPOINT");
    return std::string(value != nullptr ? value : "");
  }();
  return !active.empty() && active == name;
}

}  // namespace apitrail
