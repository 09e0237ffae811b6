// DecimalNumber: the transform every unsigned number flag (seqs, tree sizes, seconds) goes
// through. CLI11 2.1 reads unsigned options with strtoull(…, 0), which takes "-1" as
// 18446744073709551615, "010" as 8 (octal), "0x10" as 16 and "99999999999999999999" as the
// largest value — so `prove inclusion --seq -1` searched for a record that cannot exist and
// exited 1, and `export --from 010` started at record 8.
#pragma once

#include <CLI/CLI.hpp>
#include <charconv>
#include <cstdint>
#include <limits>
#include <string>

namespace apitrail {

// Accepts plain decimal digits up to `max` and hands CLI11 the number without leading zeros.
inline CLI::Validator DecimalNumber(uint64_t max = std::numeric_limits<uint64_t>::max()) {
  return CLI::Validator(
      [max](std::string& text) -> std::string {
        uint64_t value = 0;
        const char* end = text.data() + text.size();
        auto [ptr, ec] = std::from_chars(text.data(), end, value);
        if (text.empty() || ec != std::errc() || ptr != end || value > max) {
          return "expected a decimal number from 0 to " + std::to_string(max) + ", got '" + text + "'";
        }
        text = std::to_string(value);
        return "";
      },
      "");
}

}  // namespace apitrail
