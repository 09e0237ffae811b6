#include "store/tree_head_log.h"

#include <cstring>

#include "store/log/coding.h"
#include "store/log/log_format.h"
#include "store/log/record_writer.h"
#include "store/log/side_log.h"

namespace apitrail {

std::string TreeHeadsPath(const std::string& data_dir) {
  return data_dir + "/" + std::string(log::kTreeHeadsFile);
}

Result<TreeHeadFile> ReadTreeHeads(FileSystem* fs, const std::string& path) {
  TreeHeadFile out;
  auto scan = log::ScanSideLog(
      fs, path, log::kTreeHeadMagic, "tree heads",
      [&] { return out.heads.empty() ? uint64_t{1} : out.heads.back().size + 1; },
      [&](const log::Frame& frame) -> Status {
        if (frame.payload.size() != log::kTreeHeadPayloadSize) {
          return Status::Corruption(path + ": tree head of " + std::to_string(frame.payload.size()) +
                                    " bytes at offset " + std::to_string(frame.offset));
        }
        if (!out.heads.empty() && frame.seq <= out.heads.back().size) {
          return Status::Corruption(path + ": tree size " + std::to_string(frame.seq) +
                                    " does not grow at offset " + std::to_string(frame.offset));
        }
        TreeHead h;
        h.size = frame.seq;
        std::memcpy(h.root.data(), frame.payload.data(), 32);
        h.time_ns = static_cast<int64_t>(log::DecodeFixed64(frame.payload.data() + 32));
        h.offset = frame.offset;
        out.heads.push_back(h);
        return Status::Ok();
      });
  if (!scan.ok()) return scan.status();
  out.exists = scan->exists;
  out.valid_bytes = scan->valid_bytes;
  out.file_bytes = scan->file_bytes;
  return out;
}

Result<std::unique_ptr<TreeHeadWriter>> TreeHeadWriter::Open(FileSystem* fs, const std::string& dir,
                                                             const std::string& node) {
  APITRAIL_ASSIGN_OR_RETURN(auto file, log::OpenSideLogForAppend(fs, dir, TreeHeadsPath(dir),
                                                                 log::kTreeHeadMagic, node));
  return std::unique_ptr<TreeHeadWriter>(new TreeHeadWriter(std::move(file)));
}

Status TreeHeadWriter::Append(uint64_t size, const Hash256& root, int64_t time_ns, bool sync) {
  std::string payload(reinterpret_cast<const char*>(root.data()), root.size());
  log::PutFixed64(&payload, static_cast<uint64_t>(time_ns));
  buffer_.clear();
  log::AppendFrame(&buffer_, size, payload);
  APITRAIL_RETURN_IF_ERROR(file_->Append(buffer_));
  return sync ? file_->Sync() : Status::Ok();
}

}  // namespace apitrail
