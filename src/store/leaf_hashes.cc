#include "store/leaf_hashes.h"

#include "store/log/log_format.h"
#include "store/log/record_reader.h"
#include "store/merkle/merkle_hash.h"
#include "store/part/part_reader.h"
#include "store/recovery.h"

namespace apitrail {

Result<std::vector<Hash256>> ReadLeafHashes(FileSystem* fs, const std::string& data_dir,
                                            uint64_t limit) {
  return ReadLeafHashRange(fs, data_dir, 0, limit);
}

Result<std::vector<Hash256>> ReadLeafHashRange(FileSystem* fs, const std::string& data_dir,
                                               uint64_t from, uint64_t limit) {
  std::vector<Hash256> out;
  uint64_t next = 0;  // seq of the next record in the log
  auto take = [&](const Hash256& leaf) {
    if (next >= from) out.push_back(leaf);
    ++next;
  };
  // Segments before parts: a segment sealed in between is then covered by a listed part.
  APITRAIL_ASSIGN_OR_RETURN(auto all_segments, ListSegments(fs, data_dir));
  APITRAIL_ASSIGN_OR_RETURN(auto parts, ListParts(fs, data_dir));
  Sha256Hasher& hasher = merkle::ThreadHasher();
  for (const auto& info : parts) {
    if (next >= limit) break;
    APITRAIL_ASSIGN_OR_RETURN(auto part, part::PartReader::Open(fs, info.path));
    if (next == 0 && part->first_seq() > 0 && part->first_seq() <= from) next = part->first_seq();
    if (part->first_seq() != next) {
      if (next == 0) {
        return Status::NotFound(info.path + ": records 0.." +
                                std::to_string(part->first_seq() - 1) +
                                " are no longer stored (retention); proofs need every leaf");
      }
      return Status::Corruption(info.path + ": seq gap: expected " + std::to_string(next) +
                                ", part starts at " + std::to_string(part->first_seq()) +
                                " at offset 0");
    }
    if (part->end_seq() <= from) {  // wholly before the range: its blocks are not read
      next = part->end_seq();
      continue;
    }
    Status st = part::ForEachRecord(*part, [&](uint64_t, std::string_view record) -> Status {
      if (next < limit) take(merkle::LeafHash(hasher, record));
      return Status::Ok();
    });
    APITRAIL_RETURN_IF_ERROR(st);
  }
  if (next >= limit) return out;
  // Segments a part already holds (sealed, not yet deleted) are skipped.
  std::vector<SegmentInfo> segments;
  for (auto& seg : all_segments) {
    if (seg.first_seq >= next) segments.push_back(std::move(seg));
  }
  for (size_t i = 0; i < segments.size() && next < limit; ++i) {
    const bool last = i + 1 == segments.size();
    const SegmentInfo& seg = segments[i];
    bool torn_header = false;
    auto opened = log::RecordReader::Open(fs, seg.path, log::kSegmentMagic, &torn_header);
    if (!opened.ok()) {
      if (last && torn_header) break;  // being created right now
      return opened.status();
    }
    auto& reader = *opened;
    if (reader->header().first_seq != next || seg.first_seq != next) {
      return Status::Corruption(seg.path + ": seq gap: expected " + std::to_string(next) +
                                ", segment starts at " +
                                std::to_string(reader->header().first_seq) + " at offset 0");
    }
    log::Frame frame;
    while (next < limit) {
      auto more = reader->Next(&frame);
      if (!more.ok()) {
        if (!last || more.status().code() != StatusCode::kCorruption) return more.status();
        APITRAIL_ASSIGN_OR_RETURN(
            bool torn,
            reader->DamageIsTornTail(next, next + reader->file_size() / log::kFrameHeaderSize));
        if (!torn) return Status::Corruption(more.status().message() + " (valid records follow)");
        break;  // a frame still being written (or a torn tail recovery will cut)
      }
      if (!*more) break;
      if (frame.seq != next) {
        return Status::Corruption(seg.path + ": seq gap: expected " + std::to_string(next) +
                                  ", found " + std::to_string(frame.seq) + " at offset " +
                                  std::to_string(frame.offset));
      }
      take(merkle::LeafHash(hasher, frame.payload));
    }
  }
  return out;
}

}  // namespace apitrail
