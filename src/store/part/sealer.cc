#include "store/part/sealer.h"

#include "core/record_codec.h"
#include "core/thread_util.h"
#include "store/log/log_format.h"
#include "store/log/record_reader.h"
#include "store/merkle/merkle_hash.h"
#include "store/part/part_builder.h"
#include "store/part/part_format.h"

namespace apitrail::part {

std::string PartsDir(const std::string& data_dir) { return data_dir + "/" + std::string(kPartsDir); }

namespace {

// Reads every frame of a complete segment, checking seq continuity from first_seq.
Status ForEachFrame(FileSystem* fs, const std::string& path, uint64_t first_seq,
                    const std::function<Status(const log::Frame&)>& fn) {
  APITRAIL_ASSIGN_OR_RETURN(auto reader, log::RecordReader::Open(fs, path, log::kSegmentMagic));
  if (reader->header().first_seq != first_seq) {
    return Status::Corruption(path + ": segment starts at " + std::to_string(reader->header().first_seq) +
                              ", expected " + std::to_string(first_seq) + " at offset 0");
  }
  log::Frame frame;
  uint64_t expected = first_seq;
  while (true) {
    APITRAIL_ASSIGN_OR_RETURN(bool more, reader->Next(&frame));
    if (!more) break;
    if (frame.seq != expected) {
      return Status::Corruption(path + ": seq gap: expected " + std::to_string(expected) + ", found " +
                                std::to_string(frame.seq) + " at offset " + std::to_string(frame.offset));
    }
    APITRAIL_RETURN_IF_ERROR(fn(frame));
    ++expected;
  }
  return Status::Ok();
}

}  // namespace

Result<std::vector<Hash256>> SegmentLeaves(FileSystem* fs, const std::string& segment_path,
                                           uint64_t first_seq) {
  std::vector<Hash256> leaves;
  Sha256Hasher& hasher = merkle::ThreadHasher();
  APITRAIL_RETURN_IF_ERROR(ForEachFrame(fs, segment_path, first_seq, [&](const log::Frame& f) {
    leaves.push_back(merkle::LeafHash(hasher, f.payload));
    return Status::Ok();
  }));
  return leaves;
}

Status CheckPartLeaves(const PartReader& part, const std::vector<Hash256>& leaves) {
  if (part.count() != leaves.size()) {
    return Status::Corruption(part.path() + ": part holds " + std::to_string(part.count()) +
                              " records, the segment " + std::to_string(leaves.size()) + " at offset 0");
  }
  Sha256Hasher& hasher = merkle::ThreadHasher();
  // Any order will do: `leaves` is indexed by seq (re-ordering cost 13% of the sealer).
  return ForEachRecordInBlockOrder(part, [&](uint64_t seq, std::string_view record) -> Status {
    BackgroundYieldPoint();
    if (merkle::LeafHash(hasher, record) != leaves[seq - part.first_seq()]) {
      return Status::Corruption(part.path() + ": record " + std::to_string(seq) +
                                " differs from the segment's (leaf hash) in the block at offset " +
                                std::to_string(part.BlockOffsetOf(seq)));
    }
    return Status::Ok();
  });
}

namespace {

// Names the files involved when the cause does not (a failed write or sync says only what).
Status InSealing(const Status& st, const std::string& segment, const std::string& part) {
  if (st.ok() || st.message().find(part) != std::string::npos ||
      st.message().find(segment) != std::string::npos) {
    return st;
  }
  return Status(st.code(), "sealing " + segment + " into " + part + ": " + st.message());
}

}  // namespace

Result<SealResult> SealSegment(FileSystem* fs, const std::string& data_dir,
                               const std::string& segment_path, uint64_t first_seq,
                               const merkle::CompactRange& before, std::string_view node,
                               size_t block_raw_size, const std::atomic<bool>* cancel) {
  const std::string dir = PartsDir(data_dir);
  APITRAIL_RETURN_IF_ERROR(fs->CreateDirs(dir));
  // parts/ itself must be durable before the first segment it replaces is deleted: after a
  // power loss a file system need not keep a directory entry whose parent was not synced,
  // and the records would then be in neither place. (Once per seal: the data dir rarely
  // changes.)
  APITRAIL_RETURN_IF_ERROR(fs->SyncDir(data_dir));
  const std::string path = dir + "/" + PartFileName(first_seq);
  const std::string tmp = path + std::string(kTmpSuffix);
  if (fs->Exists(path)) return Status::AlreadyExists(path + ": part exists");
  if (fs->Exists(tmp)) APITRAIL_RETURN_IF_ERROR(fs->Remove(tmp));  // a sealing cut short
  auto created = PartBuilder::Create(fs, tmp, node, first_seq, before, block_raw_size);
  if (!created.ok()) {
    (void)fs->Remove(tmp);  // it may exist with a partial header
    return InSealing(created.status(), segment_path, tmp);
  }
  std::unique_ptr<PartBuilder> builder = std::move(created).value();
  // The builder reads each record back from the (immutable, rotated) segment when it writes
  // the clustered blocks, instead of holding the whole segment; the leaf check below
  // compares every record of the part with the hashes of this pass.
  auto source = fs->OpenForRead(segment_path);
  if (!source.ok()) {
    builder.reset();
    (void)fs->Remove(tmp);
    return InSealing(source.status(), segment_path, tmp);
  }
  builder->ReadPayloadsFrom(source->get());
  SealResult out;
  out.after = before;
  std::vector<Hash256> leaves;
  Sha256Hasher& hasher = merkle::ThreadHasher();
  std::string head_scratch;
  Status st = ForEachFrame(fs, segment_path, first_seq, [&](const log::Frame& f) -> Status {
    if (cancel != nullptr && cancel->load(std::memory_order_relaxed)) {
      return Status::Unavailable(segment_path + ": sealing cancelled (shutdown)");
    }
    BackgroundYieldPoint();
    auto corrupt = [&](const Status& why) {
      return Status::Corruption(segment_path + ": record " + std::to_string(f.seq) + " does not decode (" +
                                why.message() + ") at offset " + std::to_string(f.offset));
    };
    const Hash256 leaf = merkle::LeafHash(hasher, f.payload);
    leaves.push_back(leaf);
    out.after.Append(leaf);
    out.segment_bytes = f.offset + log::kFrameHeaderSize + f.payload.size();
    const uint64_t at = f.offset + log::kFrameHeaderSize;
    if (builder->version() >= kVersion2) {
      // Checked as fully as a decode, without building the event: the builder decodes each
      // record again when it writes the blocks (a full decode here was a quarter of sealing).
      RecordHead head;
      if (Status bad = DecodeRecordHead(f.payload, &head, &head_scratch); !bad.ok()) return corrupt(bad);
      return builder->AddV2(f.payload, head.time_ns, head.subject, at);
    }
    auto event = DecodeRecord(f.payload);
    if (!event.ok()) return corrupt(event.status());
    return builder->Add(f.payload, *event, at);
  });
  if (st.ok() && leaves.empty()) st = Status::InvalidArgument(segment_path + ": no records to seal");
  if (st.ok()) st = builder->Finish(out.after);
  builder.reset();
  if (st.ok()) st = fs->Rename(tmp, path);
  if (!st.ok()) {
    (void)fs->Remove(tmp);
    return InSealing(st, segment_path, tmp);
  }
  APITRAIL_RETURN_IF_ERROR(fs->SyncDir(dir));
  auto opened = PartReader::Open(fs, path);
  st = opened.status();
  if (st.ok()) {
    out.part = std::move(opened).value();
    if (!(out.part->after() == out.after) || !(out.part->before() == before)) {
      st = Status::Corruption(path + ": stored Merkle state differs from the segment's at offset 0");
    }
  }
  if (st.ok()) st = CheckPartLeaves(*out.part, leaves);
  if (!st.ok()) {
    // The segment still holds every record; a part that does not reproduce it is removed.
    out.part.reset();
    (void)fs->Remove(path);
    (void)fs->SyncDir(dir);
    return InSealing(st, segment_path, path);
  }
  return out;
}

}  // namespace apitrail::part
