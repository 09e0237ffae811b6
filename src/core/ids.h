// Identifiers: UUIDv7 (RFC 9562) for events and correlation ids, random hex for W3C trace
// and span ids. Thread-safe: randomness comes from OpenSSL's RAND_bytes.
#pragma once

#include <cstdint>
#include <string>

namespace apitrail {

// UUIDv7 from unix_ms plus 74 random bits, lower-case canonical text form.
std::string NewUuidV7(int64_t unix_ns);
// n random bytes as 2n lower-case hex digits, never all zero (W3C forbids zero ids).
std::string RandomHexId(size_t n_bytes);
// n random bytes; aborts if the CSPRNG fails (nothing secure can be done then).
void RandomBytes(void* out, size_t n);
// The 36-character canonical text form (8-4-4-4-12, lower case) of 16 UUID bytes, written
// to out[0, 36) (no terminator).
void FormatUuid(const uint8_t* bytes16, char* out);

}  // namespace apitrail
