#include "auth/file_util.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace apitrail {
namespace {

Status Errno(const std::string& what, const std::string& path, int err) {
  std::string m = path + ": " + what + ": " + std::strerror(err);
  if (err == ENOENT) return Status::NotFound(std::move(m));
  if (err == EACCES || err == EPERM) return Status::PermissionDenied(std::move(m));
  return Status::IoError(std::move(m));
}

Status WriteAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("write", path, errno);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

}  // namespace

std::string DirName(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

Result<std::string> ReadSmallFile(const std::string& path, size_t max_bytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Errno("cannot open", path, errno);
  std::string out;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return Errno("cannot read", path, err);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > max_bytes) {
      ::close(fd);
      return Status::ResourceExhausted(path + ": file is larger than " +
                                       std::to_string(max_bytes) + " bytes");
    }
  }
  ::close(fd);
  return out;
}

Status WriteFileAtomically(const std::string& path, std::string_view contents, mode_t mode) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0) return Errno("cannot create", tmp, errno);
  auto fail = [&](Status st) {
    ::close(fd);
    ::unlink(tmp.c_str());
    return st;
  };
  // open() applies the umask and O_TRUNC keeps an old mode; fchmod makes the mode exact.
  if (::fchmod(fd, mode) != 0) return fail(Errno("chmod", tmp, errno));
  Status st = WriteAll(fd, contents, tmp);
  if (!st.ok()) return fail(st);
  if (::fsync(fd) != 0) return fail(Errno("fsync", tmp, errno));
  if (::close(fd) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return Errno("close", tmp, err);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return Errno("cannot rename " + tmp + " to", path, err);
  }
  // Without the directory fsync the rename itself may be lost in a crash.
  std::string dir = DirName(path);
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return Errno("cannot open directory", dir, errno);
  int rc = ::fsync(dfd);
  int err = errno;
  ::close(dfd);
  if (rc != 0) return Errno("fsync directory", dir, err);
  return Status::Ok();
}

Result<FileLock> FileLock::Acquire(const std::string& lock_path) {
  int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return Errno("cannot open lock file", lock_path, errno);
  while (::flock(fd, LOCK_EX) != 0) {
    if (errno == EINTR) continue;
    int err = errno;
    ::close(fd);
    return Errno("cannot lock", lock_path, err);
  }
  return FileLock(fd);
}

FileLock::~FileLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the last descriptor releases the flock
}

Result<FileVersion> StatFileVersion(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return FileVersion{};
    return Errno("cannot stat", path, errno);
  }
  FileVersion v;
  v.exists = true;
  v.dev = static_cast<uint64_t>(st.st_dev);
  v.inode = static_cast<uint64_t>(st.st_ino);
  v.size = static_cast<int64_t>(st.st_size);
  v.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  return v;
}

}  // namespace apitrail
