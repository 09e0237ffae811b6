#include "store/checkpoint_log.h"

#include <limits>

#include "store/log/coding.h"
#include "store/log/log_format.h"
#include "store/log/record_reader.h"
#include "store/log/record_writer.h"

namespace apitrail {

std::string CheckpointsPath(const std::string& data_dir) {
  return data_dir + "/" + std::string(log::kCheckpointsFile);
}

Result<CheckpointFile> ReadCheckpoints(FileSystem* fs, const std::string& path) {
  CheckpointFile out;
  if (!fs->Exists(path)) return out;
  out.exists = true;
  bool torn_header = false;
  auto opened = log::RecordReader::Open(fs, path, log::kCheckpointMagic, &torn_header);
  if (!opened.ok()) {
    if (torn_header) return out;  // a crash while creating the file: nothing lost
    return opened.status();
  }
  auto& reader = *opened;
  out.node = reader->header().node;
  out.file_bytes = reader->file_size();
  log::Frame frame;
  while (true) {
    auto next = reader->Next(&frame);
    if (!next.ok()) {
      if (next.status().code() != StatusCode::kCorruption) return next.status();
      const uint64_t min_size = out.checkpoints.empty() ? 0 : out.checkpoints.back().size;
      APITRAIL_ASSIGN_OR_RETURN(bool follows, reader->ValidFrameFollows(
                                                  min_size, std::numeric_limits<uint64_t>::max()));
      if (follows) {
        return Status::Corruption(next.status().message() + " (valid checkpoints follow)");
      }
      break;  // torn tail
    }
    if (!*next) break;
    const std::string where = " at offset " + std::to_string(frame.offset);
    if (frame.payload.size() <= log::kCheckpointTimeSize) {
      return Status::Corruption(path + ": checkpoint frame too short" + where);
    }
    CheckpointRecord rec;
    rec.size = frame.seq;
    rec.time_ns = static_cast<int64_t>(log::DecodeFixed64(frame.payload.data()));
    rec.note = frame.payload.substr(log::kCheckpointTimeSize);
    rec.offset = frame.offset;
    auto parsed = ParseCheckpointNote(rec.note);
    if (!parsed.ok()) return Status::Corruption(path + ": " + parsed.status().message() + where);
    rec.checkpoint = std::move(parsed).value();
    if (rec.checkpoint.size != rec.size) {
      return Status::Corruption(path + ": frame says tree size " + std::to_string(rec.size) +
                                ", its checkpoint " + std::to_string(rec.checkpoint.size) + where);
    }
    if (!out.checkpoints.empty() && rec.size < out.checkpoints.back().size) {
      return Status::Corruption(path + ": tree size " + std::to_string(rec.size) +
                                " is smaller than the previous checkpoint's" + where);
    }
    out.checkpoints.push_back(std::move(rec));
  }
  out.valid_bytes = reader->offset();
  return out;
}

Result<std::unique_ptr<CheckpointWriter>> CheckpointWriter::Open(FileSystem* fs,
                                                                 const std::string& dir,
                                                                 const std::string& node) {
  const std::string path = CheckpointsPath(dir);
  APITRAIL_ASSIGN_OR_RETURN(auto file, fs->OpenForAppend(path));
  if (file->Size() == 0) {
    std::string header;
    log::AppendFileHeader(&header, log::kCheckpointMagic, node, 0);
    APITRAIL_RETURN_IF_ERROR(file->Append(header));
    APITRAIL_RETURN_IF_ERROR(file->Sync());
    APITRAIL_RETURN_IF_ERROR(fs->SyncDir(dir));
  }
  return std::unique_ptr<CheckpointWriter>(new CheckpointWriter(std::move(file)));
}

Status CheckpointWriter::Append(uint64_t size, int64_t time_ns, const std::string& note) {
  std::string payload;
  log::PutFixed64(&payload, static_cast<uint64_t>(time_ns));
  payload += note;
  buffer_.clear();
  log::AppendFrame(&buffer_, size, payload);
  APITRAIL_RETURN_IF_ERROR(file_->Append(buffer_));
  return file_->Sync();
}

}  // namespace apitrail
