// File witness: one file per checkpoint tree size plus `latest` in a directory outside the
// data dir (docs/FORMAT.md §13). Each file holds exactly the signed note text and is
// written atomically: a temporary file, fsync, rename, fsync of the directory. Ed25519
// signatures are deterministic, so a heartbeat of the same size rewrites identical bytes;
// different bytes for a size already held mean a forked or rewritten log, and the existing
// file is kept as evidence.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "witness/witness.h"

namespace apitrail {

namespace {

Status Errno(const std::string& what) {
  return Status::IoError(what + ": " + std::strerror(errno));
}

Result<std::string> ReadSmallFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound(path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Tree size from a note's second line; 0 if it cannot be read.
uint64_t NoteSize(const std::string& note) {
  const size_t a = note.find('\n');
  if (a == std::string::npos) return 0;
  return std::strtoull(note.c_str() + a + 1, nullptr, 10);
}

class FileWitness final : public Witness {
 public:
  FileWitness(std::string name, std::string dir) : Witness(std::move(name)), dir_(std::move(dir)) {}

  Status Publish(const SignedCheckpoint& cp) override {
    std::error_code ec;
    std::filesystem::create_directories(dir_, ec);
    if (ec) return Status::IoError("cannot create " + dir_ + ": " + ec.message());
    const std::string path = dir_ + "/" + WitnessFileName(cp.size);
    auto existing = ReadSmallFile(path);
    if (existing.ok() && *existing != cp.note) {
      return Status::AlreadyExists(path + " holds a different checkpoint of tree size " +
                                   std::to_string(cp.size) + ": the log was forked or rewritten");
    }
    if (!existing.ok()) APITRAIL_RETURN_IF_ERROR(WriteAtomically(path, cp.note));
    // `latest` only moves forward; a smaller size (a log rolled back and restarted) leaves
    // the newer one in place for the auditor to see.
    auto latest = ReadSmallFile(dir_ + "/latest");
    if (latest.ok() && NoteSize(*latest) > cp.size) {
      return Status::AlreadyExists(dir_ + "/latest has tree size " +
                                   std::to_string(NoteSize(*latest)) + ", newer than " +
                                   std::to_string(cp.size) + ": the log was rolled back");
    }
    if (!latest.ok() || *latest != cp.note)
      APITRAIL_RETURN_IF_ERROR(WriteAtomically(dir_ + "/latest", cp.note));
    return Status::Ok();
  }

 private:
  Status WriteAtomically(const std::string& path, const std::string& text) {
    const std::string tmp = path + ".tmp";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return Errno("cannot create " + tmp);
    size_t done = 0;
    while (done < text.size()) {
      ssize_t n = ::write(fd, text.data() + done, text.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        Status st = Errno("cannot write " + tmp);
        ::close(fd);
        return st;
      }
      done += static_cast<size_t>(n);
    }
    if (::fsync(fd) != 0) {
      Status st = Errno("cannot sync " + tmp);
      ::close(fd);
      return st;
    }
    ::close(fd);
    if (::rename(tmp.c_str(), path.c_str()) != 0) return Errno("cannot rename " + tmp);
    int dfd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) return Errno("cannot open " + dir_);
    const int rc = ::fsync(dfd);
    ::close(dfd);
    if (rc != 0) return Errno("cannot sync " + dir_);
    return Status::Ok();
  }

  std::string dir_;
};

}  // namespace

std::string WitnessFileName(uint64_t size) {
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%020llu.checkpoint", static_cast<unsigned long long>(size));
  return buf;
}

std::unique_ptr<Witness> MakeFileWitness(const std::string& name, const std::string& dir) {
  return std::make_unique<FileWitness>(name, dir);
}

}  // namespace apitrail
