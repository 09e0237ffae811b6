// PrefetchPaced: reads every byte of the file in chunk-sized reads with readahead off, and
// asks to sleep just enough that the reads keep to the rate (observed through a fake sleep,
// so the test does not wait).
#include "store/fs/paced_prefetch.h"

#include <gtest/gtest.h>

#include <mutex>
#include <string>
#include <vector>

#include "testutil/forwarding_file_system.h"
#include "testutil/temp_dir.h"

namespace apitrail {
namespace {

using testing::TempDir;

// Records the reads and the readahead advice of every handle it opens.
class CountingFileSystem final : public testing::ForwardingFileSystem {
 public:
  explicit CountingFileSystem(FileSystem* base) : ForwardingFileSystem(base) {}
  Result<std::unique_ptr<RandomAccessFile>> OpenForRead(const std::string& path) override {
    APITRAIL_ASSIGN_OR_RETURN(auto f, base()->OpenForRead(path));
    return std::unique_ptr<RandomAccessFile>(new File(this, std::move(f)));
  }
  std::vector<std::pair<uint64_t, size_t>> reads;  // offset, bytes returned
  int no_readahead_advice = 0;

 private:
  class File final : public RandomAccessFile {
   public:
    File(CountingFileSystem* fs, std::unique_ptr<RandomAccessFile> f) : fs_(fs), f_(std::move(f)) {}
    Result<size_t> Read(uint64_t offset, size_t n, char* scratch) const override {
      auto r = f_->Read(offset, n, scratch);
      if (r.ok()) fs_->reads.emplace_back(offset, *r);
      return r;
    }
    Result<uint64_t> Size() const override { return f_->Size(); }
    void AdviseNoReadahead() const override { fs_->no_readahead_advice++; }

   private:
    CountingFileSystem* fs_;
    std::unique_ptr<RandomAccessFile> f_;
  };
};

class PacedPrefetchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.path() + "/segment";
    ASSERT_TRUE(DefaultFileSystem()->WriteFileDurably(dir_.path(), "segment", std::string(kSize, 'x')).ok());
  }
  PrefetchPacing Pacing(uint64_t rate) {
    PrefetchPacing p;
    p.bytes_per_sec = rate;
    p.chunk_bytes = kChunk;
    p.sleep_for = [this](std::chrono::nanoseconds d) {
      ++sleeps_;
      slept_ += d;
    };
    return p;
  }

  static constexpr size_t kChunk = 256 * 1024;
  static constexpr size_t kSize = 8 * kChunk + 1234;  // a short last read
  TempDir dir_;
  std::string path_;
  CountingFileSystem fs_{DefaultFileSystem()};
  int sleeps_ = 0;
  std::chrono::nanoseconds slept_{0};
};

TEST_F(PacedPrefetchTest, ReadsEveryByteInChunksWithReadaheadOff) {
  ASSERT_TRUE(PrefetchPaced(&fs_, path_, Pacing(0), nullptr).ok());
  EXPECT_EQ(fs_.no_readahead_advice, 1);
  ASSERT_EQ(fs_.reads.size(), 9u);
  uint64_t next = 0;
  for (const auto& [offset, n] : fs_.reads) {
    EXPECT_EQ(offset, next);
    EXPECT_LE(n, kChunk);
    next += n;
  }
  EXPECT_EQ(next, kSize);
  EXPECT_EQ(sleeps_, 0) << "unpaced prefetch slept";
}

TEST_F(PacedPrefetchTest, SleepsSoThatTheReadsKeepToTheRate) {
  // 2 MiB + 1234 bytes at 1 MiB/s: about two seconds of sleep in all (the fake sleep passes
  // no time, so what the reads themselves took is the only difference).
  ASSERT_TRUE(PrefetchPaced(&fs_, path_, Pacing(1024 * 1024), nullptr).ok());
  EXPECT_EQ(fs_.reads.size(), 9u);
  EXPECT_GE(sleeps_, 8);
  const double want = static_cast<double>(kSize) / (1024 * 1024);
  EXPECT_NEAR(std::chrono::duration<double>(slept_).count(), want, 0.25);
}

TEST_F(PacedPrefetchTest, StopsWhenCancelled) {
  std::atomic<bool> cancel{true};
  const Status st = PrefetchPaced(&fs_, path_, Pacing(1024 * 1024), &cancel);
  EXPECT_EQ(st.code(), StatusCode::kUnavailable) << st.ToString();
  EXPECT_TRUE(fs_.reads.empty());
}

TEST_F(PacedPrefetchTest, MissingFileIsAnErrorNamingIt) {
  const Status st = PrefetchPaced(&fs_, dir_.path() + "/nope", Pacing(0), nullptr);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("nope"), std::string::npos) << st.ToString();
}

}  // namespace
}  // namespace apitrail
