#include "store/part/part_builder.h"

#include <zstd.h>

#include <algorithm>

#include "core/crc32c.h"
#include "store/log/coding.h"
#include "store/part/block_codec.h"
#include "store/part/part_format.h"

namespace apitrail::part {

Result<std::string> ZstdCompress(std::string_view raw, int level, void* cctx) {
  std::string out(ZSTD_compressBound(raw.size()), '\0');
  size_t n;
  if (cctx != nullptr) {
    n = ZSTD_compressCCtx(static_cast<ZSTD_CCtx*>(cctx), out.data(), out.size(), raw.data(),
                          raw.size(), level);
  } else {
    n = ZSTD_compress(out.data(), out.size(), raw.data(), raw.size(), level);
  }
  if (ZSTD_isError(n)) return Status::IoError(std::string("zstd compress: ") + ZSTD_getErrorName(n));
  out.resize(n);
  return out;
}

Result<std::string> ZstdDecompress(std::string_view stored, size_t raw_size) {
  const unsigned long long content = ZSTD_getFrameContentSize(stored.data(), stored.size());
  if (content == ZSTD_CONTENTSIZE_ERROR || content == ZSTD_CONTENTSIZE_UNKNOWN || content != raw_size) {
    return Status::Corruption("zstd frame header does not match the raw size " + std::to_string(raw_size));
  }
  std::string out(raw_size, '\0');
  const size_t n = ZSTD_decompress(out.data(), out.size(), stored.data(), stored.size());
  if (ZSTD_isError(n)) return Status::Corruption(std::string("zstd: ") + ZSTD_getErrorName(n));
  if (n != raw_size) return Status::Corruption("zstd: decompressed " + std::to_string(n) + " bytes, expected " + std::to_string(raw_size));
  return out;
}

namespace {

void PutRange(std::string* dst, const merkle::CompactRange& r) {
  dst->push_back(static_cast<char>(r.hashes().size()));
  for (const Hash256& h : r.hashes()) dst->append(reinterpret_cast<const char*>(h.data()), h.size());
}

}  // namespace

PartBuilder::PartBuilder(std::unique_ptr<WritableFile> file, std::string path, size_t block_raw_size)
    : file_(std::move(file)), path_(std::move(path)), block_raw_size_(block_raw_size) {
  cctx_ = ZSTD_createCCtx();
}

PartBuilder::~PartBuilder() {
  ZSTD_freeCCtx(static_cast<ZSTD_CCtx*>(cctx_));
  if (file_) (void)file_->Close();
}

Result<std::unique_ptr<PartBuilder>> PartBuilder::Create(FileSystem* fs, const std::string& path,
                                                         std::string_view node, uint64_t first_seq,
                                                         const merkle::CompactRange& before,
                                                         size_t block_raw_size) {
  if (before.size() != first_seq) return Status::InvalidArgument("part: Merkle state is not at first_seq");
  APITRAIL_ASSIGN_OR_RETURN(auto file, fs->OpenForAppend(path));
  if (file->Size() != 0) return Status::AlreadyExists(path + ": exists");
  node = node.substr(0, std::min<size_t>(node.size(), 255));
  std::string h;
  h.append(kHeaderMagic.data(), kHeaderMagic.size());
  log::PutFixed32(&h, kVersion);
  log::PutFixed64(&h, first_seq);
  log::PutFixed16(&h, static_cast<uint16_t>(node.size()));
  h.append(node.data(), node.size());
  PutRange(&h, before);
  log::PutFixed32(&h, crc32c::Mask(crc32c::Value(h.data(), h.size())));
  APITRAIL_RETURN_IF_ERROR(file->Append(h));
  return std::unique_ptr<PartBuilder>(
      new PartBuilder(std::move(file), path, block_raw_size == 0 ? kTargetBlockRawSize : block_raw_size));
}

uint64_t PartBuilder::file_size() const { return file_ ? file_->Size() : 0; }

Status PartBuilder::Add(std::string_view payload, const AuditEvent& event) {
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
  APITRAIL_RETURN_IF_ERROR(file_->Append(stored));
  blocks_.push_back(cur_);
  cur_ = BlockMeta{};
  return Status::Ok();
}

Status PartBuilder::Finish(const merkle::CompactRange& after) {
  APITRAIL_RETURN_IF_ERROR(FlushBlock());
  if (records_ == 0) return Status::InvalidArgument("part: no records");
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
  }
  PutRange(&summary, after);
  const uint64_t summary_offset = file_->Size();
  APITRAIL_RETURN_IF_ERROR(file_->Append(summary));

  const std::string index_raw = index_.Serialize();
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
