// VerifyDataDir: an independent re-reading of a data dir (see verify.h). It shares the
// frame reader with recovery but never writes; every problem is reported with the file,
// the byte offset and, where it can be known, the first bad seq.
#include "store/verify.h"

#include <algorithm>
#include <cstdlib>

#include "core/record_codec.h"
#include "core/time_util.h"
#include "store/checkpoint_log.h"
#include "store/fs/file_system.h"
#include "store/log/log_format.h"
#include "store/log/record_reader.h"
#include "store/merkle/compact_range.h"
#include "store/merkle/merkle_hash.h"
#include "store/merkle/proofs.h"
#include "store/node_key.h"
#include "store/part/part_builder.h"
#include "store/part/part_reader.h"
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
  Verifier(FileSystem* fs, std::string dir, const VerifyOptions& options)
      : fs_(fs), dir_(std::move(dir)), options_(options) {}

  VerifyReport Run() {
    const std::string heads_path = TreeHeadsPath(dir_);
    auto heads = ReadTreeHeads(fs_, heads_path);
    if (!heads.ok()) return Fail(heads_path, 0, std::nullopt, heads.status());
    heads_ = std::move(heads->heads);
    if (!LoadCheckpoints()) return report_;
    // Segments before parts: one sealed in between is then covered by a listed part.
    auto all_segments = ListSegments(fs_, dir_);
    // Not about any record: no seq to name.
    if (!all_segments.ok()) return Fail(dir_, 0, std::nullopt, all_segments.status());
    auto parts = ListParts(fs_, dir_);
    if (!parts.ok()) return Fail(dir_, 0, std::nullopt, parts.status());
    CheckTargets(dir_, 0);  // size-0 checkpoints
    last_file_ = dir_;
    for (const auto& p : *parts) {
      if (!VerifyPart(p, p.path == parts->front().path)) return report_;
    }
    // A segment a part already holds (sealed, not yet deleted) is skipped: recovery deletes
    // it after comparing it with the part.
    std::vector<SegmentInfo> segments;
    for (auto& seg : *all_segments) {
      if (parts->empty() || seg.first_seq >= frontier_.size()) segments.push_back(std::move(seg));
    }
    for (size_t i = 0; i < segments.size(); ++i) {
      last_file_ = segments[i].path;
      if (!VerifySegment(segments[i], i + 1 == segments.size())) return report_;
    }
    report_.records = frontier_.size();
    report_.root_hex = HexEncode(frontier_.Root());
    report_.parts = parts->size();
    FinishCompleteness(last_file_);
    if (next_head_ < heads_.size()) {
      const TreeHead& h = heads_.back();
      report_.file = last_file_;
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
  // Recomputes every leaf of a sealed part from its stored bytes, the Merkle states it
  // stores, its block time ranges and its index; tree heads and checkpoints as for segments.
  bool VerifyPart(const PartFileInfo& info, bool first) {
    const uint64_t expected = frontier_.size();
    auto opened = part::PartReader::Open(fs_, info.path);
    if (!opened.ok()) {
      Fail(info.path, 0, expected, opened.status());
      return false;
    }
    const part::PartReader& p = **opened;
    if (first && expected == 0 && p.first_seq() > 0) {
      // Retention deleted the parts before this one: the tree continues from the state it
      // stores; heads and checkpoints of the deleted range cannot be recomputed.
      frontier_ = p.before();
      while (next_head_ < heads_.size() && heads_[next_head_].size < p.first_seq()) ++next_head_;
      for (; next_target_ < targets_.size() && targets_[next_target_].size < p.first_seq();
           ++next_target_) {
        const Target& t = targets_[next_target_];
        if (!t.given) continue;  // a logged one: checked by verify --archive
        CompletenessFail(t.source, info.path, 0, std::nullopt,
                         "the saved checkpoint " + t.source + " (tree size " +
                             std::to_string(t.size) +
                             ") predates the records still stored here (from seq " +
                             std::to_string(p.first_seq()) +
                             "): it cannot be checked against this data dir; check it with "
                             "verify --archive");
      }
      good_size_ = p.first_seq();
      good_checkpoint_size_ = p.first_seq();
      report_.first_seq = p.first_seq();
      good_file_ = info.path;
      good_offset_ = p.blocks().front().offset;
      // A head or checkpoint of exactly first_seq records is checked against the stored state.
      if (!CheckHead()) return false;
      CheckTargets(info.path, p.blocks().front().offset);
    } else if (p.first_seq() != expected) {
      Fail(info.path, 0, expected,
           Status::Corruption("record removed: seq gap: expected " + std::to_string(expected) +
                              ", part starts at " + std::to_string(p.first_seq())));
      return false;
    } else if (!(p.before() == frontier_)) {
      Fail(info.path, 0, expected,
           Status::Corruption("the Merkle state stored before the part differs from the log's"));
      return false;
    }
    if (frontier_.size() == 0 || good_file_.empty()) {
      good_file_ = info.path;
      good_offset_ = p.blocks().front().offset;
    }
    Sha256Hasher& hasher = merkle::ThreadHasher();
    part::PartIndexBuilder index;
    // Pass over the blocks in file order (index, time ranges, leaves by seq); a version 2
    // part is clustered, so the leaves are then fed to the tree in seq order. 36 bytes per
    // record are held meanwhile, grown as blocks are read so that a count the header claims
    // allocates nothing until blocks that pass their CRC hold those records.
    std::vector<Hash256> leaves;
    std::vector<uint32_t> block_of;
    auto grow = [&](uint64_t n) {
      if (n <= leaves.size()) return;
      n = std::max<uint64_t>(n, std::min<uint64_t>(p.count(), leaves.size() * 2));
      leaves.resize(n);
      block_of.resize(n, UINT32_MAX);
    };
    uint64_t next_rel = 0;  // records before it are fed to the tree
    uint64_t next_block_offset = 0;
    // Feeds the leaves that are now contiguous; false when a head check failed.
    auto feed = [&]() {
      for (; next_rel < block_of.size() && block_of[next_rel] != UINT32_MAX; ++next_rel) {
        const uint64_t seq = frontier_.size();
        frontier_.Append(leaves[next_rel]);
        FeedProofRanges(seq, leaves[next_rel]);
        if (!CheckHead()) return false;
        // Where the records not yet verified start: the next block (version 1), the next
        // record's block when known (version 2, clustered).
        const uint64_t after = next_rel + 1;
        const bool known = p.version() >= part::kVersion2 && after < block_of.size() &&
                           block_of[after] != UINT32_MAX;
        CheckTargets(info.path, known ? p.blocks()[block_of[after]].offset : next_block_offset);
      }
      return true;
    };
    for (uint32_t b = 0; b < p.blocks().size(); ++b) {
      next_block_offset = b + 1 < p.blocks().size() ? p.blocks()[b + 1].offset : p.summary_offset();
      const part::BlockMeta& m = p.blocks()[b];
      auto block = p.ReadBlock(b);
      if (!block.ok()) {
        Fail(info.path, m.offset, frontier_.size(), block.status());
        return false;
      }
      grow(uint64_t{m.max_rel} +
           1);  // the reader checked max_rel < count and each record's rel <= max_rel
      int64_t min_t = INT64_MAX, max_t = INT64_MIN;
      for (uint32_t i = 0; i < (*block)->count(); ++i) {
        const std::string_view record = (*block)->record(i);
        const uint64_t seq = (*block)->seq(i);
        const uint32_t rel = (*block)->rels[i];
        auto event = DecodeRecord(record);
        if (!event.ok()) {
          Fail(info.path, m.offset, seq,
               Status::Corruption("record " + std::to_string(seq) + " in block " +
                                  std::to_string(b) +
                                  " does not decode: " + event.status().message()));
          return false;
        }
        if (block_of[rel] != UINT32_MAX) {
          Fail(info.path, m.offset, seq,
               Status::Corruption("record " + std::to_string(seq) + " is held twice (blocks " +
                                  std::to_string(block_of[rel]) + " and " + std::to_string(b) +
                                  ")"));
          return false;
        }
        block_of[rel] = b;
        min_t = std::min(min_t, event->time_ns);
        max_t = std::max(max_t, event->time_ns);
        index.Add(b, *event, rel);
        leaves[rel] = merkle::LeafHash(hasher, record);
      }
      if (!feed()) return false;
      if (min_t != m.min_time_ns || max_t != m.max_time_ns) {
        Fail(info.path, p.summary_offset(), p.first_seq() + m.min_rel,
             Status::Corruption("block " + std::to_string(b) +
                                " time range differs from its records'"));
        return false;
      }
    }
    if (next_rel < p.count()) {
      Fail(info.path, p.summary_offset(), frontier_.size(),
           Status::Corruption("record " + std::to_string(frontier_.size()) + " is in no block"));
      return false;
    }
    if (p.version() >= part::kVersion2) {
      // The seq map (what a read by seq uses) must name the block that holds each record.
      for (uint64_t rel = 0; rel < p.count(); ++rel) {
        auto b = p.BlockOf(p.first_seq() + rel);
        if (!b.ok() || *b != block_of[rel]) {
          Fail(info.path, p.seqmap_offset(), std::nullopt,
               b.ok() ? Status::Corruption("seq map names block " + std::to_string(*b) +
                                           " for record " + std::to_string(p.first_seq() + rel) +
                                           ", it is in block " + std::to_string(block_of[rel]))
                      : b.status());
          return false;
        }
      }
    }
    if (!(p.after() == frontier_)) {
      Fail(info.path, p.summary_offset(), std::nullopt,
           Status::Corruption("the Merkle state stored after the part differs from its records'"));
      return false;
    }
    if (index.Serialize(p.version()) != p.index().raw()) {
      Fail(info.path, p.index_offset(), std::nullopt,
           Status::Corruption("index section does not match the part's records"));
      return false;
    }
    last_segment_end_ = p.file_size();
    last_file_ = info.path;
    return true;
  }

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
    if (expected == 0) {
      good_file_ = seg.path;
      good_offset_ = reader->offset();
    }
    log::Frame frame;
    Sha256Hasher& hasher = merkle::ThreadHasher();
    while (true) {
      auto next = reader->Next(&frame);
      const uint64_t seq = frontier_.size();
      if (!next.ok()) {
        if (last && next.status().code() == StatusCode::kCorruption && !CoveredByHead(seq)) {
          auto torn =
              reader->DamageIsTornTail(seq, seq + reader->file_size() / log::kFrameHeaderSize);
          if (torn.ok() && *torn) {
            auto data_end = reader->DataEnd();
            report_.torn_tail_bytes =
                (data_end.ok() ? *data_end : reader->file_size()) - reader->offset();
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
      const Hash256 leaf = merkle::LeafHash(hasher, frame.payload);
      frontier_.Append(leaf);
      FeedProofRanges(seq, leaf);
      if (!CheckHead()) return false;
      CheckTargets(seg.path, reader->offset());
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

  // --- checkpoints -------------------------------------------------------------------

  struct Target {
    uint64_t size;
    Hash256 root;
    std::string source;  // "checkpoints.log offset N" or the saved checkpoint's path
    bool given;
  };

  // The trusted key: --key, else derived from the data dir's node.key.
  bool LoadKey(const CheckpointFile& file) {
    if (options_.key) {
      key_ = *options_.key;
      report_.key_source = "--key " + VerifierKeyText(key_->name, key_->public_key);
      return true;
    }
    const std::string path = dir_ + "/" + std::string(kNodeKeyFile);
    auto node_key = NodeKey::Load(path);
    if (!node_key.ok()) {
      if (node_key.status().code() == StatusCode::kNotFound && file.checkpoints.empty() &&
          !options_.checkpoint_note) {
        return true;  // nothing signed to check
      }
      Fail(path, 0, std::nullopt,
           Status::Corruption("cannot load the node key to check checkpoint signatures (" +
                              node_key.status().message() +
                              "); pass --key with the published verifier key"));
      return false;
    }
    std::string name = !file.checkpoints.empty() ? file.checkpoints.front().checkpoint.origin
                                                 : CheckpointOrigin(file.node);
    if (file.checkpoints.empty() && file.node.empty() && options_.checkpoint_note) {
      auto given = ParseCheckpointNote(*options_.checkpoint_note);
      if (given.ok()) name = given->origin;
    }
    auto key = ParseVerifierKey(VerifierKeyText(name, (*node_key)->public_key()));
    if (!key.ok()) {
      Fail(path, 0, std::nullopt,
           Status::Corruption("cannot derive a verifier key: " + key.status().message()));
      return false;
    }
    key_ = *key;
    report_.key_source =
        "node.key in the data dir (" + VerifierKeyText(key_->name, key_->public_key) +
        "); pass --key with the key published elsewhere to rule out a replaced key";
    return true;
  }

  bool LoadCheckpoints() {
    const std::string path = CheckpointsPath(dir_);
    auto file = ReadCheckpoints(fs_, path);
    if (!file.ok()) {
      Fail(path, 0, std::nullopt, file.status());
      return false;
    }
    if (file->valid_bytes < file->file_bytes)
      report_.torn_tail_bytes += file->file_bytes - file->valid_bytes;
    if (!LoadKey(*file)) return false;
    const std::string* last_verified = nullptr;  // heartbeats repeat identical notes
    for (const CheckpointRecord& c : file->checkpoints) {
      if (last_verified == nullptr || *last_verified != c.note) {
        auto ok = VerifyCheckpointNote(c.note, *key_);
        if (!ok.ok()) {
          Fail(path, c.offset, std::nullopt,
               Status::Corruption("checkpoint of tree size " + std::to_string(c.size) + ": " +
                                  ok.status().message()));
          return false;
        }
      }
      last_verified = &c.note;
      ++report_.checkpoints;
      if (!targets_.empty() && !targets_.back().given && targets_.back().size == c.size &&
          targets_.back().root == c.checkpoint.root) {
        continue;  // a heartbeat: the same tree again
      }
      targets_.push_back(
          {c.size, c.checkpoint.root, "checkpoints.log offset " + std::to_string(c.offset), false});
    }
    auto& cr = report_.completeness;
    if (options_.checkpoint_note) {
      cr.have_given = true;
      const std::string& src = options_.checkpoint_source;
      auto given = VerifyCheckpointNote(*options_.checkpoint_note, *key_);
      if (!given.ok()) {
        CompletenessFail(src, "", 0, std::nullopt,
                         "checkpoint " + src + " is not trustworthy: " + given.status().message());
      } else {
        cr.given_ok = true;
        cr.given_size = given->size;
        cr.given_root_hex = HexEncode(given->root);
        targets_.push_back({given->size, given->root, src, true});
        // A consistency proof from it to the newest logged checkpoint that is at least as large.
        if (!file->checkpoints.empty() && file->checkpoints.back().size >= given->size) {
          const CheckpointRecord& to = file->checkpoints.back();
          cr.proof_to_size = to.size;
          cr.proof_to_root_hex = HexEncode(to.checkpoint.root);
          proof_ranges_ = merkle::ConsistencyProofRanges(given->size, to.size);
          proof_roots_.assign(proof_ranges_.size(), merkle::CompactRange());
          range_order_.resize(proof_ranges_.size());
          for (size_t i = 0; i < range_order_.size(); ++i) range_order_[i] = i;
          std::sort(range_order_.begin(), range_order_.end(), [&](size_t a, size_t b) {
            return proof_ranges_[a].begin < proof_ranges_[b].begin;
          });
          proof_from_ = *given;
          proof_to_ = to.checkpoint;
          want_proof_ = true;
        }
      }
    }
    std::stable_sort(targets_.begin(), targets_.end(),
                     [](const Target& a, const Target& b) { return a.size < b.size; });
    return true;
  }

  void FeedProofRanges(uint64_t seq, const Hash256& leaf) {
    while (next_range_ < range_order_.size() && proof_ranges_[range_order_[next_range_]].end <= seq)
      ++next_range_;
    if (next_range_ < range_order_.size() &&
        proof_ranges_[range_order_[next_range_]].begin <= seq) {
      proof_roots_[range_order_[next_range_]].Append(leaf);
    }
  }

  // Compares the root with every checkpoint of the current size.
  // `path` and `next_offset`: where the record after the current one starts.
  void CheckTargets(const std::string& path, uint64_t next_offset) {
    const uint64_t n = frontier_.size();
    // Only a signed checkpoint of a smaller size is evidence of where the change begins:
    // tree heads may have been recomputed too.
    const uint64_t from = good_checkpoint_size_;
    bool matched = false;
    while (next_target_ < targets_.size() && targets_[next_target_].size == n) {
      const Target& t = targets_[next_target_++];
      if (frontier_.Root() == t.root) {
        ++report_.completeness.checkpoints;
        matched = true;
        continue;
      }
      CompletenessFail(t.source, good_file_, good_offset_, from,
                       "the log does not extend the checkpoint of tree size " + std::to_string(n) +
                           " (" + t.source + "): root mismatch, a record in seqs " +
                           std::to_string(from) + ".." + std::to_string(n - 1) + " was changed");
    }
    if (matched) {
      good_checkpoint_size_ = n;
      good_file_ = path;
      good_offset_ = next_offset;
    }
  }

  void FinishCompleteness(const std::string& last_file) {
    auto& cr = report_.completeness;
    cr.checked = true;
    uint64_t newest = 0;
    for (const Target& t : targets_) newest = std::max(newest, t.size);
    cr.records_after_newest = frontier_.size() > newest ? frontier_.size() - newest : 0;
    if (newest == 0 && frontier_.size() > report_.first_seq) {
      // No checkpoint at all. Verified in the node's first seconds (a newcomer's first
      // `verify`), the first one is still to come: the tree heads say when the log began, and
      // heads dated in the future (beyond clock skew) do not count, or a log stripped of its
      // checkpoints could be made to look young forever. Otherwise (the writer signs within a
      // second of a record) checkpoints.log was removed, or the node crashed in its first
      // second.
      const int64_t now = NowNs();
      cr.pending = !heads_.empty() && heads_.front().time_ns >= now - kFreshLogNs &&
                   heads_.back().time_ns <= now + kFreshLogNs;
      if (!cr.pending) {
        CompletenessFail("checkpoints.log", last_file, 0, std::nullopt,
                         "no signed checkpoint covers any of the " +
                             std::to_string(frontier_.size() - report_.first_seq) +
                             " records (checkpoints.log is missing or empty): nothing vouches for "
                             "them; pass --checkpoint with a checkpoint saved elsewhere");
      }
    }
    for (; next_target_ < targets_.size(); ++next_target_) {
      const Target& t = targets_[next_target_];
      CompletenessFail(t.source, last_file, last_segment_end_, frontier_.size(),
                       "checkpoint " + t.source + " says " + std::to_string(t.size) +
                           " records, log has " + std::to_string(frontier_.size()) +
                           ": records were removed from the end");
    }
    if (!want_proof_ || frontier_.size() < proof_to_.size) return;
    for (size_t i = 0; i < proof_roots_.size(); ++i)
      cr.proof.push_back(HexEncode(proof_roots_[i].Root()));
    std::vector<Hash256> proof;
    for (const auto& r : proof_roots_) proof.push_back(r.Root());
    Status st = merkle::VerifyConsistency(proof_from_.size, proof_to_.size, proof_from_.root,
                                          proof_to_.root, proof);
    if (!st.ok()) {
      CompletenessFail(options_.checkpoint_source, "", 0, std::nullopt,
                       "no consistency from " + options_.checkpoint_source +
                           " to the checkpoint of tree size " + std::to_string(proof_to_.size) +
                           ": " + st.message());
      return;
    }
    cr.proof_built = true;
  }

  void CompletenessFail(const std::string& source, const std::string& file, uint64_t offset,
                        std::optional<uint64_t> bad_seq, const std::string& problem) {
    auto& cr = report_.completeness;
    if (!cr.ok) return;  // the first problem is the one reported
    cr.ok = false;
    cr.source = source;
    cr.file = file;
    cr.offset = offset;
    cr.first_bad_seq = bad_seq;
    cr.problem = problem;
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
  const VerifyOptions& options_;
  std::optional<VerifierKey> key_;
  std::vector<Target> targets_;  // ascending size
  size_t next_target_ = 0;
  uint64_t good_checkpoint_size_ = 0;  // largest checkpoint size whose root matched
  std::string good_file_;              // where the record after it starts
  uint64_t good_offset_ = 0;
  // Consistency proof from the saved checkpoint to the newest logged one, built while
  // streaming: one compact range per proof subtree.
  bool want_proof_ = false;
  Checkpoint proof_from_, proof_to_;
  std::vector<merkle::LeafRange> proof_ranges_;
  std::vector<merkle::CompactRange> proof_roots_;
  std::vector<size_t> range_order_;  // indexes into proof_ranges_ by ascending begin
  size_t next_range_ = 0;
  std::vector<TreeHead> heads_;
  size_t next_head_ = 0;
  uint64_t good_size_ = 0;  // largest tree head size whose root matched
  uint64_t last_segment_end_ = 0;
  std::string last_file_;  // the newest part or segment read
  merkle::CompactRange frontier_;
  VerifyReport report_;
};

}  // namespace

VerifyReport VerifyDataDir(const std::string& data_dir, const VerifyOptions& options,
                           FileSystem* fs) {
  return Verifier(fs, data_dir, options).Run();
}

VerifyReport VerifyDataDir(const std::string& data_dir, FileSystem* fs) {
  return VerifyDataDir(data_dir, VerifyOptions{}, fs);
}

VerifyReport VerifyDataDir(const std::string& data_dir) {
  return VerifyDataDir(data_dir, DefaultFileSystem());
}

}  // namespace apitrail
