// FlatMultiMap: an open-addressing hash table of (64-bit key hash, seq) pairs for the
// index's nearly unique fields (event id, correlation id, trace id). Inserts never allocate
// per entry (one array, doubled when 3/4 full) and a lookup touches one cache line in the
// common case. Keys are already well-mixed hashes; 0 marks an empty slot, so callers never
// insert key 0. Duplicate keys are kept (a correlation id may recur).
// Not thread-safe: the store's writer inserts under its exclusive lock, readers look up
// under the shared lock.
#pragma once

#include <cstdint>
#include <vector>

namespace apitrail {

class FlatMultiMap {
 public:
  void Insert(uint64_t key, uint64_t value) {
    if ((size_ + 1) * 4 > slots_.size() * 3) Grow();
    Place(key, value);
    ++size_;
  }

  // Appends every value stored under `key` to *out (in no particular order).
  void FindAll(uint64_t key, std::vector<uint64_t>* out) const {
    if (slots_.empty()) return;
    const size_t mask = slots_.size() - 1;
    for (size_t i = key & mask;; i = (i + 1) & mask) {
      const Slot& s = slots_[i];
      if (s.key == 0) return;
      if (s.key == key) out->push_back(s.value);
    }
  }

  size_t size() const { return size_; }

 private:
  struct Slot {
    uint64_t key = 0;
    uint64_t value = 0;
  };

  void Place(uint64_t key, uint64_t value) {
    const size_t mask = slots_.size() - 1;
    size_t i = key & mask;
    while (slots_[i].key != 0) i = (i + 1) & mask;
    slots_[i] = {key, value};
  }

  void Grow() {
    std::vector<Slot> old;
    old.swap(slots_);
    slots_.assign(old.empty() ? 1024 : old.size() * 2, Slot{});
    for (const Slot& s : old) {
      if (s.key != 0) Place(s.key, s.value);
    }
  }

  std::vector<Slot> slots_;
  size_t size_ = 0;
};

}  // namespace apitrail
