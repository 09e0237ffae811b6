// archive_command templates: %p/%f/%% substitution, shell quoting that keeps odd names one
// argument (checked by running the expansion through /bin/sh), and the validation errors.
#include "config/archive_command.h"

#include <gtest/gtest.h>

#include <cstdio>

namespace apitrail {
namespace {

// What /bin/sh prints for `cmd` (popen runs it with sh -c).
std::string RunSh(const std::string& cmd) {
  FILE* p = ::popen(cmd.c_str(), "r");
  EXPECT_NE(p, nullptr);
  std::string out;
  char buf[256];
  for (size_t n; p != nullptr && (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  if (p != nullptr) {
    EXPECT_EQ(::pclose(p), 0);
  }
  return out;
}

TEST(ArchiveCommandTest, SubstitutesPathNameAndPercent) {
  EXPECT_EQ(ExpandArchiveCommand("cp %p /mnt/%f # 100%%", "/d/parts/a.part", "a.part"),
            "cp '/d/parts/a.part' /mnt/'a.part' # 100%");
}

TEST(ArchiveCommandTest, QuotesSingleQuotes) {
  EXPECT_EQ(ShellQuote("it's"), "'it'\\''s'");
  EXPECT_EQ(ShellQuote(""), "''");
}

TEST(ArchiveCommandTest, AQuotedDestinationAndTheSubstitutionConcatenate) {
  EXPECT_EQ(RunSh(ExpandArchiveCommand("printf '[%%s]' '/mnt/cold storage/'%f", "/x", "a b.part")),
            "[/mnt/cold storage/a b.part]");
}

TEST(ArchiveCommandTest, OddNamesStayOneArgumentAndCannotInject) {
  const std::string evil = "/tmp/a b'c\"d$(echo INJECTED);e`echo X`;f\\g*.part";
  const std::string cmd = ExpandArchiveCommand("printf '[%%s]\\n' %p %f", evil, "x y;z");
  EXPECT_EQ(RunSh(cmd), "[" + evil + "]\n[x y;z]\n");
}

TEST(ArchiveCommandTest, ValidationNamesTheProblem) {
  EXPECT_TRUE(ValidateArchiveCommand("cp %p /archive/%f").ok());
  EXPECT_TRUE(ValidateArchiveCommand("aws s3 cp %p s3://bucket/%f --sse 100%%").ok());
  auto msg = [](const char* c) { return ValidateArchiveCommand(c).message(); };
  EXPECT_NE(msg("").find("must not be empty"), std::string::npos);
  EXPECT_NE(msg("cp /a /b").find("must contain %p or %f"), std::string::npos);
  EXPECT_NE(msg("cp %p /b/%x").find("unknown escape '%x'"), std::string::npos);
  EXPECT_NE(msg("cp %p /b/%").find("lone '%'"), std::string::npos);
  EXPECT_NE(msg("cp '%p' /b/").find("do not quote %p"), std::string::npos);
  EXPECT_NE(msg("cp %p \"/b/%f\"").find("do not quote %f"), std::string::npos);
  EXPECT_NE(msg("cp %p /b\nrm -rf /").find("one line"), std::string::npos);
  EXPECT_NE(msg("cp %p \"/b/x'%f\"").find("do not quote %f"), std::string::npos);
  EXPECT_NE(msg("cp %p '/b/").find("unterminated quote"), std::string::npos);
  // Quoting the rest of the command is fine: the quote closes before the substitution.
  EXPECT_TRUE(ValidateArchiveCommand("cp %p '/mnt/cold storage/'%f").ok());
  EXPECT_TRUE(ValidateArchiveCommand("cp %p \"/mnt/it's here\"/%f").ok());
  EXPECT_TRUE(ValidateArchiveCommand("echo \\'; cp %p /b/%f").ok());
  // A backslash before a substitution: "\%p" would expand to "\'/path'", which the quote
  // check above cannot see (a path with $(...) in it then runs in the shell).
  EXPECT_NE(msg("echo \"\\%p\" /mnt/%f").find("backslash before '%'"), std::string::npos);
  EXPECT_NE(msg("cp \\%p /b/%f").find("backslash before '%'"), std::string::npos);
  EXPECT_TRUE(ValidateArchiveCommand("cp %p /b/%f \\\\").ok());
}

}  // namespace
}  // namespace apitrail
