#include "core/exception_util.h"

namespace apitrail {

std::string ExceptionMessage(const std::exception_ptr& error) {
  if (!error) return "unknown exception";
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
  }
  return "unknown exception";
}

bool ShouldLogOccurrence(uint64_t n) {
  constexpr uint64_t kLogFirst = 10;
  constexpr uint64_t kLogEvery = 1000;
  return n != 0 && (n <= kLogFirst || n % kLogEvery == 0);
}

}  // namespace apitrail
