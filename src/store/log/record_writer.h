// Encoding side of the log format (docs/FORMAT.md): file headers and record frames.
// Pure functions that append to a caller's buffer, so the writer thread can build one
// batch and write it with a single system call. Thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace apitrail::log {

// Appends a file header with the given magic (kSegmentMagic or kTreeHeadMagic).
// `node` longer than kMaxNodeNameSize is cut.
void AppendFileHeader(std::string* dst, std::string_view magic, std::string_view node,
                      uint64_t first_seq);

// Masked CRC32C over seq (8 bytes LE) followed by the payload.
uint32_t FrameCrc(uint64_t seq, std::string_view payload);

// Appends one frame. The payload must be at most kMaxPayloadSize (checked by the caller).
void AppendFrame(std::string* dst, uint64_t seq, std::string_view payload);

inline size_t FrameSize(size_t payload_size) { return 16 + payload_size; }

// "seg-00000000000000000042.log" (a name inside DIR/segments).
std::string SegmentFileName(uint64_t first_seq);
// Parses a name made by SegmentFileName; false for anything else.
bool ParseSegmentFileName(std::string_view name, uint64_t* first_seq);

}  // namespace apitrail::log
