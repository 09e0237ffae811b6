// ReplayRollups: feeds every record of the (already recovered) segments to
// Rollups::Replay, for the rare restart where the rollup files cannot be trusted as a whole
// (rollups.h FinishRecovery). Runs in Store::Open, before the writer starts.
#pragma once

#include <vector>

#include "core/status.h"
#include "store/fs/file_system.h"
#include "store/recovery.h"
#include "store/rollup/rollups.h"

namespace apitrail {

Status ReplayRollups(FileSystem* fs, const std::vector<SegmentInfo>& segments, Rollups* rollups);

}  // namespace apitrail
