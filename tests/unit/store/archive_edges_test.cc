// Edge cases of archive_command and retention (docs/CONFIG.md `audit.archive`,
// `audit.retention`; docs/FORMAT.md §17), found by an adversarial hunt:
//  - the command template check follows nested shell contexts: "$(echo "%p")" puts %p in
//    double quotes although a flat quote count says otherwise (and a data dir path holding
//    $(…) then ran), so it is refused; ${…} and `…` too; %p unquoted inside $(…) is fine;
//  - %p is absolute even when audit.data_dir is relative;
//  - a command killed by a signal, or by shutdown, leaves its file pending (no marker);
//  - a command whose background child keeps its output open does not hold the queue;
//  - an expired part replaced after it was archived is not deleted until archived again;
//  - a marker whose part is gone (a crash between the two deletions) is removed;
//  - `verify --archive` does not read a huge file named like the key file into memory.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "config/archive_command.h"
#include "core/time_util.h"
#include "store/archive/archive_layout.h"
#include "store/archive/archive_verify.h"
#include "store/archive/archiver.h"
#include "store/checkpoint.h"
#include "store/checkpoint_log.h"
#include "archive/archiver_fixture.h"
#include "testutil/temp_dir.h"

namespace apitrail::archive {
namespace {

using namespace std::chrono_literals;
using apitrail::testing::ReadFileBytes;
using apitrail::testing::TempDir;
using apitrail::testing::WriteFileBytes;

int64_t T(const char* rfc3339) { return *ParseRfc3339(rfc3339); }

// What /bin/sh prints for `cmd`.
std::string RunSh(const std::string& cmd) {
  FILE* p = ::popen(cmd.c_str(), "r");
  EXPECT_NE(p, nullptr);
  std::string out;
  char buf[256];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  ::pclose(p);
  return out;
}

std::string Why(const char* command) { return ValidateArchiveCommand(command).message(); }

TEST(ArchiveCommandEdgesTest, ASubstitutionQuotedInsideANestedContextIsRefused) {
  // Inside "…", $(…) opens a new context: the inner "…" quotes %p. Before, a flat quote
  // count let these through, and %p's single quotes are literal inside double quotes.
  EXPECT_NE(Why("cp \"$(echo \"%p\")\" /mnt/x").find("do not quote %p"), std::string::npos);
  EXPECT_NE(Why("cp %p \"/mnt/$(echo \"%f\")\"").find("do not quote %f"), std::string::npos);
  EXPECT_NE(Why("cp \"${DEST:-\"%p\"}\" /mnt/x").find("do not quote %p"), std::string::npos);
  EXPECT_NE(Why("cp \"`echo \"%p\"`\" /mnt/x").find("do not quote %p"), std::string::npos);
  EXPECT_NE(Why("cp ${X:-%p} /mnt/x").find("inside ${…} or `…`"), std::string::npos);
  EXPECT_NE(Why("cp `echo %p` /mnt/x").find("inside ${…} or `…`"), std::string::npos);
  // bash reads $'\'' as one quote; dash as $, '\' and an opening quote.
  EXPECT_NE(Why("echo $'\\'' ' %p '").find("read differently"), std::string::npos);
  EXPECT_NE(Why("cp %p /mnt/$(date").find("unterminated $("), std::string::npos);
  EXPECT_NE(Why("cp %p \"/mnt/$(date)/").find("unterminated quote"), std::string::npos);
}

TEST(ArchiveCommandEdgesTest, WhatANestedCheckAcceptsIsSafeForAnyPath) {
  // Unquoted inside $(…) (even within "…") a substitution is one word; a quoted $(…) before
  // an unquoted %f is fine too.
  const std::vector<std::string> good = {
      "cp %p \"/mnt/$(hostname)/\"%f",
      "printf '[%%s]' \"$(printf %%s %p)\"",
      "printf '[%%s]' $(printf %%s %f | tr -d ' ')",
      "cp %p /mnt/$(date +%%Y)/%f",
      "cp %p \"/mnt/$( (echo a) )/\"%f",
  };
  for (const std::string& c : good) EXPECT_TRUE(ValidateArchiveCommand(c).ok()) << c;
  const std::string evil = "/tmp/a b'c\"d$(echo INJECTED)`echo X`;e\\f";
  EXPECT_EQ(RunSh(ExpandArchiveCommand(good[1], evil, "n")), "[" + evil + "]");
  EXPECT_EQ(RunSh(ExpandArchiveCommand(good[2], evil, "a b$(echo INJECTED)")),
            "[ab$(echoINJECTED)]");
}

class ArchiverEdgesTest : public ArchiverFixture {
 protected:
  void SetUp() override {
    ArchiverFixture::SetUp();
    Sign(1);
  }
};

TEST_F(ArchiverEdgesTest, PercentPIsAbsoluteWhenTheDataDirIsRelative) {
  AddPart("p.part", "bytes");
  const std::string seen = dir_.path() + "/seen";
  // As `serve -c apitrail.yaml` leaves it with `data_dir: data`: relative to the cwd.
  const auto cwd = std::filesystem::current_path();
  std::filesystem::current_path(dir_.path());
  ArchiverOptions o = Options("echo %p >> '" + seen + "' && cd / && cp %p '" + dest_ + "/'%f");
  o.data_dir = "data/";
  {
    auto a = StartOrDie(o);
    const bool done = WaitFor([&] { return a->Stats().archived == 3; });
    std::filesystem::current_path(cwd);
    ASSERT_TRUE(done) << "failures " << a->Stats().failures;
  }
  EXPECT_EQ(ReadFileBytes(dest_ + "/p.part"), "bytes");
  std::ifstream in(seen);
  std::string first;
  std::getline(in, first);
  EXPECT_EQ(first, dir_.path() + "/data/parts/p.part");
}

TEST_F(ArchiverEdgesTest, ACommandKilledByASignalLeavesItsFilePending) {
  AddPart("p.part", "bytes");
  auto a = StartOrDie(Options("echo dying >&2; kill -KILL $$; cp %p " + dest_ + "/%f"));
  ASSERT_TRUE(WaitFor([&] { return a->Stats().failures >= 2; }));
  a->Stop();
  const ArchiverStats s = a->Stats();
  EXPECT_EQ(s.archived, 0u);
  EXPECT_EQ(s.timeouts, 0u);
  EXPECT_EQ(s.pending, 3u);  // the part, the slice and the key: the queue keeps its order
  EXPECT_FALSE(Marked("p.part"));
  EXPECT_FALSE(std::filesystem::exists(dest_ + "/p.part"));
}

TEST_F(ArchiverEdgesTest, AShutdownDuringARunIsNoFailureAndTheFileStaysPending) {
  AddPart("p.part", "bytes");
  const std::string started = dir_.path() + "/started";
  const std::string flag = dir_.path() + "/fast";
  // Hangs until `fast` exists (the second start), then copies.
  const std::string cmd =
      "touch " + started + "; test -e " + flag + " || sleep 30; cp %p " + dest_ + "/%f";
  {
    auto a = StartOrDie(Options(cmd));
    ASSERT_TRUE(WaitFor([&] { return std::filesystem::exists(started); }));
    const auto t0 = std::chrono::steady_clock::now();
    a->Stop();
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
    EXPECT_EQ(a->Stats().failures, 0u);
    EXPECT_EQ(a->Stats().archived, 0u);
  }
  EXPECT_FALSE(Marked("p.part"));
  WriteFileBytes(flag, "");
  auto again = StartOrDie(Options(cmd));
  ASSERT_TRUE(WaitFor([&] { return again->Stats().archived == 3; }));
  EXPECT_TRUE(Marked("p.part"));
}

TEST_F(ArchiverEdgesTest, ABackgroundChildHoldingTheOutputDoesNotHoldTheQueue) {
  AddPart("p.part", "bytes");
  // The subshell's sleep inherits stdout (the capture pipe) and would outlive the command
  // and its 5 s timeout: a runner that waited for the pipe's end would time every command
  // out and archive nothing. Not a bound on the time taken: the archiver's children run at
  // nice 10 and took 0.8 s per cp on a loaded host (3 s for the three, against 2 s).
  auto a = StartOrDie(Options("(sleep 30 &); cp %p " + dest_ + "/%f"));
  ASSERT_TRUE(WaitFor([&] { return a->Stats().archived == 3; }, 20s));
  EXPECT_EQ(a->Stats().failures, 0u);
  EXPECT_EQ(a->Stats().timeouts, 0u);
}

TEST_F(ArchiverEdgesTest, AnExpiredPartReplacedAfterItsArchiveIsKeptUntilArchivedAgain) {
  const int64_t now = T("2026-11-26T12:00:00Z");
  AddPart("p.part", "first", T("2026-11-01T00:00:00Z"));
  const std::string broken = dir_.path() + "/broken";
  const std::string cmd = "test ! -e " + broken + " && cp %p " + dest_ + "/%f";
  {
    auto a = StartOrDie(Options(cmd));  // no retention yet
    ASSERT_TRUE(WaitFor([&] { return a->Stats().archived == 3; }));
  }
  ASSERT_TRUE(Marked("p.part"));
  AddPart("p.part", "second", T("2026-11-01T00:00:00Z"));  // another inode, same mtime
  WriteFileBytes(broken, "");
  ArchiverOptions o = Options(cmd);
  o.retention = {1, true};
  o.now_ns = [now] { return now; };
  auto a = StartOrDie(o);
  ASSERT_TRUE(WaitFor([&] { return a->Stats().failures >= 2; }));
  std::this_thread::sleep_for(50ms);
  EXPECT_TRUE(InParts("p.part")) << "its marker names the first file, not this one";
  EXPECT_EQ(a->Stats().retention_deleted, 0u);
  EXPECT_EQ(a->Stats().retention_waiting, 1u);
  std::filesystem::remove(broken);
  ASSERT_TRUE(WaitFor([&] { return a->Stats().retention_deleted == 1; }));
  EXPECT_FALSE(InParts("p.part"));
  EXPECT_EQ(ReadFileBytes(dest_ + "/p.part"), "second");
  EXPECT_FALSE(Marked("p.part"));
}

TEST_F(ArchiverEdgesTest, AMarkerWhosePartIsGoneIsRemovedButOutboxMarkersStay) {
  // A crash between deleting a part and its marker.
  std::filesystem::create_directories(data_ + "/archive/done");
  WriteFileBytes(data_ + "/archive/done/gone.part.done", "2026-11-01T00:00:00.000000000Z 1 2 3\n");
  AddPart("new.part", "today", T("2026-11-26T11:00:00Z"));
  ArchiverOptions o = Options("cp %p " + dest_ + "/%f");
  o.retention = {1, true};
  o.now_ns = [] { return T("2026-11-26T12:00:00Z"); };
  auto a = StartOrDie(o);
  ASSERT_TRUE(WaitFor([&] { return a->Stats().archived == 3 && !Marked("gone.part"); }));
  EXPECT_TRUE(InParts("new.part"));
  EXPECT_TRUE(Marked("new.part"));
  // The slice and the key keep theirs (the outbox is never deleted).
  size_t markers = 0;
  for (const auto& e : std::filesystem::directory_iterator(data_ + "/archive/done")) {
    markers += e.path().extension() == ".done";
  }
  EXPECT_EQ(markers, 3u);
}

TEST(ArchiveVerifyEdgesTest, AHugeFileUnderTheKeyFilesNameIsNotReadIntoMemory) {
  TempDir dir;
  const std::string key_file = dir.File("verifier-key-0123abcd.txt");
  // A key line, then a sparse tail: before, verify read the file whole (its size in memory).
  WriteFileBytes(key_file, "apitrail/n1+0123abcd+AAAA\n");
  std::filesystem::resize_file(key_file, uint64_t{1} << 32);
  ArchiveVerifyReport r = VerifyArchiveDir(dir.path(), ArchiveVerifyOptions{}, DefaultFileSystem());
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.problem, "not a verifier key: 4294967296 bytes (a key file holds one line)");
  EXPECT_EQ(r.file, key_file);
}

}  // namespace
}  // namespace apitrail::archive
