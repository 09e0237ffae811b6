// Inclusion and consistency proofs as the JSON that `apitrail prove` prints and
// `GET /api/v1/proofs/inclusion` answers (docs/FORMAT.md §12 "Proofs"):
//   inclusion:   {leaf_index, tree_size, leaf_hash, hashes[], checkpoint}
//   consistency: {from_size, to_size, from_root, to_root, hashes[], checkpoint}
// against the node's newest signed checkpoint, or the one of exactly the size given. Reads
// the data dir read-only (safe while the server runs) and re-hashes every record up to
// the checkpoint's size: O(records) per proof. Thread-safe (no shared state).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/status.h"
#include "store/fs/file_system.h"

namespace apitrail {

// InvalidArgument for impossible arguments, NotFound when no checkpoint fits (yet),
// Corruption when the log disagrees with its signed checkpoint.
Result<std::string> InclusionProofJson(FileSystem* fs, const std::string& data_dir, uint64_t seq,
                                       std::optional<uint64_t> size);
Result<std::string> ConsistencyProofJson(FileSystem* fs, const std::string& data_dir, uint64_t from,
                                         std::optional<uint64_t> to);

}  // namespace apitrail
