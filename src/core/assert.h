// APITRAIL_ASSERT(cond, "why this holds"): invariants only, never input validation.
// Active in every build type: a broken invariant in an audit log must stop the process
// rather than write something wrong.
#pragma once

#include <cstdio>
#include <cstdlib>

#define APITRAIL_ASSERT(cond, why)                                                   \
  do {                                                                               \
    if (!(cond)) {                                                                   \
      std::fprintf(stderr, "%s:%d: assertion failed: %s (%s)\n", __FILE__, __LINE__, \
                   #cond, why);                                                      \
      std::abort();                                                                  \
    }                                                                                \
  } while (0)
