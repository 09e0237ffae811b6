// Failpoints: named places where a test makes the real binary fail on purpose, to prove
// that a failure there loses no record (tests/integration). A test process sets
// APITRAIL_FAILPOINT=<name>; without it (always, outside tests) a check is one predictable
// branch on a value read once, at the first check. Thread-safe.
#pragma once

#include <string_view>

namespace apitrail {

// Whether APITRAIL_FAILPOINT names `name`.
bool FailpointSet(std::string_view name);

}  // namespace apitrail
