// FlatMultiMap: open-addressing hash tables of (64-bit key hash, seq) pairs for the
// index's nearly unique fields (event id, correlation id, trace id): a list of fixed-size
// chunks, the newest taking the inserts. Inserts never allocate per entry, and a lookup
// touches one cache line per chunk in the common case. Keys are already well-mixed
// hashes; 0 marks an empty slot, so callers never insert key 0. Duplicate keys are kept (a
// correlation id may recur).
// Every insert lands at a random place of its chunk (a cache miss), so a batch of inserts
// can Prefetch its slots first: these inserts were the largest user-space cost of the
// gateway's commit path. Chunks are ZeroedPages (fresh pages, faulted in as touched).
// Not thread-safe: the store's writer inserts under its exclusive lock, readers look up
// under the shared lock.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "core/zeroed_pages.h"

namespace apitrail {

class FlatMultiMap {
 public:
  // One chunk is 2 MiB of slots and takes at most half as many entries, so probes stay short.
  static constexpr size_t kChunkSlots = ZeroedPages::kMapThreshold / 16;
  static constexpr size_t kChunkEntries = kChunkSlots / 2;

  void Insert(uint64_t key, uint64_t value) {
    if (chunks_.empty() || chunks_.back().size == kChunkEntries) chunks_.emplace_back();
    Chunk& c = chunks_.back();
    size_t i = key & kMask;
    for (c.TouchForWrite(i); c.slots()[i].key != 0; c.TouchForWrite(i)) i = (i + 1) & kMask;
    c.slots()[i] = {key, value};
    ++c.size;
    ++size_;
  }

  // A hint that `key` is inserted soon: starts loading its slot's cache line.
  void Prefetch(uint64_t key) const {
    if (!chunks_.empty() && chunks_.back().size < kChunkEntries) {
      __builtin_prefetch(&chunks_.back().slots()[key & kMask], 1);
    }
  }

  // Appends every value stored under `key` to *out (in no particular order).
  void FindAll(uint64_t key, std::vector<uint64_t>* out) const {
    for (const Chunk& c : chunks_) {
      for (size_t i = key & kMask;; i = (i + 1) & kMask) {
        const Slot& s = c.slots()[i];
        if (s.key == 0) break;
        if (s.key == key) out->push_back(s.value);
      }
    }
  }

  size_t size() const { return size_; }

 private:
  struct Slot {
    uint64_t key;
    uint64_t value;
  };
  static_assert(sizeof(Slot) == 16);
  static constexpr size_t kMask = kChunkSlots - 1;

  static constexpr size_t kPageSlots = 4096 / sizeof(Slot);
  static constexpr size_t kPages = kChunkSlots / kPageSlots;
  static_assert(kPages % 64 == 0, "Chunk::written holds whole 64-page words");

  struct Chunk {
    ZeroedPages memory{kChunkSlots * sizeof(Slot)};  // zero bytes: every slot empty
    size_t size = 0;
    uint64_t written[kPages / 64] = {};  // pages stored to since the mapping was made
    Slot* slots() const { return static_cast<Slot*>(memory.data()); }

    // The first access to a page of a fresh mapping must be a store. A load maps the shared
    // zero page, and the store that follows then faults again and replaces it with a TLB
    // flush on every core the process runs on: the writer's largest kernel cost in
    // store_append_bench (an IPI per page). Storing the 0 the slot holds anyway is safe
    // because a page nobody stored to is all zeros.
    void TouchForWrite(size_t slot) {
      const size_t page = slot / kPageSlots;
      uint64_t& word = written[page / 64];
      const uint64_t bit = uint64_t{1} << (page % 64);
      if ((word & bit) != 0) return;
      *static_cast<volatile uint64_t*>(&slots()[slot].key) = 0;
      word |= bit;
    }
  };

  // Full chunks are never rehashed or moved: an insert costs one probe sequence in the
  // newest chunk, never a whole-table copy under the store's exclusive lock (a doubling
  // table stalled every commit for the time of copying millions of entries). A lookup
  // probes every chunk, one per kChunkEntries entries.
  std::vector<Chunk> chunks_;
  size_t size_ = 0;
};

}  // namespace apitrail
