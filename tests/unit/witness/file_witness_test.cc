// File witness (docs/FORMAT.md §13): one file per size plus `latest`, exactly the note,
// nothing left half-written; a different note for a size it holds, or an older size than
// `latest`, is refused for good and the evidence kept. Syslog message shape (RFC 5424).
#include <gtest/gtest.h>

#include <filesystem>

#include "testutil/temp_dir.h"
#include "witness/witness.h"

namespace apitrail {
namespace {

std::string Read(const std::string& path) { return testing::ReadFileBytes(path); }

std::string Note(uint64_t size, char root) {
  return "apitrail/n\n" + std::to_string(size) + "\n" + std::string(43, root) +
         "=\n\n\xE2\x80\x94 apitrail/n sig\n";
}

TEST(FileWitnessTest, WritesOneFilePerSizeAndLatestAtomically) {
  testing::TempDir tmp;
  const std::string dir = tmp.path() + "/w/edge-1";  // created on demand
  auto w = MakeFileWitness("file-0", dir);
  ASSERT_TRUE(w->Publish(SignedCheckpoint{5, 1, Note(5, 'A')}).ok());
  ASSERT_TRUE(w->Publish(SignedCheckpoint{5, 2, Note(5, 'A')}).ok())
      << "a heartbeat repeats the same bytes";
  ASSERT_TRUE(w->Publish(SignedCheckpoint{9, 3, Note(9, 'B')}).ok());
  EXPECT_EQ(Read(dir + "/00000000000000000005.checkpoint"), Note(5, 'A'));
  EXPECT_EQ(Read(dir + "/00000000000000000009.checkpoint"), Note(9, 'B'));
  EXPECT_EQ(Read(dir + "/latest"), Note(9, 'B'));
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    EXPECT_EQ(e.path().extension(), e.path().filename() == "latest" ? "" : ".checkpoint")
        << e.path();
  }
  EXPECT_EQ(WitnessFileName(12), "00000000000000000012.checkpoint");
}

TEST(FileWitnessTest, RefusesAForkAndARollbackAndKeepsTheEvidence) {
  testing::TempDir tmp;
  auto w = MakeFileWitness("file-0", tmp.path());
  ASSERT_TRUE(w->Publish(SignedCheckpoint{5, 1, Note(5, 'A')}).ok());
  ASSERT_TRUE(w->Publish(SignedCheckpoint{9, 1, Note(9, 'B')}).ok());
  Status fork = w->Publish(SignedCheckpoint{5, 2, Note(5, 'C')});
  EXPECT_EQ(fork.code(), StatusCode::kAlreadyExists) << fork.ToString();
  EXPECT_NE(fork.message().find("forked or rewritten"), std::string::npos);
  EXPECT_EQ(Read(tmp.path() + "/00000000000000000005.checkpoint"), Note(5, 'A'));
  Status back = w->Publish(SignedCheckpoint{7, 3, Note(7, 'D')});
  EXPECT_EQ(back.code(), StatusCode::kAlreadyExists) << back.ToString();
  EXPECT_EQ(Read(tmp.path() + "/latest"), Note(9, 'B'));
}

TEST(FileWitnessTest, UnwritableDirIsARetryableError) {
  testing::TempDir tmp;
  testing::WriteFileBytes(tmp.path() + "/file", "x");
  auto w = MakeFileWitness("file-0", tmp.path() + "/file/sub");
  Status st = w->Publish(SignedCheckpoint{1, 1, Note(1, 'A')});
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.code(), StatusCode::kAlreadyExists);
}

TEST(SyslogMessageTest, Rfc5424WithBomAndTheNote) {
  // 2026-01-01T00:00:01.5Z
  SignedCheckpoint cp{3, 1767225601500000000, Note(3, 'A')};
  EXPECT_EQ(SyslogMessage(cp, 16, "host-1", 42),
            "<134>1 2026-01-01T00:00:01.500000Z host-1 apitrail 42 checkpoint - \xEF\xBB\xBF" +
                Note(3, 'A'));
  EXPECT_EQ(SyslogMessage(cp, 0, "h", 1).substr(0, 4), "<6>1");
}

}  // namespace
}  // namespace apitrail
