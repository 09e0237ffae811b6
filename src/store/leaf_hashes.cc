#include "store/leaf_hashes.h"

#include "store/log/log_format.h"
#include "store/log/record_reader.h"
#include "store/merkle/merkle_hash.h"
#include "store/recovery.h"

namespace apitrail {

Result<std::vector<Hash256>> ReadLeafHashes(FileSystem* fs, const std::string& data_dir,
                                            uint64_t limit) {
  std::vector<Hash256> out;
  APITRAIL_ASSIGN_OR_RETURN(auto segments, ListSegments(fs, data_dir));
  Sha256Hasher& hasher = merkle::ThreadHasher();
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
