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

bool IsValidTracestate(std::string_view value) {
  if (value.size() > kMaxTracestateBytes) return false;
  size_t members = 0;
  bool in_member = false;  // saw a non-space character since the last comma
  for (char c : value) {
    if (c < 0x20 || c > 0x7e) {
      if (c != '\t') return false;
      continue;
    }
    if (c == ',') {
      in_member = false;
    } else if (c != ' ' && !in_member) {
      in_member = true;
      if (++members > kMaxTracestateMembers) return false;
    }
  }
  return true;
}

}  // namespace apitrail
