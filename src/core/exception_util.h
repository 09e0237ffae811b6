// For code that catches an exception which no caller will see: a session coroutine that
// ended with one, a request handler that threw. Such a fault must be counted and logged,
// but a fault that repeats on every request must not flood the log. Pure functions; any
// thread.
#pragma once

#include <cstdint>
#include <exception>
#include <string>

namespace apitrail {

// what() of a std::exception; "unknown exception" for anything else (and for a null
// pointer, which the callers never pass).
std::string ExceptionMessage(const std::exception_ptr& error);

// Whether the n-th occurrence (n counted from 1) of a fault is logged: the first ten, then
// every thousandth. The caller's metric counts all of them.
bool ShouldLogOccurrence(uint64_t n);

}  // namespace apitrail
