#include "gateway/correlation.h"

namespace apitrail {
namespace {

bool IsLowerHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

bool IsLowerHexRun(std::string_view s) {
  for (char c : s) {
    if (!IsLowerHex(c)) return false;
  }
  return true;
}

bool AllZero(std::string_view s) { return s.find_first_not_of('0') == std::string_view::npos; }

uint8_t HexByte(std::string_view two) {
  auto v = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
  return static_cast<uint8_t>(v(two[0]) * 16 + v(two[1]));
}

constexpr size_t kTraceparentV0Size = 55;  // 2 + 1 + 32 + 1 + 16 + 1 + 2

bool IsOws(char c) { return c == ' ' || c == '\t'; }

// A run of lcalpha / DIGIT / "_" / "-" / "*" / "/" of 1..max characters that starts with a
// letter, or also a digit where `digit_first`.
bool IsKeyPart(std::string_view s, size_t max, bool digit_first) {
  if (s.empty() || s.size() > max) return false;
  if (!(s[0] >= 'a' && s[0] <= 'z') && !(digit_first && s[0] >= '0' && s[0] <= '9')) {
    return false;
  }
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
              c == '*' || c == '/';
    if (!ok) return false;
  }
  return true;
}

// key = simple-key / tenant-id "@" system-id: up to 256, 241 "@" 14 characters. A simple
// key may start with a digit as Level 2 allows, so a newer caller's list is not dropped.
bool IsTracestateKey(std::string_view key) {
  size_t at = key.find('@');
  if (at == std::string_view::npos) return IsKeyPart(key, 256, true);
  return IsKeyPart(key.substr(0, at), 241, true) && IsKeyPart(key.substr(at + 1), 14, false);
}

// value = 0*255(chr) nblk-chr: printable ASCII but ',' and '=', not ending in a space
// (trailing spaces are OWS, already trimmed).
bool IsTracestateValue(std::string_view value) {
  if (value.empty() || value.size() > 256 || value.back() == ' ') return false;
  for (char c : value) {
    if (c < 0x20 || c > 0x7e || c == ',' || c == '=') return false;
  }
  return true;
}

}  // namespace

bool IsValidRequestId(std::string_view id) {
  if (id.empty() || id.size() > kMaxRequestIdBytes) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string SanitizeForRecord(std::string_view raw) {
  std::string out(raw.substr(0, kMaxRequestIdBytes));
  for (char& c : out) {
    if (c < 0x20 || c > 0x7e) c = '?';  // char may be signed: bytes >= 0x80 are < 0x20
  }
  return out;
}

std::optional<TraceParent> ParseTraceparent(std::string_view value) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  if (value.size() < kTraceparentV0Size) return std::nullopt;
  std::string_view version = value.substr(0, 2);
  if (!IsLowerHexRun(version) || version == "ff") return std::nullopt;
  if (version == "00") {
    if (value.size() != kTraceparentV0Size) return std::nullopt;
  } else if (value.size() > kTraceparentV0Size && value[kTraceparentV0Size] != '-') {
    return std::nullopt;
  }
  if (value[2] != '-' || value[35] != '-' || value[52] != '-') return std::nullopt;
  std::string_view trace_id = value.substr(3, 32);
  std::string_view parent_id = value.substr(36, 16);
  std::string_view flags = value.substr(53, 2);
  if (!IsLowerHexRun(trace_id) || !IsLowerHexRun(parent_id) || !IsLowerHexRun(flags)) {
    return std::nullopt;
  }
  if (AllZero(trace_id) || AllZero(parent_id)) return std::nullopt;
  TraceParent tp;
  tp.version = HexByte(version);
  tp.trace_id = std::string(trace_id);
  tp.parent_id = std::string(parent_id);
  // Only the sampled bit is defined: the others MUST be sent as zero ("Other Flags"), and of
  // a higher version only the sampled bit may be read (its other bits may mean anything).
  tp.flags = HexByte(flags) & 0x01;
  return tp;
}

std::string FormatTraceparent(std::string_view trace_id, std::string_view span_id,
                              uint8_t flags) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(kTraceparentV0Size);
  out.append("00-");
  out.append(trace_id);
  out.push_back('-');
  out.append(span_id);
  out.push_back('-');
  out.push_back(kHex[flags >> 4]);
  out.push_back(kHex[flags & 0x0f]);
  return out;
}

// Calls f(member) for each non-empty list member, OWS around it trimmed, until f says false.
template <typename F>
void ForEachTracestateMember(std::string_view value, F f) {
  size_t pos = 0;
  while (pos <= value.size()) {
    size_t comma = value.find(',', pos);
    if (comma == std::string_view::npos) comma = value.size();
    std::string_view member = value.substr(pos, comma - pos);
    pos = comma + 1;
    while (!member.empty() && IsOws(member.front())) member.remove_prefix(1);
    while (!member.empty() && IsOws(member.back())) member.remove_suffix(1);
    if (!member.empty() && !f(member)) return;
  }
}

bool IsValidTracestate(std::string_view value) {
  // Each key at most once: it is its vendor's last position in the trace. 32 members at
  // most, so comparing with every earlier key is cheap.
  std::string_view keys[kMaxTracestateMembers];
  size_t members = 0;
  bool valid = true;
  ForEachTracestateMember(value, [&](std::string_view member) {
    size_t eq = member.find('=');
    std::string_view key = member.substr(0, eq);
    valid = eq != std::string_view::npos && IsTracestateKey(key) &&
            IsTracestateValue(member.substr(eq + 1)) && members < kMaxTracestateMembers;
    for (size_t i = 0; valid && i < members; ++i) valid = keys[i] != key;
    keys[members++ % kMaxTracestateMembers] = key;
    return valid;
  });
  if (!valid) return false;
  // A list of nothing but commas and spaces: the spec asks not to send one.
  return members > 0;
}

std::string TracestateToForward(std::string_view valid) {
  if (valid.size() <= kMaxTracestateBytes) return std::string(valid);
  constexpr size_t kLargeMember = 128;
  std::string_view kept[kMaxTracestateMembers];
  size_t n = 0;
  ForEachTracestateMember(valid, [&](std::string_view member) {
    if (member.size() <= kLargeMember && n < kMaxTracestateMembers) kept[n++] = member;
    return true;
  });
  size_t size = n == 0 ? 0 : n - 1;  // the commas
  for (size_t i = 0; i < n; ++i) size += kept[i].size();
  while (n > 0 && size > kMaxTracestateBytes) {
    --n;
    size -= kept[n].size() + (n > 0 ? 1 : 0);  // the member and the comma before it
  }
  std::string out;
  out.reserve(size);
  for (size_t i = 0; i < n; ++i) {
    if (i > 0) out.push_back(',');
    out.append(kept[i]);
  }
  return out;
}

}  // namespace apitrail
