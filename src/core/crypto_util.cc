#include "core/crypto_util.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <array>
#include <cstring>

#include "core/assert.h"

namespace apitrail {

struct Sha256Hasher::Impl {
  EVP_MD* md = nullptr;
  EVP_MD_CTX* ctx = nullptr;
};

Sha256Hasher::Sha256Hasher() : impl_(new Impl) {
  impl_->md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  impl_->ctx = EVP_MD_CTX_new();
  APITRAIL_ASSERT(impl_->md && impl_->ctx, "OpenSSL provides SHA-256");
}

Sha256Hasher::~Sha256Hasher() {
  EVP_MD_CTX_free(impl_->ctx);
  EVP_MD_free(impl_->md);
  delete impl_;
}

void Sha256Hasher::Init() {
  APITRAIL_ASSERT(EVP_DigestInit_ex2(impl_->ctx, impl_->md, nullptr) == 1, "digest init");
}

void Sha256Hasher::Update(const void* data, size_t n) {
  APITRAIL_ASSERT(EVP_DigestUpdate(impl_->ctx, data, n) == 1, "digest update");
}

Hash256 Sha256Hasher::Final() {
  Hash256 out;
  unsigned int len = 0;
  APITRAIL_ASSERT(EVP_DigestFinal_ex(impl_->ctx, out.data(), &len) == 1 && len == 32,
                  "digest final");
  return out;
}

Hash256 Sha256(std::string_view data) {
  thread_local Sha256Hasher hasher;
  return hasher.Digest(data);
}

namespace {
// "00".."ff" for each byte value: one 2-byte copy per input byte. Ids and hashes are
// hex-encoded several times per request.
constexpr std::array<char, 512> MakeHexPairs() {
  constexpr char kHex[] = "0123456789abcdef";
  std::array<char, 512> t{};
  for (int i = 0; i < 256; ++i) {
    t[2 * i] = kHex[i >> 4];
    t[2 * i + 1] = kHex[i & 0xF];
  }
  return t;
}
constexpr std::array<char, 512> kHexPairs = MakeHexPairs();
}  // namespace

void HexEncodeTo(const void* data, size_t n, char* out) {
  const auto* p = static_cast<const uint8_t*>(data);
  for (size_t i = 0; i < n; ++i) std::memcpy(out + 2 * i, &kHexPairs[2 * p[i]], 2);
}

std::string HexEncode(const void* data, size_t n) {
  std::string out(n * 2, '\0');
  HexEncodeTo(data, n, out.data());
  return out;
}

int HexDigitValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

namespace {

constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr char kB64Url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string Base64EncodeWith(std::string_view data, const char* alphabet, bool pad) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  const auto* p = reinterpret_cast<const uint8_t*>(data.data());
  for (; i + 3 <= data.size(); i += 3) {
    uint32_t v = (p[i] << 16) | (p[i + 1] << 8) | p[i + 2];
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    out.push_back(alphabet[(v >> 6) & 63]);
    out.push_back(alphabet[v & 63]);
  }
  size_t rest = data.size() - i;
  if (rest == 1) {
    uint32_t v = p[i] << 16;
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    if (pad) out.append("==");
  } else if (rest == 2) {
    uint32_t v = (p[i] << 16) | (p[i + 1] << 8);
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    out.push_back(alphabet[(v >> 6) & 63]);
    if (pad) out.push_back('=');
  }
  return out;
}

Result<std::string> Base64DecodeWith(std::string_view s, bool url) {
  // Strip padding; it is optional in both forms we accept.
  size_t end = s.size();
  while (end > 0 && s[end - 1] == '=') --end;
  if (s.size() - end > 2) return Status::InvalidArgument("bad base64 padding");
  if (!url && end != s.size() && s.size() % 4 != 0) return Status::InvalidArgument("bad base64 padding");
  if (url && end != s.size()) return Status::InvalidArgument("base64url must not be padded");
  std::string out;
  out.reserve(end * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < end; ++i) {
    char c = s[i];
    int v;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == (url ? '-' : '+')) v = 62;
    else if (c == (url ? '_' : '/')) v = 63;
    else return Status::InvalidArgument("invalid base64 character");
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  if (end % 4 == 1) return Status::InvalidArgument("truncated base64");
  // Non-canonical encodings (leftover bits set) are rejected: one value, one encoding.
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) return Status::InvalidArgument("non-canonical base64");
  return out;
}
}  // namespace

Result<std::string> HexDecode(std::string_view hex) {
  if (hex.size() % 2 != 0) return Status::InvalidArgument("odd-length hex");
  std::string out(hex.size() / 2, '\0');
  for (size_t i = 0; i < out.size(); ++i) {
    int hi = HexDigitValue(hex[2 * i]), lo = HexDigitValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return Status::InvalidArgument("invalid hex digit");
    out[i] = static_cast<char>((hi << 4) | lo);
  }
  return out;
}

Result<Hash256> HexToHash(std::string_view hex) {
  if (hex.size() != 64) return Status::InvalidArgument("a SHA-256 hash is 64 hex digits");
  auto raw = HexDecode(hex);
  if (!raw.ok()) return raw.status();
  Hash256 h;
  std::copy(raw->begin(), raw->end(), h.begin());
  return h;
}

std::string Base64Encode(std::string_view data) { return Base64EncodeWith(data, kB64, true); }
std::string Base64UrlEncode(std::string_view data) { return Base64EncodeWith(data, kB64Url, false); }
Result<std::string> Base64Decode(std::string_view s) { return Base64DecodeWith(s, false); }
Result<std::string> Base64UrlDecode(std::string_view s) { return Base64DecodeWith(s, true); }

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace apitrail
