// Block: one decoded block of a sealed part — its records' exact bytes and seqs — as
// PartReader::ReadBlock hands it out and BlockCache keeps it. Immutable once built, so any
// number of threads may read one through a shared_ptr<const Block>.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace apitrail::part {

// The records in stored order (version 1: seq order; version 2: clustered, so seq(i) is not
// monotonic).
struct Block {
  uint64_t part_first_seq = 0;
  std::string records;  // the records back to back (decoded from the block's layout)
  std::vector<uint32_t>
      starts;                  // count+1 offsets into records: record i is [starts[i], starts[i+1])
  std::vector<uint32_t> rels;  // record i has seq part_first_seq + rels[i]
  uint32_t count() const { return static_cast<uint32_t>(starts.size() - 1); }
  uint64_t seq(uint32_t i) const { return part_first_seq + rels[i]; }
  std::string_view record(uint32_t i) const {
    return std::string_view(records).substr(starts[i], starts[i + 1] - starts[i]);
  }
  // Where records are, by the keys queries look up most: runs of consecutive records with
  // one subject, sorted by (subject, begin) — a version 2 block is clustered by (hour,
  // subject, time), so a subject has one run per hour of the block — and (hash, record)
  // pairs of the id, correlation id, trace id and each resource (ResourceKey), sorted. A query visits the records these
  // name instead of searching every record's bytes (a hash names candidates; the caller
  // still checks the record). Built on first use (~0.1 µs a record, once per cached block),
  // thread-safe. Null when the block holds JSON (version 1) records or a record's head does
  // not decode: the caller then scans, and decoding reports the damage.
  struct SubjectRun {
    std::string subject;
    uint32_t begin = 0;
    uint32_t end = 0;
  };
  using HashedKeys = std::vector<std::pair<uint64_t, uint32_t>>;  // (hash of the value, record)
  struct Directory {
    std::vector<SubjectRun> subjects;
    HashedKeys ids;
    HashedKeys correlation_ids;
    HashedKeys trace_ids;
    HashedKeys resources;
  };
  const Directory* directory() const;
  static constexpr size_t kHeapStringEstimate = 32;
  static uint64_t KeyHash(std::string_view value);
  // What Directory::resources hashes for a resource, into *key: name, a NUL, value (a name
  // holds no NUL).
  static void ResourceKey(std::string_view name, std::string_view value, std::string* key);
  // The records whose hashed key equals `value`'s hash, ascending.
  static std::vector<uint32_t> Lookup(const HashedKeys& keys, std::string_view value);
  // The records that may hold `value` as the key `keys` names (&Directory::ids, …): the
  // directory's candidates, or every record when the block has no directory. Ascending.
  std::vector<uint32_t> RecordsWith(HashedKeys Directory::*keys, std::string_view value) const;

  // Heap bytes this block holds: what a cache charges for it. The directory, built later,
  // is charged ahead: a run per record with a subject on the heap, the three id vectors
  // (reserved to their exact size) and kResourcesEstimate resources per record (an estimate:
  // a route with more parameters than that is charged short by 16 bytes each).
  static constexpr size_t kResourcesEstimate = 3;
  size_t MemoryBytes() const {
    return sizeof(Block) + records.capacity() +
           (starts.capacity() + rels.capacity()) * sizeof(uint32_t) +
           starts.size() * (sizeof(SubjectRun) + kHeapStringEstimate +
                            (3 + kResourcesEstimate) * sizeof(HashedKeys::value_type));
  }

 private:
  mutable std::once_flag directory_once_;
  mutable Directory directory_;
  mutable bool directory_ok_ = false;
};

}  // namespace apitrail::part
