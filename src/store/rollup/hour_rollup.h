// HourRollup: the per-minute counters of one UTC hour (totals, and per dimension a capped
// map key → counts with an "other" bucket), its byte encoding (docs/FORMAT.md §14) and its
// capped summary (the hour merged over its minutes). Plain values; Rollups owns and locks.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/status.h"
#include "core/string_hash.h"
#include "store/rollup/rollup_types.h"

namespace apitrail {

using KeyMap = std::unordered_map<std::string, KeyCounts, StringHash, std::equal_to<>>;

struct MinuteRollup {
  MinuteTotals totals;
  std::array<KeyMap, kRollupDims> keys;
  std::array<KeyCounts, kRollupDims> other;  // events whose key came after the cap was hit
};

// An hour merged over its minutes, keys capped (largest request counts kept, the rest in
// `other`). Immutable once built; shared with queries by shared_ptr.
struct RollupSummary {
  std::array<std::vector<std::pair<std::string, KeyCounts>>, kRollupDims> keys;
  std::array<KeyCounts, kRollupDims> other;
};

// What a store keeps of an hour that no longer changes: its minute totals and summary
// (HourRollup::DecodeSummary), without the minute detail.
struct HourSummary {
  int64_t hour = 0;
  uint64_t through_seq = 0;
  std::array<MinuteTotals, 60> totals{};
  std::shared_ptr<const RollupSummary> summary;
};

struct HourRollup {
  static constexpr uint32_t kVersion = 1;
  // The same layout after offset 32, zstd-compressed (docs/FORMAT.md §14): what is written.
  static constexpr uint32_t kCompressedVersion = 2;
  static constexpr std::string_view kMagic = "APTROLL1";

  int64_t hour = 0;          // hours since the Unix epoch, UTC
  uint64_t through_seq = 0;  // counts every record with seq < through_seq in this hour
  std::map<int, MinuteRollup> minutes;  // minute of the hour (0..59) → counters

  // Adds one event of this hour; a new key beyond `max_keys` distinct keys of its minute
  // and dimension is counted in that minute's `other`.
  void Add(const RollupEvent& e, size_t max_keys);

  // Version 1 bytes; Compress turns them into the version 2 file that is written (kept
  // apart so that a caller can encode under its lock and compress outside it).
  std::string Encode() const;
  static std::string Compress(std::string_view version1);
  // Corruption with the reason (and offset) on any mismatch; `path` names the file.
  static Result<HourRollup> Decode(std::string_view bytes, const std::string& path);
  // Decode(...) then Totals() and Summarize(max_keys), with the same checks and errors, but
  // summing the minutes by string index instead of building a map per minute: what a store
  // opening 35 days of rollups needs (5x less work).
  static Result<HourSummary> DecodeSummary(std::string_view bytes, const std::string& path,
                                           size_t max_keys);

  std::array<MinuteTotals, 60> Totals() const;
  std::shared_ptr<const RollupSummary> Summarize(size_t max_keys) const;
};

// Merges `from` into `into` (keys summed; `into` may then exceed any cap).
void MergeSummary(const RollupSummary& from, std::array<KeyMap, kRollupDims>* into,
                  std::array<KeyCounts, kRollupDims>* other);
// Turns merged maps into a summary keeping the `max_keys` largest per dimension.
std::shared_ptr<const RollupSummary> CapSummary(std::array<KeyMap, kRollupDims>&& maps,
                                                const std::array<KeyCounts, kRollupDims>& other,
                                                size_t max_keys);

// "2026-11-26T14.rollup" for the hour starting 2026-11-26 14:00 UTC, and back.
std::string RollupFileName(int64_t hour);
bool ParseRollupFileName(std::string_view name, int64_t* hour);

}  // namespace apitrail
