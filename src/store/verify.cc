// VerifyDataDir: an independent re-reading of a data dir (see verify.h). It shares the
// frame reader with recovery but never writes; every problem is reported with the file,
// the byte offset and, where it can be known, the first bad seq.
#include "store/verify.h"

#include <cstdlib>

#include "store/fs/file_system.h"
#include "store/log/log_format.h"
#include "store/log/record_reader.h"
#include "store/merkle/compact_range.h"
#include "store/merkle/merkle_hash.h"
#include "store/recovery.h"
#include "store/tree_head_log.h"

namespace apitrail {

namespace {

// "path: what at offset N" → "what"; the path and offset have their own report fields.
std::string ProblemText(const Status& st, const std::string& path, uint64_t* offset) {
  std::string m = st.message();
  if (m.rfind(path + ": ", 0) == 0) m = m.substr(path.size() + 2);
  const std::string marker = " at offset ";
  size_t at = m.find(marker);
  if (at != std::string::npos) {
    if (offset != nullptr) *offset = std::strtoull(m.c_str() + at + marker.size(), nullptr, 10);
    size_t end = m.find_first_not_of("0123456789", at + marker.size());
    m.erase(at, (end == std::string::npos ? m.size() : end) - at);
  }
  return m;
}

class Verifier {
 public:
  Verifier(FileSystem* fs, std::string dir) : fs_(fs), dir_(std::move(dir)) {}

  VerifyReport Run() {
    const std::string heads_path = TreeHeadsPath(dir_);
    auto heads = ReadTreeHeads(fs_, heads_path);
    if (!heads.ok()) return Fail(heads_path, 0, std::nullopt, heads.status());
    heads_ = std::move(heads->heads);
    auto segments = ListSegments(fs_, dir_);
    // Not about any record: no seq to name.
    if (!segments.ok()) return Fail(dir_, 0, std::nullopt, segments.status());
    for (size_t i = 0; i < segments->size(); ++i) {
      if (!VerifySegment((*segments)[i], i + 1 == segments->size())) return report_;
    }
    report_.records = frontier_.size();
    report_.root_hex = HexEncode(frontier_.Root());
    if (next_head_ < heads_.size()) {
      const TreeHead& h = heads_.back();
      report_.file = segments->empty() ? dir_ : segments->back().path;
      report_.offset = last_segment_end_;
      report_.first_bad_seq = frontier_.size();
      report_.problem = "tree head says " + std::to_string(h.size) + " records, log has " +
                        std::to_string(frontier_.size()) + ": records were removed from the end";
      return report_;
    }
    report_.tree_heads = next_head_;
    report_.ok = true;
    return report_;
  }

 private:
  bool VerifySegment(const SegmentInfo& seg, bool last) {
    const uint64_t expected = frontier_.size();
    bool torn_header = false;
    auto opened = log::RecordReader::Open(fs_, seg.path, log::kSegmentMagic, &torn_header);
    if (!opened.ok()) {
      // A crash while rotating leaves a newest segment shorter than its header and without
      // records; recovery removes it, so it is a torn tail, not damage.
      if (last && torn_header && seg.first_seq == expected) {
        auto size = fs_->ReadAll(seg.path);
        report_.torn_tail_bytes = size.ok() ? size->size() : 0;
        return true;
      }
      Fail(seg.path, 0, expected, opened.status());
      return false;
    }
    auto& reader = *opened;
    if (reader->header().first_seq != expected || seg.first_seq != expected) {
      Fail(seg.path, 0, expected,
           Status::Corruption("record removed: seq gap: expected " + std::to_string(expected) +
                              ", segment starts at " + std::to_string(reader->header().first_seq)));
      return false;
    }
    log::Frame frame;
    Sha256Hasher& hasher = merkle::ThreadHasher();
    while (true) {
      auto next = reader->Next(&frame);
      const uint64_t seq = frontier_.size();
      if (!next.ok()) {
        if (last && next.status().code() == StatusCode::kCorruption && !CoveredByHead(seq)) {
          auto follows = reader->ValidFrameFollows(
              seq, seq + reader->file_size() / log::kFrameHeaderSize);
          if (follows.ok() && !*follows) {
            report_.torn_tail_bytes = reader->file_size() - reader->offset();
            last_segment_end_ = reader->offset();
            return true;
          }
        }
        Fail(seg.path, reader->offset(), seq, next.status());
        return false;
      }
      if (!*next) break;
      if (frame.seq != seq) {
        Fail(seg.path, frame.offset, seq,
             Status::Corruption(std::string(frame.seq > seq ? "record removed: " : "") +
                                "seq gap: expected " + std::to_string(seq) + ", found " +
                                std::to_string(frame.seq)));
        return false;
      }
      frontier_.Append(merkle::LeafHash(hasher, frame.payload));
      if (!CheckHead()) return false;
    }
    last_segment_end_ = reader->offset();
    return true;
  }

  bool CoveredByHead(uint64_t seq) const { return !heads_.empty() && seq < heads_.back().size; }

  // Compares the root with the tree head recorded at the current size, if there is one.
  bool CheckHead() {
    if (next_head_ >= heads_.size() || heads_[next_head_].size != frontier_.size()) return true;
    const TreeHead& h = heads_[next_head_];
    if (frontier_.Root() != h.root) {
      report_.file = TreeHeadsPath(dir_);
      report_.offset = h.offset;
      report_.first_bad_seq = good_size_;
      report_.records = good_size_;
      report_.problem = "root mismatch at tree size " + std::to_string(h.size) +
                        ": a record in seqs " + std::to_string(good_size_) + ".." +
                        std::to_string(h.size - 1) + " was changed";
      return false;
    }
    good_size_ = h.size;
    ++next_head_;
    return true;
  }

  VerifyReport Fail(const std::string& file, uint64_t offset, std::optional<uint64_t> bad_seq,
                    const Status& st) {
    report_.file = file;
    report_.offset = offset;
    report_.problem = ProblemText(st, file, &report_.offset);
    report_.first_bad_seq = bad_seq;
    report_.records = frontier_.size();
    report_.root_hex = HexEncode(frontier_.Root());
    return report_;
  }

  FileSystem* fs_;
  std::string dir_;
  std::vector<TreeHead> heads_;
  size_t next_head_ = 0;
  uint64_t good_size_ = 0;  // largest tree head size whose root matched
  uint64_t last_segment_end_ = 0;
  merkle::CompactRange frontier_;
  VerifyReport report_;
};

}  // namespace

VerifyReport VerifyDataDir(const std::string& data_dir, FileSystem* fs) {
  return Verifier(fs, data_dir).Run();
}

VerifyReport VerifyDataDir(const std::string& data_dir) {
  return VerifyDataDir(data_dir, DefaultFileSystem());
}

}  // namespace apitrail
