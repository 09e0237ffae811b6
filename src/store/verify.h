// Offline verification of a data dir (`apitrail verify`), as two separate results:
// - integrity: re-reads every sealed part (every block, the stored Merkle states, block time
//   ranges and the index rebuilt from the records) and every segment, checks framing, CRCs and seq continuity, recomputes
//   every leaf hash and the RFC 6962 root and compares it with every tree head; reads
//   checkpoints.log and checks every checkpoint's signature;
// - completeness: the log extends every known checkpoint — each one in checkpoints.log and
//   one saved elsewhere (--checkpoint) — i.e. the root of its first `size` records is the
//   signed root, and for the saved one an RFC 9162 consistency proof from it to the newest
//   logged checkpoint is built (streaming, without keeping the leaves) and verified.
// Thread-safe; touches nothing on disk.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "store/checkpoint.h"

namespace apitrail {

class FileSystem;

struct VerifyReport {
  bool ok = false;
  uint64_t records = 0;              // whole, valid records before the first problem
  std::optional<uint64_t> first_bad_seq;
  std::string file;                  // where the problem is
  uint64_t offset = 0;
  std::string problem;               // "crc mismatch", "seq gap: expected 7, found 8", ...
  std::string root_hex;              // over the `records` valid records
  uint64_t tree_heads = 0;           // tree heads checked
  uint64_t torn_tail_bytes = 0;      // unacknowledged torn tail that recovery would cut
  uint64_t checkpoints = 0;          // checkpoints in checkpoints.log whose signature verified
  uint64_t parts = 0;                // sealed parts read (docs/FORMAT.md §16)
  uint64_t first_seq = 0;            // first record kept (> 0 when retention deleted parts)
  std::string key_source;            // where the verifier key came from

  // Completeness: does the log extend every known checkpoint?
  struct Completeness {
    bool ok = true;
    bool checked = false;          // false when integrity failed before it could be judged
    uint64_t checkpoints = 0;      // known checkpoints the log was shown to extend
    // Records after the newest known checkpoint: vouched for by nothing signed yet (the
    // writer's last second, or records someone appended after cutting checkpoints.log; a
    // checkpoint saved elsewhere (--checkpoint) tells the two apart).
    uint64_t records_after_newest = 0;
    // No checkpoint at all yet, but the log is young: its first tree head is less than
    // kFreshLogNs old, and a running node signs within a second of a record. Not a failure
    // (ok stays true): run verify again a little later.
    bool pending = false;
    std::string problem;
    std::string source;            // the checkpoint it fails for: "checkpoints.log offset N" or a path
    std::string file;              // where the log falls short
    uint64_t offset = 0;
    std::optional<uint64_t> first_bad_seq;
    // The saved checkpoint (--checkpoint), when given.
    bool have_given = false;
    bool given_ok = false;
    uint64_t given_size = 0;
    std::string given_root_hex;
    uint64_t proof_to_size = 0;    // the consistency proof leads to this logged checkpoint
    std::string proof_to_root_hex;
    std::vector<std::string> proof;  // hex, RFC 9162 §2.1.4
    bool proof_built = false;
  } completeness;
};

// How young a log without any checkpoint may be before that counts as checkpoints.log cut
// (Completeness::pending): a node signs within a second of a record by default.
inline constexpr int64_t kFreshLogNs = 10'000'000'000;

struct VerifyOptions {
  // A checkpoint note saved elsewhere earlier, and a name for it in messages (its path).
  std::optional<std::string> checkpoint_note;
  std::string checkpoint_source;
  // The trusted verifier key. Absent: the one derived from the data dir's own node.key,
  // which only shows the checkpoints are self-consistent (whoever can rewrite the data dir
  // can also replace node.key); the key published elsewhere is what rules that out.
  std::optional<VerifierKey> key;
};

VerifyReport VerifyDataDir(const std::string& data_dir);
// Same, through a FileSystem (tests); `fs` is only read.
VerifyReport VerifyDataDir(const std::string& data_dir, FileSystem* fs);
VerifyReport VerifyDataDir(const std::string& data_dir, const VerifyOptions& options, FileSystem* fs);

}  // namespace apitrail
