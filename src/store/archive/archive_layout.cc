#include "store/archive/archive_layout.h"

#include <algorithm>

namespace apitrail::archive {

namespace {

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

std::string Digits20(uint64_t v) {
  std::string s = std::to_string(v);
  return std::string(20 - s.size(), '0') + s;
}

bool ParseDigits20(std::string_view s, uint64_t* v) {
  if (s.size() != 20 ||
      !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return false;
  }
  uint64_t out = 0;
  for (char c : s) {
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (out > (UINT64_MAX - d) / 10) return false;
    out = out * 10 + d;
  }
  *v = out;
  return true;
}

}  // namespace

bool HasSuffix(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool IsPartName(std::string_view name) {
  return name.size() > kPartSuffix.size() && name.front() != '.' && HasSuffix(name, kPartSuffix) &&
         std::all_of(name.begin(), name.end(), IsNameChar);
}

std::string SliceName(uint64_t start, uint64_t end) {
  return std::string(kSlicePrefix) + Digits20(start) + "-" + Digits20(end) +
         std::string(kSliceSuffix);
}

bool ParseSliceName(std::string_view name, uint64_t* start, uint64_t* end) {
  if (name.size() != kSlicePrefix.size() + 41 + kSliceSuffix.size()) return false;
  if (name.substr(0, kSlicePrefix.size()) != kSlicePrefix || !HasSuffix(name, kSliceSuffix))
    return false;
  std::string_view digits = name.substr(kSlicePrefix.size(), 41);
  if (digits[20] != '-') return false;
  return ParseDigits20(digits.substr(0, 20), start) && ParseDigits20(digits.substr(21), end) &&
         *start < *end;
}

bool IsVerifierKeyName(std::string_view name) {
  if (name.size() != kVerifierKeyPrefix.size() + 8 + kVerifierKeySuffix.size()) return false;
  if (name.substr(0, kVerifierKeyPrefix.size()) != kVerifierKeyPrefix || !HasSuffix(name, kVerifierKeySuffix)) {
    return false;
  }
  for (char c : name.substr(kVerifierKeyPrefix.size(), 8)) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace apitrail::archive
