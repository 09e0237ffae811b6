// The Archiver end to end with real shell commands in temp dirs: parts, a checkpoint slice and
// the verifier key are copied once each (a restart does not copy them again); a failing
// command is retried with backoff until it succeeds; a command past its timeout is killed and
// counted; retention deletes only expired parts that were archived, through the store's hook.
#include "store/archive/archiver.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "core/time_util.h"
#include "store/archive/archive_layout.h"
#include "store/checkpoint.h"
#include "store/checkpoint_log.h"
#include "archiver_fixture.h"
#include "testutil/temp_dir.h"

namespace apitrail::archive {
namespace {

using namespace std::chrono_literals;
using apitrail::testing::ReadFileBytes;
using apitrail::testing::TempDir;

int64_t T(const char* rfc3339) { return *ParseRfc3339(rfc3339); }

using ArchiverTest = ArchiverFixture;

TEST_F(ArchiverTest, ArchivesPartsSliceAndKeyOnceEach) {
  Sign(4);
  AddPart("p-0001.part", "part one");
  AddPart("p-0002.part", "part two");
  const std::string log = dir_.path() + "/invocations";
  const std::string cmd = "echo %f >> " + log + " && cp %p " + dest_ + "/%f";
  // A file planted in the outbox under a key file's prefix is not the archiver's: only
  // "verifier-key-<8 hex>.txt" is passed to the command.
  std::filesystem::create_directories(OutboxDir(data_));
  apitrail::testing::WriteFileBytes(OutboxDir(data_) + "/verifier-key-$(id).txt", "planted\n");
  {
    auto a = StartOrDie(Options(cmd));
    ASSERT_TRUE(WaitFor([&] { return a->Stats().archived == 4; })) << a->Stats().archived;
    ArchiverStats s = a->Stats();
    EXPECT_EQ(s.pending, 0u);
    EXPECT_EQ(s.failures, 0u);
    EXPECT_EQ(s.slices, 1u);
    EXPECT_GT(s.last_success_unix_s, 0);
  }
  EXPECT_EQ(ReadFileBytes(dest_ + "/p-0001.part"), "part one");
  EXPECT_EQ(ReadFileBytes(dest_ + "/p-0002.part"), "part two");
  // Oldest first: parts by name, then the outbox (slice, key).
  std::vector<std::string> calls = Lines(log);
  ASSERT_EQ(calls.size(), 4u);
  EXPECT_EQ(calls[0], "p-0001.part");
  EXPECT_EQ(calls[1], "p-0002.part");
  EXPECT_EQ(calls[2].rfind("checkpoints-", 0), 0u);
  EXPECT_EQ(calls[3].rfind("verifier-key-", 0), 0u);
  EXPECT_EQ(ReadFileBytes(dest_ + "/" + calls[2]), ReadFileBytes(CheckpointsPath(data_)));
  EXPECT_EQ(ReadFileBytes(dest_ + "/" + calls[3]),
            VerifierKeyText("apitrail/n1", key_->public_key()) + "\n");

  // A restart copies nothing twice; a new part brings a new slice with the new checkpoints.
  auto again = StartOrDie(Options(cmd));
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(Lines(log).size(), 4u);
  EXPECT_EQ(again->Stats().slices, 0u);
  Sign(9);
  AddPart("p-0003.part", "part three");
  again->Poke();
  ASSERT_TRUE(WaitFor([&] { return again->Stats().archived == 2; }));
  calls = Lines(log);
  ASSERT_EQ(calls.size(), 6u);
  EXPECT_EQ(calls[4], "p-0003.part");
  uint64_t start = 0, end = 0;
  ASSERT_TRUE(ParseSliceName(calls[5], &start, &end)) << calls[5];
  uint64_t first_start = 0, first_end = 0;
  ASSERT_TRUE(ParseSliceName(calls[2], &first_start, &first_end));
  EXPECT_EQ(start, first_end);
  EXPECT_EQ(end, std::filesystem::file_size(CheckpointsPath(data_)));
}

TEST_F(ArchiverTest, APartReplacedAfterItWasArchivedIsArchivedAgain) {
  AddPart("p.part", "first bytes");
  auto a = StartOrDie(Options("cp %p " + dest_ + "/%f"));
  ASSERT_TRUE(WaitFor([&] { return a->Stats().archived == 2; }));  // the part and the key
  EXPECT_EQ(ReadFileBytes(dest_ + "/p.part"), "first bytes");
  // Not what a sealer may do, but if a part is ever replaced, the archive follows.
  AddPart("p.part", "second bytes");
  a->Poke();
  ASSERT_TRUE(WaitFor([&] { return a->Stats().archived == 3; }));
  EXPECT_EQ(ReadFileBytes(dest_ + "/p.part"), "second bytes");
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(a->Stats().archived, 3u) << "archived once more, not again and again";
}

TEST_F(ArchiverTest, AFailingCommandIsRetriedWithBackoffUntilItSucceeds) {
  Sign(1);
  AddPart("a.part", "A");
  const std::string flag = dir_.path() + "/dest-ready";
  auto a = StartOrDie(Options(
      "test -e " + flag + " || { echo 'disk not mounted' >&2; exit 7; }; cp %p " + dest_ + "/%f"));
  ASSERT_TRUE(WaitFor([&] { return a->Stats().failures >= 3; }));
  ArchiverStats s = a->Stats();
  EXPECT_EQ(s.archived, 0u);
  EXPECT_EQ(s.pending, 3u);  // the part, the slice, the key
  EXPECT_FALSE(InDest("a.part"));
  // Backoff: 20, 40, 80, 100, 100 ms … — in 400 ms far fewer than one try per 20 ms scan.
  const uint64_t before = a->Stats().failures;
  std::this_thread::sleep_for(400ms);
  EXPECT_LE(a->Stats().failures - before, 6u);
  apitrail::testing::WriteFileBytes(flag, "");
  ASSERT_TRUE(WaitFor([&] { return a->Stats().pending == 0; }));
  EXPECT_EQ(a->Stats().archived, 3u);
  EXPECT_EQ(ReadFileBytes(dest_ + "/a.part"), "A");
}

TEST_F(ArchiverTest, ACommandPastItsTimeoutIsKilledAndCounted) {
  AddPart("slow.part", "S");
  ArchiverOptions o = Options("sleep 30 # %p");
  o.timeout = 100ms;
  auto a = StartOrDie(o);
  ASSERT_TRUE(WaitFor([&] { return a->Stats().timeouts >= 2; }));
  EXPECT_GE(a->Stats().failures, 2u);
  EXPECT_EQ(a->Stats().archived, 0u);
  const auto t0 = std::chrono::steady_clock::now();
  a->Stop();  // does not wait for the command
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
}

TEST_F(ArchiverTest, RetentionDeletesOnlyExpiredPartsThatWereArchived) {
  Sign(1);
  const int64_t now = T("2026-11-26T12:00:00Z");
  AddPart("a-old.part", "old, archivable", T("2026-11-20T10:00:00Z"));
  AddPart("b-old-keep.part", "old, its archive fails", T("2026-11-20T11:00:00Z"));
  AddPart("c-new.part", "today", T("2026-11-26T11:00:00Z"));
  std::vector<std::string> removed;
  std::mutex mu;
  ArchiverOptions o = Options("case %f in *keep*) exit 1;; esac; cp %p " + dest_ + "/%f");
  o.retention = {1, true};
  o.now_ns = [now] { return now; };
  o.remove_part = [&](const std::string& path) {
    std::lock_guard<std::mutex> lock(mu);
    removed.push_back(path);
    std::filesystem::remove(path);
    return Status::Ok();
  };
  auto a = StartOrDie(o);
  ASSERT_TRUE(
      WaitFor([&] { return a->Stats().retention_deleted == 1 && a->Stats().failures >= 1; }));
  ArchiverStats s = a->Stats();
  EXPECT_EQ(s.retention_waiting, 1u);
  EXPECT_FALSE(InParts("a-old.part"));
  EXPECT_TRUE(InDest("a-old.part"));
  EXPECT_TRUE(InParts("b-old-keep.part")) << "expired but never archived: kept";
  EXPECT_TRUE(InParts("c-new.part"));
  EXPECT_FALSE(std::filesystem::exists(data_ + "/archive/done/a-old.part.done"));
  {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_EQ(removed, std::vector<std::string>{data_ + "/parts/a-old.part"});
  }
  EXPECT_EQ(s.retention_deleted_bytes, std::string("old, archivable").size());
  // Checkpoints are never deleted.
  EXPECT_TRUE(std::filesystem::exists(CheckpointsPath(data_)));
}

class FixedParts : public PartAccess {
 public:
  explicit FixedParts(int64_t newest, uint64_t end = 1) : newest_(newest), end_(end) {}
  Result<PartInfo> Describe(const std::string&) override { return PartInfo{0, end_, newest_}; }
  Status ForEachRecord(const std::string&,
                       const std::function<Status(uint64_t, std::string_view)>&) override {
    return Status::Ok();
  }

 private:
  int64_t newest_;
  uint64_t end_;
};

TEST_F(ArchiverTest, WithoutArchiveRetentionUsesThePartsNewestRecord) {
  const int64_t now = T("2026-11-26T12:00:00Z");
  AddPart("x.part", "X", T("2026-11-26T11:00:00Z"));  // sealed today ...
  FixedParts parts(T("2026-11-01T00:00:00Z"));        // ... but its records are old
  ArchiverOptions o = Options("");
  o.retention = {3, false};
  o.now_ns = [now] { return now; };
  o.parts = &parts;
  auto a = StartOrDie(o);
  ASSERT_TRUE(WaitFor([&] { return a->Stats().retention_deleted == 1; }));
  EXPECT_FALSE(InParts("x.part"));
  EXPECT_FALSE(a->Stats().enabled);
  EXPECT_TRUE(std::filesystem::is_empty(OutboxDir(data_))) << "no command: no slices, no key";
}

TEST_F(ArchiverTest, WithAPartReaderSlicesAreCutUntilOneCoversThePart) {
  Sign(4);
  AddPart("p.part", "records 0..9");
  FixedParts parts(T("2026-11-26T00:00:00Z"), 10);  // the part ends at seq 10
  ArchiverOptions o = Options("cp %p " + dest_ + "/%f");
  o.parts = &parts;
  {
    auto a = StartOrDie(o);
    ASSERT_TRUE(WaitFor([&] { return a->Stats().slices == 1 && a->Stats().pending == 0; }));
    std::this_thread::sleep_for(100ms);  // passes without new checkpoints cut nothing
    EXPECT_EQ(a->Stats().slices, 1u);
    Sign(10);  // the checkpoint covering the part: cut and archived
    ASSERT_TRUE(WaitFor([&] { return a->Stats().slices == 2 && a->Stats().pending == 0; }));
    Sign(10);  // a heartbeat: the part is covered, no more slices
    std::this_thread::sleep_for(200ms);
    EXPECT_EQ(a->Stats().slices, 2u);
  }
  // After a restart the covered part does not bring a slice either.
  Sign(10);
  auto again = StartOrDie(o);
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(again->Stats().slices, 0u);
}

TEST_F(ArchiverTest, RefusesAnInvalidCommand) {
  auto a = Archiver::Start(Options("cp '%p' /x"));
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.status().message().find("do not quote"), std::string::npos);
}

}  // namespace
}  // namespace apitrail::archive
