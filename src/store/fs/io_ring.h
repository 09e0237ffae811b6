// IoRing: one io_uring (liburing) for the store's asynchronous group commit, with an eventfd
// that becomes readable whenever a submitted write completes, so a gateway worker can wait
// for the commit in its own epoll loop instead of blocking in pwrite (LogStore::CommitPending,
// DirectWritableFile::StartSync).
//
// At most one write is in flight at a time. Not thread-safe: the store calls it only under
// its commit lock. Create fails (Unavailable) where the kernel or a seccomp profile refuses
// io_uring; the store then commits with blocking writes.
#pragma once

#include <atomic>
#include <memory>
#include <optional>

#include "core/status.h"

namespace apitrail {

class IoRing {
 public:
  static Result<std::unique_ptr<IoRing>> Create();
  ~IoRing();
  IoRing(const IoRing&) = delete;
  IoRing& operator=(const IoRing&) = delete;

  // Readable (non-blocking, counter semantics) after a completion was posted.
  int event_fd() const { return event_fd_; }
  // Submits a positional write of `len` bytes at `offset`; `buf` must stay valid and
  // unchanged until the completion was reaped.
  Status SubmitWrite(int fd, const char* buf, size_t len, uint64_t offset);
  bool in_flight() const { return in_flight_; }
  // The write's result (bytes written, or -errno) once it completed; nullopt while it has
  // not (or none is in flight). Never blocks.
  std::optional<int> Poll();
  // Blocks until the write in flight completed and returns its result.
  int Wait();
  // A hint, safe from any thread: a completion was posted that Poll/Wait has not taken yet.
  // Two acquire loads and no system call, so a busy committing thread can look every time
  // round its loop instead of learning it from the eventfd once its epoll is polled again.
  bool CompletionPosted() const;

 private:
  struct Ring;
  IoRing(std::unique_ptr<Ring> ring, int event_fd);

  // Counts completions taken, against the ring's tail (both wrap at 2^32).
  void Consumed() { consumed_.store(consumed_.load(std::memory_order_relaxed) + 1, std::memory_order_release); }

  std::unique_ptr<Ring> ring_;
  int event_fd_;
  bool in_flight_ = false;
  std::atomic<unsigned> consumed_{0};  // written by the holder of the store's commit lock
};

}  // namespace apitrail
