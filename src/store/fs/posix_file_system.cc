#include "store/fs/posix_file_system.h"

#include "store/fs/direct_writable_file.h"
#include "store/fs/errno_status.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace apitrail {

Result<bool> WritableFile::StartSync(IoRing&) {
  return Status::IoError("this file cannot sync asynchronously (CanSyncAsync is false)");
}
Status WritableFile::FinishSync(int) {
  return Status::IoError("this file cannot sync asynchronously (CanSyncAsync is false)");
}

namespace {

class PosixWritableFile final : public WritableFile {
 public:
  PosixWritableFile(std::string path, int fd, uint64_t size)
      : path_(std::move(path)), fd_(fd), size_(size), physical_(size) {}
  ~PosixWritableFile() override { (void)Close(); }

  // Positional, not O_APPEND: appends land inside the reserve, below the physical end.
  Status Append(std::string_view data) override {
    APITRAIL_RETURN_IF_ERROR(WriteAt(size_, data.data(), data.size()));
    size_ += data.size();
    physical_ = std::max(physical_, size_);
    return Status::Ok();
  }

  Status Reserve(uint64_t bytes) override {
    if (size_ + bytes <= physical_) return Status::Ok();
    // Whole chunks, so the metadata change (and its journal write) comes once per chunk.
    static constexpr uint64_t kChunk = 1u << 20;
    static const std::string kZeros(kChunk, '\0');
    const uint64_t target = (size_ + bytes + kChunk - 1) / kChunk * kChunk;
    while (physical_ < target) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(kChunk, target - physical_));
      APITRAIL_RETURN_IF_ERROR(WriteAt(physical_, kZeros.data(), n));
      physical_ += n;
    }
    return Status::Ok();
  }

  Status DropReserve() override {
    if (physical_ == size_) return Status::Ok();
    if (::ftruncate(fd_, static_cast<off_t>(size_)) != 0) return ErrnoStatus("ftruncate", path_, errno);
    physical_ = size_;
    return Sync();
  }

  Status Sync() override {
    if (::fdatasync(fd_) != 0) return ErrnoStatus("fdatasync", path_, errno);
    return Status::Ok();
  }

  Status Close() override {
    if (fd_ < 0) return Status::Ok();
    int rc = ::close(fd_);
    fd_ = -1;
    if (rc != 0) return ErrnoStatus("close", path_, errno);
    return Status::Ok();
  }

  uint64_t Size() const override { return size_; }

 private:
  Status WriteAt(uint64_t offset, const char* p, size_t left) {
    while (left > 0) {
      ssize_t n = ::pwrite(fd_, p, left, static_cast<off_t>(offset));
      if (n < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus("write", path_, errno);
      }
      p += n;
      left -= static_cast<size_t>(n);
      offset += static_cast<uint64_t>(n);
    }
    return Status::Ok();
  }

  std::string path_;
  int fd_;
  uint64_t size_;      // logical end: where the next Append goes
  uint64_t physical_;  // end of the file on disk (size_ plus the zero reserve)
};

class PosixRandomAccessFile final : public RandomAccessFile {
 public:
  PosixRandomAccessFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~PosixRandomAccessFile() override { ::close(fd_); }

  Result<size_t> Read(uint64_t offset, size_t n, char* scratch) const override {
    size_t done = 0;
    while (done < n) {
      ssize_t r = ::pread(fd_, scratch + done, n - done, static_cast<off_t>(offset + done));
      if (r < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus("pread", path_, errno);
      }
      if (r == 0) break;  // EOF
      done += static_cast<size_t>(r);
    }
    return done;
  }

  Result<uint64_t> Size() const override {
    struct stat st;
    if (::fstat(fd_, &st) != 0) return ErrnoStatus("fstat", path_, errno);
    return static_cast<uint64_t>(st.st_size);
  }

 private:
  std::string path_;
  int fd_;
};

}  // namespace

Result<std::unique_ptr<WritableFile>> PosixFileSystem::OpenForAppend(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoStatus("open", path, errno);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return ErrnoStatus("fstat", path, err);
  }
  return std::unique_ptr<WritableFile>(
      new PosixWritableFile(path, fd, static_cast<uint64_t>(st.st_size)));
}

Result<std::unique_ptr<WritableFile>> PosixFileSystem::OpenForSyncedAppend(const std::string& path) {
  APITRAIL_ASSIGN_OR_RETURN(auto direct, OpenDirectWritableFile(path));
  if (direct) return direct;
  return OpenForAppend(path);
}

Result<std::unique_ptr<RandomAccessFile>> PosixFileSystem::OpenForRead(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("open", path, errno);
  return std::unique_ptr<RandomAccessFile>(new PosixRandomAccessFile(path, fd));
}

Status PosixFileSystem::Truncate(const std::string& path, uint64_t size) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("open", path, errno);
  Status st;
  if (::ftruncate(fd, static_cast<off_t>(size)) != 0) {
    st = ErrnoStatus("ftruncate", path, errno);
  } else if (::fsync(fd) != 0) {
    st = ErrnoStatus("fsync", path, errno);
  }
  ::close(fd);
  return st;
}

Status PosixFileSystem::Rename(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) return ErrnoStatus("rename", from, errno);
  return Status::Ok();
}

Result<std::vector<std::string>> PosixFileSystem::ListDir(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return ErrnoStatus("opendir", dir, errno);
  std::vector<std::string> names;
  while (struct dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(std::move(name));
  }
  ::closedir(d);
  return names;
}

Status PosixFileSystem::CreateDirs(const std::string& dir) {
  if (dir.empty()) return Status::Ok();
  for (size_t pos = 1; pos <= dir.size(); ++pos) {
    if (pos != dir.size() && dir[pos] != '/') continue;
    std::string prefix = dir.substr(0, pos);
    if (::mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST) {
      return ErrnoStatus("mkdir", prefix, errno);
    }
  }
  return Status::Ok();
}

Status PosixFileSystem::Remove(const std::string& path) {
  if (::unlink(path.c_str()) != 0) return ErrnoStatus("unlink", path, errno);
  return Status::Ok();
}

Status PosixFileSystem::SyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("open", dir, errno);
  Status st;
  if (::fsync(fd) != 0) st = ErrnoStatus("fsync", dir, errno);
  ::close(fd);
  return st;
}

bool PosixFileSystem::Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

Result<std::string> FileSystem::ReadAll(const std::string& path) { return ReadAllAtMost(path, UINT64_MAX); }

Result<std::string> FileSystem::ReadAllAtMost(const std::string& path, uint64_t max) {
  APITRAIL_ASSIGN_OR_RETURN(auto file, OpenForRead(path));
  APITRAIL_ASSIGN_OR_RETURN(uint64_t size, file->Size());
  if (size > max) return Status::ResourceExhausted(std::to_string(size) + " bytes");
  std::string out(size, '\0');
  APITRAIL_ASSIGN_OR_RETURN(size_t n, file->Read(0, size, out.data()));
  out.resize(n);
  return out;
}

Status FileSystem::WriteFileDurably(const std::string& dir, const std::string& name,
                                    std::string_view contents) {
  const std::string path = dir + "/" + name;
  const std::string tmp = path + ".tmp";
  // A tmp file left by a crash would be appended to: start from nothing.
  if (Exists(tmp)) APITRAIL_RETURN_IF_ERROR(Remove(tmp));
  {
    APITRAIL_ASSIGN_OR_RETURN(auto file, OpenForAppend(tmp));
    APITRAIL_RETURN_IF_ERROR(file->Append(contents));
    APITRAIL_RETURN_IF_ERROR(file->Sync());
    APITRAIL_RETURN_IF_ERROR(file->Close());
  }
  APITRAIL_RETURN_IF_ERROR(Rename(tmp, path));
  return SyncDir(dir);
}

FileSystem* DefaultFileSystem() {
  static PosixFileSystem* fs = new PosixFileSystem();  // never destroyed: used until exit
  return fs;
}

}  // namespace apitrail
