// NotEmpty: the check for flags whose empty value would quietly mean something else. An
// unset shell variable (`--key "$KEY"`, `--data "$DIR"`) passes "": verify then trusted the
// data dir's own node.key and skipped the saved checkpoint with exit 0, and keys wrote to
// /keys.json.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace apitrail {

inline CLI::Validator NotEmpty() {
  return CLI::Validator(
      [](const std::string& text) -> std::string {
        return text.empty() ? "must not be empty (an unset variable?)" : "";
      },
      "");
}

}  // namespace apitrail
