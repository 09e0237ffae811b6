// Edge cases of archive_command and retention (docs/CONFIG.md `audit.archive`,
// `audit.retention`; docs/FORMAT.md §17), found by an adversarial hunt:
//  - the command template check follows nested shell contexts: "$(echo "%p")" puts %p in
//    double quotes although a flat quote count says otherwise (and a data dir path holding
//    $(…) then ran), so it is refused; ${…} and `…` too; %p unquoted inside $(…) is fine.
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
#include "testutil/temp_dir.h"

namespace apitrail::archive {
namespace {

using namespace std::chrono_literals;
using apitrail::testing::ReadFileBytes;
using apitrail::testing::TempDir;
using apitrail::testing::WriteFileBytes;

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

}  // namespace
}  // namespace apitrail::archive
