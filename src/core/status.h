// Status and Result<T>: expected failures as values (STYLE §3.2.2).
// Value types; safe to copy and move between threads. Exceptions are used only in
// config/ and cli/; everything else returns a Status.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace apitrail {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,
  kNotFound,
  kCorruption,
  kIoError,
  kUnavailable,
  kPermissionDenied,
  kResourceExhausted,
  kUnauthenticated,
  kAlreadyExists,
};

const char* StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
  static Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
  static Status Corruption(std::string m) { return {StatusCode::kCorruption, std::move(m)}; }
  static Status IoError(std::string m) { return {StatusCode::kIoError, std::move(m)}; }
  static Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
  static Status PermissionDenied(std::string m) { return {StatusCode::kPermissionDenied, std::move(m)}; }
  static Status ResourceExhausted(std::string m) { return {StatusCode::kResourceExhausted, std::move(m)}; }
  static Status Unauthenticated(std::string m) { return {StatusCode::kUnauthenticated, std::move(m)}; }
  static Status AlreadyExists(std::string m) { return {StatusCode::kAlreadyExists, std::move(m)}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "corruption: bad crc at offset 12" (or "ok").
  std::string ToString() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// Result<T> holds a T or a non-OK Status. GCC 12 in C++20 mode has no std::expected.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {}  // NOLINT: implicit by design

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace apitrail

#define APITRAIL_RETURN_IF_ERROR(expr)           \
  do {                                           \
    ::apitrail::Status _st = (expr);             \
    if (!_st.ok()) return _st;                   \
  } while (0)

#define APITRAIL_CONCAT_INNER(a, b) a##b
#define APITRAIL_CONCAT(a, b) APITRAIL_CONCAT_INNER(a, b)
// APITRAIL_ASSIGN_OR_RETURN(auto x, MakeX());
#define APITRAIL_ASSIGN_OR_RETURN(lhs, expr) \
  APITRAIL_ASSIGN_OR_RETURN_IMPL(APITRAIL_CONCAT(_res_, __LINE__), lhs, expr)
// `tmp` names a variable and `lhs` may declare one: neither can be parenthesized.
// NOLINTBEGIN(bugprone-macro-parentheses)
#define APITRAIL_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                   \
  if (!tmp.ok()) return tmp.status();                  \
  lhs = std::move(tmp).value()
// NOLINTEND(bugprone-macro-parentheses)
