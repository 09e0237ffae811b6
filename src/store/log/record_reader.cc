#include "store/log/record_reader.h"

#include <algorithm>

#include "core/crc32c.h"
#include "store/log/coding.h"
#include "store/log/log_format.h"
#include "store/log/record_writer.h"

namespace apitrail::log {

namespace {
constexpr size_t kReadChunk = 256 * 1024;
constexpr uint64_t kMaxTailScan = 64ull << 20;

}  // namespace

Result<std::unique_ptr<RecordReader>> RecordReader::Open(FileSystem* fs, const std::string& path,
                                                         std::string_view magic,
                                                         bool* torn_header) {
  if (torn_header != nullptr) *torn_header = false;
  APITRAIL_ASSIGN_OR_RETURN(auto file, fs->OpenForRead(path));
  APITRAIL_ASSIGN_OR_RETURN(uint64_t size, file->Size());
  std::unique_ptr<RecordReader> r(new RecordReader(path, std::move(file), size));
  auto torn = [&](const std::string& what) {
    if (torn_header != nullptr) *torn_header = true;
    return Status::Corruption(path + ": " + what + " at offset 0");
  };
  if (size < kFileHeaderFixedSize + kFileHeaderCrcSize) return torn("truncated file header");
  APITRAIL_RETURN_IF_ERROR(r->Fill(0, kFileHeaderFixedSize));
  const char* p = r->At(0);
  if (std::string_view(p, kMagicSize) != magic) {
    return Status::Corruption(path + ": bad magic at offset 0 (expected " + std::string(magic) +
                              ")");
  }
  FileHeader& h = r->header_;
  h.version = DecodeFixed32(p + kMagicSize);
  h.first_seq = DecodeFixed64(p + kMagicSize + 4);
  uint16_t node_len = DecodeFixed16(p + kMagicSize + 12);
  if (node_len > kMaxNodeNameSize) {
    // No writer names a longer node, so this header is damaged, not torn: taken for torn
    // (the file shorter than the header it claims), recovery would empty the whole file.
    return Status::Corruption(path + ": file header names a node of " + std::to_string(node_len) +
                              " bytes (at most " + std::to_string(kMaxNodeNameSize) +
                              ") at offset " + std::to_string(kMagicSize + 12));
  }
  h.size = kFileHeaderFixedSize + node_len + kFileHeaderCrcSize;
  if (size < h.size) {
    // The writer syncs a new file's header before its first frame, so a file that holds a
    // frame has a damaged node length, not a header torn at creation (which recovery may
    // discard as empty). The file is shorter than 26 + 255 + 4 bytes here.
    constexpr uint64_t kShortestHeader = kFileHeaderFixedSize + kFileHeaderCrcSize;
    r->offset_ = kShortestHeader - 1;  // ValidFrameFollows scans from offset_ + 1
    APITRAIL_ASSIGN_OR_RETURN(bool framed, r->ValidFrameFollows(0, UINT64_MAX));
    if (framed) {
      return Status::Corruption(
          path + ": file header claims " + std::to_string(h.size) +
          " bytes but a frame starts at offset " + std::to_string(kShortestHeader) +
          " or later (node length at offset " + std::to_string(kMagicSize + 12) + ")");
    }
    return torn("truncated file header");
  }
  APITRAIL_RETURN_IF_ERROR(r->Fill(0, h.size));
  p = r->At(0);
  uint32_t expected = crc32c::Mask(crc32c::Value(p, h.size - kFileHeaderCrcSize));
  if (DecodeFixed32(p + h.size - kFileHeaderCrcSize) != expected) {
    return Status::Corruption(path + ": file header crc mismatch at offset 0");
  }
  if (h.version < 1 || h.version > FormatVersionFor(magic)) {
    return Status::Corruption(path + ": unsupported format version " + std::to_string(h.version) +
                              " at offset 8");
  }
  h.node.assign(p + kFileHeaderFixedSize, node_len);
  r->zero_tail_allowed_ = magic == kSegmentMagic;
  r->offset_ = h.size;
  return r;
}

Status RecordReader::Fill(uint64_t offset, size_t n) {
  if (offset >= buffer_start_ && offset + n <= buffer_start_ + buffer_.size()) return Status::Ok();
  size_t want = static_cast<size_t>(
      std::min<uint64_t>(std::max(n, kReadChunk), file_size_ - std::min(offset, file_size_)));
  want = std::max(want, n);
  buffer_.resize(want);
  APITRAIL_ASSIGN_OR_RETURN(size_t got, file_->Read(offset, want, buffer_.data()));
  buffer_.resize(got);
  buffer_start_ = offset;
  if (got < n)
    return Status::IoError(path_ + ": file shrank while reading at offset " +
                           std::to_string(offset));
  return Status::Ok();
}

Status RecordReader::Bad(const std::string& what) const {
  return Status::Corruption(path_ + ": " + what + " at offset " + std::to_string(offset_));
}

Result<bool> RecordReader::Next(Frame* frame) {
  incomplete_ = false;
  if (offset_ == file_size_) return false;
  uint64_t left = file_size_ - offset_;
  if (left < kFrameHeaderSize) {
    incomplete_ = true;
    return Bad("incomplete frame header");
  }
  APITRAIL_RETURN_IF_ERROR(Fill(offset_, kFrameHeaderSize));
  const char* p = At(offset_);
  uint32_t len = DecodeFixed32(p);
  uint32_t crc = DecodeFixed32(p + 4);
  uint64_t seq = DecodeFixed64(p + 8);
  if (len == 0 && header_.version >= kFirstZeroTailVersion && zero_tail_allowed_) {
    APITRAIL_ASSIGN_OR_RETURN(bool zeros, OnlyZerosFollow());
    if (zeros) return false;  // the writer's reserve: the clean end of the records
  }
  if (len == 0 || len > kMaxPayloadSize) return Bad("bad frame length " + std::to_string(len));
  if (kFrameHeaderSize + len > left) {
    incomplete_ = true;
    return Bad("frame of " + std::to_string(len) + " bytes runs past end of file");
  }
  APITRAIL_RETURN_IF_ERROR(Fill(offset_, kFrameHeaderSize + len));
  p = At(offset_);
  std::string_view payload(p + kFrameHeaderSize, len);
  if (FrameCrc(seq, payload) != crc)
    return Bad("crc mismatch (seq field " + std::to_string(seq) + ")");
  frame->seq = seq;
  frame->offset = offset_;
  frame->payload.assign(payload);
  offset_ += kFrameHeaderSize + len;
  return true;
}

Status RecordReader::SeekTo(uint64_t offset) {
  if (offset < header_.size || offset > file_size_) {
    return Status::InvalidArgument(path_ + ": cannot read from offset " + std::to_string(offset) +
                                   " (the file has " + std::to_string(file_size_) + " bytes)");
  }
  offset_ = offset;
  incomplete_ = false;
  return Status::Ok();
}

Result<bool> RecordReader::OnlyZerosFollow() {
  for (uint64_t at = offset_; at < file_size_;) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(kReadChunk, file_size_ - at));
    APITRAIL_RETURN_IF_ERROR(Fill(at, n));
    const char* p = At(at);
    for (size_t i = 0; i < n; ++i) {
      if (p[i] != 0) return false;
    }
    at += n;
  }
  return true;
}

Result<uint64_t> RecordReader::DataEnd() {
  uint64_t end = file_size_;
  while (end > offset_) {
    const uint64_t start = std::max<uint64_t>(offset_, end >= kReadChunk ? end - kReadChunk : 0);
    const size_t n = static_cast<size_t>(end - start);
    APITRAIL_RETURN_IF_ERROR(Fill(start, n));
    const char* p = At(start);
    for (size_t i = n; i > 0; --i) {
      if (p[i - 1] != 0) return start + i;
    }
    end = start;
  }
  return offset_;
}

Result<uint64_t> RecordReader::FirstValidFrameAfter(uint64_t min_seq, uint64_t max_seq,
                                                    bool* too_far) {
  *too_far = false;
  uint64_t start = offset_ + 1;
  if (start >= file_size_) return 0;
  uint64_t left = file_size_ - start;
  if (left > kMaxTailScan) {
    *too_far = true;
    return 0;
  }
  std::string rest(left, '\0');
  APITRAIL_ASSIGN_OR_RETURN(size_t got, file_->Read(start, left, rest.data()));
  rest.resize(got);
  for (size_t pos = 0; pos + kFrameHeaderSize <= rest.size(); ++pos) {
    const char* p = rest.data() + pos;
    uint32_t len = DecodeFixed32(p);
    if (len == 0 || len > kMaxPayloadSize || pos + kFrameHeaderSize + len > rest.size()) continue;
    uint64_t seq = DecodeFixed64(p + 8);
    if (seq < min_seq || seq > max_seq) continue;  // cheap filter before the CRC
    if (FrameCrc(seq, std::string_view(p + kFrameHeaderSize, len)) == DecodeFixed32(p + 4)) {
      return start + pos;
    }
  }
  return 0;
}

Result<bool> RecordReader::ValidFrameFollows(uint64_t min_seq, uint64_t max_seq) {
  bool too_far = false;
  APITRAIL_ASSIGN_OR_RETURN(uint64_t at, FirstValidFrameAfter(min_seq, max_seq, &too_far));
  return too_far || at != 0;
}

Result<bool> RecordReader::DamageIsTornTail(uint64_t min_seq, uint64_t max_seq) {
  bool too_far = false;
  APITRAIL_ASSIGN_OR_RETURN(uint64_t valid_at, FirstValidFrameAfter(min_seq, max_seq, &too_far));
  if (too_far) return false;
  if (valid_at == 0) return true;
  // An unwritten sector: zero from max(offset_, its start) to its end, which is at or
  // before the valid frame.
  constexpr uint64_t kSector = 512;
  const uint64_t span = valid_at - offset_;
  APITRAIL_RETURN_IF_ERROR(Fill(offset_, static_cast<size_t>(span)));
  const char* p = At(offset_);
  for (uint64_t end = (offset_ / kSector + 1) * kSector; end <= valid_at; end += kSector) {
    const uint64_t from = std::max(offset_, end - kSector);
    bool zero = true;
    for (uint64_t i = from; i < end && zero; ++i) zero = p[i - offset_] == 0;
    if (zero) return true;
  }
  return false;
}

}  // namespace apitrail::log
