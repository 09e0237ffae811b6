#include "store/part/part_reader.h"

#include <algorithm>

#include "core/crc32c.h"
#include "store/log/coding.h"
#include "store/part/block_codec.h"
#include "store/part/part_format.h"

namespace apitrail::part {

namespace {

Status Bad(const std::string& path, const std::string& what, uint64_t offset) {
  return Status::Corruption(path + ": " + what + " at offset " + std::to_string(offset));
}

uint32_t Crc(std::string_view s) { return crc32c::Mask(crc32c::Value(s.data(), s.size())); }

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
  if (summary_off + summary_size != index_off || index_off + index_size != footer_at || summary_size > kMaxSummarySize ||
      index_raw > kMaxIndexRawSize) {
    return Bad(path_, "footer section offsets are inconsistent", footer_at);
  }

  // Header, read piece by piece so no byte of a block is touched.
  std::string h;
  APITRAIL_RETURN_IF_ERROR(read(0, kHeaderFixedSize, &h));
  if (std::string_view(h).substr(0, 8) != kHeaderMagic) return Bad(path_, "bad part magic", 0);
  const uint32_t version = log::DecodeFixed32(h.data() + 8);
  if (version != kVersion) return Bad(path_, "unknown part version " + std::to_string(version), 8);
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
  if (nblocks == 0 || (s.size() - 28) / kBlockMetaSize < nblocks) return Bad(path_, "block table runs past the summary", summary_off + 24);
  blocks_.resize(nblocks);
  uint64_t next_offset = header_size;
  uint64_t next_first = 0;
  for (uint32_t i = 0; i < nblocks; ++i) {
    const char* m = s.data() + 28 + static_cast<size_t>(i) * kBlockMetaSize;
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
    const uint64_t at = summary_off + 28 + static_cast<uint64_t>(i) * kBlockMetaSize;
    if (b.offset != next_offset || b.first != next_first || b.count == 0 || b.raw_size > kMaxBlockRawSize ||
        (b.codec != kCodecZstdRows && b.codec != kCodecZstdColumns) || b.min_time_ns > b.max_time_ns || b.min_time_ns < min_time_ns_ ||
        b.max_time_ns > max_time_ns_ || b.count > b.raw_size) {
      return Bad(path_, "block " + std::to_string(i) + " entry is inconsistent", at);
    }
    next_offset = b.offset + b.stored_size;
    next_first += b.count;
  }
  if (next_offset != summary_off || next_first != count_) {
    return Bad(path_, "block table does not cover the blocks exactly", summary_off);
  }
  blocks_end_ = summary_off;
  p = s.data() + 28 + static_cast<size_t>(nblocks) * kBlockMetaSize;
  if (!GetRange(&p, s.data() + s.size(), end_seq(), &after_) || p != s.data() + s.size()) {
    return Bad(path_, "bad Merkle state after the part", static_cast<uint64_t>(summary_off + (p - s.data())));
  }

  // Index.
  index_offset_ = index_off;
  std::string stored;
  APITRAIL_RETURN_IF_ERROR(read(index_off, index_size, &stored));
  if (Crc(stored) != index_crc) return Bad(path_, "index section crc mismatch", index_off);
  auto raw = ZstdDecompress(stored, index_raw);
  if (!raw.ok()) return Bad(path_, "index section: " + raw.status().message(), index_off);
  APITRAIL_ASSIGN_OR_RETURN(index_, PartIndex::Parse(std::move(raw).value(), nblocks, path_, index_off));
  return Status::Ok();
}

Result<std::shared_ptr<const Block>> PartReader::ReadBlock(uint32_t i) const {
  {
    std::lock_guard<std::mutex> lock(cache_mu_);
    for (auto it = cache_.begin(); it != cache_.end(); ++it) {
      if (it->first == i) {
        cache_.splice(cache_.begin(), cache_, it);
        return it->second;
      }
    }
  }
  const BlockMeta& b = blocks_.at(i);
  std::string stored(b.stored_size, '\0');
  APITRAIL_ASSIGN_OR_RETURN(size_t got, file_->Read(b.offset, stored.size(), stored.data()));
  const std::string which = "block " + std::to_string(i);
  if (got != stored.size()) return Bad(path_, which + ": short read", b.offset);
  if (Crc(stored) != b.crc) return Bad(path_, which + " crc mismatch", b.offset);
  auto raw = ZstdDecompress(stored, b.raw_size);
  if (!raw.ok()) return Bad(path_, which + ": " + raw.status().message(), b.offset);
  auto block = std::make_shared<Block>();
  block->first_seq = first_seq_ + b.first;
  const Status decoded = b.codec == kCodecZstdColumns
                             ? DecodeColumns(*raw, b.count, &block->records, &block->starts)
                             : DecodeRows(*raw, b.count, &block->records, &block->starts);
  if (!decoded.ok()) return Bad(path_, which + ": " + decoded.message(), b.offset);
  std::shared_ptr<const Block> out = std::move(block);
  std::lock_guard<std::mutex> lock(cache_mu_);
  cache_.emplace_front(i, out);
  if (cache_.size() > kCachedBlocks) cache_.pop_back();
  return out;
}

uint32_t PartReader::BlockOf(uint64_t seq) const {
  const uint64_t rel = seq - first_seq_;
  auto it = std::upper_bound(blocks_.begin(), blocks_.end(), rel,
                             [](uint64_t v, const BlockMeta& b) { return v < b.first; });
  return static_cast<uint32_t>(it - blocks_.begin() - 1);
}

Result<std::string> PartReader::Record(uint64_t seq) const {
  if (seq < first_seq_ || seq >= end_seq()) return Status::NotFound("no record with seq " + std::to_string(seq) + " in " + path_);
  APITRAIL_ASSIGN_OR_RETURN(auto block, ReadBlock(BlockOf(seq)));
  return std::string(block->record(static_cast<uint32_t>(seq - block->first_seq)));
}

std::vector<uint32_t> PartReader::CandidateBlocks(const EventQuery& q) const {
  std::vector<uint32_t> out;
  bool filtered = false;
  auto use = [&](Field f, const std::optional<std::string>& v) {
    if (!v) return;
    std::vector<uint32_t> list = index_.Blocks(f, *v);
    if (!filtered) {
      out = std::move(list);
      filtered = true;
      return;
    }
    std::vector<uint32_t> both;
    std::set_intersection(out.begin(), out.end(), list.begin(), list.end(), std::back_inserter(both));
    out.swap(both);
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
  if (!filtered) {
    out.resize(blocks_.size());
    for (uint32_t i = 0; i < out.size(); ++i) out[i] = i;
  }
  std::erase_if(out, [&](uint32_t i) {
    const BlockMeta& b = blocks_[i];
    return (q.since_ns && b.max_time_ns < *q.since_ns) || (q.until_ns && b.min_time_ns >= *q.until_ns);
  });
  return out;
}

}  // namespace apitrail::part

namespace apitrail::part {

Status ForEachRecord(const PartReader& reader,
                     const std::function<Status(uint64_t seq, std::string_view record)>& fn) {
  for (uint32_t i = 0; i < reader.blocks().size(); ++i) {
    APITRAIL_ASSIGN_OR_RETURN(auto block, reader.ReadBlock(i));
    for (uint32_t r = 0; r < block->count(); ++r) {
      APITRAIL_RETURN_IF_ERROR(fn(block->first_seq + r, block->record(r)));
    }
  }
  return Status::Ok();
}

}  // namespace apitrail::part
