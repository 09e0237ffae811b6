#include "config/archive_command.h"

namespace apitrail {

std::string ShellQuote(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') {
      out += "'\\''";  // close the quote, an escaped quote, reopen
    } else {
      out += c;
    }
  }
  out += "'";
  return out;
}

Status ValidateArchiveCommand(std::string_view command) {
  if (command.empty()) return Status::InvalidArgument("must not be empty");
  bool has_file = false;
  for (size_t i = 0; i < command.size(); ++i) {
    if (command[i] == '\0' || command[i] == '\n' || command[i] == '\r') {
      return Status::InvalidArgument("must be one line without NUL bytes");
    }
    if (command[i] != '%') continue;
    if (i + 1 == command.size()) {
      return Status::InvalidArgument("ends with a lone '%' (write %% for a literal %)");
    }
    const char e = command[i + 1];
    if (e == 'p' || e == 'f') {
      has_file = true;
      const bool quoted_before = i > 0 && (command[i - 1] == '\'' || command[i - 1] == '"');
      const bool quoted_after =
          i + 2 < command.size() && (command[i + 2] == '\'' || command[i + 2] == '"');
      if (quoted_before || quoted_after) {
        return Status::InvalidArgument(
            "do not quote %" + std::string(1, e) +
            ": apitrail substitutes it already shell-quoted (write cp %p /archive/%f)");
      }
    } else if (e != '%') {
      return Status::InvalidArgument("unknown escape '%" + std::string(1, e) +
                                     "' (known: %p path, %f file name, %% a literal %)");
    }
    ++i;
  }
  if (!has_file) return Status::InvalidArgument("must contain %p or %f (the file to archive)");
  return Status::Ok();
}

std::string ExpandArchiveCommand(std::string_view command, std::string_view path,
                                 std::string_view file_name) {
  std::string out;
  out.reserve(command.size() + path.size() + file_name.size() + 8);
  for (size_t i = 0; i < command.size(); ++i) {
    if (command[i] != '%' || i + 1 == command.size()) {
      out += command[i];
      continue;
    }
    const char e = command[i + 1];
    if (e == 'p') {
      out += ShellQuote(path);
    } else if (e == 'f') {
      out += ShellQuote(file_name);
    } else if (e == '%') {
      out += '%';
    } else {
      out += command[i];
      continue;  // unknown escape: copied unchanged (validation refuses it in configs)
    }
    ++i;
  }
  return out;
}

}  // namespace apitrail
