#include "store/archive/archive_status.h"

#include <sstream>

#include "core/time_util.h"
#include "store/archive/archive_layout.h"

namespace apitrail::archive {

namespace {

constexpr uint64_t kMaxMarkerBytes = 4095;

// "<RFC 3339 time> <size> <inode> <mtime_ns>\n"; nullopt when the identity is not there.
std::optional<FileIdentity> ParseMarker(const std::string& text) {
  std::istringstream in(text);
  std::string time;
  FileIdentity id;
  if (in >> time >> id.size >> id.inode >> id.mtime_ns) return id;
  return std::nullopt;
}

}  // namespace

ArchiveStatus::ArchiveStatus(FileSystem* fs, const std::string& data_dir)
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
        // Markers are one short line; an unreadable or oversized one still says "archived"
        // (its existence is the fact), and is not read whole into memory.
        auto text = fs_->ReadAllAtMost(dir + "/" + n, kMaxMarkerBytes);
        done_[n.substr(0, n.size() - kDoneSuffix.size())] = text.ok() ? ParseMarker(*text) : std::nullopt;
      }
    }
  }
  return Status::Ok();
}

bool ArchiveStatus::IsArchived(const std::string& name, const FileIdentity& file) const {
  auto it = done_.find(name);
  return it != done_.end() && (!it->second || *it->second == file);
}

Status ArchiveStatus::MarkDone(const std::string& name, const FileIdentity& file, int64_t now_ns) {
  const std::string text = FormatRfc3339(now_ns) + " " + std::to_string(file.size) + " " +
                           std::to_string(file.inode) + " " + std::to_string(file.mtime_ns) + "\n";
  APITRAIL_RETURN_IF_ERROR(fs_->WriteFileDurably(dir_, name + std::string(kDoneSuffix), text));
  done_[name] = file;
  return Status::Ok();
}

std::vector<std::string> ArchiveStatus::DoneNames() const {
  std::vector<std::string> out;
  for (const auto& [name, id] : done_) out.push_back(name);
  return out;
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
