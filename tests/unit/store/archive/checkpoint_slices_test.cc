// Checkpoint slices: each holds checkpoints.log's header and the frames added since the
// previous one, byte for byte; the slices tile the file; nothing new gives no slice; a frame
// being appended is left for later; a large backlog is split; a checkpoints.log that does not
// continue the slices (an older backup) is refused.
#include "store/archive/checkpoint_slices.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "store/archive/archive_layout.h"
#include "store/checkpoint.h"
#include "store/checkpoint_log.h"
#include "store/log/record_reader.h"
#include "testutil/temp_dir.h"

namespace apitrail::archive {
namespace {

using apitrail::testing::ReadFileBytes;
using apitrail::testing::TempDir;

class CheckpointSlicesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    key_ = std::move(NodeKey::Generate()).value();
    auto w = CheckpointWriter::Open(DefaultFileSystem(), dir_.path(), "node-3");
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    writer_ = std::move(w).value();
  }
  void Sign(uint64_t size) {
    Checkpoint c{"apitrail/node-3", size, {}};
    c.root[0] = static_cast<uint8_t>(size);
    auto note = SignCheckpoint(c, *key_);
    ASSERT_TRUE(note.ok());
    ASSERT_TRUE(writer_->Append(size, 1000 + static_cast<int64_t>(size), *note).ok());
    notes_.push_back(*note);
  }
  std::vector<SliceInfo> Cut(size_t max = 16u << 20) {
    auto r = WriteCheckpointSlices(DefaultFileSystem(), dir_.path(), max);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : std::vector<SliceInfo>{};
  }
  std::string Outbox() { return OutboxDir(dir_.path()); }
  std::string Log() { return ReadFileBytes(CheckpointsPath(dir_.path())); }
  size_t HeaderSize() { return 26 + std::string("node-3").size(); }

  TempDir dir_;
  std::unique_ptr<NodeKey> key_;
  std::unique_ptr<CheckpointWriter> writer_;
  std::vector<std::string> notes_;
};

TEST_F(CheckpointSlicesTest, NoCheckpointsLogNoSlice) {
  TempDir empty;
  auto r = WriteCheckpointSlices(DefaultFileSystem(), empty.path());
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->empty());
}

TEST_F(CheckpointSlicesTest, SlicesTileCheckpointsLogByteForByte) {
  Sign(3);
  Sign(5);
  auto first = Cut();
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].start, HeaderSize());
  EXPECT_EQ(first[0].end, Log().size());
  EXPECT_EQ(first[0].checkpoints, 2u);
  EXPECT_EQ(first[0].name, SliceName(HeaderSize(), Log().size()));
  // The slice is header + frames: the same bytes as checkpoints.log so far.
  EXPECT_EQ(ReadFileBytes(Outbox() + "/" + first[0].name), Log());

  EXPECT_TRUE(Cut().empty()) << "nothing new, no slice";

  Sign(5);  // a heartbeat
  Sign(9);
  auto second = Cut();
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].start, first[0].end);
  EXPECT_EQ(second[0].checkpoints, 2u);
  const std::string log = Log();
  EXPECT_EQ(ReadFileBytes(Outbox() + "/" + second[0].name),
            log.substr(0, HeaderSize()) + log.substr(second[0].start));

  // Each slice reads as a checkpoints.log of its own.
  auto read = ReadCheckpoints(DefaultFileSystem(), Outbox() + "/" + second[0].name);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  ASSERT_EQ(read->checkpoints.size(), 2u);
  EXPECT_EQ(read->node, "node-3");
  EXPECT_EQ(read->checkpoints[0].note, notes_[2]);
  EXPECT_EQ(read->checkpoints[1].size, 9u);
  EXPECT_EQ(read->valid_bytes, read->file_bytes);

  auto listed = ListSlices(DefaultFileSystem(), Outbox());
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].name, first[0].name);
  EXPECT_EQ((*listed)[1].name, second[0].name);
}

TEST_F(CheckpointSlicesTest, AFrameBeingAppendedWaitsForTheNextSlice) {
  Sign(1);
  const size_t whole = Log().size();
  // Half a frame at the end: what a reader sees while the writer appends.
  std::string more;
  {
    Sign(2);
    more = Log().substr(whole);
    std::filesystem::resize_file(CheckpointsPath(dir_.path()), whole + more.size() / 2);
  }
  auto s = Cut();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].end, whole);
  EXPECT_EQ(s[0].checkpoints, 1u);
}

TEST_F(CheckpointSlicesTest, ABacklogIsSplitIntoBoundedSlices) {
  for (uint64_t i = 1; i <= 10; ++i) Sign(i);
  const size_t frame = (Log().size() - HeaderSize()) / 10 + 1;
  auto s = Cut(3 * frame);  // at most 3 frames each
  ASSERT_EQ(s.size(), 4u);
  uint64_t at = HeaderSize(), total = 0;
  for (const SliceInfo& x : s) {
    EXPECT_EQ(x.start, at);
    EXPECT_LE(x.checkpoints, 3u);
    at = x.end;
    total += x.checkpoints;
  }
  EXPECT_EQ(at, Log().size());
  EXPECT_EQ(total, 10u);
}

TEST_F(CheckpointSlicesTest, ACheckpointsLogThatDoesNotContinueTheSlicesIsRefused) {
  Sign(1);
  Sign(2);
  ASSERT_EQ(Cut().size(), 1u);
  // checkpoints.log put back from a backup taken before the slice.
  std::filesystem::resize_file(CheckpointsPath(dir_.path()), HeaderSize());
  auto r = WriteCheckpointSlices(DefaultFileSystem(), dir_.path());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
  EXPECT_NE(r.status().message().find("does not continue"), std::string::npos)
      << r.status().message();
}

TEST_F(CheckpointSlicesTest, SliceNamesRoundTrip) {
  uint64_t a = 0, b = 0;
  EXPECT_EQ(SliceName(32, 1234), "checkpoints-00000000000000000032-00000000000000001234.ckpt");
  EXPECT_TRUE(ParseSliceName(SliceName(32, 1234), &a, &b));
  EXPECT_EQ(a, 32u);
  EXPECT_EQ(b, 1234u);
  EXPECT_FALSE(
      ParseSliceName("checkpoints-00000000000000000032-00000000000000000032.ckpt", &a, &b));
  EXPECT_FALSE(ParseSliceName("checkpoints-32-1234.ckpt", &a, &b));
  EXPECT_FALSE(ParseSliceName(SliceName(1, 2) + ".tmp", &a, &b));
}

}  // namespace
}  // namespace apitrail::archive
