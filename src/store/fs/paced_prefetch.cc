#include "store/fs/paced_prefetch.h"

#include <algorithm>
#include <thread>
#include <vector>

namespace apitrail {

Status PrefetchPaced(FileSystem* fs, const std::string& path, const PrefetchPacing& pacing,
                     const std::atomic<bool>* cancel) {
  using Clock = std::chrono::steady_clock;
  APITRAIL_ASSIGN_OR_RETURN(auto file, fs->OpenForRead(path));
  APITRAIL_ASSIGN_OR_RETURN(const uint64_t size, file->Size());
  file->AdviseNoReadahead();
  const size_t chunk = std::max<size_t>(pacing.chunk_bytes, 4096);
  std::vector<char> scratch(chunk);
  const auto sleep_for = pacing.sleep_for ? pacing.sleep_for : [](std::chrono::nanoseconds d) {
    std::this_thread::sleep_for(d);
  };
  const auto start = Clock::now();
  std::chrono::nanoseconds slept{0};  // what sleep_for was asked for (a fake does not pass time)
  for (uint64_t offset = 0; offset < size; offset += chunk) {
    if (cancel != nullptr && cancel->load(std::memory_order_relaxed)) {
      return Status::Unavailable(path + ": prefetch cancelled");
    }
    APITRAIL_ASSIGN_OR_RETURN(const size_t n, file->Read(offset, chunk, scratch.data()));
    if (n == 0) break;  // shorter than its size said: the reads that follow will tell
    if (pacing.bytes_per_sec == 0) continue;
    // Where the reads so far may end at the rate, against the time actually passed.
    const auto due = std::chrono::nanoseconds(static_cast<int64_t>(
        static_cast<double>(offset + n) * 1e9 / static_cast<double>(pacing.bytes_per_sec)));
    const auto passed = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start) + slept;
    if (due > passed) {
      sleep_for(due - passed);
      slept += due - passed;
    }
  }
  return Status::Ok();
}

}  // namespace apitrail
