// ZeroedPages: a fixed-size, zero-filled, move-only block of memory for large in-memory
// tables that are written at random places (the index's hash tables). From 2 MiB on it
// comes straight from mmap, so the kernel backs each 4 KiB page on first touch: no memset of
// the whole block on the request path (a recycled heap block would need one), and an
// untouched tail costs nothing. Below 2 MiB it is an ordinary calloc.
// Huge pages were tried (MADV_HUGEPAGE): fewer TLB misses, but the first touch of each
// 2 MiB page stalled the committing thread (zeroing, and compaction when memory is
// fragmented), and the pinned gateway's p99 rose from ~2.1 to ~3.5 ms.
// Not thread-safe; owned by one table.
#pragma once

#include <cstddef>

namespace apitrail {

class ZeroedPages {
 public:
  // Spans of at least this many bytes come from mmap.
  static constexpr size_t kMapThreshold = size_t{2} << 20;

  ZeroedPages() = default;
  // Throws std::bad_alloc when memory is exhausted, as operator new does.
  explicit ZeroedPages(size_t bytes);
  ~ZeroedPages();
  ZeroedPages(ZeroedPages&& other) noexcept;
  ZeroedPages& operator=(ZeroedPages&& other) noexcept;
  ZeroedPages(const ZeroedPages&) = delete;
  ZeroedPages& operator=(const ZeroedPages&) = delete;

  void* data() const { return data_; }
  size_t size() const { return size_; }
  // Whether the memory is mapped rather than from calloc.
  bool mapped() const { return mapped_; }

 private:
  void Release();

  void* data_ = nullptr;
  size_t size_ = 0;
  bool mapped_ = false;
};

}  // namespace apitrail
