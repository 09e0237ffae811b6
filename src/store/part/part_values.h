// PartValues: a sealed part's table of recurring field values (docs/FORMAT.md §16.3,
// transform 8, shape codes). Routes, client IPs, user agents, subjects, tenants recur all
// through a part but a block holds only a couple of hundred records, so a per-block table
// (transform 3) stores each distinct value again in every block, and zstd spends a match on
// each. With the values once per part, most frequent first, a block keeps one small code per
// value. The same table lists the records' shapes (their field keys), which every block
// would otherwise list again. The part's writer counts values as it takes records (Counter)
// and stores the table in the part's dictionary section (version 3); a reader decodes it once
// at open. Immutable once built: any thread may read it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/status.h"
#include "core/string_hash.h"
#include "store/part/wire_fields.h"

namespace apitrail::part {

class PartValues {
 public:
  // Bounds a reader holds a table to (a damaged part must not make it allocate without
  // bound); the writer keeps within them.
  static constexpr size_t kMaxValuesPerField = 1u << 16;
  static constexpr size_t kMaxRawBytes = 4u << 20;  // the encoded table
  static constexpr uint64_t kMaxFieldNumber = 255;  // record fields are numbered 1 … 37
  // Not a field: the records' shapes (their key bytes, concatenated), which a block lists
  // before its records and a part would otherwise repeat in every block.
  static constexpr uint64_t kShapes = 0;

  // Counts the length-delimited values of records' top-level fields 1 … kMaxFieldNumber,
  // except UUID-shaped ones and paths (other transforms store those better), and the
  // records' shapes. A field stops being counted once it has more than kMaxValuesPerField
  // distinct values (ids, resource ids); once the counts take kCountBudget bytes (values and
  // an estimate of the map's own), values not seen yet are no longer admitted. With
  // `sample_every` n > 1 only every n-th record given to Add is counted: a value worth a
  // table recurs often enough to be seen anyway, and counting every record costs a quarter
  // of what sealing spends per record. One thread.
  class Counter {
   public:
    static constexpr size_t kCountBudget = 16u << 20;
    explicit Counter(uint32_t sample_every = 1)
        : sample_every_(sample_every < 1 ? 1 : sample_every) {}
    void Add(std::string_view record);
    // The table: per field, the values seen at least twice, most frequent first (ties in
    // byte order), in ascending field order until the encoding would pass kMaxRawBytes;
    // fields without such a value left out. Frees the counts.
    PartValues Finish() &&;

   private:
    struct Field {
      std::unordered_map<std::string, uint64_t, StringHash, std::equal_to<>> counts;
      bool dropped = false;
    };
    void Count(uint64_t number, std::string_view value);

    uint32_t sample_every_;
    uint64_t offered_ = 0;
    std::map<uint64_t, Field> fields_;
    size_t bytes_ = 0;
    std::vector<WireField> scratch_;
    std::string shape_stored_;
  };

  PartValues() = default;

  // The encoding: varint F ‖ F × (varint field number ‖ varint D ‖ D × value as stored, i.e.
  // its length varint and bytes), field numbers strictly ascending and ≤ kMaxFieldNumber,
  // 1 ≤ D ≤ kMaxValuesPerField, at most kMaxRawBytes in all. Corruption when `raw` is not
  // that. The table keeps `raw` and points into it.
  static Result<PartValues> Decode(std::string raw);
  const std::string& Encode() const;

  bool empty() const { return fields_.empty(); }
  // The values of field `number` (as stored), most frequent first; nullptr when it has none.
  const std::vector<std::string_view>* Field(uint64_t number) const;
  // Writer side: 1 + the index of `value` (as stored) among field `number`'s values, 0 when
  // it is not one of them (always 0 for a decoded table).
  uint64_t Code(uint64_t number, std::string_view value) const;

 private:
  // Shared, so that a copied or moved table's views stay valid.
  std::shared_ptr<const std::string> raw_;
  std::map<uint64_t, std::vector<std::string_view>> fields_;
  std::map<uint64_t, std::unordered_map<std::string_view, uint64_t>> codes_;  // writer side
};

}  // namespace apitrail::part
