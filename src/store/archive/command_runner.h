// RunShellCommand: runs one command line with /bin/sh -c in a process group of its own, with
// stdin from /dev/null and stdout+stderr captured into one bounded buffer (only the last
// `max_output` bytes are kept, however much the command prints), and a deadline after which
// the whole process group is killed (SIGKILL). The child gets a clean signal mask and default
// handlers and inherits no descriptor beyond 0-2. Used by the Archiver for archive_command.
// Thread-safe: each call is independent; `cancel` may be set from another thread to kill the
// command early (shutdown).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

#include "core/status.h"

namespace apitrail::archive {

struct CommandResult {
  int exit_code = -1;         // 0..255 when the shell exited; -1 when killed by a signal
  int term_signal = 0;        // the signal that ended it, if any
  bool timed_out = false;     // the deadline passed; the process group was killed
  bool cancelled = false;     // `cancel` was set; the process group was killed
  std::string output_tail;    // the last bytes of stdout+stderr (at most max_output)
  uint64_t output_bytes = 0;  // everything printed, including what was not kept
  std::chrono::milliseconds elapsed{0};

  bool success() const { return exit_code == 0 && !timed_out && !cancelled; }
  // "exit code 3", "killed by signal 9", "timed out after 500 ms", "cancelled".
  std::string Describe() const;
};

// IoError only when the command could not be started (no /bin/sh, no pipe, fork failed).
Result<CommandResult> RunShellCommand(const std::string& command, std::chrono::milliseconds timeout,
                                      size_t max_output, const std::atomic<bool>* cancel = nullptr);

// The output tail made safe for one log line: the last `max` bytes, control characters and
// bytes outside printable ASCII as '?', line breaks as " | ", surrounding space trimmed.
std::string OutputForLog(const std::string& output, size_t max = 512);

}  // namespace apitrail::archive
