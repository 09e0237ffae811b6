// PartIndex: the field indexes of one sealed part (docs/FORMAT.md §16.4): for each indexed
// field, key hash → ascending block numbers that hold at least one record with that key.
// Version 2 stores only the top bits of each hash (a fingerprint sized to the field's key
// count), so a lookup may return blocks of other keys: callers confirm on the record.
// PartIndexBuilder collects them while a part is written; PartIndex parses and checks the
// stored section once at open and then answers lookups without touching the file.
// PartIndexBuilder: one thread. PartIndex: immutable after Parse, thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/event.h"
#include "core/status.h"
#include "store/part/fingerprint_filter.h"
#include "store/part/part_format.h"

namespace apitrail::part {

// A seq-keyed table's entry: an event id's UUID bytes 6…15 (h the first 2, l the last 8, big
// endian; bytes 0…5 are its millisecond time, which the record confirms) and the seq −
// first seq of its record. Event ids are minted from a per-process origin and a counter in
// about the order their records are logged, so by (h, l) the rels barely move: an entry
// costs well under a byte after zstd where a fingerprint and a block number cost 3.
struct SeqKey {
  uint64_t l = 0;
  uint32_t rel = 0;
  uint16_t h = 0;
  auto operator<=>(const SeqKey&) const = default;
};
// A canonical lowercase UUID (36 characters, no length byte) → its SeqKey tail (rel 0);
// false for anything else.
bool ParseSeqKey(std::string_view uuid, SeqKey* key);

class PartIndexBuilder {
 public:
  static constexpr uint32_t kNoRel = UINT32_MAX;
  // Records that `event` lies in block `block` (blocks are added in ascending order); `rel`
  // its seq − the part's first seq (version 4, for the seq-keyed id table).
  void Add(uint32_t block, const AuditEvent& event, uint32_t rel = kNoRel);
  // The raw (uncompressed) index section of a part of `version`. Call once, after the last Add.
  std::string Serialize(uint32_t version);

 private:
  void Post(Field f, std::string_view value, uint32_t block);
  // Moves the current block's (hash, block) pairs, deduplicated, to all_.
  void FlushBlock();
  // Per field, (key hash << 32 | block) pairs: 8 bytes per distinct key and block, so a
  // segment of a million events needs tens of MB here, not a hash map node per key.
  std::array<std::vector<uint64_t>, kFieldCount> pending_;  // the current block
  std::array<std::vector<uint64_t>, kFieldCount> all_;
  uint32_t block_ = 0;
  // Version 4: every event id's UUID tail and rel, while every id is a canonical UUID
  // and came with its rel; the seq-keyed table is written when it is smaller.
  std::vector<SeqKey> ids_;
  bool ids_seq_keyable_ = true;
  uint32_t block_count_ = 0;  // one past the highest block seen: the part's block count
};

class PartIndex {
 public:
  // Parses and fully checks `raw` (every posting list decoded once, block numbers below
  // `block_count`). Errors are Corruption naming `path` and the section's file offset.
  static Result<PartIndex> Parse(std::string raw, uint32_t block_count, const std::string& path,
                                 uint64_t file_offset, uint32_t version, uint64_t record_count = 0);
  // Ascending blocks that may hold `value` in `field` (a hash collision only adds blocks).
  std::vector<uint32_t> Blocks(Field field, std::string_view value) const {
    return Blocks(field, KeyHash(field, value));
  }
  // The same for a value whose KeyHash(field, value) is `key_hash`: a query that asks every
  // part hashes its keys once.
  std::vector<uint32_t> Blocks(Field field, uint32_t key_hash) const;
  // False when no key of `field` in this part has the fingerprint of `key_hash`: the
  // in-memory filter's answer, which Blocks asks before searching the table.
  bool MayHave(Field field, uint32_t key_hash) const;
  // Whether `field`'s table is seq-keyed (version 4, event ids): then Blocks knows nothing
  // and Rels answers.
  bool SeqKeyed(Field field) const { return tables_[static_cast<size_t>(field)].seq_keyed; }
  // Of a seq-keyed table: ascending rels of the records whose value has `value`'s UUID tail
  // (none when `value` is not a canonical UUID); the caller maps them to blocks by the seq
  // map and confirms on the record (the first 6 bytes are not compared).
  std::vector<uint32_t> Rels(Field field, std::string_view value) const;
  size_t memory_bytes() const;
  // The raw section, as PartIndexBuilder::Serialize made it (verification rebuilds and compares).
  const std::string& raw() const { return raw_; }

 private:
  // Every kRestartInterval-th entry of a field, so a lookup decodes at most that many
  // entries: the entry's hash (in restart_hashes, searched alone so the search touches 4
  // bytes per step) and its position in raw_ (the hash before it is the entry's hash minus
  // its delta). 8 bytes per 8 entries: a correlation-id query looks in every part, and
  // skipping entries was a third of it at 16.
  static constexpr uint32_t kRestartInterval = 8;
  struct Table {
    size_t begin = 0;  // entries in raw_[begin, end)
    size_t end = 0;
    uint32_t count = 0;  // entries
    uint8_t bits = 32;  // fingerprint width (version 1: the whole 32-bit hash)
    std::vector<uint32_t> restart_hashes;
    // Byte positions in raw_ (at most kMaxIndexRawSize); version 5: bit positions from the
    // table's bit stream (Parse refuses a table of 512 MiB or more).
    std::vector<uint32_t> restart_offsets;
    // Tables of kFilterMinKeys or more: most keys a query asks a part for are not in it.
    FingerprintFilter filter;
    // A seq-keyed table (bits 0): every kSeqRestartInterval-th entry, whole, and the
    // position after it. 24 bytes per 32 entries.
    bool seq_keyed = false;
    struct SeqRestart {
      SeqKey key;
      uint32_t next = 0;
    };
    std::vector<SeqRestart> seq_restarts;
  };
  static constexpr uint32_t kSeqRestartInterval = 32;
  static constexpr uint32_t kFilterMinKeys = 64;
  // What the table stores of a key hash: version 2 a fingerprint of t.bits bits, version 1
  // the whole hash.
  uint32_t Stored(const Table& t, uint32_t key_hash) const;
  // Checks a version 5 bit-packed table (packed_table.h) and fills its restarts and filter;
  // what is wrong with it, or "".
  std::string ParsePackedTable(Table* t) const;
  // Blocks of the entry with fingerprint `h` in a version 5 table, from its restart `r`.
  void PackedLookup(const Table& t, size_t r, uint32_t h, std::vector<uint32_t>* out) const;

  std::string raw_;
  uint32_t version_ = 0;
  uint32_t block_count_ = 0;
  std::array<Table, kFieldCount + 1> tables_{};  // by tag; [0] unused
};

// Reads one LEB128 varint (at most 10 bytes) from [*p, end); false when it runs past end.
bool GetVarint(const char** p, const char* end, uint64_t* v);
void PutVarint(std::string* dst, uint64_t v);

}  // namespace apitrail::part
