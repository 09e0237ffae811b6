#include "store/leaf_hashes.h"

#include "store/log/log_format.h"
#include "store/log/record_reader.h"
#include "store/merkle/merkle_hash.h"
#include "store/part/part_reader.h"
#include "store/recovery.h"

namespace apitrail {

Result<std::vector<Hash256>> ReadLeafHashes(FileSystem* fs, const std::string& data_dir,
                                            uint64_t limit) {
  std::vector<Hash256> out;
  // Segments before parts: a segment sealed in between is then covered by a listed part.
  APITRAIL_ASSIGN_OR_RETURN(auto all_segments, ListSegments(fs, data_dir));
  APITRAIL_ASSIGN_OR_RETURN(auto parts, ListParts(fs, data_dir));
  Sha256Hasher& hasher = merkle::ThreadHasher();
  for (const auto& info : parts) {
    if (out.size() >= limit) break;
    APITRAIL_ASSIGN_OR_RETURN(auto part, part::PartReader::Open(fs, info.path));
    if (part->first_seq() != out.size()) {
      if (out.empty()) {
        return Status::NotFound(info.path + ": records 0.." + std::to_string(part->first_seq() - 1) +
                                " are no longer stored (retention); proofs need every leaf");
      }
      return Status::Corruption(info.path + ": seq gap: expected " + std::to_string(out.size()) +
                                ", part starts at " + std::to_string(part->first_seq()) + " at offset 0");
    }
    Status st = part::ForEachRecord(*part, [&](uint64_t, std::string_view record) -> Status {
      if (out.size() < limit) out.push_back(merkle::LeafHash(hasher, record));
      return Status::Ok();
    });
    APITRAIL_RETURN_IF_ERROR(st);
  }
  if (out.size() >= limit) return out;
  // Segments a part already holds (sealed, not yet deleted) are skipped.
  std::vector<SegmentInfo> segments;
  for (auto& seg : all_segments) {
    if (seg.first_seq >= out.size()) segments.push_back(std::move(seg));
  }
  for (size_t i = 0; i < segments.size() && out.size() < limit; ++i) {
    const bool last = i + 1 == segments.size();
    const SegmentInfo& seg = segments[i];
    bool torn_header = false;
    auto opened = log::RecordReader::Open(fs, seg.path, log::kSegmentMagic, &torn_header);
    if (!opened.ok()) {
      if (last && torn_header) break;  // being created right now
      return opened.status();
    }
    auto& reader = *opened;
    if (reader->header().first_seq != out.size() || seg.first_seq != out.size()) {
      return Status::Corruption(seg.path + ": seq gap: expected " + std::to_string(out.size()) +
                                ", segment starts at " +
                                std::to_string(reader->header().first_seq) + " at offset 0");
    }
    log::Frame frame;
    while (out.size() < limit) {
      auto next = reader->Next(&frame);
      if (!next.ok()) {
        if (!last || next.status().code() != StatusCode::kCorruption) return next.status();
        const uint64_t seq = out.size();
        APITRAIL_ASSIGN_OR_RETURN(bool follows, reader->ValidFrameFollows(
                                                    seq, seq + reader->file_size() / log::kFrameHeaderSize));
        if (follows) return Status::Corruption(next.status().message() + " (valid records follow)");
        break;  // a frame still being written (or a torn tail recovery will cut)
      }
      if (!*next) break;
      if (frame.seq != out.size()) {
        return Status::Corruption(seg.path + ": seq gap: expected " + std::to_string(out.size()) +
                                  ", found " + std::to_string(frame.seq) + " at offset " +
                                  std::to_string(frame.offset));
      }
      out.push_back(merkle::LeafHash(hasher, frame.payload));
    }
  }
  return out;
}

}  // namespace apitrail
