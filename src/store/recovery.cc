#include "store/recovery.h"

#include <algorithm>

#include "store/log/log_format.h"
#include "store/log/record_reader.h"
#include "store/log/record_writer.h"
#include "store/merkle/merkle_hash.h"

namespace apitrail {

Result<std::vector<SegmentInfo>> ListSegments(FileSystem* fs, const std::string& data_dir) {
  const std::string dir = data_dir + "/" + std::string(log::kSegmentsDir);
  APITRAIL_ASSIGN_OR_RETURN(auto names, fs->ListDir(dir));
  std::vector<SegmentInfo> out;
  for (const auto& name : names) {
    uint64_t first = 0;
    if (log::ParseSegmentFileName(name, &first)) out.push_back({first, dir + "/" + name});
  }
  std::sort(out.begin(), out.end(),
            [](const SegmentInfo& a, const SegmentInfo& b) { return a.first_seq < b.first_seq; });
  return out;
}

namespace {

// Cuts a damaged tail of the last segment, or explains why it must not be cut.
Status HandleTailDamage(FileSystem* fs, log::RecordReader& reader, const Status& damage,
                        uint64_t expected_seq, const std::optional<TreeHead>& last_head,
                        uint64_t* truncated) {
  if (last_head && expected_seq < last_head->size) {
    return Status::Corruption(damage.message() + ": record " + std::to_string(expected_seq) +
                              " is covered by a tree head, so it was acknowledged");
  }
  const uint64_t max_seq = expected_seq + reader.file_size() / log::kFrameHeaderSize;
  APITRAIL_ASSIGN_OR_RETURN(bool follows, reader.ValidFrameFollows(expected_seq, max_seq));
  if (follows) return Status::Corruption(damage.message() + " (valid records follow)");
  APITRAIL_ASSIGN_OR_RETURN(uint64_t data_end, reader.DataEnd());
  *truncated += data_end - reader.offset();  // the zero reserve after the tear is no loss
  return fs->Truncate(reader.path(), reader.offset());
}

}  // namespace

Result<RecoveryResult> Recover(FileSystem* fs, const std::string& data_dir,
                               const RecordVisitor& visit) {
  RecoveryResult out;
  const std::string heads_path = TreeHeadsPath(data_dir);
  APITRAIL_ASSIGN_OR_RETURN(TreeHeadFile heads, ReadTreeHeads(fs, heads_path));
  if (heads.exists && heads.valid_bytes < heads.file_bytes) {
    out.truncated_bytes += heads.file_bytes - heads.valid_bytes;
    APITRAIL_RETURN_IF_ERROR(fs->Truncate(heads_path, heads.valid_bytes));
  } else if (heads.exists && heads.file_bytes == 0) {
    APITRAIL_RETURN_IF_ERROR(fs->Truncate(heads_path, 0));  // torn header: rewritten on open
  }
  if (!heads.heads.empty()) out.last_head = heads.heads.back();

  APITRAIL_ASSIGN_OR_RETURN(auto segments, ListSegments(fs, data_dir));
  std::optional<Hash256> root_at_head;
  Sha256Hasher& hasher = merkle::ThreadHasher();
  uint64_t expected = 0;
  for (size_t i = 0; i < segments.size(); ++i) {
    const bool last = i + 1 == segments.size();
    const SegmentInfo& seg = segments[i];
    bool torn_header = false;
    auto opened = log::RecordReader::Open(fs, seg.path, log::kSegmentMagic, &torn_header);
    if (!opened.ok()) {
      // The writer syncs a new segment's header before writing records into it, so a short
      // header on the last segment means a crash during rotation: it holds no records.
      if (last && torn_header && seg.first_seq == expected) {
        APITRAIL_RETURN_IF_ERROR(fs->Remove(seg.path));
        APITRAIL_RETURN_IF_ERROR(fs->SyncDir(data_dir + "/" + std::string(log::kSegmentsDir)));
        break;
      }
      return opened.status();
    }
    auto& reader = *opened;
    if (reader->header().first_seq != seg.first_seq || seg.first_seq != expected) {
      return Status::Corruption(seg.path + ": seq gap: expected " + std::to_string(expected) +
                                ", segment starts at " +
                                std::to_string(reader->header().first_seq) + " at offset 0");
    }
    out.segments.push_back(seg);
    out.segments.back().version = reader->header().version;
    log::Frame frame;
    while (true) {
      auto next = reader->Next(&frame);
      if (!next.ok()) {
        if (!last || next.status().code() != StatusCode::kCorruption) return next.status();
        APITRAIL_RETURN_IF_ERROR(HandleTailDamage(fs, *reader, next.status(), expected,
                                                  out.last_head, &out.truncated_bytes));
        break;
      }
      if (!*next) {
        // The writer's zero reserve (FORMAT.md §3) holds no records: cut it, so the writer
        // appends at the end of the file again.
        if (last && reader->zero_tail() > 0) {
          APITRAIL_RETURN_IF_ERROR(fs->Truncate(reader->path(), reader->offset()));
        }
        break;
      }
      if (frame.seq != expected) {
        return Status::Corruption(seg.path + ": seq gap: expected " + std::to_string(expected) +
                                  ", found " + std::to_string(frame.seq) + " at offset " +
                                  std::to_string(frame.offset));
      }
      out.frontier.Append(merkle::LeafHash(hasher, frame.payload));
      APITRAIL_RETURN_IF_ERROR(visit(RecordRef{frame.seq,
                                               static_cast<uint32_t>(out.segments.size() - 1),
                                               seg.path, frame.offset, frame.payload}));
      ++expected;
      if (out.last_head && out.frontier.size() == out.last_head->size) {
        root_at_head = out.frontier.Root();
      }
    }
  }
  out.records = expected;

  if (out.last_head) {
    if (out.last_head->size > out.records) {
      return Status::Corruption(heads_path + ": tree head says " +
                                std::to_string(out.last_head->size) + " records, log has " +
                                std::to_string(out.records) + " at offset " +
                                std::to_string(out.last_head->offset));
    }
    if (root_at_head != out.last_head->root) {
      return Status::Corruption(heads_path + ": root mismatch at tree size " +
                                std::to_string(out.last_head->size) + " at offset " +
                                std::to_string(out.last_head->offset));
    }
  }
  return out;
}

}  // namespace apitrail
