#include "store/archive/archive_status.h"

#include "core/time_util.h"
#include "store/archive/archive_layout.h"

namespace apitrail::archive {

ArchiveStatus::ArchiveStatus(FileSystem* fs, std::string data_dir)
    : fs_(fs), dir_(DoneDir(data_dir)), outbox_(OutboxDir(data_dir)) {}

Status ArchiveStatus::Open() {
  APITRAIL_RETURN_IF_ERROR(fs_->CreateDirs(dir_));
  APITRAIL_RETURN_IF_ERROR(fs_->CreateDirs(outbox_));
  done_.clear();
  for (const std::string& dir : {dir_, outbox_}) {
    APITRAIL_ASSIGN_OR_RETURN(auto names, fs_->ListDir(dir));
    for (const std::string& n : names) {
      if (HasSuffix(n, kTmpSuffix)) {
        APITRAIL_RETURN_IF_ERROR(fs_->Remove(dir + "/" + n));  // a crash mid-write
      } else if (dir == dir_ && HasSuffix(n, kDoneSuffix)) {
        done_.insert(n.substr(0, n.size() - kDoneSuffix.size()));
      }
    }
  }
  return Status::Ok();
}

Status ArchiveStatus::MarkDone(const std::string& name, uint64_t size, int64_t now_ns) {
  const std::string text = FormatRfc3339(now_ns) + " " + std::to_string(size) + "\n";
  APITRAIL_RETURN_IF_ERROR(WriteFileDurably(fs_, dir_, name + std::string(kDoneSuffix), text));
  done_.insert(name);
  return Status::Ok();
}

Status ArchiveStatus::Forget(const std::string& name) {
  const std::string path = dir_ + "/" + name + std::string(kDoneSuffix);
  if (fs_->Exists(path)) {
    APITRAIL_RETURN_IF_ERROR(fs_->Remove(path));
    APITRAIL_RETURN_IF_ERROR(fs_->SyncDir(dir_));
  }
  done_.erase(name);
  return Status::Ok();
}

}  // namespace apitrail::archive
