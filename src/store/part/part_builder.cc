#include "store/part/part_builder.h"

#include <zdict.h>
#include <zstd.h>

#include <algorithm>
#include <memory>

#include "core/crc32c.h"
#include "core/record_codec.h"
#include "core/thread_util.h"
#include "core/time_util.h"
#include "store/log/coding.h"
#include "store/part/block_codec.h"
#include "store/part/part_format.h"

namespace apitrail::part {

namespace {

void PutRange(std::string* dst, const merkle::CompactRange& r) {
  dst->push_back(static_cast<char>(r.hashes().size()));
  for (const Hash256& h : r.hashes()) dst->append(reinterpret_cast<const char*>(h.data()), h.size());
}

}  // namespace

PartBuilder::PartBuilder(std::unique_ptr<WritableFile> file, std::string path, size_t block_raw_size,
                         uint32_t version)
    : version_(version), file_(std::move(file)), path_(std::move(path)), block_raw_size_(block_raw_size) {
  cctx_ = ZSTD_createCCtx();
}

PartBuilder::~PartBuilder() {
  ZSTD_freeCDict(static_cast<ZSTD_CDict*>(cdict_));
  ZSTD_freeCCtx(static_cast<ZSTD_CCtx*>(cctx_));
  if (file_) (void)file_->Close();
}

Result<std::unique_ptr<PartBuilder>> PartBuilder::Create(FileSystem* fs, const std::string& path,
                                                         std::string_view node, uint64_t first_seq,
                                                         const merkle::CompactRange& before,
                                                         size_t block_raw_size, uint32_t version) {
  if (before.size() != first_seq) return Status::InvalidArgument("part: Merkle state is not at first_seq");
  if (version < kVersion1 || version > kVersion5) return Status::InvalidArgument("part: unknown version");
  APITRAIL_ASSIGN_OR_RETURN(auto file, fs->OpenForAppend(path));
  if (file->Size() != 0) return Status::AlreadyExists(path + ": exists");
  node = node.substr(0, std::min<size_t>(node.size(), 255));
  std::string h;
  h.append(kHeaderMagic.data(), kHeaderMagic.size());
  log::PutFixed32(&h, version);
  log::PutFixed64(&h, first_seq);
  log::PutFixed16(&h, static_cast<uint16_t>(node.size()));
  h.append(node.data(), node.size());
  PutRange(&h, before);
  log::PutFixed32(&h, crc32c::Mask(crc32c::Value(h.data(), h.size())));
  APITRAIL_RETURN_IF_ERROR(file->Append(h));
  const size_t target = block_raw_size != 0 ? block_raw_size : version == kVersion1 ? kTargetBlockRawSizeV1 : kTargetBlockRawSize;
  return std::unique_ptr<PartBuilder>(new PartBuilder(std::move(file), path, target, version));
}

uint64_t PartBuilder::file_size() const { return file_ ? file_->Size() : 0; }

Status PartBuilder::AddV2(std::string_view payload, int64_t time_ns, std::string_view subject,
                          uint64_t source_offset) {
  if (version_ < kVersion2) return Status::InvalidArgument("part: AddV2 on a version 1 part");
  if (records_ >= UINT32_MAX) return Status::InvalidArgument("part: too many records");
  if (records_ == 0) min_time_ns_ = max_time_ns_ = time_ns;
  min_time_ns_ = std::min(min_time_ns_, time_ns);
  max_time_ns_ = std::max(max_time_ns_, time_ns);
  const int64_t bucket = FloorDiv(time_ns, kClusterBucketNs);
  pending_.push_back({bucket, time_ns, static_cast<uint32_t>(records_),
                      static_cast<uint32_t>(subject.size()), source_ ? source_offset : arena_.size(),
                      subjects_.size(), static_cast<uint32_t>(payload.size())});
  if (source_ == nullptr) arena_.append(payload.data(), payload.size());
  if (version_ >= kVersion3) value_counter_.Add(payload);
  subjects_ += subject;
  ++records_;
  return Status::Ok();
}

Status PartBuilder::Add(std::string_view payload, const AuditEvent& event, uint64_t source_offset) {
  if (version_ >= kVersion2) return AddV2(payload, event.time_ns, event.subject, source_offset);
  if (cur_.count == 0) {
    cur_.first = static_cast<uint32_t>(records_);
    cur_.min_time_ns = cur_.max_time_ns = event.time_ns;
  }
  if (records_ == 0) min_time_ns_ = max_time_ns_ = event.time_ns;
  cur_.min_time_ns = std::min(cur_.min_time_ns, event.time_ns);
  cur_.max_time_ns = std::max(cur_.max_time_ns, event.time_ns);
  min_time_ns_ = std::min(min_time_ns_, event.time_ns);
  max_time_ns_ = std::max(max_time_ns_, event.time_ns);
  payloads_.append(payload.data(), payload.size());
  record_ends_.push_back(static_cast<uint32_t>(payloads_.size()));
  index_.Add(static_cast<uint32_t>(blocks_.size()), event);
  ++cur_.count;
  ++records_;
  if (payloads_.size() >= block_raw_size_) return FlushBlock();
  return Status::Ok();
}

Status PartBuilder::FlushBlock() {
  if (cur_.count == 0) return Status::Ok();
  std::vector<std::string_view> records;
  records.reserve(record_ends_.size());
  uint32_t begin = 0;
  for (uint32_t end : record_ends_) {
    records.emplace_back(payloads_.data() + begin, end - begin);
    begin = end;
  }
  const std::string raw = EncodeColumns(records);
  payloads_.clear();
  record_ends_.clear();
  APITRAIL_ASSIGN_OR_RETURN(std::string stored, ZstdCompress(raw, kZstdLevel, cctx_));
  cur_.offset = file_->Size();
  cur_.stored_size = static_cast<uint32_t>(stored.size());
  cur_.raw_size = static_cast<uint32_t>(raw.size());
  cur_.crc = crc32c::Mask(crc32c::Value(stored.data(), stored.size()));
  cur_.codec = kCodecZstdColumns;
  cur_.min_rel = cur_.first;
  cur_.max_rel = cur_.first + cur_.count - 1;
  APITRAIL_RETURN_IF_ERROR(file_->Append(stored));
  blocks_.push_back(cur_);
  cur_ = BlockMeta{};
  return Status::Ok();
}

Status PartBuilder::WriteClustered(std::string* seqmap_tail) {
  const std::string_view subjects(subjects_);
  auto subject = [&](const Pending& p) { return subjects.substr(p.subject_offset, p.subject_len); };
  SortYielding(pending_.begin(), pending_.end(), [&](const Pending& a, const Pending& b) {
    if (a.bucket != b.bucket) return a.bucket < b.bucket;
    if (const int c = subject(a).compare(subject(b)); c != 0) return c < 0;
    if (a.time_ns != b.time_ns) return a.time_ns < b.time_ns;
    return a.rel < b.rel;
  });
  // Block boundaries: a new block at a bucket change and after the record that brings the
  // block to block_raw_size_ bytes.
  std::vector<std::pair<size_t, size_t>> ranges;
  for (size_t i = 0; i < pending_.size();) {
    size_t end = i;
    for (size_t sum = 0; end < pending_.size() && pending_[end].bucket == pending_[i].bucket && sum < block_raw_size_; ++end) {
      sum += pending_[end].len;
    }
    ranges.emplace_back(i, end);
    i = end;
  }
  std::vector<std::string_view> records;
  std::vector<uint32_t> rels;
  std::string block_bytes;  // with a source: the current block's records, read back
  // Fills records/rels with the records of pending_[begin, end).
  auto load = [&](size_t begin, size_t end) -> Status {
    records.clear();
    rels.clear();
    block_bytes.clear();
    std::vector<uint32_t> ends;
    if (source_ != nullptr) {
      for (size_t k = begin; k < end; ++k) {
        const size_t at = block_bytes.size();
        block_bytes.resize(at + pending_[k].len);
        APITRAIL_ASSIGN_OR_RETURN(size_t got, source_->Read(pending_[k].offset, pending_[k].len, block_bytes.data() + at));
        if (got != pending_[k].len) {
          return Status::IoError("part: short read of record " + std::to_string(pending_[k].rel) + " at offset " +
                                 std::to_string(pending_[k].offset));
        }
        ends.push_back(static_cast<uint32_t>(block_bytes.size()));
      }
    }
    for (size_t k = begin; k < end; ++k) {
      const Pending& p = pending_[k];
      records.push_back(source_ != nullptr ? std::string_view(block_bytes).substr(ends[k - begin] - p.len, p.len)
                                           : std::string_view(arena_).substr(p.offset, p.len));
      rels.push_back(p.rel);
    }
    return Status::Ok();
  };
  // Version 3 only: a version 2 reader would take the table for a zstd dictionary.
  if (version_ >= kVersion3) values_ = std::move(value_counter_).Finish();
  APITRAIL_RETURN_IF_ERROR(TrainDictionary(ranges, load, records, rels));

  std::vector<uint32_t> block_of(pending_.size());
  for (const auto& [begin, end] : ranges) {
    APITRAIL_RETURN_IF_ERROR(load(begin, end));
    BlockMeta m;
    m.first = static_cast<uint32_t>(begin);
    m.min_time_ns = m.max_time_ns = pending_[begin].time_ns;
    m.min_rel = m.max_rel = pending_[begin].rel;
    const auto block = static_cast<uint32_t>(blocks_.size());
    for (size_t k = begin; k < end; ++k) {
      const Pending& p = pending_[k];
      BackgroundYieldPoint();
      // Decoded again rather than kept from Add: an AuditEvent per record would cost far more
      // memory than the record bytes themselves.
      auto event = DecodeRecord(records[k - begin]);
      if (!event.ok()) return Status::InvalidArgument("part: record " + std::to_string(p.rel) + " does not decode");
      index_.Add(block, *event, p.rel);
      block_of[p.rel] = block;
      m.min_time_ns = std::min(m.min_time_ns, p.time_ns);
      m.max_time_ns = std::max(m.max_time_ns, p.time_ns);
      m.min_rel = std::min(m.min_rel, p.rel);
      m.max_rel = std::max(m.max_rel, p.rel);
    }
    m.count = static_cast<uint32_t>(records.size());
    const std::string raw = EncodeSeqColumns(records, rels, &values_);
    APITRAIL_ASSIGN_OR_RETURN(std::string stored, ZstdCompress(raw, kZstdLevel, cctx_, cdict_));
    m.offset = file_->Size();
    m.stored_size = static_cast<uint32_t>(stored.size());
    m.raw_size = static_cast<uint32_t>(raw.size());
    m.crc = crc32c::Mask(crc32c::Value(stored.data(), stored.size()));
    m.codec = kCodecZstdSeqColumns;
    APITRAIL_RETURN_IF_ERROR(file_->Append(stored));
    blocks_.push_back(m);
  }
  arena_.clear();
  arena_.shrink_to_fit();
  // The seq map: the block of every record, in seq order.
  std::string map_raw;
  for (uint32_t b : block_of) PutVarint(&map_raw, b);
  APITRAIL_ASSIGN_OR_RETURN(std::string map, ZstdCompress(map_raw, kSeqMapZstdLevel, cctx_));
  const uint64_t map_offset = file_->Size();
  APITRAIL_RETURN_IF_ERROR(file_->Append(map));
  // The dictionary section: the value table (when there is one), then the zstd dictionary.
  std::string dicts;
  if (!values_.empty()) {
    const std::string& table_raw = values_.Encode();
    APITRAIL_ASSIGN_OR_RETURN(std::string table_stored, ZstdCompress(table_raw, kZstdLevel, cctx_));
    dicts = kValueTableMagic;
    log::PutFixed32(&dicts, static_cast<uint32_t>(table_raw.size()));
    log::PutFixed32(&dicts, static_cast<uint32_t>(table_stored.size()));
    dicts += table_stored;
  }
  dicts += dict_;
  const uint64_t dict_offset = file_->Size();
  APITRAIL_RETURN_IF_ERROR(file_->Append(dicts));
  log::PutFixed64(seqmap_tail, static_cast<uint64_t>(kClusterBucketNs));
  log::PutFixed64(seqmap_tail, map_offset);
  log::PutFixed32(seqmap_tail, static_cast<uint32_t>(map.size()));
  log::PutFixed32(seqmap_tail, static_cast<uint32_t>(map_raw.size()));
  log::PutFixed32(seqmap_tail, crc32c::Mask(crc32c::Value(map.data(), map.size())));
  log::PutFixed64(seqmap_tail, dict_offset);
  log::PutFixed32(seqmap_tail, static_cast<uint32_t>(dicts.size()));
  log::PutFixed32(seqmap_tail, crc32c::Mask(crc32c::Value(dicts.data(), dicts.size())));
  return Status::Ok();
}

Status PartBuilder::TrainDictionary(const std::vector<std::pair<size_t, size_t>>& ranges,
                                    const std::function<Status(size_t, size_t)>& load,
                                    const std::vector<std::string_view>& records,
                                    const std::vector<uint32_t>& rels) {
  // Evenly spaced blocks, about kDictionarySampleBytes of them: training time grows with the
  // sample, and the vocabulary (routes, agents, tenants) is the same all through a part.
  uint64_t total = 0;
  for (const Pending& p : pending_) total += p.len;
  if (total < kDictionaryMinPartBytes) return Status::Ok();
  const size_t step = std::max<size_t>(1, static_cast<size_t>(total / kDictionarySampleBytes));  // every step-th block
  std::string samples;
  std::vector<size_t> sizes;
  for (size_t r = 0; r < ranges.size(); r += step) {
    APITRAIL_RETURN_IF_ERROR(load(ranges[r].first, ranges[r].second));
    const std::string raw = EncodeSeqColumns(records, rels, &values_);
    samples += raw;
    sizes.push_back(raw.size());
  }
  std::string dict(kDictionarySize, '\0');
  const size_t got = ZDICT_trainFromBuffer(dict.data(), dict.size(), samples.data(), sizes.data(),
                                           static_cast<unsigned>(sizes.size()));
  // Too few or too uniform samples: the part is written without a dictionary.
  if (ZDICT_isError(got) || got == 0) return Status::Ok();
  dict.resize(got);
  cdict_ = ZSTD_createCDict(dict.data(), dict.size(), kZstdLevel);
  if (cdict_ == nullptr) return Status::IoError("part: zstd could not load the trained dictionary");
  dict_ = std::move(dict);
  return Status::Ok();
}

Status PartBuilder::Finish(const merkle::CompactRange& after) {
  if (records_ == 0) return Status::InvalidArgument("part: no records");
  std::string tail;
  if (version_ >= kVersion2) {
    APITRAIL_RETURN_IF_ERROR(WriteClustered(&tail));
  } else {
    APITRAIL_RETURN_IF_ERROR(FlushBlock());
  }
  std::string summary;
  log::PutFixed64(&summary, records_);
  log::PutFixed64(&summary, static_cast<uint64_t>(min_time_ns_));
  log::PutFixed64(&summary, static_cast<uint64_t>(max_time_ns_));
  log::PutFixed32(&summary, static_cast<uint32_t>(blocks_.size()));
  for (const BlockMeta& b : blocks_) {
    log::PutFixed64(&summary, b.offset);
    log::PutFixed32(&summary, b.stored_size);
    log::PutFixed32(&summary, b.raw_size);
    log::PutFixed32(&summary, b.first);
    log::PutFixed32(&summary, b.count);
    log::PutFixed64(&summary, static_cast<uint64_t>(b.min_time_ns));
    log::PutFixed64(&summary, static_cast<uint64_t>(b.max_time_ns));
    log::PutFixed32(&summary, b.crc);
    log::PutFixed32(&summary, b.codec);
    if (version_ >= kVersion2) {
      log::PutFixed32(&summary, b.min_rel);
      log::PutFixed32(&summary, b.max_rel);
    }
  }
  PutRange(&summary, after);
  summary += tail;
  const uint64_t summary_offset = file_->Size();
  APITRAIL_RETURN_IF_ERROR(file_->Append(summary));

  const std::string index_raw = index_.Serialize(version_);
  APITRAIL_ASSIGN_OR_RETURN(std::string index, ZstdCompress(index_raw, kZstdLevel, cctx_));
  const uint64_t index_offset = file_->Size();
  APITRAIL_RETURN_IF_ERROR(file_->Append(index));

  std::string footer;
  log::PutFixed64(&footer, summary_offset);
  log::PutFixed32(&footer, static_cast<uint32_t>(summary.size()));
  log::PutFixed32(&footer, crc32c::Mask(crc32c::Value(summary.data(), summary.size())));
  log::PutFixed64(&footer, index_offset);
  log::PutFixed32(&footer, static_cast<uint32_t>(index.size()));
  log::PutFixed32(&footer, static_cast<uint32_t>(index_raw.size()));
  log::PutFixed32(&footer, crc32c::Mask(crc32c::Value(index.data(), index.size())));
  log::PutFixed32(&footer, crc32c::Mask(crc32c::Value(footer.data(), footer.size())));
  footer.append(kFooterMagic.data(), kFooterMagic.size());
  APITRAIL_RETURN_IF_ERROR(file_->Append(footer));
  APITRAIL_RETURN_IF_ERROR(file_->Sync());
  Status st = file_->Close();
  file_.reset();
  return st;
}

}  // namespace apitrail::part
