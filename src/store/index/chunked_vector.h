// ChunkedVector<T>: an append-only array whose appends never copy more than one chunk.
// The first kChunk elements live in an ordinary vector (a short list costs no more than a
// std::vector); later ones in fixed chunks of kChunk elements that never move. Why: the
// in-memory index's arrays (locations, times, and the posting list of a popular route or
// subject) reach millions of entries, and a std::vector doubling copied megabytes, with the
// page faults of the new block, under the store's exclusive lock: a multi-millisecond stall
// of every commit each time they doubled together (the first rounds of the pinned gateway
// bench, p99 up to +8 ms).
// Not thread-safe: the store's writer appends under its exclusive lock, readers index it
// under the shared lock.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

namespace apitrail {

template <typename T>
class ChunkedVector {
 public:
  static constexpr size_t kChunk = 8192;

  void push_back(const T& v) {
    if (size_ < kChunk) {
      head_.push_back(v);
    } else {
      const size_t at = size_ - kChunk;
      // Default-initialised: no zeroing of a chunk that is about to be written.
      if (at % kChunk == 0) tail_.emplace_back(new T[kChunk]);
      tail_.back()[at % kChunk] = v;
    }
    ++size_;
  }

  size_t size() const { return size_; }
  // Where the next push_back writes, when that is already allocated (null when it grows the
  // head or starts a chunk): a committer prefetches it a few records ahead.
  const T* NextSlot() const {
    if (size_ < kChunk) return head_.size() < head_.capacity() ? head_.data() + head_.size() : nullptr;
    const size_t at = size_ - kChunk;
    return at % kChunk == 0 ? nullptr : tail_.back().get() + at % kChunk;
  }
  bool empty() const { return size_ == 0; }

  const T& operator[](size_t i) const {
    if (i < kChunk) return head_[i];
    const size_t at = i - kChunk;
    return tail_[at / kChunk][at % kChunk];
  }
  T& operator[](size_t i) { return const_cast<T&>(static_cast<const ChunkedVector&>(*this)[i]); }

  const T& back() const { return (*this)[size_ - 1]; }
  T& back() { return (*this)[size_ - 1]; }

  // For a list sorted ascending: the index of the first element not less than `v` (size()
  // when none), and whether `v` is in it.
  size_t LowerBound(const T& v) const {
    size_t lo = 0, hi = size_;
    while (lo < hi) {
      const size_t mid = lo + (hi - lo) / 2;
      if ((*this)[mid] < v) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo;
  }
  bool Contains(const T& v) const {
    const size_t i = LowerBound(v);
    return i < size_ && !(v < (*this)[i]);
  }

 private:
  std::vector<T> head_;
  std::vector<std::unique_ptr<T[]>> tail_;
  size_t size_ = 0;
};

}  // namespace apitrail
