#include "store/log/side_log.h"

#include <limits>

#include "store/log/record_writer.h"

namespace apitrail::log {

Result<SideLogScan> ScanSideLog(FileSystem* fs, const std::string& path, std::string_view magic,
                                std::string_view what,
                                const std::function<uint64_t()>& min_next_seq,
                                const std::function<Status(const Frame&)>& on_frame) {
  SideLogScan out;
  if (!fs->Exists(path)) return out;
  out.exists = true;
  bool torn_header = false;
  auto opened = RecordReader::Open(fs, path, magic, &torn_header);
  if (!opened.ok()) {
    // A crash while creating the file leaves a short header and no frames: nothing lost.
    if (torn_header) return out;
    return opened.status();
  }
  auto& reader = *opened;
  out.node = reader->header().node;
  out.file_bytes = reader->file_size();
  Frame frame;
  while (true) {
    auto next = reader->Next(&frame);
    if (!next.ok()) {
      if (next.status().code() != StatusCode::kCorruption) return next.status();
      APITRAIL_ASSIGN_OR_RETURN(
          bool torn,
          reader->DamageIsTornTail(min_next_seq(), std::numeric_limits<uint64_t>::max()));
      if (!torn) {
        return Status::Corruption(next.status().message() + " (valid " + std::string(what) +
                                  " follow)");
      }
      break;  // torn tail: the caller decides whether to cut it
    }
    if (!*next) break;
    APITRAIL_RETURN_IF_ERROR(on_frame(frame));
  }
  out.valid_bytes = reader->offset();
  return out;
}

Result<std::unique_ptr<WritableFile>> OpenSideLogForAppend(FileSystem* fs, const std::string& dir,
                                                           const std::string& path,
                                                           std::string_view magic,
                                                           const std::string& node) {
  APITRAIL_ASSIGN_OR_RETURN(auto file, fs->OpenForAppend(path));
  if (file->Size() == 0) {
    std::string header;
    AppendFileHeader(&header, magic, node, 0);
    APITRAIL_RETURN_IF_ERROR(file->Append(header));
    APITRAIL_RETURN_IF_ERROR(file->Sync());
    APITRAIL_RETURN_IF_ERROR(fs->SyncDir(dir));
  }
  return file;
}

}  // namespace apitrail::log
