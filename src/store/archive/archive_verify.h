// Offline verification of an archive directory (`apitrail verify --archive DIR`), without
// the live node: the files archive_command copied there — checkpoint slices
// (checkpoints-*.ckpt), parts (*.part) and the verifier key (verifier-key-*.txt).
//
// Checkpoint side (complete): every slice is read as a checkpoints.log-format file with no
// damaged or torn frame; the slices must tile checkpoints.log from its first frame on, with
// no gap or overlap (a missing slice is reported with its byte range); every checkpoint's
// Ed25519 signature must verify with the trusted key; tree sizes never decrease, and one size
// is never signed with two roots.
// Part side (through PartAccess, implemented by the store's part reader): the parts must hold
// the records 0 … n-1 without gaps; their leaf hashes are recomputed and the RFC 6962 root at
// every checkpoint size ≤ n must equal the signed root. When the oldest archived part does not
// start at seq 0 (older parts pruned from cold storage) and carries the Merkle state before
// it, the walk starts from that state; checkpoints older than it are counted, not checked, and
// at least one signed root after it must be recomputed, or the result is not ok. Checkpoints beyond
// n cover records not archived yet (still in the live node) and are counted, not failed, but
// archived records that no archived checkpoint covers at all fail (nothing vouches for them;
// those signed only by a checkpoint beyond n are counted: proven once the next part is), and a
// saved checkpoint (--checkpoint) beyond n fails: the archive must reach it. Without a
// part reader the parts are listed but not checked, and the result is not ok. Thread-safe; only
// reads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "store/archive/part_access.h"
#include "store/checkpoint.h"
#include "store/fs/file_system.h"

namespace apitrail::archive {

struct ArchiveVerifyOptions {
  // The trusted verifier key. Absent: the archive's own verifier-key-*.txt, if exactly one,
  // which shows only that the archive is self-consistent.
  std::optional<VerifierKey> key;
  PartAccess* parts = nullptr;  // null: parts are not checked
  // A checkpoint note saved elsewhere (a witness's copy), and a name for it in messages. The
  // archive must then hold every record it signs and reproduce its root: the check that
  // catches trailing parts removed together with the slices that covered them.
  std::optional<std::string> checkpoint_note;
  std::string checkpoint_source;
};

struct ArchiveVerifyReport {
  bool ok = false;
  std::string key_source;
  // Checkpoint side.
  bool checkpoints_ok = false;
  uint64_t slices = 0;
  uint64_t checkpoints = 0;  // signatures verified
  uint64_t newest_size = 0;  // largest tree size signed
  std::string newest_root_hex;
  // Part side.
  uint64_t parts = 0;
  bool parts_checked = false;
  bool parts_ok = false;
  uint64_t first_seq = 0;            // the archived parts start here (0 unless pruned)
  uint64_t records = 0;              // records first_seq … records-1 are in the archived parts
  uint64_t checkpoints_before = 0;   // checkpoints over records older than the archived parts
  uint64_t checkpoints_matched = 0;  // signed roots recomputed from the parts
  uint64_t checkpoints_beyond = 0;   // checkpoints over records the archive does not hold yet
  uint64_t records_uncovered = 0;    // archived records after the newest checkpoint within them
  // The saved checkpoint (options.checkpoint_note): its signature verified and its root
  // reproduced by the archived parts.
  bool given_checked = false;
  uint64_t given_size = 0;
  // The first problem found.
  std::string problem;
  std::string file;
  uint64_t offset = 0;
  std::optional<uint64_t> first_bad_seq;
};

ArchiveVerifyReport VerifyArchiveDir(const std::string& dir, const ArchiveVerifyOptions& options,
                                     FileSystem* fs);

}  // namespace apitrail::archive
