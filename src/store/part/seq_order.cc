#include "store/part/seq_order.h"

#include <iterator>
#include <map>
#include <vector>

namespace apitrail::part {

namespace {

// The refusals both walks share, naming the seq and where it was (not) found.
Status OutsideThePart(const PartShape& shape, uint32_t block, uint64_t rel) {
  return Status::Corruption(shape.path + ": a record of block " + std::to_string(block) + " at offset " +
                            std::to_string(shape.block_offsets[block]) + " has seq " +
                            std::to_string(shape.first_seq + rel) + ", outside the part");
}

Status HeldTwice(const PartShape& shape, uint32_t block, uint64_t rel) {
  return Status::Corruption(shape.path + ": record " + std::to_string(shape.first_seq + rel) +
                            " is held twice, again in block " + std::to_string(block) + " at offset " +
                            std::to_string(shape.block_offsets[block]));
}

Status InNoBlock(const PartShape& shape, uint64_t rel) {
  return Status::Corruption(shape.path + ": record " + std::to_string(shape.first_seq + rel) +
                            " is in no block at offset " + std::to_string(shape.summary_offset));
}

}  // namespace

Status ForEachRecordInSeqOrder(const PartShape& shape,
                               const std::function<Result<std::shared_ptr<const Block>>(uint32_t)>& read_block,
                               const std::function<Status(uint64_t seq, std::string_view record)>& fn,
                               size_t max_waiting_bytes) {
  // Blocks in file order; a record is handed out once every record before it was. Version 1
  // blocks are in seq order, so nothing waits; version 2 buckets follow each other in time
  // (≈ seq) order, so about one bucket waits. A part whose order would keep more than
  // max_waiting_bytes waiting is read in several passes: each pass keeps only the records
  // below a horizon that it lowers (dropping the highest waiting ones) whenever the waiting
  // bytes exceed the budget, and the next pass starts where this one ended.
  const uint64_t count = shape.count;
  uint64_t next = 0;  // rel of the next record to hand out
  do {  // at least once, so that an empty part's blocks are still read and checked
    const uint64_t pass_start = next;
    uint64_t horizon = count;  // this pass keeps rels in [pass_start, horizon)
    std::map<uint32_t, std::string> waiting;
    size_t waiting_bytes = 0;
    for (uint32_t i = 0; i < shape.block_offsets.size(); ++i) {
      APITRAIL_ASSIGN_OR_RETURN(auto block, read_block(i));
      for (uint32_t r = 0; r < block->count(); ++r) {
        const uint32_t rel = block->rels[r];
        if (rel >= count) return OutsideThePart(shape, i, rel);  // the decoder refuses these
        if (rel < pass_start) continue;  // handed out by an earlier pass
        if (rel < next || waiting.count(rel) != 0) return HeldTwice(shape, i, rel);
        if (rel >= horizon) continue;  // a later pass's
        if (rel == next) {
          APITRAIL_RETURN_IF_ERROR(fn(shape.first_seq + rel, block->record(r)));
          ++next;
          for (auto it = waiting.begin(); it != waiting.end() && it->first == next; it = waiting.erase(it)) {
            APITRAIL_RETURN_IF_ERROR(fn(shape.first_seq + next, it->second));
            waiting_bytes -= it->second.size();
            ++next;
          }
          continue;
        }
        waiting_bytes += block->record(r).size();
        waiting.emplace(rel, std::string(block->record(r)));
        while (waiting_bytes > max_waiting_bytes && !waiting.empty()) {
          auto last = std::prev(waiting.end());
          horizon = last->first;
          waiting_bytes -= last->second.size();
          waiting.erase(last);
        }
      }
    }
    if (next != horizon) return InNoBlock(shape, next);
  } while (next < count);
  return Status::Ok();
}

Status ForEachRecordInBlockOrder(const PartShape& shape,
                                 const std::function<Result<std::shared_ptr<const Block>>(uint32_t)>& read_block,
                                 const std::function<Status(uint64_t seq, std::string_view record)>& fn) {
  const uint64_t count = shape.count;
  std::vector<bool> seen(count, false);
  for (uint32_t i = 0; i < shape.block_offsets.size(); ++i) {
    APITRAIL_ASSIGN_OR_RETURN(auto block, read_block(i));
    for (uint32_t r = 0; r < block->count(); ++r) {
      const uint32_t rel = block->rels[r];
      if (rel >= count) return OutsideThePart(shape, i, rel);
      if (seen[rel]) return HeldTwice(shape, i, rel);
      seen[rel] = true;
      APITRAIL_RETURN_IF_ERROR(fn(shape.first_seq + rel, block->record(r)));
    }
  }
  for (uint64_t rel = 0; rel < count; ++rel) {
    if (!seen[rel]) return InNoBlock(shape, rel);
  }
  return Status::Ok();
}

}  // namespace apitrail::part
