// Sealing: turns one complete, rotated segment into an immutable part (docs/FORMAT.md
// §16.6). The part is written as parts/NAME.tmp, synced, renamed to parts/NAME and the
// directory synced, so a crash leaves either no part or a whole one; it is then re-opened
// and every record's leaf hash compared with the segment's. Only after that may the caller
// delete the segment. Called from the store's sealer thread and from recovery; touches no
// store state. Thread-safe (no shared state).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/crypto_util.h"
#include "core/status.h"
#include "store/fs/file_system.h"
#include "store/merkle/compact_range.h"
#include "store/part/part_reader.h"

namespace apitrail::part {

struct SealResult {
  std::unique_ptr<PartReader> part;  // the new part, opened and verified
  merkle::CompactRange after;        // Merkle state after its last record
  uint64_t segment_bytes = 0;
};

// Seals the segment at `segment_path` holding records first_seq… (every frame whole;
// anything else is Corruption naming the segment and offset). `before` is the Merkle state
// at first_seq. An existing part of the same name is an error (recovery handles that case).
// When *cancel becomes true (shutdown) the sealing stops between records, removes its .tmp
// and returns Unavailable; the segment is sealed after the next start.
Result<SealResult> SealSegment(FileSystem* fs, const std::string& data_dir,
                               const std::string& segment_path, uint64_t first_seq,
                               const merkle::CompactRange& before, std::string_view node,
                               size_t block_raw_size = 0,
                               const std::atomic<bool>* cancel = nullptr);

// The leaf hashes of every record of a complete segment, in seq order from first_seq.
Result<std::vector<Hash256>> SegmentLeaves(FileSystem* fs, const std::string& segment_path,
                                           uint64_t first_seq);

// Reads every block of `part` and compares each record's leaf hash with `leaves` (seq order
// from the part's first seq, same count). Corruption naming the part and block offset.
Status CheckPartLeaves(const PartReader& part, const std::vector<Hash256>& leaves);

// DATA_DIR/parts
std::string PartsDir(const std::string& data_dir);

}  // namespace apitrail::part
