#include "store/checkpoint_log.h"

#include "store/log/coding.h"
#include "store/log/log_format.h"
#include "store/log/record_writer.h"
#include "store/log/side_log.h"

namespace apitrail {

std::string CheckpointsPath(const std::string& data_dir) {
  return data_dir + "/" + std::string(log::kCheckpointsFile);
}

Result<CheckpointFile> ReadCheckpoints(FileSystem* fs, const std::string& path) {
  CheckpointFile out;
  auto scan = log::ScanSideLog(
      fs, path, log::kCheckpointMagic, "checkpoints",
      [&] { return out.checkpoints.empty() ? uint64_t{0} : out.checkpoints.back().size; },
      [&](const log::Frame& frame) -> Status {
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
        return Status::Ok();
      });
  if (!scan.ok()) return scan.status();
  out.exists = scan->exists;
  out.node = scan->node;
  out.valid_bytes = scan->valid_bytes;
  out.file_bytes = scan->file_bytes;
  return out;
}

Result<std::unique_ptr<CheckpointWriter>> CheckpointWriter::Open(FileSystem* fs,
                                                                 const std::string& dir,
                                                                 const std::string& node) {
  APITRAIL_ASSIGN_OR_RETURN(auto file, log::OpenSideLogForAppend(fs, dir, CheckpointsPath(dir),
                                                                 log::kCheckpointMagic, node));
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
