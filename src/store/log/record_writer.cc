#include "store/log/record_writer.h"

#include <algorithm>
#include <cstdio>

#include "core/crc32c.h"
#include "store/log/coding.h"
#include "store/log/log_format.h"

namespace apitrail::log {

void AppendFileHeader(std::string* dst, std::string_view magic, std::string_view node,
                      uint64_t first_seq) {
  size_t start = dst->size();
  node = node.substr(0, std::min(node.size(), kMaxNodeNameSize));
  dst->append(magic.data(), kMagicSize);
  PutFixed32(dst, FormatVersionFor(magic));
  PutFixed64(dst, first_seq);
  PutFixed16(dst, static_cast<uint16_t>(node.size()));
  dst->append(node.data(), node.size());
  PutFixed32(dst, crc32c::Mask(crc32c::Value(dst->data() + start, dst->size() - start)));
}

uint32_t FrameCrc(uint64_t seq, std::string_view payload) {
  char seq_bytes[8];
  EncodeFixed64(seq_bytes, seq);
  uint32_t crc = crc32c::Value(seq_bytes, sizeof(seq_bytes));
  return crc32c::Mask(crc32c::Extend(crc, payload.data(), payload.size()));
}

void AppendFrame(std::string* dst, uint64_t seq, std::string_view payload) {
  PutFixed32(dst, static_cast<uint32_t>(payload.size()));
  PutFixed32(dst, FrameCrc(seq, payload));
  PutFixed64(dst, seq);
  dst->append(payload.data(), payload.size());
}

std::string SegmentFileName(uint64_t first_seq) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "seg-%020llu.log", static_cast<unsigned long long>(first_seq));
  return buf;
}

bool ParseSegmentFileName(std::string_view name, uint64_t* first_seq) {
  if (name.size() != kSegmentPrefix.size() + 20 + kSegmentSuffix.size()) return false;
  if (name.substr(0, kSegmentPrefix.size()) != kSegmentPrefix) return false;
  if (name.substr(name.size() - kSegmentSuffix.size()) != kSegmentSuffix) return false;
  uint64_t v = 0;
  for (char c : name.substr(kSegmentPrefix.size(), 20)) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  *first_seq = v;
  return true;
}

}  // namespace apitrail::log
