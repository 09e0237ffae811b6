// Where the archiver's files live in a data dir, and how they are named (docs/FORMAT.md §17).
// Constants and pure helpers only; thread-safe.
//
//   DATA_DIR/parts/*.part                       sealed parts (written by the store's sealer)
//   DATA_DIR/archive/outbox/checkpoints-<start>-<end>.ckpt   checkpoint slices (§17)
//   DATA_DIR/archive/outbox/verifier-key-<hash>.txt          the node's verifier key
//   DATA_DIR/archive/done/<file name>.done      archive_command succeeded for that file (and which)
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"
#include "store/fs/file_system.h"

namespace apitrail::archive {

inline constexpr std::string_view kPartsDir = "parts";
inline constexpr std::string_view kPartSuffix = ".part";
inline constexpr std::string_view kOutboxDir = "archive/outbox";
inline constexpr std::string_view kDoneDir = "archive/done";
inline constexpr std::string_view kDoneSuffix = ".done";
inline constexpr std::string_view kSlicePrefix = "checkpoints-";
inline constexpr std::string_view kSliceSuffix = ".ckpt";
inline constexpr std::string_view kVerifierKeyPrefix = "verifier-key-";
inline constexpr std::string_view kVerifierKeySuffix = ".txt";
inline constexpr std::string_view kTmpSuffix = ".tmp";

inline std::string PartsDir(const std::string& data_dir) {
  return data_dir + "/" + std::string(kPartsDir);
}
inline std::string OutboxDir(const std::string& data_dir) {
  return data_dir + "/" + std::string(kOutboxDir);
}
inline std::string DoneDir(const std::string& data_dir) {
  return data_dir + "/" + std::string(kDoneDir);
}

bool HasSuffix(std::string_view s, std::string_view suffix);
// A part file name: "<anything of [A-Za-z0-9._-]>.part" (the sealer's names; a stray
// ".tmp" or other file in parts/ is not a part).
bool IsPartName(std::string_view name);

// "checkpoints-<start, 20 digits>-<end, 20 digits>.ckpt": the slice holds the bytes
// [start, end) of checkpoints.log.
std::string SliceName(uint64_t start, uint64_t end);
// "verifier-key-<8 lowercase hex>.txt", the archiver's name for a key file: the archiver
// passes only such names to archive_command, and verify --archive reads only such files.
bool IsVerifierKeyName(std::string_view name);
bool ParseSliceName(std::string_view name, uint64_t* start, uint64_t* end);

}  // namespace apitrail::archive
