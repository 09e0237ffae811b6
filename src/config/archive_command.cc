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
  // The shell's quoting state as far as it matters here: a substitution inside quotes would
  // be quoted twice ('%p' → ''/a b'') and split on odd names.
  enum { kNone, kSingle, kDouble } quote = kNone;
  bool has_file = false;
  for (size_t i = 0; i < command.size(); ++i) {
    const char c = command[i];
    if (c == '\0' || c == '\n' || c == '\r') {
      return Status::InvalidArgument("must be one line without NUL bytes");
    }
    if (c == '\\' && quote != kSingle) {
      // The expander substitutes every %p and %f; one after a backslash would land quoted
      // in a way this check cannot see ("\%p" expands to "\'/path'").
      if (i + 1 < command.size() && command[i + 1] == '%') {
        return Status::InvalidArgument("has a backslash before '%' (write %% for a literal %)");
      }
      ++i;  // the next character is escaped
      continue;
    }
    if (c == '\'' && quote != kDouble) {
      quote = quote == kSingle ? kNone : kSingle;
      continue;
    }
    if (c == '"' && quote != kSingle) {
      quote = quote == kDouble ? kNone : kDouble;
      continue;
    }
    if (c != '%') continue;
    if (i + 1 == command.size()) {
      return Status::InvalidArgument("ends with a lone '%' (write %% for a literal %)");
    }
    const char e = command[i + 1];
    if (e == 'p' || e == 'f') {
      has_file = true;
      if (quote != kNone) {
        return Status::InvalidArgument(
            "do not quote %" + std::string(1, e) +
            ": apitrail substitutes it already shell-quoted (write cp %p '/mnt/my archive/'%f)");
      }
    } else if (e != '%') {
      return Status::InvalidArgument("unknown escape '%" + std::string(1, e) +
                                     "' (known: %p path, %f file name, %% a literal %)");
    }
    ++i;
  }
  if (quote != kNone) return Status::InvalidArgument("has an unterminated quote");
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
