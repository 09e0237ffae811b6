#include "store/archive/checkpoint_slices.h"

#include <algorithm>

#include "store/archive/archive_layout.h"
#include "store/checkpoint.h"
#include "store/checkpoint_log.h"
#include "store/log/log_format.h"
#include "store/log/record_reader.h"

namespace apitrail::archive {

namespace {

Result<std::string> ReadRange(RandomAccessFile* file, const std::string& path, uint64_t offset,
                              uint64_t n) {
  std::string out(n, '\0');
  APITRAIL_ASSIGN_OR_RETURN(size_t got, file->Read(offset, n, out.data()));
  if (got != n) {
    return Status::IoError(path + ": short read of " + std::to_string(n) + " bytes at offset " +
                           std::to_string(offset));
  }
  return out;
}

}  // namespace

Result<std::vector<SliceInfo>> ListSlices(FileSystem* fs, const std::string& dir) {
  std::vector<SliceInfo> out;
  if (!fs->Exists(dir)) return out;
  APITRAIL_ASSIGN_OR_RETURN(auto names, fs->ListDir(dir));
  for (const std::string& n : names) {
    SliceInfo s;
    if (ParseSliceName(n, &s.start, &s.end)) {
      s.name = n;
      out.push_back(std::move(s));
    }
  }
  std::sort(out.begin(), out.end(), [](const SliceInfo& a, const SliceInfo& b) {
    return a.start != b.start ? a.start < b.start : a.end < b.end;
  });
  return out;
}

Result<std::vector<SliceInfo>> WriteCheckpointSlices(FileSystem* fs, const std::string& data_dir,
                                                     size_t max_frame_bytes) {
  std::vector<SliceInfo> written;
  const std::string path = CheckpointsPath(data_dir);
  if (!fs->Exists(path)) return written;  // nothing signed yet
  bool torn_header = false;
  auto opened = log::RecordReader::Open(fs, path, log::kCheckpointMagic, &torn_header);
  if (!opened.ok()) {
    if (torn_header) return written;  // created a moment ago, header not complete yet
    return opened.status();
  }
  log::RecordReader& reader = **opened;
  const uint64_t header_size = reader.header().size;
  const std::string outbox = OutboxDir(data_dir);
  APITRAIL_RETURN_IF_ERROR(fs->CreateDirs(outbox));
  APITRAIL_ASSIGN_OR_RETURN(auto slices, ListSlices(fs, outbox));
  uint64_t start = header_size;
  if (!slices.empty()) {
    start = 0;
    for (const SliceInfo& s : slices) start = std::max(start, s.end);
  }
  if (start < header_size || start > reader.file_size()) {
    return Status::Corruption(
        path + " has " + std::to_string(reader.file_size()) +
        " bytes but the archived checkpoint slices end at offset " + std::to_string(start) +
        ": checkpoints.log does not continue them (restored from an older backup?)");
  }
  APITRAIL_RETURN_IF_ERROR(reader.SeekTo(start));
  APITRAIL_ASSIGN_OR_RETURN(auto raw, fs->OpenForRead(path));
  APITRAIL_ASSIGN_OR_RETURN(std::string header, ReadRange(raw.get(), path, 0, header_size));

  bool at_end = false;
  while (!at_end) {
    const uint64_t chunk_start = reader.offset();
    uint64_t frames = 0;
    uint64_t max_size = 0;
    while (true) {
      log::Frame frame;
      auto next = reader.Next(&frame);
      if (!next.ok()) {
        // A frame the writer is appending right now is merely incomplete; anything else at
        // the very first frame means the slices' end is no frame boundary of this file.
        if (reader.incomplete()) {
          at_end = true;
          break;
        }
        return Status::Corruption(next.status().message() +
                                  (frames == 0 && chunk_start == start
                                       ? " (where the archived checkpoint slices end)"
                                       : ""));
      }
      if (!*next) {
        at_end = true;
        break;
      }
      const std::string where = path + " at offset " + std::to_string(frame.offset);
      if (frame.payload.size() <= log::kCheckpointTimeSize) {
        return Status::Corruption(where + ": checkpoint frame too short");
      }
      auto parsed =
          ParseCheckpointNote(std::string_view(frame.payload).substr(log::kCheckpointTimeSize));
      if (!parsed.ok()) return Status::Corruption(where + ": " + parsed.status().message());
      if (parsed->size != frame.seq)
        return Status::Corruption(where + ": frame and note disagree on the tree size");
      if (frames > 0 && reader.offset() - chunk_start > max_frame_bytes) {
        APITRAIL_RETURN_IF_ERROR(reader.SeekTo(frame.offset));  // it opens the next slice
        break;
      }
      ++frames;
      max_size = std::max(max_size, frame.seq);
    }
    const uint64_t chunk_end = reader.offset();
    if (chunk_end == chunk_start) break;
    APITRAIL_ASSIGN_OR_RETURN(std::string body,
                              ReadRange(raw.get(), path, chunk_start, chunk_end - chunk_start));
    SliceInfo s{SliceName(chunk_start, chunk_end), chunk_start, chunk_end, frames, max_size};
    APITRAIL_RETURN_IF_ERROR(fs->WriteFileDurably(outbox, s.name, header + body));
    written.push_back(std::move(s));
  }
  return written;
}

}  // namespace apitrail::archive
