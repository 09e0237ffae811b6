#include "core/ids.h"

#include <openssl/rand.h>

#include "core/assert.h"
#include "core/crypto_util.h"

namespace apitrail {

void RandomBytes(void* out, size_t n) {
  APITRAIL_ASSERT(RAND_bytes(static_cast<unsigned char*>(out), static_cast<int>(n)) == 1,
                  "the CSPRNG must work");
}

std::string NewUuidV7(int64_t unix_ns) {
  uint8_t b[16];
  RandomBytes(b, sizeof(b));
  auto ms = static_cast<uint64_t>(unix_ns / 1000000);
  for (int i = 0; i < 6; ++i) b[i] = static_cast<uint8_t>(ms >> (40 - 8 * i));
  b[6] = static_cast<uint8_t>(0x70 | (b[6] & 0x0F));  // version 7
  b[8] = static_cast<uint8_t>(0x80 | (b[8] & 0x3F));  // variant 10
  std::string hex = HexEncode(b, sizeof(b));
  std::string out;
  out.reserve(36);
  out.append(hex, 0, 8).push_back('-');
  out.append(hex, 8, 4).push_back('-');
  out.append(hex, 12, 4).push_back('-');
  out.append(hex, 16, 4).push_back('-');
  out.append(hex, 20, 12);
  return out;
}

std::string RandomHexId(size_t n_bytes) {
  std::string raw(n_bytes, '\0');
  for (;;) {
    RandomBytes(raw.data(), n_bytes);
    if (raw.find_first_not_of('\0') != std::string::npos) break;
  }
  return HexEncode(raw.data(), raw.size());
}

}  // namespace apitrail
