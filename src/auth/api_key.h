// API key text format (DESIGN §4): generation, structural parsing and hashing.
// Pure functions; thread-safe.
//
//   atk_ + key id (8 base62) + _ + secret (32 base62) + checksum (6 base62)   = 51 chars
//   e.g. atk_3fG7kQ2z_9xT...Lw0aBcDe
//
// The fixed `atk_` prefix lets secret scanners (GitHub, gitleaks) recognise leaked keys; the
// checksum (CRC-32C of everything before it, in base62) lets a typo or a truncated paste be
// rejected without touching the key set. The checksum is NOT a security property: anyone can
// compute it. Only the SHA-256 of the whole key text is ever stored (HashApiKey). The secret is
// 32 base62 chars ≈ 190 bits, so an unsalted fast hash is sufficient (no password hashing).
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace apitrail {

inline constexpr std::string_view kApiKeyPrefix = "atk_";
inline constexpr size_t kApiKeyIdLength = 8;
inline constexpr size_t kApiKeySecretLength = 32;
inline constexpr size_t kApiKeyChecksumLength = 6;
inline constexpr size_t kApiKeyLength = kApiKeyPrefix.size() + kApiKeyIdLength + 1 +
                                        kApiKeySecretLength + kApiKeyChecksumLength;  // 51

struct GeneratedApiKey {
  std::string id;   // the 8-char key id; not secret, safe to log and audit
  std::string key;  // the full plaintext key; show once, never store or log
};

// A fresh key from the CSPRNG (aborts only if the CSPRNG fails, see RandomBytes).
GeneratedApiKey GenerateApiKey();

// Checks prefix, length, alphabet and checksum. Returns the key id, or kInvalidArgument
// whose message is safe to show a client (it never echoes the input).
Result<std::string> ParseApiKey(std::string_view text);

// Lower-case hex SHA-256 of the full key text: the only form a key is stored in.
std::string HashApiKey(std::string_view text);

// True if `s` is a well-formed key id (8 base62 chars), e.g. for `apitrail keys revoke <id>`.
bool IsValidApiKeyId(std::string_view s);

// n characters of [0-9A-Za-z], uniformly distributed (rejection sampling, no modulo bias).
std::string RandomBase62(size_t n);

}  // namespace apitrail
