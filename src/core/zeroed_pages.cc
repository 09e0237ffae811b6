#include "core/zeroed_pages.h"

#include <sys/mman.h>

#include <cstdint>
#include <cstdlib>
#include <new>
#include <utility>

namespace apitrail {

ZeroedPages::ZeroedPages(size_t bytes) : size_(bytes) {
  if (bytes == 0) return;
  if (bytes >= kHugeThreshold) {
    // A huge page needs a 2 MiB-aligned range: map one huge page more than asked, keep the
    // aligned span and give back the rest.
    const size_t span = bytes + kHugeThreshold;
    void* p = ::mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    const auto raw = reinterpret_cast<uintptr_t>(p);
    const uintptr_t start = (raw + kHugeThreshold - 1) & ~(uintptr_t{kHugeThreshold} - 1);
    if (start > raw) ::munmap(p, start - raw);
    const uintptr_t end = start + bytes;
    if (raw + span > end) ::munmap(reinterpret_cast<void*>(end), raw + span - end);
    data_ = reinterpret_cast<void*>(start);
    // Advice only: without transparent huge pages (or with them off) it fails or does nothing.
    (void)::madvise(data_, bytes, MADV_HUGEPAGE);
    mapped_ = true;
    return;
  }
  data_ = std::calloc(1, bytes);
  if (data_ == nullptr) throw std::bad_alloc();
}

ZeroedPages::~ZeroedPages() { Release(); }

ZeroedPages::ZeroedPages(ZeroedPages&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      mapped_(std::exchange(other.mapped_, false)) {}

ZeroedPages& ZeroedPages::operator=(ZeroedPages&& other) noexcept {
  if (this != &other) {
    Release();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    mapped_ = std::exchange(other.mapped_, false);
  }
  return *this;
}

void ZeroedPages::Release() {
  if (data_ == nullptr) return;
  if (mapped_) {
    ::munmap(data_, size_);
  } else {
    std::free(data_);
  }
  data_ = nullptr;
}

}  // namespace apitrail
