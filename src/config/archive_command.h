// The archive command: a PostgreSQL-style shell command template (audit.archive.command,
// docs/CONFIG.md) that copies one file to cold storage. `%p` becomes the absolute path of the
// file, `%f` its file name, `%%` a literal `%`. Substitutions are single-quoted for /bin/sh,
// so a name with spaces, quotes, `$` or `;` stays one argument and cannot inject commands.
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace apitrail {

// The shell word for `text`: 'text', with every ' written as '\'' (POSIX sh).
std::string ShellQuote(std::string_view text);

// Checks a command template: one line, only %p %f %% escapes, at least one of %p/%f, no
// substitution inside shell quotes ('%p' or "/mnt/%f" would break on odd names because the
// value is already quoted; '/mnt/dir/'%f is fine), no unterminated quote. InvalidArgument
// with a message fit for a config error (it never repeats the command).
Status ValidateArchiveCommand(std::string_view command);

// The command to run for the file at `path` (absolute) named `file_name`. The template must
// have passed ValidateArchiveCommand; an unknown escape is copied unchanged.
std::string ExpandArchiveCommand(std::string_view command, std::string_view path,
                                 std::string_view file_name);

}  // namespace apitrail
