// FingerprintFilter: a blocked Bloom filter over the key fingerprints of one part-index
// table (part/part_index.h), built in memory when the part is opened, never stored. A query
// for one correlation id, trace id or event id asks every part; most parts do not hold the
// key, and the filter says so with one cache line instead of a search and a scan of the
// table (~40 ns a part). One byte per key; about 3% of absent keys pass.
// Build once (one thread), then MayContain from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace apitrail::part {

class FingerprintFilter {
 public:
  // An empty filter: passes everything.
  FingerprintFilter() = default;
  // Room for `keys` fingerprints.
  explicit FingerprintFilter(size_t keys);
  void Add(uint32_t fingerprint);
  // False only when `fingerprint` was never added.
  bool MayContain(uint32_t fingerprint) const;
  bool empty() const { return lines_.empty(); }
  size_t memory_bytes() const { return lines_.size() * sizeof(Line); }

 private:
  // One cache line: every probe of a key lands in the same one.
  struct alignas(64) Line {
    uint64_t words[8];
  };
  // The line and the in-line bit positions of a fingerprint.
  size_t LineOf(uint64_t mixed) const;
  static uint64_t Mix(uint32_t fingerprint);
  std::vector<Line> lines_;
};

}  // namespace apitrail::part
