// RunShellCommand: exit codes and signals, output kept bounded, the deadline killing the
// whole process group (a background grandchild too), cancellation, a clean signal mask and
// no inherited descriptors in the child.
#include "store/archive/command_runner.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "testutil/temp_dir.h"

namespace apitrail::archive {
namespace {

using namespace std::chrono_literals;
using apitrail::testing::TempDir;

CommandResult Sh(const std::string& cmd, std::chrono::milliseconds timeout = 10s,
                 size_t max = 1024) {
  auto r = RunShellCommand(cmd, timeout, max);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : CommandResult{};
}

// The pid named in `pidfile` (written by the command), or 0.
pid_t PidIn(const std::string& pidfile) {
  pid_t pid = 0;
  std::ifstream(pidfile) >> pid;
  return pid;
}

// Whether `pid` is gone (or a zombie of init, briefly) within a second.
bool GoneWithinASecond(pid_t pid) {
  for (int i = 0; i < 100; ++i) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string all;
    std::getline(stat, all);
    if (!stat.good() || all.find(") Z") != std::string::npos) return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

TEST(CommandRunnerTest, ReportsExitCodeAndOutput) {
  CommandResult ok = Sh("echo hello; echo oops >&2");
  EXPECT_TRUE(ok.success());
  EXPECT_EQ(ok.output_tail, "hello\noops\n");
  CommandResult bad = Sh("echo nope >&2; exit 3");
  EXPECT_FALSE(bad.success());
  EXPECT_EQ(bad.exit_code, 3);
  EXPECT_EQ(bad.Describe(), "exit code 3");
  EXPECT_EQ(bad.output_tail, "nope\n");
}

TEST(CommandRunnerTest, KeepsOnlyTheTailOfHugeOutput) {
  CommandResult r = Sh("head -c 3000000 /dev/zero | tr '\\0' a; echo END", 20s, 100);
  EXPECT_TRUE(r.success());
  EXPECT_EQ(r.output_bytes, 3000004u);
  ASSERT_EQ(r.output_tail.size(), 100u);
  EXPECT_EQ(r.output_tail.substr(96), "END\n");
}

TEST(CommandRunnerTest, TimeoutKillsTheWholeProcessGroup) {
  TempDir dir;
  // A loaded host may start the shell so late that the timeout kills it before it started
  // the sleep (no pid written): that round proves nothing about the group, try again.
  pid_t grandchild = 0;
  for (int attempt = 0; attempt < 5 && grandchild == 0; ++attempt) {
    const std::string pidfile = dir.File("pid-" + std::to_string(attempt));
    CommandResult r = Sh("sleep 30 & echo $! > " + pidfile + "; wait", 300ms);
    EXPECT_TRUE(r.timed_out);
    EXPECT_FALSE(r.success());
    EXPECT_LT(r.elapsed, 5s);
    EXPECT_NE(r.Describe().find("timed out"), std::string::npos);
    grandchild = PidIn(pidfile);
  }
  ASSERT_GT(grandchild, 0) << "the shell never started the sleep within the timeout";
  // The background sleep was in the group: it is gone.
  EXPECT_TRUE(GoneWithinASecond(grandchild)) << "grandchild " << grandchild << " still running";
}

// Exit 0 means "archived": a copy left running in the background would be trusted unfinished,
// and would run unbounded. It is killed when the shell exits.
TEST(CommandRunnerTest, WhatTheCommandLeftRunningIsKilledWhenItExits) {
  TempDir dir;
  const std::string pidfile = dir.File("pid");
  CommandResult r = Sh("sleep 30 >/dev/null 2>&1 & echo $! > " + pidfile + "; exit 0");
  EXPECT_TRUE(r.success()) << r.Describe();
  EXPECT_LT(r.elapsed, 5s);
  const pid_t grandchild = PidIn(pidfile);
  ASSERT_GT(grandchild, 0);
  EXPECT_TRUE(GoneWithinASecond(grandchild)) << "background child " << grandchild << " still running";
}

TEST(CommandRunnerTest, CancelKillsEarly) {
  std::atomic<bool> cancel{false};
  std::thread t([&] {
    std::this_thread::sleep_for(100ms);
    cancel.store(true);
  });
  auto r = RunShellCommand("sleep 30", 20s, 100, &cancel);
  t.join();
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->cancelled);
  EXPECT_FALSE(r->success());
  EXPECT_LT(r->elapsed, 5s);
}

TEST(CommandRunnerTest, ChildHasDefaultSignalsAndNoInheritedDescriptors) {
  // The server blocks SIGTERM in every thread; the command must still die of it.
  sigset_t set, old;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, &old);
  CommandResult r = Sh("kill -TERM $$; sleep 5; echo survived", 10s);
  EXPECT_EQ(r.term_signal, SIGTERM) << r.output_tail;
  pthread_sigmask(SIG_SETMASK, &old, nullptr);

  const int fd = ::open("/dev/null", O_RDONLY);  // no O_CLOEXEC: would leak through exec
  ASSERT_GE(fd, 3);
  CommandResult fds = Sh("test -e /proc/$$/fd/" + std::to_string(fd) + " && echo leaked; exit 0");
  ::close(fd);
  EXPECT_EQ(fds.output_tail, "");
  EXPECT_EQ(Sh("read x; echo \"[$x]\"").output_tail, "[]\n");  // stdin is /dev/null
}

TEST(CommandRunnerTest, OutputForLogIsOneBoundedPrintableLine) {
  EXPECT_EQ(OutputForLog("cp: cannot stat\n\x01\xff line2\n"), "cp: cannot stat | ?? line2");
  EXPECT_EQ(OutputForLog(std::string(1000, 'x') + "END", 10), "xxxxxxxEND");
  EXPECT_EQ(OutputForLog("\n\n"), "");
}

}  // namespace
}  // namespace apitrail::archive
