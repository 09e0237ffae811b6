// ReadLeafHashes: the Merkle leaf hash of every record of a data dir, in seq order, read
// straight from the sealed parts and segments (leaf = SHA-256(0x00 ‖ payload), docs/FORMAT.md §6), for proof
// generation by offline tools (`apitrail prove`). Read-only: safe while the server runs;
// a partly written frame at the end of the newest segment ends the list.
// Thread-safe (no shared state).
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "core/crypto_util.h"
#include "core/status.h"
#include "store/fs/file_system.h"

namespace apitrail {

// Leaf hashes of records 0 … min(limit, records)-1. Damage before that — a bad frame in a
// non-last segment, a damaged part block, a seq gap, a bad frame followed by valid ones — is
// Corruption naming the file and offset; NotFound when retention deleted the first parts.
Result<std::vector<Hash256>> ReadLeafHashes(
    FileSystem* fs, const std::string& data_dir,
    uint64_t limit = std::numeric_limits<uint64_t>::max());

// Leaf hashes of records from … min(limit, records)-1 (element 0 is record `from`). Parts
// wholly before `from` are opened (footer and summary) but their blocks are not read, so a
// range is found without decompressing the log before it, and damage or retention there
// does not stand in the way.
Result<std::vector<Hash256>> ReadLeafHashRange(FileSystem* fs, const std::string& data_dir,
                                               uint64_t from, uint64_t limit);

}  // namespace apitrail
