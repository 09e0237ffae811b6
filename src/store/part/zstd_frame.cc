#include "store/part/zstd_frame.h"

#include <zstd.h>

#include <memory>

namespace apitrail::part {

Result<std::string> ZstdCompress(std::string_view raw, int level, void* cctx, const void* cdict) {
  std::string out(ZSTD_compressBound(raw.size()), '\0');
  size_t n;
  if (cctx != nullptr && cdict != nullptr) {
    n = ZSTD_compress_usingCDict(static_cast<ZSTD_CCtx*>(cctx), out.data(), out.size(), raw.data(), raw.size(),
                                 static_cast<const ZSTD_CDict*>(cdict));
  } else if (cctx != nullptr) {
    n = ZSTD_compressCCtx(static_cast<ZSTD_CCtx*>(cctx), out.data(), out.size(), raw.data(),
                          raw.size(), level);
  } else {
    n = ZSTD_compress(out.data(), out.size(), raw.data(), raw.size(), level);
  }
  if (ZSTD_isError(n)) return Status::IoError(std::string("zstd compress: ") + ZSTD_getErrorName(n));
  out.resize(n);
  return out;
}

Result<std::string> ZstdDecompress(std::string_view stored, size_t raw_size, const void* ddict) {
  // The size to allocate comes from a file: it must be one these bytes can produce.
  if (!ZstdFrameCanHold(stored.size(), raw_size)) {
    return Status::Corruption("zstd frame of " + std::to_string(stored.size()) + " bytes cannot hold " +
                              std::to_string(raw_size) + " raw bytes");
  }
  const unsigned long long content = ZSTD_getFrameContentSize(stored.data(), stored.size());
  if (content == ZSTD_CONTENTSIZE_ERROR || content == ZSTD_CONTENTSIZE_UNKNOWN || content != raw_size) {
    return Status::Corruption("zstd frame header does not match the raw size " + std::to_string(raw_size));
  }
  std::string out(raw_size, '\0');
  size_t n;
  if (ddict != nullptr) {
    // One decompression context per thread: creating one per block would cost more than
    // decompressing a 64 KiB block.
    thread_local std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> dctx(ZSTD_createDCtx(), ZSTD_freeDCtx);
    n = ZSTD_decompress_usingDDict(dctx.get(), out.data(), out.size(), stored.data(), stored.size(),
                                   static_cast<const ZSTD_DDict*>(ddict));
  } else {
    n = ZSTD_decompress(out.data(), out.size(), stored.data(), stored.size());
  }
  if (ZSTD_isError(n)) return Status::Corruption(std::string("zstd: ") + ZSTD_getErrorName(n));
  if (n != raw_size) return Status::Corruption("zstd: decompressed " + std::to_string(n) + " bytes, expected " + std::to_string(raw_size));
  return out;
}

}  // namespace apitrail::part
