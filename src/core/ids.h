// Identifiers: UUIDv7 (RFC 9562) for events and correlation ids, random hex for W3C trace
// and span ids. Thread-safe: randomness comes from OpenSSL's RAND_bytes; event ids also
// take one relaxed atomic increment.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace apitrail {

// UUIDv7 from unix_ms plus 74 random bits, lower-case canonical text form. For ids that
// leave the process (request ids): nothing in them can be predicted.
std::string NewUuidV7(int64_t unix_ns);

// The id of an audit event: a UUIDv7 (unix_ms from unix_ns) whose 74 other bits are a
// 42-bit origin, random per process, and a 32-bit counter that starts at a random value
// below 2^31 and counts every id the process mints (RFC 9562 §6.2, a counter in rand_b; §6.9: the
// random origin keeps ids of different processes apart). Ids of one process are therefore
// unique and, within a millisecond, in minting order; and two ids of a process differ in
// their last 8 bytes by the count of ids minted between them, which sealed parts store as
// a small delta (docs/FORMAT.md §16.3, transform 6). An event id is shown only to admins:
// the counter tells them how many events a process recorded between two events.
std::string NewEventId(int64_t unix_ns);
// NewEventId's text in place, and its counter (what EventIdCounter would read back): the
// store mints one per append, where a heap string and a re-parse are measurable.
struct MintedEventId {
  std::array<char, 36> text;
  uint32_t counter;
  std::string_view view() const { return {text.data(), text.size()}; }
};
MintedEventId MintEventId(int64_t unix_ns);
// The layout NewEventId fills, for callers that keep their own origin and counter
// (deterministic benchmark traffic): bytes 6–7 = version 7 and origin bits 41…30, bytes
// 8–15 = variant 10, origin bits 29…0 and the counter.
std::string FormatEventId(int64_t unix_ns, uint64_t origin42, uint32_t counter);
// The counter of an id NewEventId or FormatEventId made: its last 8 hex digits. 0 when
// `id` does not end in 8 hex digits. Two counters compare with wrap-around
// (static_cast<int32_t>(a - b) < 0: a was minted first).
uint32_t EventIdCounter(std::string_view id);
// n random bytes as 2n lower-case hex digits, never all zero (W3C forbids zero ids).
std::string RandomHexId(size_t n_bytes);
// n random bytes; aborts if the CSPRNG fails (nothing secure can be done then).
void RandomBytes(void* out, size_t n);
// The 36-character canonical text form (8-4-4-4-12, lower case) of 16 UUID bytes, written
// to out[0, 36) (no terminator).
void FormatUuid(const uint8_t* bytes16, char* out);

}  // namespace apitrail
