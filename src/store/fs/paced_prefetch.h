// PrefetchPaced: reads a file into the page cache at a bounded rate, so that the reads that
// follow are served from memory. The sealer calls it on a rotated segment before sealing:
// the segment was written with O_DIRECT, so it is not cached, and reading 256 MiB back at
// full speed (with the kernel's 8 MiB readahead) took the whole disk for seconds and held
// every group commit behind it (commit latency 0.12 → 3.4 ms, docs/OPERATIONS.md
// "Sealing"). Paced 256 KiB reads with readahead off leave the disk to the commits between
// them.
//
// Blocking; for a background thread. Thread-safe (no shared state).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "core/status.h"
#include "store/fs/file_system.h"

namespace apitrail {

struct PrefetchPacing {
  uint64_t bytes_per_sec = 0;  // 0: as fast as the disk goes
  size_t chunk_bytes = 256 * 1024;
  // Tests replace it to observe the pacing without waiting.
  std::function<void(std::chrono::nanoseconds)> sleep_for;
};

// Unavailable when `cancel` became true (checked between reads); I/O errors as read.
Status PrefetchPaced(FileSystem* fs, const std::string& path, const PrefetchPacing& pacing,
                     const std::atomic<bool>* cancel);

}  // namespace apitrail
