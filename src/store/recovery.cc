#include "store/recovery.h"

#include <algorithm>
#include <optional>

#include "core/thread_util.h"
#include "store/log/log_format.h"
#include "store/log/record_reader.h"
#include "store/log/record_writer.h"
#include "store/merkle/merkle_hash.h"
#include "store/part/part_format.h"
#include "store/part/sealer.h"

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

Result<std::vector<PartFileInfo>> ListParts(FileSystem* fs, const std::string& data_dir,
                                            std::vector<std::string>* tmp_files) {
  const std::string dir = part::PartsDir(data_dir);
  std::vector<PartFileInfo> out;
  if (!fs->Exists(dir)) return out;
  APITRAIL_ASSIGN_OR_RETURN(auto names, fs->ListDir(dir));
  for (const auto& name : names) {
    uint64_t first = 0;
    if (part::ParsePartFileName(name, &first)) {
      out.push_back({first, dir + "/" + name});
    } else if (tmp_files != nullptr && name.size() > part::kTmpSuffix.size() &&
               name.compare(name.size() - part::kTmpSuffix.size(), part::kTmpSuffix.size(),
                            part::kTmpSuffix) == 0) {
      tmp_files->push_back(dir + "/" + name);
    }
  }
  std::sort(out.begin(), out.end(),
            [](const PartFileInfo& a, const PartFileInfo& b) { return a.first_seq < b.first_seq; });
  return out;
}

namespace {

// What recovery changes in the data dir, done only once every check passed: an Open that
// fails leaves the dir as it found it, for the operator and for verify to look at.
struct Cleanup {
  std::vector<std::string> part_tmps;   // sealings cut short: the segment is still there
  std::vector<std::string> segments;    // sealed, or the last one's torn header (no records)
  std::string cut_path;                 // the last segment: cut to cut_at (tail damage, zeros)
  uint64_t cut_at = 0;

  Status Apply(FileSystem* fs, const std::string& data_dir) const {
    for (const auto& t : part_tmps) APITRAIL_RETURN_IF_ERROR(fs->Remove(t));
    if (!part_tmps.empty()) APITRAIL_RETURN_IF_ERROR(fs->SyncDir(part::PartsDir(data_dir)));
    for (const auto& seg : segments) APITRAIL_RETURN_IF_ERROR(fs->Remove(seg));
    if (!segments.empty()) {
      APITRAIL_RETURN_IF_ERROR(fs->SyncDir(data_dir + "/" + std::string(log::kSegmentsDir)));
    }
    if (!cut_path.empty()) APITRAIL_RETURN_IF_ERROR(fs->Truncate(cut_path, cut_at));
    return Status::Ok();
  }
};

// Opens every part (footer, summary, index: no block) and checks they chain: each starts
// where the previous ended, with the Merkle state the previous ended with.
Status OpenParts(FileSystem* fs, const std::string& data_dir, RecoveryResult* out,
                 Cleanup* cleanup) {
  APITRAIL_ASSIGN_OR_RETURN(auto files, ListParts(fs, data_dir, &cleanup->part_tmps));
  // Each part's open decodes its index and builds its key filter (~0.1 s per day at 1.7 M
  // events a day), independently of the others: spread over the cores. The chain is then
  // checked in order, and the first bad part in that order is the one reported.
  std::vector<std::optional<Result<std::unique_ptr<part::PartReader>>>> opened(files.size());
  ParallelFor(files.size(),
              [&](size_t i) { opened[i] = part::PartReader::Open(fs, files[i].path); });
  for (size_t i = 0; i < files.size(); ++i) {
    const PartFileInfo& f = files[i];
    APITRAIL_ASSIGN_OR_RETURN(auto p, std::move(*opened[i]));
    if (!out->parts.empty()) {
      const part::PartReader& prev = *out->parts.back();
      if (p->first_seq() != prev.end_seq()) {
        return Status::Corruption(f.path + ": seq gap: expected " + std::to_string(prev.end_seq()) +
                                  ", part starts at " + std::to_string(p->first_seq()) +
                                  " at offset 0");
      }
      if (!(p->before() == prev.after())) {
        return Status::Corruption(f.path +
                                  ": Merkle state before the part differs from the end of " +
                                  prev.path() + " at offset 0");
      }
    }
    out->parts.push_back(std::move(p));
  }
  if (!out->parts.empty()) {
    out->parts_end = out->parts.back()->end_seq();
    out->frontier = out->parts.back()->after();
  }
  return Status::Ok();
}

// A segment below parts_end was sealed and the crash came before it was deleted: it may be
// deleted only when a part holds exactly its records.
Status CheckSealedSegment(FileSystem* fs, const SegmentInfo& seg, const RecoveryResult& r) {
  const part::PartReader* holder = nullptr;
  for (const auto& p : r.parts) {
    if (p->first_seq() == seg.first_seq) holder = p.get();
  }
  if (holder == nullptr) {
    return Status::Corruption(seg.path + ": segment starts at " + std::to_string(seg.first_seq) +
                              ", inside the sealed parts but not where a part starts at offset 0");
  }
  APITRAIL_ASSIGN_OR_RETURN(auto leaves, part::SegmentLeaves(fs, seg.path, seg.first_seq));
  return part::CheckPartLeaves(*holder, leaves);
}

// Where to cut a damaged tail of the last segment, or why it must not be cut.
Result<uint64_t> TornTailCut(log::RecordReader& reader, const Status& damage,
                             uint64_t expected_seq, const std::optional<TreeHead>& last_head,
                             uint64_t checkpointed, uint64_t* truncated) {
  if (last_head && expected_seq < last_head->size) {
    return Status::Corruption(damage.message() + ": record " + std::to_string(expected_seq) +
                              " is covered by a tree head, so it was acknowledged");
  }
  if (expected_seq < checkpointed) {
    return Status::Corruption(damage.message() + ": record " + std::to_string(expected_seq) +
                              " is covered by a signed checkpoint, so it was acknowledged");
  }
  const uint64_t max_seq = expected_seq + reader.file_size() / log::kFrameHeaderSize;
  APITRAIL_ASSIGN_OR_RETURN(bool torn, reader.DamageIsTornTail(expected_seq, max_seq));
  if (!torn) return Status::Corruption(damage.message() + " (valid records follow)");
  APITRAIL_ASSIGN_OR_RETURN(uint64_t data_end, reader.DataEnd());
  *truncated += data_end - reader.offset();  // the zero reserve after the tear is no loss
  return reader.offset();
}

}  // namespace

Result<RecoveryResult> Recover(FileSystem* fs, const std::string& data_dir,
                               const RecordVisitor& visit, uint64_t checkpointed) {
  RecoveryResult out;
  Cleanup cleanup;
  const std::string heads_path = TreeHeadsPath(data_dir);
  APITRAIL_ASSIGN_OR_RETURN(TreeHeadFile heads, ReadTreeHeads(fs, heads_path));
  if (!heads.heads.empty()) out.last_head = heads.heads.back();

  APITRAIL_RETURN_IF_ERROR(OpenParts(fs, data_dir, &out, &cleanup));
  APITRAIL_ASSIGN_OR_RETURN(auto all_segments, ListSegments(fs, data_dir));
  std::vector<SegmentInfo> segments;
  for (const auto& seg : all_segments) {
    if (seg.first_seq < out.parts_end) {
      APITRAIL_RETURN_IF_ERROR(CheckSealedSegment(fs, seg, out));
      cleanup.segments.push_back(seg.path);
      ++out.segments_removed;
    } else {
      segments.push_back(seg);
    }
  }
  std::optional<Hash256> root_at_head;
  bool head_inside_part = false;  // no leaves here to recompute its root (verify checks it)
  if (out.last_head) {
    if (out.last_head->size == out.parts_end) {
      root_at_head = out.frontier.Root();
    } else if (out.last_head->size < out.parts_end) {
      for (const auto& p : out.parts) {
        if (p->end_seq() == out.last_head->size) root_at_head = p->after().Root();
      }
      // Inside a part, or before the first kept part: no leaves to recompute it from here.
      head_inside_part = !root_at_head.has_value();
    }
  }
  Sha256Hasher& hasher = merkle::ThreadHasher();
  uint64_t expected = out.parts_end;
  for (size_t i = 0; i < segments.size(); ++i) {
    const bool last = i + 1 == segments.size();
    SegmentInfo& seg = segments[i];
    bool torn_header = false;
    auto opened = log::RecordReader::Open(fs, seg.path, log::kSegmentMagic, &torn_header);
    if (!opened.ok()) {
      // The writer syncs a new segment's header before writing records into it, so a short
      // header on the last segment means a crash during rotation: it holds no records.
      if (last && torn_header && seg.first_seq == expected) {
        cleanup.segments.push_back(seg.path);
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
    out.segments.back().start = out.frontier;
    log::Frame frame;
    while (true) {
      auto next = reader->Next(&frame);
      if (!next.ok()) {
        if (!last || next.status().code() != StatusCode::kCorruption) return next.status();
        APITRAIL_ASSIGN_OR_RETURN(cleanup.cut_at,
                                  TornTailCut(*reader, next.status(), expected, out.last_head,
                                              checkpointed, &out.truncated_bytes));
        cleanup.cut_path = reader->path();
        break;
      }
      if (!*next) {
        // The writer's zero reserve (FORMAT.md §3) holds no records: cut it, so the writer
        // appends at the end of the file again.
        if (last && reader->zero_tail() > 0) {
          cleanup.cut_path = reader->path();
          cleanup.cut_at = reader->offset();
        }
        break;
      }
      if (frame.seq != expected) {
        return Status::Corruption(seg.path + ": seq gap: expected " + std::to_string(expected) +
                                  ", found " + std::to_string(frame.seq) + " at offset " +
                                  std::to_string(frame.offset));
      }
      out.frontier.Append(merkle::LeafHash(hasher, frame.payload));
      APITRAIL_RETURN_IF_ERROR(
          visit(RecordRef{frame.seq, static_cast<uint32_t>(out.segments.size() - 1), seg.path,
                          frame.offset, frame.payload}));
      ++expected;
      if (out.last_head && out.frontier.size() == out.last_head->size) {
        root_at_head = out.frontier.Root();
      }
    }
    out.segments.back().end_seq = expected;
  }
  out.records = expected;

  if (out.last_head) {
    if (out.last_head->size > out.records) {
      return Status::Corruption(heads_path + ": tree head says " +
                                std::to_string(out.last_head->size) + " records, log has " +
                                std::to_string(out.records) + " at offset " +
                                std::to_string(out.last_head->offset));
    }
    if (!head_inside_part && root_at_head != out.last_head->root) {
      return Status::Corruption(heads_path + ": root mismatch at tree size " +
                                std::to_string(out.last_head->size) + " at offset " +
                                std::to_string(out.last_head->offset));
    }
  }
  // Changes are made only now that the log checked out: a failed Open leaves the dir as it
  // found it.
  APITRAIL_RETURN_IF_ERROR(cleanup.Apply(fs, data_dir));
  if (heads.exists && heads.valid_bytes < heads.file_bytes) {
    out.truncated_bytes += heads.file_bytes - heads.valid_bytes;
    APITRAIL_RETURN_IF_ERROR(fs->Truncate(heads_path, heads.valid_bytes));
  } else if (heads.exists && heads.file_bytes == 0) {
    APITRAIL_RETURN_IF_ERROR(fs->Truncate(heads_path, 0));  // torn header: rewritten on open
  }
  return out;
}

}  // namespace apitrail
