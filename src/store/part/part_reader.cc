#include "store/part/part_reader.h"

#include <algorithm>

#include <zstd.h>

#include "core/crc32c.h"
#include "store/log/coding.h"
#include "store/part/block_codec.h"
#include "store/part/part_format.h"
#include "store/part/seq_order.h"
#include "store/part/zstd_frame.h"

namespace apitrail::part {

namespace {

Status Bad(const std::string& path, const std::string& what, uint64_t offset) {
  return Status::Corruption(path + ": " + what + " at offset " + std::to_string(offset));
}

uint32_t Crc(std::string_view s) { return crc32c::Mask(crc32c::Value(s.data(), s.size())); }

// Whether a zstd frame of `stored` bytes can be the compression of `raw` bytes: checked when a
// part opens, so no section's claimed size makes a reader allocate what the file cannot hold.
bool FrameSizesPlausible(uint64_t stored, uint64_t raw) {
  return stored <= ZSTD_COMPRESSBOUND(raw) && ZstdFrameCanHold(stored, raw);
}

// Reads a compact range (u8 k, k × 32 bytes) of tree size `size` at *p.
bool GetRange(const char** p, const char* end, uint64_t size, merkle::CompactRange* out) {
  if (*p >= end) return false;
  const auto k = static_cast<uint8_t>(*(*p)++);
  if (static_cast<size_t>(end - *p) < static_cast<size_t>(k) * 32) return false;
  std::vector<Hash256> hashes(k);
  for (auto& h : hashes) {
    std::copy(*p, *p + 32, reinterpret_cast<char*>(h.data()));
    *p += 32;
  }
  return merkle::CompactRange::FromHashes(size, std::move(hashes), out);
}

}  // namespace

void PartReader::DDictFree::operator()(ZSTD_DDict_s* d) const { ZSTD_freeDDict(d); }

Result<std::unique_ptr<PartReader>> PartReader::Open(FileSystem* fs, const std::string& path) {
  std::unique_ptr<PartReader> r(new PartReader());
  r->fs_ = fs;
  r->path_ = path;
  APITRAIL_RETURN_IF_ERROR(r->Load());
  return r;
}

Status PartReader::Load() {
  APITRAIL_ASSIGN_OR_RETURN(file_, fs_->OpenForRead(path_));
  APITRAIL_ASSIGN_OR_RETURN(file_size_, file_->Size());
  auto read = [&](uint64_t offset, size_t n, std::string* out) -> Status {
    out->assign(n, '\0');
    APITRAIL_ASSIGN_OR_RETURN(size_t got, file_->Read(offset, n, out->data()));
    if (got != n) return Bad(path_, "short read of " + std::to_string(n) + " bytes", offset);
    return Status::Ok();
  };
  // Footer: where everything else is.
  if (file_size_ < kFooterSize + kHeaderFixedSize) return Bad(path_, "file too short for a part (" + std::to_string(file_size_) + " bytes)", 0);
  const uint64_t footer_at = file_size_ - kFooterSize;
  std::string f;
  APITRAIL_RETURN_IF_ERROR(read(footer_at, kFooterSize, &f));
  if (std::string_view(f).substr(kFooterSize - 8) != kFooterMagic) return Bad(path_, "bad footer magic", footer_at + kFooterSize - 8);
  if (log::DecodeFixed32(f.data() + 36) != Crc(std::string_view(f).substr(0, 36))) return Bad(path_, "footer crc mismatch", footer_at);
  const uint64_t summary_off = log::DecodeFixed64(f.data());
  const uint32_t summary_size = log::DecodeFixed32(f.data() + 8);
  const uint32_t summary_crc = log::DecodeFixed32(f.data() + 12);
  const uint64_t index_off = log::DecodeFixed64(f.data() + 16);
  const uint32_t index_size = log::DecodeFixed32(f.data() + 24);
  const uint32_t index_raw = log::DecodeFixed32(f.data() + 28);
  const uint32_t index_crc = log::DecodeFixed32(f.data() + 32);
  // Offsets first bounded by the file, so no sum below wraps.
  if (summary_off > footer_at || index_off > footer_at || summary_off + summary_size != index_off ||
      index_off + index_size != footer_at || summary_size > kMaxSummarySize || index_raw > kMaxIndexRawSize ||
      !FrameSizesPlausible(index_size, index_raw)) {
    return Bad(path_, "footer section offsets are inconsistent", footer_at);
  }

  // Header, read piece by piece so no byte of a block is touched.
  std::string h;
  APITRAIL_RETURN_IF_ERROR(read(0, kHeaderFixedSize, &h));
  if (std::string_view(h).substr(0, 8) != kHeaderMagic) return Bad(path_, "bad part magic", 0);
  version_ = log::DecodeFixed32(h.data() + 8);
  if (version_ < kVersion1 || version_ > kVersion5) return Bad(path_, "unknown part version " + std::to_string(version_), 8);
  const size_t meta_size = version_ == kVersion1 ? kBlockMetaSize : kBlockMetaSizeV2;
  first_seq_ = log::DecodeFixed64(h.data() + 12);
  const uint16_t node_len = log::DecodeFixed16(h.data() + 20);
  if (node_len > 255 || kHeaderFixedSize + node_len + 1 > summary_off) return Bad(path_, "bad node length", 20);
  std::string more;
  APITRAIL_RETURN_IF_ERROR(read(kHeaderFixedSize, node_len + 1u, &more));
  h += more;
  const auto k = static_cast<uint8_t>(h.back());
  if (h.size() + k * 32u + 4 > summary_off) return Bad(path_, "header runs past the blocks", kHeaderFixedSize + node_len);
  APITRAIL_RETURN_IF_ERROR(read(h.size(), k * 32u + 4, &more));
  h += more;
  node_.assign(h.data() + kHeaderFixedSize, node_len);
  const char* p = h.data() + kHeaderFixedSize + node_len;
  const char* hend = h.data() + h.size() - 4;
  if (!GetRange(&p, hend, first_seq_, &before_) || p != hend) {
    return Bad(path_, "bad Merkle state before the part", kHeaderFixedSize + node_len);
  }
  const size_t header_size = h.size();
  if (log::DecodeFixed32(p) != Crc(std::string_view(h).substr(0, header_size - 4))) {
    return Bad(path_, "header crc mismatch", header_size - 4);
  }
  uint64_t part_first;
  if (ParsePartFileName(path_.substr(path_.find_last_of('/') + 1), &part_first) && part_first != first_seq_) {
    return Bad(path_, "header says first seq " + std::to_string(first_seq_) + ", the file name " + std::to_string(part_first), 12);
  }

  // Summary: counts, block table, Merkle state after the part.
  std::string s;
  APITRAIL_RETURN_IF_ERROR(read(summary_off, summary_size, &s));
  if (Crc(s) != summary_crc) return Bad(path_, "summary crc mismatch", summary_off);
  if (s.size() < 28) return Bad(path_, "summary too short", summary_off);
  count_ = log::DecodeFixed64(s.data());
  min_time_ns_ = static_cast<int64_t>(log::DecodeFixed64(s.data() + 8));
  max_time_ns_ = static_cast<int64_t>(log::DecodeFixed64(s.data() + 16));
  const uint32_t nblocks = log::DecodeFixed32(s.data() + 24);
  if (count_ > UINT64_MAX - first_seq_) return Bad(path_, "record count runs past the last seq", summary_off);
  if (nblocks == 0 || (s.size() - 28) / meta_size < nblocks) return Bad(path_, "block table runs past the summary", summary_off + 24);
  blocks_.resize(nblocks);
  uint64_t next_offset = header_size;
  uint64_t next_first = 0;
  for (uint32_t i = 0; i < nblocks; ++i) {
    const char* m = s.data() + 28 + static_cast<size_t>(i) * meta_size;
    BlockMeta& b = blocks_[i];
    b.offset = log::DecodeFixed64(m);
    b.stored_size = log::DecodeFixed32(m + 8);
    b.raw_size = log::DecodeFixed32(m + 12);
    b.first = log::DecodeFixed32(m + 16);
    b.count = log::DecodeFixed32(m + 20);
    b.min_time_ns = static_cast<int64_t>(log::DecodeFixed64(m + 24));
    b.max_time_ns = static_cast<int64_t>(log::DecodeFixed64(m + 32));
    b.crc = log::DecodeFixed32(m + 40);
    b.codec = log::DecodeFixed32(m + 44);
    if (version_ >= kVersion2) {
      b.min_rel = log::DecodeFixed32(m + 48);
      b.max_rel = log::DecodeFixed32(m + 52);
    } else {
      b.min_rel = b.first;
      b.max_rel = b.first + b.count - 1;  // checked below: count >= 1 and first + count <= count_
    }
    const uint64_t at = summary_off + 28 + static_cast<uint64_t>(i) * meta_size;
    const bool codec_ok = version_ == kVersion1 ? (b.codec == kCodecZstdRows || b.codec == kCodecZstdColumns)
                                                : b.codec == kCodecZstdSeqColumns;
    if (b.offset != next_offset || b.first != next_first || b.count == 0 || b.raw_size > kMaxBlockRawSize ||
        !codec_ok || b.min_time_ns > b.max_time_ns || b.min_time_ns < min_time_ns_ ||
        b.max_time_ns > max_time_ns_ || b.count > b.raw_size || b.min_rel > b.max_rel || b.max_rel >= count_ ||
        b.count - 1u > b.max_rel - b.min_rel || !FrameSizesPlausible(b.stored_size, b.raw_size)) {
      return Bad(path_, "block " + std::to_string(i) + " entry is inconsistent", at);
    }
    next_offset = b.offset + b.stored_size;
    next_first += b.count;
  }
  p = s.data() + 28 + static_cast<size_t>(nblocks) * meta_size;
  const char* send = s.data() + s.size() - (version_ >= kVersion2 ? std::min(s.size(), kSummaryTailV2) : 0);
  if (!GetRange(&p, send, end_seq(), &after_) || p != send) {
    return Bad(path_, "bad Merkle state after the part", static_cast<uint64_t>(summary_off + (p - s.data())));
  }
  uint64_t blocks_end = summary_off;
  if (version_ >= kVersion2) {
    // Tail: bucket_ns, then where the seq map lies (between the last block and the summary).
    const uint64_t bucket_ns = log::DecodeFixed64(send);
    seqmap_offset_ = log::DecodeFixed64(send + 8);
    seqmap_size_ = log::DecodeFixed32(send + 16);
    seqmap_raw_size_ = log::DecodeFixed32(send + 20);
    seqmap_crc_ = log::DecodeFixed32(send + 24);
    const uint64_t dict_off = log::DecodeFixed64(send + 28);
    const uint32_t dict_size = log::DecodeFixed32(send + 36);
    const uint32_t dict_crc = log::DecodeFixed32(send + 40);
    if (bucket_ns == 0 || bucket_ns > static_cast<uint64_t>(INT64_MAX) || dict_off > summary_off ||
        seqmap_offset_ > dict_off || seqmap_offset_ + seqmap_size_ != dict_off ||
        !FrameSizesPlausible(seqmap_size_, seqmap_raw_size_) ||
        dict_off + dict_size != summary_off || dict_size > kMaxDictionarySectionSize || seqmap_raw_size_ < count_ ||
        seqmap_raw_size_ > count_ * 5) {
      return Bad(path_, "seq map entry is inconsistent", summary_off + (send - s.data()));
    }
    blocks_end = seqmap_offset_;
    if (dict_size > 0) {
      std::string dict;
      APITRAIL_RETURN_IF_ERROR(read(dict_off, dict_size, &dict));
      if (Crc(dict) != dict_crc) return Bad(path_, "dictionary crc mismatch", dict_off);
      std::string_view zdict = dict;
      if (version_ >= kVersion3 && zdict.substr(0, kValueTableMagic.size()) == kValueTableMagic) {
        // The value table first (transform 8), then the zstd dictionary.
        if (zdict.size() < kValueTableHeaderSize) return Bad(path_, "value table header cut short", dict_off);
        const uint32_t raw_size = log::DecodeFixed32(zdict.data() + 8);
        const uint32_t stored_size = log::DecodeFixed32(zdict.data() + 12);
        if (raw_size > PartValues::kMaxRawBytes ||
            stored_size > zdict.size() - kValueTableHeaderSize) {
          return Bad(path_, "value table sizes are inconsistent", dict_off);
        }
        auto raw = ZstdDecompress(zdict.substr(kValueTableHeaderSize, stored_size), raw_size);
        if (!raw.ok()) return Bad(path_, "value table: " + raw.status().message(), dict_off);
        auto table = PartValues::Decode(std::move(raw).value());
        if (!table.ok()) return Bad(path_, table.status().message(), dict_off);
        values_ = std::move(table).value();
        zdict.remove_prefix(kValueTableHeaderSize + stored_size);
      }
      if (zdict.size() > kMaxDictionarySize) return Bad(path_, "dictionary too large", dict_off);
      if (!zdict.empty()) {
        ddict_.reset(ZSTD_createDDict(zdict.data(), zdict.size()));
        if (!ddict_) return Bad(path_, "zstd cannot load the dictionary", dict_off);
      }
      dict_size_ = dict_size;
    }
  }
  if (next_offset != blocks_end || next_first != count_) {
    return Bad(path_, "block table does not cover the blocks exactly", summary_off);
  }
  blocks_end_ = summary_off;

  // Index.
  index_offset_ = index_off;
  std::string stored;
  APITRAIL_RETURN_IF_ERROR(read(index_off, index_size, &stored));
  if (Crc(stored) != index_crc) return Bad(path_, "index section crc mismatch", index_off);
  auto raw = ZstdDecompress(stored, index_raw);
  if (!raw.ok()) return Bad(path_, "index section: " + raw.status().message(), index_off);
  APITRAIL_ASSIGN_OR_RETURN(index_, PartIndex::Parse(std::move(raw).value(), nblocks, path_, index_off, version_, count_));
  return Status::Ok();
}

Result<std::string> PartReader::ReadRawBlock(uint32_t i) const {
  const BlockMeta& b = blocks_.at(i);
  std::string stored(b.stored_size, '\0');
  APITRAIL_ASSIGN_OR_RETURN(size_t got, file_->Read(b.offset, stored.size(), stored.data()));
  const std::string which = "block " + std::to_string(i);
  if (got != stored.size()) return Bad(path_, which + ": short read", b.offset);
  if (Crc(stored) != b.crc) return Bad(path_, which + " crc mismatch", b.offset);
  auto raw = ZstdDecompress(stored, b.raw_size, b.codec == kCodecZstdSeqColumns ? ddict_.get() : nullptr);
  if (!raw.ok()) return Bad(path_, which + ": " + raw.status().message(), b.offset);
  return std::move(raw).value();
}

PartReader::~PartReader() { cache_->EraseReader(reader_id_); }

Result<std::shared_ptr<const Block>> PartReader::ReadBlock(uint32_t i) const {
  if (auto hit = cache_->Lookup(reader_id_, i)) return hit;
  const BlockMeta& b = blocks_.at(i);
  const std::string which = "block " + std::to_string(i);
  APITRAIL_ASSIGN_OR_RETURN(std::string raw, ReadRawBlock(i));
  auto block = std::make_shared<Block>();
  block->part_first_seq = first_seq_;
  Status decoded;
  if (b.codec == kCodecZstdSeqColumns) {
    decoded = DecodeSeqColumns(raw, b.count, count_, &block->records, &block->starts, &block->rels, &values_);
    for (uint32_t r = 0; decoded.ok() && r < block->rels.size(); ++r) {
      if (block->rels[r] < b.min_rel || block->rels[r] > b.max_rel) decoded = Status::Corruption("seq outside the block's range");
    }
  } else {
    decoded = b.codec == kCodecZstdColumns ? DecodeColumns(raw, b.count, &block->records, &block->starts)
                                           : DecodeRows(raw, b.count, &block->records, &block->starts);
    block->rels.resize(b.count);
    for (uint32_t r = 0; r < b.count; ++r) block->rels[r] = b.first + r;
  }
  if (!decoded.ok()) return Bad(path_, which + ": " + decoded.message(), b.offset);
  return cache_->Insert(reader_id_, i, std::move(block));
}

Status PartReader::LoadSeqMap() const {
  // Caller holds seqmap_mu_.
  std::string stored(seqmap_size_, '\0');
  APITRAIL_ASSIGN_OR_RETURN(size_t got, file_->Read(seqmap_offset_, stored.size(), stored.data()));
  if (got != stored.size()) return Bad(path_, "seq map: short read", seqmap_offset_);
  if (Crc(stored) != seqmap_crc_) return Bad(path_, "seq map crc mismatch", seqmap_offset_);
  auto raw = ZstdDecompress(stored, seqmap_raw_size_);
  if (!raw.ok()) return Bad(path_, "seq map: " + raw.status().message(), seqmap_offset_);
  // Two bytes a record when the block numbers fit (a day of 1.7 M records has ~8,000
  // blocks): a loaded map is held for the part's life.
  const bool narrow = blocks_.size() <= 65536;
  std::vector<uint16_t> map16;
  std::vector<uint32_t> map;
  if (narrow) {
    map16.reserve(count_);
  } else {
    map.reserve(count_);
  }
  std::vector<uint32_t> per_block(blocks_.size());
  const char* p = raw->data();
  const char* end = p + raw->size();
  for (uint64_t rel = 0; rel < count_; ++rel) {
    uint64_t b = 0;
    if (!GetVarint(&p, end, &b) || b >= blocks_.size() || rel < blocks_[b].min_rel || rel > blocks_[b].max_rel) {
      return Bad(path_, "seq map entry " + std::to_string(rel) + " is bad", seqmap_offset_);
    }
    if (narrow) {
      map16.push_back(static_cast<uint16_t>(b));
    } else {
      map.push_back(static_cast<uint32_t>(b));
    }
    ++per_block[b];
  }
  if (p != end) return Bad(path_, "seq map has trailing bytes", seqmap_offset_);
  for (uint32_t b = 0; b < blocks_.size(); ++b) {
    if (per_block[b] != blocks_[b].count) return Bad(path_, "seq map does not match block " + std::to_string(b) + "'s count", seqmap_offset_);
  }
  seqmap16_ = std::move(map16);
  seqmap_ = std::move(map);
  seqmap_loaded_ = true;
  return Status::Ok();
}

Result<uint32_t> PartReader::BlockOf(uint64_t seq) const {
  if (seq < first_seq_ || seq >= end_seq()) return Status::NotFound("no record with seq " + std::to_string(seq) + " in " + path_);
  const uint64_t rel = seq - first_seq_;
  if (version_ >= kVersion2) {
    std::lock_guard<std::mutex> lock(seqmap_mu_);
    if (!seqmap_loaded_) APITRAIL_RETURN_IF_ERROR(LoadSeqMap());
    return seqmap16_.empty() ? seqmap_[rel] : uint32_t{seqmap16_[rel]};
  }
  auto it = std::upper_bound(blocks_.begin(), blocks_.end(), rel,
                             [](uint64_t v, const BlockMeta& b) { return v < b.first; });
  return static_cast<uint32_t>(it - blocks_.begin() - 1);
}

uint64_t PartReader::BlockOffsetOf(uint64_t seq) const {
  auto b = BlockOf(seq);
  return b.ok() ? blocks_[*b].offset : 0;
}

Result<std::string> PartReader::Record(uint64_t seq) const {
  APITRAIL_ASSIGN_OR_RETURN(uint32_t b, BlockOf(seq));
  APITRAIL_ASSIGN_OR_RETURN(auto block, ReadBlock(b));
  const auto rel = static_cast<uint32_t>(seq - first_seq_);
  for (uint32_t i = 0; i < block->count(); ++i) {
    if (block->rels[i] == rel) return std::string(block->record(i));
  }
  return Bad(path_, "block " + std::to_string(b) + " does not hold record " + std::to_string(seq) + " (seq map)",
             blocks_[b].offset);
}

Result<std::vector<uint32_t>> PartReader::BlocksWith(Field field, std::string_view value) const {
  if (!index_.SeqKeyed(field)) return index_.Blocks(field, value);
  std::vector<uint32_t> blocks;
  for (uint32_t rel : index_.Rels(field, value)) {
    APITRAIL_ASSIGN_OR_RETURN(uint32_t b, BlockOf(first_seq_ + rel));
    blocks.push_back(b);
  }
  std::sort(blocks.begin(), blocks.end());
  blocks.erase(std::unique(blocks.begin(), blocks.end()), blocks.end());
  return blocks;
}

PartReader::IndexKeys::IndexKeys(const EventQuery& q) {
  auto use = [&](Field f, const std::optional<std::string>& v) {
    if (v) keys.emplace_back(f, KeyHash(f, *v));
  };
  use(Field::kSubject, q.subject);
  use(Field::kRoute, q.route);
  if (q.resource) use(Field::kResource, q.resource->first + "=" + q.resource->second);
  if (q.status) use(Field::kStatus, std::to_string(*q.status));
  if (q.status_class) use(Field::kStatusClass, std::to_string(*q.status_class));
  use(Field::kDecision, q.decision);
  use(Field::kMethod, q.method);
  use(Field::kClientIp, q.client_ip);
  use(Field::kCorrelationId, q.correlation_id);
  use(Field::kTraceId, q.trace_id);
}

std::vector<uint32_t> PartReader::CandidateBlocks(const EventQuery& q,
                                                  const IndexKeys& keys) const {
  std::vector<uint32_t> out;
  if (keys.keys.empty()) {
    out.resize(blocks_.size());
    for (uint32_t i = 0; i < out.size(); ++i) out[i] = i;
  }
  for (size_t k = 0; k < keys.keys.size(); ++k) {
    std::vector<uint32_t> list = index_.Blocks(keys.keys[k].first, keys.keys[k].second);
    if (k == 0) {
      out = std::move(list);
    } else {
      std::vector<uint32_t> both;
      std::set_intersection(out.begin(), out.end(), list.begin(), list.end(),
                            std::back_inserter(both));
      out.swap(both);
    }
    if (out.empty()) return out;  // no block can match: the other keys need not be looked up
  }
  std::erase_if(out, [&](uint32_t i) {
    const BlockMeta& b = blocks_[i];
    return (q.since_ns && b.max_time_ns < *q.since_ns) || (q.until_ns && b.min_time_ns >= *q.until_ns);
  });
  return out;
}

}  // namespace apitrail::part

namespace apitrail::part {

namespace {

PartShape ShapeOf(const PartReader& reader) {
  PartShape shape{reader.path(), reader.first_seq(), reader.count(), {}, reader.summary_offset()};
  shape.block_offsets.reserve(reader.blocks().size());
  for (const BlockMeta& b : reader.blocks()) shape.block_offsets.push_back(b.offset);
  return shape;
}

}  // namespace

Status ForEachRecord(const PartReader& reader,
                     const std::function<Status(uint64_t seq, std::string_view record)>& fn,
                     size_t max_waiting_bytes) {
  return ForEachRecordInSeqOrder(
      ShapeOf(reader), [&reader](uint32_t i) { return reader.ReadBlock(i); }, fn, max_waiting_bytes);
}

Status ForEachRecordInBlockOrder(const PartReader& reader,
                                 const std::function<Status(uint64_t seq, std::string_view record)>& fn) {
  return ForEachRecordInBlockOrder(ShapeOf(reader), [&reader](uint32_t i) { return reader.ReadBlock(i); }, fn);
}

}  // namespace apitrail::part
