#include "store/part/stream_transform.h"

#include "store/part/part_index.h"

namespace apitrail::part {

namespace {

constexpr size_t kUuidValue = 37;  // 0x24 + 36 characters
constexpr size_t kUuidBytes = 16;
constexpr size_t kTimePlane = 6;   // a version 7 UUID's 48-bit millisecond time

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

bool IsDash(size_t i) { return i == 9 || i == 14 || i == 19 || i == 24; }

}  // namespace

uint64_t ZigZag(int64_t v) { return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63); }
int64_t UnZigZag(uint64_t v) { return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1); }

bool IsCanonicalUuid(std::string_view value) {
  if (value.size() != kUuidValue || value[0] != '\x24') return false;
  for (size_t i = 1; i < kUuidValue; ++i) {
    if (IsDash(i) ? value[i] != '-' : HexDigit(value[i]) < 0) return false;
  }
  return true;
}

std::string PackUuids(std::string_view values) {
  const size_t n = values.size() / kUuidValue;
  std::string planes(n * kUuidBytes, '\0');
  for (size_t v = 0; v < n; ++v) {
    const std::string_view value = values.substr(v * kUuidValue, kUuidValue);
    size_t byte = 0;
    for (size_t i = 1; i < kUuidValue; i += IsDash(i) ? 1 : 2) {
      if (IsDash(i)) continue;
      const char b = static_cast<char>(HexDigit(value[i]) << 4 | HexDigit(value[i + 1]));
      planes[byte < kTimePlane ? v * kTimePlane + byte : n * kTimePlane + v * (kUuidBytes - kTimePlane) + byte - kTimePlane] = b;
      ++byte;
    }
  }
  return planes;
}

bool UnpackUuids(std::string_view planes, size_t max_bytes, std::string* out) {
  if (planes.size() % kUuidBytes != 0) return false;
  const size_t n = planes.size() / kUuidBytes;
  if (n * kUuidValue > max_bytes) return false;
  static constexpr char kHex[] = "0123456789abcdef";
  out->clear();
  out->reserve(n * kUuidValue);
  for (size_t v = 0; v < n; ++v) {
    out->push_back('\x24');
    for (size_t byte = 0; byte < kUuidBytes; ++byte) {
      if (byte == 4 || byte == 6 || byte == 8 || byte == 10) out->push_back('-');
      const auto b = static_cast<unsigned char>(
          planes[byte < kTimePlane ? v * kTimePlane + byte : n * kTimePlane + v * (kUuidBytes - kTimePlane) + byte - kTimePlane]);
      out->push_back(kHex[b >> 4]);
      out->push_back(kHex[b & 15]);
    }
  }
  return true;
}

std::string DeltaEncode(const std::vector<uint64_t>& values) {
  std::string out;
  uint64_t prev = 0;
  for (uint64_t v : values) {
    PutVarint(&out, ZigZag(static_cast<int64_t>(v - prev)));
    prev = v;
  }
  return out;
}

bool DeltaDecode(std::string_view deltas, size_t max_bytes, std::string* out) {
  out->clear();
  const char* p = deltas.data();
  const char* end = p + deltas.size();
  uint64_t v = 0;
  while (p != end) {
    uint64_t z = 0;
    if (!GetVarint(&p, end, &z)) return false;
    v += static_cast<uint64_t>(UnZigZag(z));
    PutVarint(out, v);
    if (out->size() > max_bytes) return false;
  }
  return true;
}

}  // namespace apitrail::part
