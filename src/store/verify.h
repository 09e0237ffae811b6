// Offline verification of a data dir (`apitrail verify`): re-reads every segment, checks
// framing, CRCs and seq continuity, recomputes every leaf hash and the RFC 6962 root, and
// compares it with the roots the writer recorded. Thread-safe; touches nothing on disk.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/status.h"

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
};

VerifyReport VerifyDataDir(const std::string& data_dir);
// Same, through a FileSystem (tests); `fs` is only read.
VerifyReport VerifyDataDir(const std::string& data_dir, FileSystem* fs);

}  // namespace apitrail
