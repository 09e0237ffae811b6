// ZeroedPages: a fixed-size, zero-filled, move-only block of memory for large in-memory
// tables that are written at random places (the index's hash tables). From 2 MiB on it
// comes straight from mmap and is marked MADV_HUGEPAGE, because a random write into tens of
// MiB of 4 KiB pages misses the TLB almost every time, and under a hypervisor (nested
// paging) a TLB miss costs several memory reads on top of the cache miss: with huge pages
// one TLB entry covers 2 MiB. The kernel backs pages on first touch, so an untouched tail
// costs nothing. Below 2 MiB it is an ordinary calloc.
// Not thread-safe; owned by one table.
#pragma once

#include <cstddef>

namespace apitrail {

class ZeroedPages {
 public:
  // Spans of at least this many bytes come from mmap with huge pages advised.
  static constexpr size_t kHugeThreshold = size_t{2} << 20;

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
  // Whether the memory is mapped (and huge pages advised) rather than from calloc.
  bool mapped() const { return mapped_; }

 private:
  void Release();

  void* data_ = nullptr;
  size_t size_ = 0;
  bool mapped_ = false;
};

}  // namespace apitrail
