#include "store/fs/direct_writable_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <cstdlib>
#include <cstring>

#include "core/thread_util.h"
#include "store/fs/errno_status.h"
#include "store/fs/io_ring.h"

namespace apitrail {

namespace {

// O_DIRECT needs offsets, lengths and memory aligned to the device's logical block; 4 KiB
// covers 512-byte and 4 KiB devices alike.
constexpr uint64_t kBlock = 4096;
constexpr uint64_t kReserveChunk = 1u << 20;
constexpr uint64_t kAhead = 4u << 20;  // how far the reserver keeps the zeros ahead

uint64_t AlignDown(uint64_t x) { return x & ~(kBlock - 1); }
uint64_t AlignUp(uint64_t x) { return AlignDown(x + kBlock - 1); }

struct FreeDeleter {
  void operator()(char* p) const { std::free(p); }
};

class DirectWritableFile final : public WritableFile {
 public:
  DirectWritableFile(std::string path, int direct_fd, int buffered_fd, uint64_t size)
      : path_(std::move(path)), dfd_(direct_fd), bfd_(buffered_fd), size_(size), synced_(size),
        physical_(size), buf_start_(AlignDown(size)) {}
  ~DirectWritableFile() override { (void)Close(); }

  // Loads the partial last block, which the next Sync rewrites whole.
  Status Init() {
    const size_t head = static_cast<size_t>(size_ - buf_start_);
    APITRAIL_RETURN_IF_ERROR(Grow(head));
    size_t done = 0;
    while (done < head) {
      ssize_t r = ::pread(bfd_, buf_.get() + done, head - done, static_cast<off_t>(buf_start_ + done));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) return r < 0 ? ErrnoStatus("pread", path_, errno) : Status::IoError("pread " + path_ + ": short read");
      done += static_cast<size_t>(r);
    }
    return Status::Ok();
  }

  Status Append(std::string_view data) override {
    const size_t at = static_cast<size_t>(size_ - buf_start_);
    APITRAIL_RETURN_IF_ERROR(Grow(at + data.size()));
    std::memcpy(buf_.get() + at, data.data(), data.size());
    size_ += data.size();
    return Status::Ok();
  }

  Status Sync() override {
    if (size_ == synced_) return Status::Ok();
    APITRAIL_ASSIGN_OR_RETURN(const size_t len, PrepareSync());
    APITRAIL_RETURN_IF_ERROR(WriteFrom(0, len));
    CompleteSync();
    return Status::Ok();
  }

  bool CanSyncAsync() const override { return true; }

  Result<bool> StartSync(IoRing& ring) override {
    if (size_ == synced_) return false;
    APITRAIL_ASSIGN_OR_RETURN(const size_t len, PrepareSync());
    APITRAIL_RETURN_IF_ERROR(ring.SubmitWrite(dfd_, buf_.get(), len, buf_start_));
    pending_len_ = len;
    return true;
  }

  Status FinishSync(int result) override {
    const size_t len = pending_len_;
    pending_len_ = 0;
    if (result < 0) return ErrnoStatus("write", path_, -result);
    const size_t done = static_cast<size_t>(result);
    if (done == 0 || done % kBlock != 0 || done > len) {
      return Status::IoError("write " + path_ + ": short direct write");
    }
    APITRAIL_RETURN_IF_ERROR(WriteFrom(done, len));  // the rest of a short write, if any
    CompleteSync();
    return Status::Ok();
  }

  // Zeros are written by a reserver thread kAhead bytes ahead of the appends, so the writer
  // never waits for a mebibyte of zeros and its flush (that stalled one commit per MiB and
  // showed in the gateway's p99). Only when the appends overtake it does the writer extend
  // the file itself.
  Status Reserve(uint64_t bytes) override {
    const uint64_t need = size_ + bytes;
    std::unique_lock<std::mutex> lock(reserve_mu_);
    if (!reserve_error_.ok()) {
      Status st = reserve_error_;
      reserve_error_ = Status::Ok();  // reported once; the next Reserve tries again
      return st;
    }
    if (need + kAhead / 2 > target_) {
      target_ = RoundToChunk(need + kAhead);
      if (!reserver_.joinable()) reserver_ = std::thread([this] { ReserverLoop(); });
      reserve_cv_.notify_one();
    }
    if (need <= physical_) return Status::Ok();
    // Overtaken: wait for the reserver rather than writing the same zeros twice.
    reserve_cv_.wait(lock, [&] { return need <= physical_ || stop_reserver_ || !reserve_error_.ok(); });
    return reserve_error_;
  }

  Status DropReserve() override {
    StopReserver();
    APITRAIL_RETURN_IF_ERROR(Sync());
    if (physical_ == size_) return Status::Ok();
    if (::ftruncate(bfd_, static_cast<off_t>(size_)) != 0) return ErrnoStatus("ftruncate", path_, errno);
    if (::fdatasync(bfd_) != 0) return ErrnoStatus("fdatasync", path_, errno);
    physical_ = size_;
    return Status::Ok();
  }

  // Bytes appended since the last Sync are dropped, as a crash would drop them.
  Status Close() override {
    StopReserver();
    Status st;
    for (int* fd : {&dfd_, &bfd_}) {
      if (*fd >= 0 && ::close(*fd) != 0 && st.ok()) st = ErrnoStatus("close", path_, errno);
      *fd = -1;
    }
    return st;
  }

  uint64_t Size() const override { return size_; }

 private:
  // The whole blocks from buf_start_ to the end of the appends, the last one zero-padded,
  // claimed against the reserver; returns their length.
  Result<size_t> PrepareSync() {
    const uint64_t end = AlignUp(size_);
    const size_t len = static_cast<size_t>(end - buf_start_);
    const size_t used = static_cast<size_t>(size_ - buf_start_);
    APITRAIL_RETURN_IF_ERROR(Grow(len));
    std::memset(buf_.get() + used, 0, len - used);  // the zero tail of the last block
    ClaimUpTo(end);
    return len;
  }

  // Writes buf_[from, len) at buf_start_ + from with the direct descriptor.
  Status WriteFrom(size_t from, size_t len) {
    for (size_t done = from; done < len;) {
      ssize_t n = ::pwrite(dfd_, buf_.get() + done, len - done, static_cast<off_t>(buf_start_ + done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return ErrnoStatus("write", path_, errno);
      if (n == 0 || static_cast<size_t>(n) % kBlock != 0) {
        return Status::IoError("write " + path_ + ": short direct write");
      }
      done += static_cast<size_t>(n);
    }
    return Status::Ok();
  }

  // After the write: keep only the partial last block, where the next sync starts.
  void CompleteSync() {
    synced_ = size_;
    const uint64_t new_start = AlignDown(size_);
    const size_t keep = static_cast<size_t>(size_ - new_start);
    if (keep > 0) std::memmove(buf_.get(), buf_.get() + (new_start - buf_start_), keep);
    buf_start_ = new_start;
  }

  static uint64_t RoundToChunk(uint64_t x) { return (x + kReserveChunk - 1) / kReserveChunk * kReserveChunk; }

  // Marks [.., end) as the writer's before it writes there. The reserver writes its zeros only
  // from the claimed end on, and a pass already under way from below `end` is waited for:
  // its zeros landing after our bytes would erase acknowledged records. Only the rotation
  // path (which syncs past the reserve without asking for more) ever waits here.
  void ClaimUpTo(uint64_t end) {
    std::unique_lock<std::mutex> lock(reserve_mu_);
    reserve_cv_.wait(lock, [&] { return !reserving_ || end <= reserving_from_; });
    physical_ = std::max(physical_, end);
  }

  void ReserverLoop() {
    NameThisThread("at-reserver");
    static const std::string kZeros(kReserveChunk, '\0');
    std::unique_lock<std::mutex> lock(reserve_mu_);
    while (true) {
      reserve_cv_.wait(lock, [&] { return stop_reserver_ || physical_ < target_; });
      if (stop_reserver_) return;
      // Block-aligned, so the zeros never share a block with bytes the direct path writes.
      uint64_t at = AlignUp(physical_);
      const uint64_t target = target_;
      reserving_ = true;
      reserving_from_ = at;
      lock.unlock();
      Status st;
      while (at < target && st.ok()) {
        const size_t n = static_cast<size_t>(std::min<uint64_t>(kReserveChunk, target - at));
        ssize_t w = ::pwrite(bfd_, kZeros.data(), n, static_cast<off_t>(at));
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) st = w < 0 ? ErrnoStatus("write", path_, errno) : Status::IoError("write " + path_ + ": no progress");
        else at += static_cast<uint64_t>(w);
      }
      // Written back now, so a later direct write into the reserve finds no dirty page to
      // flush first and no extent to allocate.
      if (st.ok() && ::fdatasync(bfd_) != 0) st = ErrnoStatus("fdatasync", path_, errno);
      lock.lock();
      reserving_ = false;
      if (st.ok()) {
        physical_ = std::max(physical_, at);
      } else {
        reserve_error_ = st;
        target_ = physical_;  // retried when the writer next asks
      }
      reserve_cv_.notify_all();
    }
  }

  void StopReserver() {
    {
      std::lock_guard<std::mutex> lock(reserve_mu_);
      stop_reserver_ = true;
    }
    reserve_cv_.notify_all();
    if (reserver_.joinable()) reserver_.join();
  }

  Status Grow(size_t need) {
    if (need <= capacity_) return Status::Ok();
    const size_t cap = static_cast<size_t>(AlignUp(std::max<uint64_t>(need, capacity_ * 2 + kBlock)));
    char* p = static_cast<char*>(std::aligned_alloc(kBlock, cap));
    if (p == nullptr) return Status::ResourceExhausted("write " + path_ + ": out of memory for the write buffer");
    if (buf_) std::memcpy(p, buf_.get(), capacity_);
    buf_.reset(p);
    capacity_ = cap;
    return Status::Ok();
  }

  std::string path_;
  int dfd_;
  int bfd_;
  uint64_t size_;       // logical end, including bytes not yet synced
  uint64_t synced_;     // bytes durable
  uint64_t physical_;   // end of the file on disk (direct writes, claimed, and reserve); reserve_mu_
  uint64_t buf_start_;  // file offset of buf_[0], block-aligned
  std::unique_ptr<char, FreeDeleter> buf_;
  size_t capacity_ = 0;
  size_t pending_len_ = 0;  // bytes of the asynchronous write in flight (StartSync)

  // The reserver thread (started by the first Reserve) and what it shares with the writer.
  std::mutex reserve_mu_;
  std::condition_variable reserve_cv_;
  uint64_t target_ = 0;         // reserve_mu_: where the zeros should reach
  Status reserve_error_;        // reserve_mu_: the reserver's last failure, for Reserve
  bool stop_reserver_ = false;  // reserve_mu_
  bool reserving_ = false;      // reserve_mu_: a pass is writing zeros from reserving_from_ on
  uint64_t reserving_from_ = 0;  // reserve_mu_
  std::thread reserver_;
};

}  // namespace

Result<std::unique_ptr<WritableFile>> OpenDirectWritableFile(const std::string& path) {
  int bfd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (bfd < 0) return ErrnoStatus("open", path, errno);
  int dfd = ::open(path.c_str(), O_WRONLY | O_DIRECT | O_DSYNC | O_CLOEXEC);
  if (dfd < 0) {
    const int err = errno;
    ::close(bfd);
    if (err == EINVAL) return std::unique_ptr<WritableFile>();  // no O_DIRECT here
    return ErrnoStatus("open", path, err);
  }
  struct stat st;
  if (::fstat(bfd, &st) != 0) {
    const int err = errno;
    ::close(bfd);
    ::close(dfd);
    return ErrnoStatus("fstat", path, err);
  }
  auto file = std::make_unique<DirectWritableFile>(path, dfd, bfd, static_cast<uint64_t>(st.st_size));
  APITRAIL_RETURN_IF_ERROR(file->Init());
  return std::unique_ptr<WritableFile>(std::move(file));
}

}  // namespace apitrail
