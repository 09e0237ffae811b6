#include "store/fs/io_ring.h"

#include <liburing.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace apitrail {

struct IoRing::Ring {
  io_uring ring;
};

Result<std::unique_ptr<IoRing>> IoRing::Create() {
  auto ring = std::make_unique<Ring>();
  // Two entries: one write in flight, and room to spare.
  if (int r = io_uring_queue_init(2, &ring->ring, 0); r < 0) {
    return Status::Unavailable(std::string("io_uring_queue_init: ") + std::strerror(-r));
  }
  int efd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (efd < 0) {
    const int err = errno;
    io_uring_queue_exit(&ring->ring);
    return Status::Unavailable(std::string("eventfd: ") + std::strerror(err));
  }
  if (int r = io_uring_register_eventfd(&ring->ring, efd); r < 0) {
    ::close(efd);
    io_uring_queue_exit(&ring->ring);
    return Status::Unavailable(std::string("io_uring_register_eventfd: ") + std::strerror(-r));
  }
  return std::unique_ptr<IoRing>(new IoRing(std::move(ring), efd));
}

IoRing::IoRing(std::unique_ptr<Ring> ring, int event_fd) : ring_(std::move(ring)), event_fd_(event_fd) {}

IoRing::~IoRing() {
  // The kernel may still write into the caller's buffer: wait for it first.
  if (in_flight_) (void)Wait();
  io_uring_queue_exit(&ring_->ring);
  ::close(event_fd_);
}

Status IoRing::SubmitWrite(int fd, const char* buf, size_t len, uint64_t offset) {
  if (in_flight_) return Status::IoError("io_uring: a write is already in flight");
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_->ring);
  if (sqe == nullptr) return Status::IoError("io_uring: no submission entry free");
  io_uring_prep_write(sqe, fd, buf, static_cast<unsigned>(len), offset);
  int r;
  do {
    r = io_uring_submit(&ring_->ring);
  } while (r == -EINTR);
  if (r < 0) return Status::IoError(std::string("io_uring_submit: ") + std::strerror(-r));
  in_flight_ = true;
  return Status::Ok();
}

std::optional<int> IoRing::Poll() {
  if (!in_flight_) return std::nullopt;
  io_uring_cqe* cqe = nullptr;
  if (io_uring_peek_cqe(&ring_->ring, &cqe) != 0 || cqe == nullptr) return std::nullopt;
  const int res = cqe->res;
  io_uring_cqe_seen(&ring_->ring, cqe);
  Consumed();
  in_flight_ = false;
  return res;
}

bool IoRing::CompletionPosted() const {
  // The kernel writes the tail; only the consumer writes consumed_.
  return __atomic_load_n(ring_->ring.cq.ktail, __ATOMIC_ACQUIRE) != consumed_.load(std::memory_order_acquire);
}

int IoRing::Wait() {
  while (true) {
    io_uring_cqe* cqe = nullptr;
    int r = io_uring_wait_cqe(&ring_->ring, &cqe);
    if (r == -EINTR) continue;
    if (r < 0) return r;
    const int res = cqe->res;
    io_uring_cqe_seen(&ring_->ring, cqe);
    Consumed();
    in_flight_ = false;
    return res;
  }
}

}  // namespace apitrail
