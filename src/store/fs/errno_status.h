// ErrnoStatus: the Status for a failed system call on a file, naming the operation, the path
// and strerror(errno); ENOENT is NotFound, ENOSPC/EDQUOT ResourceExhausted (the store fails
// closed on those), anything else IoError. Thread-safe.
#pragma once

#include <cerrno>
#include <cstring>
#include <string>

#include "core/status.h"

namespace apitrail {

inline Status ErrnoStatus(const char* op, const std::string& path, int err) {
  std::string msg = std::string(op) + " " + path + ": " + std::strerror(err);
  if (err == ENOENT) return Status::NotFound(std::move(msg));
  if (err == ENOSPC || err == EDQUOT) return Status::ResourceExhausted(std::move(msg));
  return Status::IoError(std::move(msg));
}

}  // namespace apitrail
