// DirectWritableFile: what reaches the file is exactly what was synced, block-padded with
// zeros (the segment format's zero tail); nothing unsynced leaks to disk.
#include "store/fs/direct_writable_file.h"

#include <gtest/gtest.h>

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "store/fs/io_ring.h"
#include "testutil/temp_dir.h"

namespace apitrail {
namespace {

using testing::TempDir;

std::string ReadFile(const std::string& path) { return DefaultFileSystem()->ReadAll(path).value(); }

// The file holds `expected` and then only zero bytes.
void ExpectContent(const std::string& path, const std::string& expected) {
  const std::string got = ReadFile(path);
  ASSERT_GE(got.size(), expected.size());
  EXPECT_EQ(got.substr(0, expected.size()), expected);
  EXPECT_EQ(got.find_first_not_of('\0', expected.size()), std::string::npos) << "non-zero byte after the synced data";
}

std::string Bytes(size_t n, char seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(seed + static_cast<char>(i % 251) + 1);
  return s;
}

class DirectWritableFileTest : public ::testing::Test {
 protected:
  std::unique_ptr<WritableFile> Open() {
    auto f = OpenDirectWritableFile(path_);
    EXPECT_TRUE(f.ok()) << f.status().ToString();
    if (f.ok() && *f == nullptr) ADD_FAILURE() << "the test directory's file system refuses O_DIRECT";
    return f.ok() ? std::move(f).value() : nullptr;
  }
  TempDir dir_;
  std::string path_ = dir_.path() + "/seg";
};

TEST_F(DirectWritableFileTest, SyncedAppendsLandExactlyWithAZeroPaddedLastBlock) {
  auto f = Open();
  ASSERT_NE(f, nullptr);
  std::string all;
  for (size_t n : {size_t{26}, size_t{4070}, size_t{1}, size_t{9000}, size_t{4096}, size_t{333}}) {
    const std::string b = Bytes(n, static_cast<char>(n));
    ASSERT_TRUE(f->Append(b).ok());
    all += b;
    ASSERT_TRUE(f->Sync().ok());
    EXPECT_EQ(f->Size(), all.size());
    ExpectContent(path_, all);
    EXPECT_EQ(ReadFile(path_).size() % 4096, 0u) << "whole blocks only";
  }
}

TEST_F(DirectWritableFileTest, UnsyncedAppendsNeverReachTheFile) {
  auto f = Open();
  ASSERT_NE(f, nullptr);
  const std::string synced = Bytes(5000, 'a');
  ASSERT_TRUE(f->Append(synced).ok());
  ASSERT_TRUE(f->Sync().ok());
  ASSERT_TRUE(f->Append(Bytes(700, 'b')).ok());
  EXPECT_EQ(f->Size(), 5700u);
  ASSERT_TRUE(f->Close().ok());  // like a crash: the 700 bytes were never written
  ExpectContent(path_, synced);
}

TEST_F(DirectWritableFileTest, ReopenContinuesInsideThePartialLastBlock) {
  std::string all = Bytes(6000, 'c');
  {
    auto f = Open();
    ASSERT_NE(f, nullptr);
    ASSERT_TRUE(f->Append(all).ok());
    ASSERT_TRUE(f->DropReserve().ok());  // syncs, then cuts the padding
  }
  EXPECT_EQ(ReadFile(path_).size(), all.size());
  auto f = Open();
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->Size(), all.size());
  const std::string more = Bytes(3000, 'd');
  ASSERT_TRUE(f->Append(more).ok());
  ASSERT_TRUE(f->Sync().ok());
  all += more;
  ExpectContent(path_, all);
}

TEST_F(DirectWritableFileTest, ReserveWritesZerosAheadAndDropReserveCutsThem) {
  auto f = Open();
  ASSERT_NE(f, nullptr);
  const std::string head = Bytes(100, 'e');
  ASSERT_TRUE(f->Append(head).ok());
  ASSERT_TRUE(f->Reserve(head.size() + 10).ok());
  ASSERT_TRUE(f->Sync().ok());
  const size_t reserved = ReadFile(path_).size();
  EXPECT_GE(reserved, 1u << 20) << "zeros are kept mebibytes ahead of the appends";
  EXPECT_EQ(reserved % (1u << 20), 0u) << "whole mebibytes";
  ExpectContent(path_, head);
  std::string all = head;
  for (int i = 0; i < 50; ++i) {
    const std::string b = Bytes(777, static_cast<char>(i));
    ASSERT_TRUE(f->Append(b).ok());
    ASSERT_TRUE(f->Sync().ok());
    all += b;
  }
  EXPECT_EQ(ReadFile(path_).size(), reserved) << "appends stay inside the reserve";
  ExpectContent(path_, all);
  ASSERT_TRUE(f->DropReserve().ok());
  EXPECT_EQ(ReadFile(path_), all);
}

// The rotation path syncs bytes past the reserve without asking for more (the segment is about
// to be closed). The reserver may be writing its zeros right then; they must never land on
// those bytes. Repeated because the race window is a few milliseconds wide.
TEST_F(DirectWritableFileTest, SyncPastTheReserveIsNeverOverwrittenByTheReserver) {
  for (int round = 0; round < 30; ++round) {
    const std::string path = dir_.path() + "/race-" + std::to_string(round);
    auto opened = OpenDirectWritableFile(path);
    ASSERT_TRUE(opened.ok() && *opened != nullptr);
    auto f = std::move(opened).value();
    std::string all = Bytes(64, 'h');
    ASSERT_TRUE(f->Append(all).ok());
    ASSERT_TRUE(f->Sync().ok());
    ASSERT_TRUE(f->Reserve(100).ok());  // inside the first block: returns at once, zeros follow
    const std::string past = Bytes(9000, static_cast<char>(round));
    ASSERT_TRUE(f->Append(past).ok());
    all += past;
    ASSERT_TRUE(f->Sync().ok());
    ASSERT_TRUE(f->DropReserve().ok());
    ASSERT_EQ(ReadFile(path), all) << "round " << round;
  }
}

// StartSync + the ring's completion + FinishSync leave the file exactly as Sync would, and
// the ring's eventfd says when to finish.
TEST_F(DirectWritableFileTest, AsynchronousSyncLandsLikeSyncAndSignalsItsEventFd) {
  auto ring = IoRing::Create();
  ASSERT_TRUE(ring.ok()) << ring.status().ToString();
  auto f = Open();
  ASSERT_NE(f, nullptr);
  ASSERT_TRUE(f->CanSyncAsync());
  std::string all;
  EXPECT_FALSE((*ring)->CompletionPosted());
  for (size_t n : {size_t{100}, size_t{5000}, size_t{4096}, size_t{1}}) {
    const std::string b = Bytes(n, static_cast<char>(n));
    ASSERT_TRUE(f->Append(b).ok());
    all += b;
    auto started = f->StartSync(**ring);
    ASSERT_TRUE(started.ok()) << started.status().ToString();
    ASSERT_TRUE(*started);
    pollfd p{(*ring)->event_fd(), POLLIN, 0};
    ASSERT_EQ(::poll(&p, 1, 10000), 1) << "no completion signalled";
    uint64_t count = 0;
    ASSERT_EQ(::read((*ring)->event_fd(), &count, sizeof(count)), static_cast<ssize_t>(sizeof(count)));
    EXPECT_TRUE((*ring)->CompletionPosted()) << "the eventfd fired: a completion waits";
    auto result = (*ring)->Poll();
    ASSERT_TRUE(result.has_value());
    EXPECT_FALSE((*ring)->CompletionPosted()) << "Poll took it";
    ASSERT_TRUE(f->FinishSync(*result).ok());
    ExpectContent(path_, all);
  }
  auto nothing = f->StartSync(**ring);
  ASSERT_TRUE(nothing.ok());
  EXPECT_FALSE(*nothing) << "nothing appended since the last sync";
}

TEST_F(DirectWritableFileTest, AFailedAsynchronousWriteIsAnErrorNamingTheFile) {
  auto f = Open();
  ASSERT_NE(f, nullptr);
  auto ring = IoRing::Create();
  ASSERT_TRUE(ring.ok()) << ring.status().ToString();
  ASSERT_TRUE(f->Append("abc").ok());
  auto started = f->StartSync(**ring);
  ASSERT_TRUE(started.ok() && *started);
  (void)(*ring)->Wait();
  Status st = f->FinishSync(-EIO);  // as the ring would report a device error
  EXPECT_EQ(st.code(), StatusCode::kIoError);
  EXPECT_NE(st.message().find(path_), std::string::npos) << st.ToString();
  EXPECT_FALSE(f->FinishSync(100).ok()) << "a short, unaligned write is refused";
}

}  // namespace
}  // namespace apitrail
