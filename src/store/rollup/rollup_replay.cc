#include "store/rollup/rollup_replay.h"

#include "core/record_codec.h"
#include "store/log/log_format.h"
#include "store/log/record_reader.h"

namespace apitrail {

Status ReplayRollups(FileSystem* fs, const std::vector<SegmentInfo>& segments, Rollups* rollups) {
  for (const SegmentInfo& seg : segments) {
    APITRAIL_ASSIGN_OR_RETURN(auto reader, log::RecordReader::Open(fs, seg.path, log::kSegmentMagic));
    log::Frame frame;
    while (true) {
      // Recovery has just cut any torn tail, so every frame here is whole.
      APITRAIL_ASSIGN_OR_RETURN(bool more, reader->Next(&frame));
      if (!more) break;
      APITRAIL_ASSIGN_OR_RETURN(AuditEvent event, DecodeRecord(frame.payload));
      rollups->Replay(frame.seq, event);
    }
  }
  return Status::Ok();
}

}  // namespace apitrail
