#include "core/exception_util.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace apitrail {
namespace {

TEST(ExceptionMessageTest, StandardExceptionGivesWhat) {
  EXPECT_EQ(ExceptionMessage(std::make_exception_ptr(std::runtime_error("disk on fire"))), "disk on fire");
  EXPECT_EQ(ExceptionMessage(std::make_exception_ptr(std::bad_alloc())), std::bad_alloc().what());
}

TEST(ExceptionMessageTest, AnythingElseIsUnknown) {
  EXPECT_EQ(ExceptionMessage(std::make_exception_ptr(42)), "unknown exception");
  EXPECT_EQ(ExceptionMessage(nullptr), "unknown exception");
}

TEST(ShouldLogOccurrenceTest, FirstTenThenEveryThousandth) {
  int logged = 0;
  for (uint64_t n = 1; n <= 5000; ++n) logged += ShouldLogOccurrence(n) ? 1 : 0;
  EXPECT_EQ(logged, 10 + 5);  // 1..10, then 1000, 2000, 3000, 4000, 5000
  EXPECT_TRUE(ShouldLogOccurrence(10));
  EXPECT_FALSE(ShouldLogOccurrence(11));
  EXPECT_FALSE(ShouldLogOccurrence(999));
  EXPECT_TRUE(ShouldLogOccurrence(1000));
  EXPECT_FALSE(ShouldLogOccurrence(0));
}

}  // namespace
}  // namespace apitrail
