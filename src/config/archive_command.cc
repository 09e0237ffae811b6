#include "config/archive_command.h"

#include <vector>

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
  // The shell's lexical context as far as it matters here: a substitution inside quotes
  // would be quoted twice ('%p' → ''/a b'') and split on odd names. Contexts nest, as in
  // POSIX sh: inside "…", a $(…), ${…} or `…` opens a new context in which `"` starts a
  // nested quote instead of closing the outer one — "$(echo "%p")" puts %p inside double
  // quotes although a flat quote count says it is outside (and a path holding $(…) would
  // then run), so a flat count is not enough. Unquoted inside $(…) is fine ($(cat %p) is one
  // word); inside ${…} or `…` (where backslashes are processed again) a substitution is
  // refused. Known limit: a `)` of a case pattern inside $(…) ends it here (write (a) …).
  enum Ctx { kTop, kSingle, kAnsi, kDouble, kParen, kBrace, kBacktick };
  struct Frame {
    Ctx ctx;
    int parens;  // unmatched '(' inside a $(…)
  };
  std::vector<Frame> stack{{kTop, 0}};
  bool has_file = false;
  for (size_t i = 0; i < command.size(); ++i) {
    const char c = command[i];
    const char next = i + 1 < command.size() ? command[i + 1] : '\0';
    if (c == '\0' || c == '\n' || c == '\r') {
      return Status::InvalidArgument("must be one line without NUL bytes");
    }
    Frame& top = stack.back();
    if (c == '%') {
      if (i + 1 == command.size()) {
        return Status::InvalidArgument("ends with a lone '%' (write %% for a literal %)");
      }
      if (next == 'p' || next == 'f') {
        has_file = true;
        if (top.ctx == kBrace || top.ctx == kBacktick) {
          return Status::InvalidArgument("has %" + std::string(1, next) +
                                         " inside ${…} or `…`: put it outside, or in $(…)");
        }
        if (top.ctx != kTop && top.ctx != kParen) {
          return Status::InvalidArgument(
              "do not quote %" + std::string(1, next) +
              ": apitrail substitutes it already shell-quoted (write cp %p '/mnt/my archive/'%f)");
        }
      } else if (next != '%') {
        return Status::InvalidArgument("unknown escape '%" + std::string(1, next) +
                                       "' (known: %p path, %f file name, %% a literal %)");
      }
      ++i;
      continue;
    }
    if (top.ctx == kSingle) {
      if (c == '\'') stack.pop_back();
      continue;
    }
    if (c == '\\') {
      // The expander substitutes every %p and %f; one after a backslash would land quoted
      // in a way this check cannot see ("\%p" expands to "\'/path'").
      if (next == '%') {
        return Status::InvalidArgument("has a backslash before '%' (write %% for a literal %)");
      }
      // bash reads $'a\'b' as one word, dash as $ 'a\' b…: the two disagree on what follows.
      if (top.ctx == kAnsi && next == '\'') {
        return Status::InvalidArgument(
            "has \\' inside $'…', which sh implementations read differently");
      }
      ++i;  // the next character is escaped
      continue;
    }
    if (top.ctx == kAnsi) {
      if (c == '\'') stack.pop_back();
      continue;
    }
    // Nested contexts open in every remaining context (unquoted, "…", $(…), ${…}, `…`).
    if (c == '$' && next == '(') {
      stack.push_back({kParen, 0});
      ++i;
      continue;
    }
    if (c == '$' && next == '{') {
      stack.push_back({kBrace, 0});
      ++i;
      continue;
    }
    if (c == '`') {
      if (top.ctx == kBacktick) {
        stack.pop_back();
      } else {
        stack.push_back({kBacktick, 0});
      }
      continue;
    }
    if (top.ctx == kDouble) {
      if (c == '"') stack.pop_back();
      continue;  // a ' is literal inside "…"
    }
    // Unquoted: the top level, or inside $(…), ${…} or `…`.
    if (c == '$' && next == '\'' && top.ctx != kBrace) {
      stack.push_back({kAnsi, 0});  // bash's $'…' (dash: $ then '…'; same extent unless \')
      ++i;
    } else if (c == '\'') {
      stack.push_back({kSingle, 0});
    } else if (c == '"') {
      stack.push_back({kDouble, 0});
    } else if (top.ctx == kParen && c == '(') {
      ++top.parens;
    } else if (top.ctx == kParen && c == ')') {
      if (top.parens == 0) {
        stack.pop_back();
      } else {
        --top.parens;
      }
    } else if (top.ctx == kBrace && c == '}') {
      stack.pop_back();
    }
  }
  const Ctx open = stack.back().ctx;
  if (open == kSingle || open == kAnsi || open == kDouble) {
    return Status::InvalidArgument("has an unterminated quote");
  }
  if (open != kTop) return Status::InvalidArgument("has an unterminated $(…), ${…} or `…`");
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
