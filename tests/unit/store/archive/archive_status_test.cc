// ArchiveStatus: a success marker survives a reopen, a crash mid-write (a leftover .tmp)
// leaves the file unarchived, and Forget removes a marker durably.
#include "store/archive/archive_status.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "store/archive/archive_layout.h"
#include "testutil/fault_file_system.h"
#include "testutil/forwarding_file_system.h"
#include "testutil/temp_dir.h"

namespace apitrail::archive {
namespace {

using apitrail::testing::TempDir;

TEST(ArchiveStatusTest, MarkersSurviveReopen) {
  TempDir dir;
  {
    ArchiveStatus s(DefaultFileSystem(), dir.path());
    ASSERT_TRUE(s.Open().ok());
    EXPECT_FALSE(s.IsDone("a.part"));
    ASSERT_TRUE(s.MarkDone("a.part", {123, 77, 1764165000000000001}, 1764165012000000000).ok());
    EXPECT_TRUE(s.IsDone("a.part"));
  }
  EXPECT_EQ(apitrail::testing::ReadFileBytes(dir.path() + "/archive/done/a.part.done"),
            "2025-11-26T13:50:12.000000000Z 123 77 1764165000000000001\n");
  ArchiveStatus again(DefaultFileSystem(), dir.path());
  ASSERT_TRUE(again.Open().ok());
  EXPECT_TRUE(again.IsDone("a.part"));
  EXPECT_TRUE(again.IsArchived("a.part", {123, 77, 1764165000000000001}));
  // Another file under the same name (new inode, size or mtime) is not the one archived.
  EXPECT_FALSE(again.IsArchived("a.part", {123, 78, 1764165000000000001}));
  EXPECT_FALSE(again.IsArchived("a.part", {124, 77, 1764165000000000001}));
  EXPECT_FALSE(again.IsArchived("a.part", {123, 77, 1764165000000000002}));
  EXPECT_FALSE(again.IsDone("b.part"));
  ASSERT_TRUE(again.Forget("a.part").ok());
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/archive/done/a.part.done"));
  ArchiveStatus third(DefaultFileSystem(), dir.path());
  ASSERT_TRUE(third.Open().ok());
  EXPECT_FALSE(third.IsDone("a.part"));
}

TEST(ArchiveStatusTest, AMarkerWithoutIdentityMatchesAnyFile) {
  TempDir dir;
  std::filesystem::create_directories(dir.path() + "/archive/done");
  dir.Write("archive/done/old.part.done", "2026-11-26T00:00:00Z 5\n");  // size only
  dir.Write("archive/done/junk.part.done", "\x01garbage");
  ArchiveStatus s(DefaultFileSystem(), dir.path());
  ASSERT_TRUE(s.Open().ok());
  EXPECT_TRUE(s.IsArchived("old.part", {5, 1, 2}));
  EXPECT_TRUE(s.IsArchived("junk.part", {9, 9, 9}));
  EXPECT_EQ(s.DoneNames(), (std::vector<std::string>{"junk.part", "old.part"}));
}

// The bytes every opened file was asked for.
class ReadCountingFileSystem : public apitrail::testing::ForwardingFileSystem {
 public:
  using ForwardingFileSystem::ForwardingFileSystem;
  Result<std::unique_ptr<RandomAccessFile>> OpenForRead(const std::string& p) override {
    APITRAIL_ASSIGN_OR_RETURN(auto file, base()->OpenForRead(p));
    return std::unique_ptr<RandomAccessFile>(new Counting(std::move(file), &asked));
  }
  uint64_t asked = 0;

 private:
  struct Counting : RandomAccessFile {
    Counting(std::unique_ptr<RandomAccessFile> f, uint64_t* n) : f(std::move(f)), n(n) {}
    Result<size_t> Read(uint64_t offset, size_t len, char* scratch) const override {
      *n += len;
      return f->Read(offset, len, scratch);
    }
    Result<uint64_t> Size() const override { return f->Size(); }
    std::unique_ptr<RandomAccessFile> f;
    uint64_t* n;
  };
};

// A marker is one short line: one of 64 MiB (damage, or planted) still says "archived", and is
// not read whole into memory first (it was, and only then was its size looked at).
TEST(ArchiveStatusTest, AnOversizedMarkerIsNotReadWhole) {
  TempDir dir;
  std::filesystem::create_directories(dir.path() + "/archive/done");
  dir.Write("archive/done/huge.part.done", "2026-11-26T00:00:00Z 5 6 7\n");
  std::filesystem::resize_file(dir.path() + "/archive/done/huge.part.done", 64u << 20);
  ReadCountingFileSystem fs(DefaultFileSystem());
  ArchiveStatus s(&fs, dir.path());
  ASSERT_TRUE(s.Open().ok());
  EXPECT_TRUE(s.IsArchived("huge.part", {9, 9, 9}));
  EXPECT_LT(fs.asked, 8192u);
}

TEST(ArchiveStatusTest, ACrashMidWriteLeavesTheFileUnarchived) {
  TempDir dir;
  std::filesystem::create_directories(dir.path() + "/archive/done");
  std::filesystem::create_directories(dir.path() + "/archive/outbox");
  // What a crash between writing the temporary marker and renaming it leaves behind.
  dir.Write("archive/done/a.part.done.tmp", "2026-11-26T00:00:00.000000000Z 1");
  dir.Write("archive/outbox/checkpoints-x.ckpt.tmp", "half");
  ArchiveStatus s(DefaultFileSystem(), dir.path());
  ASSERT_TRUE(s.Open().ok());
  EXPECT_FALSE(s.IsDone("a.part"));
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/archive/done/a.part.done.tmp"));
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/archive/outbox/checkpoints-x.ckpt.tmp"));
}

TEST(ArchiveStatusTest, AFailedSyncIsAnErrorAndNotRemembered) {
  TempDir dir;
  apitrail::testing::FaultFileSystem fs(DefaultFileSystem());
  ArchiveStatus s(&fs, dir.path());
  ASSERT_TRUE(s.Open().ok());
  fs.SetSyncError(true);
  EXPECT_FALSE(s.MarkDone("a.part", {1, 1, 1}, 0).ok());
  EXPECT_FALSE(s.IsDone("a.part"));
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/archive/done/a.part.done"));
  fs.SetSyncError(false);
  fs.FailNthWrite(1);
  EXPECT_FALSE(s.MarkDone("a.part", {1, 1, 1}, 0).ok());
  EXPECT_FALSE(s.IsDone("a.part"));
  // Once MarkDone returned OK the marker was synced: a crash right after keeps it.
  ASSERT_TRUE(s.MarkDone("b.part", {1, 1, 1}, 0).ok());
  ASSERT_TRUE(fs.Crash().ok());
  ArchiveStatus after(DefaultFileSystem(), dir.path());
  ASSERT_TRUE(after.Open().ok());
  EXPECT_TRUE(after.IsDone("b.part"));
  EXPECT_FALSE(after.IsDone("a.part"));
}

}  // namespace
}  // namespace apitrail::archive
