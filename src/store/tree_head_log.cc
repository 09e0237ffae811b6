#include "store/tree_head_log.h"

#include <cstring>
#include <limits>

#include "store/log/coding.h"
#include "store/log/log_format.h"
#include "store/log/record_reader.h"
#include "store/log/record_writer.h"

namespace apitrail {

std::string TreeHeadsPath(const std::string& data_dir) {
  return data_dir + "/" + std::string(log::kTreeHeadsFile);
}

Result<TreeHeadFile> ReadTreeHeads(FileSystem* fs, const std::string& path) {
  TreeHeadFile out;
  if (!fs->Exists(path)) return out;
  out.exists = true;
  bool torn_header = false;
  auto opened = log::RecordReader::Open(fs, path, log::kTreeHeadMagic, &torn_header);
  if (!opened.ok()) {
    // A crash while creating the file leaves a short header and no heads: nothing lost.
    if (torn_header) return out;
    return opened.status();
  }
  auto& reader = *opened;
  out.file_bytes = reader->file_size();
  log::Frame frame;
  while (true) {
    auto next = reader->Next(&frame);
    if (!next.ok()) {
      if (next.status().code() != StatusCode::kCorruption) return next.status();
      uint64_t min_size = out.heads.empty() ? 1 : out.heads.back().size + 1;
      APITRAIL_ASSIGN_OR_RETURN(bool follows, reader->ValidFrameFollows(
                                                  min_size, std::numeric_limits<uint64_t>::max()));
      if (follows) {
        return Status::Corruption(next.status().message() + " (valid tree heads follow)");
      }
      break;  // torn tail: the caller decides whether to cut it
    }
    if (!*next) break;
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
  }
  out.valid_bytes = reader->offset();
  return out;
}

Result<std::unique_ptr<TreeHeadWriter>> TreeHeadWriter::Open(FileSystem* fs, const std::string& dir,
                                                             const std::string& node) {
  const std::string path = TreeHeadsPath(dir);
  APITRAIL_ASSIGN_OR_RETURN(auto file, fs->OpenForAppend(path));
  if (file->Size() == 0) {
    std::string header;
    log::AppendFileHeader(&header, log::kTreeHeadMagic, node, 0);
    APITRAIL_RETURN_IF_ERROR(file->Append(header));
    APITRAIL_RETURN_IF_ERROR(file->Sync());
    APITRAIL_RETURN_IF_ERROR(fs->SyncDir(dir));
  }
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
