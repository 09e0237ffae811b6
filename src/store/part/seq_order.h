// Hands out a part's records in seq order while reading its blocks in file order: the
// algorithm behind part::ForEachRecord (part_reader.h), apart from the file so that tests can
// feed it blocks that no PartBuilder writes (a seq held twice, a seq in no block).
// Stateless; runs on the calling thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "store/part/block.h"

namespace apitrail::part {

// What the error messages name: the file, its records' seqs, where each block and the
// summary start.
struct PartShape {
  std::string path;
  uint64_t first_seq = 0;
  uint64_t count = 0;
  std::vector<uint64_t> block_offsets;
  uint64_t summary_offset = 0;
};

// Calls fn(seq, record) for seqs first_seq .. first_seq+count-1 in order, reading block i with
// read_block(i) for i = 0 .. block_offsets.size()-1 (all of them, at least once, even for an
// empty part). Records that arrive ahead of their turn wait in memory, at most
// max_waiting_bytes of them; when more would, the blocks are read again in further passes.
// Corruption naming the seq and an offset when a record is held twice, is in no block, or
// has a seq outside the part; read_block's and fn's errors are returned as they are.
Status ForEachRecordInSeqOrder(const PartShape& shape,
                               const std::function<Result<std::shared_ptr<const Block>>(uint32_t)>& read_block,
                               const std::function<Status(uint64_t seq, std::string_view record)>& fn,
                               size_t max_waiting_bytes);

// The same records with the same checks, in the order the blocks hold them: for a caller that
// needs each record once but not in seq order (the sealer's leaf check), nothing waits and
// every block is read once. A seq in no block is reported after fn saw all the others.
Status ForEachRecordInBlockOrder(const PartShape& shape,
                                 const std::function<Result<std::shared_ptr<const Block>>(uint32_t)>& read_block,
                                 const std::function<Status(uint64_t seq, std::string_view record)>& fn);

}  // namespace apitrail::part
