// RecordReader reads one log file (a segment or tree_heads.log) front to back: the file
// header, then frames, checking lengths and CRCs (docs/FORMAT.md). Used by recovery and by
// offline verification. Not thread-safe: one reader per thread. Every error is a
// Corruption/IoError Status naming the file and the byte offset of the bad frame.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"
#include "store/fs/file_system.h"

namespace apitrail::log {

struct FileHeader {
  uint32_t version = 0;
  uint64_t first_seq = 0;
  std::string node;
  uint64_t size = 0;  // bytes of the header; the first frame starts here
};

struct Frame {
  uint64_t seq = 0;
  uint64_t offset = 0;  // of the frame header in the file
  std::string payload;
};

class RecordReader {
 public:
  // Opens `path` and checks its header against `magic`. On failure, *torn_header (if given)
  // says whether the file is merely shorter than a header — what a crash while creating
  // the file leaves — rather than holding a wrong one. `fs` must outlive the reader.
  static Result<std::unique_ptr<RecordReader>> Open(FileSystem* fs, const std::string& path,
                                                    std::string_view magic,
                                                    bool* torn_header = nullptr);

  const FileHeader& header() const { return header_; }
  const std::string& path() const { return path_; }
  uint64_t file_size() const { return file_size_; }
  // End of the last good frame: where the next frame starts (or the tear is).
  uint64_t offset() const { return offset_; }
  // After Next() returned false: bytes of zero tail (FORMAT.md §3) that end the file.
  uint64_t zero_tail() const { return file_size_ - offset_; }

  // true: *frame holds the next frame. false: clean end of file, which in a version 3
  // segment may be a zero tail (a frame header with len 0, and only zeros up to the end of
  // the file; zero_tail() says how long). Error: the frame at
  // offset() is bad; offset() stays there and incomplete() tells whether it merely runs
  // past the end of the file.
  Result<bool> Next(Frame* frame);
  // Continues reading at `offset`, which the caller knows to be a frame boundary (the end of
  // a frame read earlier). InvalidArgument when it lies inside the header or past the end.
  Status SeekTo(uint64_t offset);
  bool incomplete() const { return incomplete_; }

  // After Next() failed: whether a whole, CRC-valid frame with a seq field in
  // [min_seq, max_seq] starts after the bad frame's first byte. If so the damage is in the
  // middle of the log, not a torn tail. The seq range is a cheap filter that keeps random
  // bytes from being CRC-checked. More than 64 MiB left counts as "yes": no torn write is
  // that large.
  Result<bool> ValidFrameFollows(uint64_t min_seq, uint64_t max_seq);

  // After Next() failed: whether the damage at offset() is what a crash leaves behind the
  // last synced byte — a torn tail, to be cut — rather than damage to synced records. So
  // it is when no valid frame follows (as above), and also when one does but an unwritten
  // sector lies between: a 512-byte sector (at a file offset that is a multiple of 512)
  // whose bytes from the bad frame on are all zero, ending before the first valid frame
  // after it. Devices persist a write's sectors in any order, so a crash mid-write can
  // leave a later sector on disk and an earlier one still the reserve's zeros; and since
  // an fdatasync makes every earlier byte durable, nothing written after a sector that
  // never reached the disk was synced, i.e. acknowledged. Records of a synced frame are
  // not zero from a point to a sector's end (its length field alone is not zero), so
  // damage to them is not mistaken for a hole. Callers still refuse to cut what a tree
  // head or checkpoint covers.
  Result<bool> DamageIsTornTail(uint64_t min_seq, uint64_t max_seq);

  // End of the last non-zero byte at or after offset() (offset() when only zeros follow):
  // how much of a damaged tail is data rather than the writer's zero reserve.
  Result<uint64_t> DataEnd();

 private:
  RecordReader(std::string path, std::unique_ptr<RandomAccessFile> file, uint64_t size)
      : path_(std::move(path)), file_(std::move(file)), file_size_(size) {}
  // Makes buffer_ hold [offset, offset + n); fails only on I/O errors.
  Status Fill(uint64_t offset, size_t n);
  const char* At(uint64_t offset) const { return buffer_.data() + (offset - buffer_start_); }
  Status Bad(const std::string& what) const;
  // Whether every byte from offset_ to the end of the file is zero.
  Result<bool> OnlyZerosFollow();
  // Offset of the first whole, CRC-valid frame with a seq in [min_seq, max_seq] starting
  // after offset_, or 0 if there is none; *too_far when over kMaxTailScan bytes are left
  // (not scanned).
  Result<uint64_t> FirstValidFrameAfter(uint64_t min_seq, uint64_t max_seq, bool* too_far);

  std::string path_;
  std::unique_ptr<RandomAccessFile> file_;
  uint64_t file_size_;
  FileHeader header_;
  uint64_t offset_ = 0;
  bool incomplete_ = false;
  bool zero_tail_allowed_ = false;  // a segment (not tree_heads.log or checkpoints.log)
  std::string buffer_;
  uint64_t buffer_start_ = 0;
};

}  // namespace apitrail::log
