#include "auth/api_key.h"

#include <cstdint>

#include "core/crc32c.h"
#include "core/crypto_util.h"
#include "core/ids.h"

namespace apitrail {
namespace {

constexpr char kBase62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

bool IsBase62(char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

bool AllBase62(std::string_view s) {
  for (char c : s) {
    if (!IsBase62(c)) return false;
  }
  return true;
}

// Fixed-width base62 of a 32-bit value (62^6 > 2^32, so 6 digits always suffice).
std::string Checksum(std::string_view body) {
  uint32_t v = crc32c::Value(body.data(), body.size());
  std::string out(kApiKeyChecksumLength, '0');
  for (size_t i = kApiKeyChecksumLength; i-- > 0;) {
    out[i] = kBase62[v % 62];
    v /= 62;
  }
  return out;
}

}  // namespace

std::string RandomBase62(size_t n) {
  std::string out;
  out.reserve(n);
  uint8_t buf[64];
  while (out.size() < n) {
    RandomBytes(buf, sizeof(buf));
    for (uint8_t b : buf) {
      // 248 = 4 * 62: bytes 248..255 are discarded so every character is equally likely.
      if (b >= 248) continue;
      out.push_back(kBase62[b % 62]);
      if (out.size() == n) break;
    }
  }
  return out;
}

GeneratedApiKey GenerateApiKey() {
  GeneratedApiKey g;
  g.id = RandomBase62(kApiKeyIdLength);
  std::string body;
  body.reserve(kApiKeyLength);
  body.append(kApiKeyPrefix).append(g.id).append("_").append(RandomBase62(kApiKeySecretLength));
  g.key = body + Checksum(body);
  return g;
}

bool IsValidApiKeyId(std::string_view s) {
  return s.size() == kApiKeyIdLength && AllBase62(s);
}

Result<std::string> ParseApiKey(std::string_view text) {
  // Messages never include the text: it may be a real key pasted into the wrong place.
  if (text.size() != kApiKeyLength) return Status::InvalidArgument("API key has the wrong length");
  if (text.substr(0, kApiKeyPrefix.size()) != kApiKeyPrefix) {
    return Status::InvalidArgument("API key does not start with atk_");
  }
  size_t id_pos = kApiKeyPrefix.size();
  size_t sep_pos = id_pos + kApiKeyIdLength;
  if (text[sep_pos] != '_') return Status::InvalidArgument("API key is malformed");
  std::string_view id = text.substr(id_pos, kApiKeyIdLength);
  std::string_view rest = text.substr(sep_pos + 1);
  if (!AllBase62(id) || !AllBase62(rest)) {
    return Status::InvalidArgument("API key contains invalid characters");
  }
  size_t body_len = kApiKeyLength - kApiKeyChecksumLength;
  // The checksum is public (not a MAC), so comparing it in variable time leaks nothing.
  if (Checksum(text.substr(0, body_len)) != text.substr(body_len)) {
    return Status::InvalidArgument("API key checksum mismatch (mistyped or truncated key?)");
  }
  return std::string(id);
}

std::string HashApiKey(std::string_view text) { return HexEncode(Sha256(text)); }

}  // namespace apitrail
