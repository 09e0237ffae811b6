// VerifyDataDir: a good dir verifies; every kind of tampering is named with file, offset
// and the first bad seq.
#include "store/verify.h"

#include <gtest/gtest.h>

#include <functional>

#include "store/log/record_writer.h"
#include "store_test_util.h"

namespace apitrail {
namespace {

using namespace apitrail::testing;

class VerifyTest : public ::testing::Test {
 protected:
  // 20 events, tree heads at sizes 5, 10, 15, 20: in batch mode with a long interval only
  // Flush syncs, so the heads do not depend on how the writer happened to batch.
  void SetUp() override {
    StoreOptions o;
    o.data_dir = dir_.path();
    o.durability = Durability::kBatch;
    o.batch_interval_ms = 60'000;
    auto store = OpenOrDie(o);
    for (uint64_t i = 0; i < 20; i += 5) AppendMany(*store, 5, i);
    root_ = store->Stats().root_hex;
    seg_ = SegmentPath(dir_.path(), 0);
    offsets_ = FrameOffsets(seg_);
  }

  // Re-encodes the segment after `edit` changed its (seq, payload) list: valid CRCs.
  void RewriteSegment(const std::function<void(std::vector<std::pair<uint64_t, std::string>>*)>& edit) {
    auto r = log::RecordReader::Open(DefaultFileSystem(), seg_, log::kSegmentMagic);
    ASSERT_TRUE(r.ok());
    std::string bytes = ReadFileBytes(seg_).substr(0, (*r)->header().size);
    std::vector<std::pair<uint64_t, std::string>> frames;
    log::Frame f;
    while (true) {
      auto next = (*r)->Next(&f);
      ASSERT_TRUE(next.ok());
      if (!*next) break;
      frames.emplace_back(f.seq, f.payload);
    }
    edit(&frames);
    for (const auto& [seq, payload] : frames) log::AppendFrame(&bytes, seq, payload);
    WriteFileBytes(seg_, bytes);
  }

  TempDir dir_;
  std::string root_;
  std::string seg_;
  std::vector<uint64_t> offsets_;
};

TEST_F(VerifyTest, GoodDirVerifies) {
  VerifyReport r = VerifyDataDir(dir_.path());
  EXPECT_TRUE(r.ok) << r.problem;
  EXPECT_EQ(r.records, 20u);
  EXPECT_EQ(r.root_hex, root_);
  EXPECT_EQ(r.tree_heads, 4u);
  EXPECT_FALSE(r.first_bad_seq.has_value());
}

TEST_F(VerifyTest, FlippedByteNamesTheSeq) {
  FlipByte(seg_, offsets_[7] + 30);
  VerifyReport r = VerifyDataDir(dir_.path());
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq, 7u);
  EXPECT_EQ(r.file, seg_);
  EXPECT_EQ(r.offset, offsets_[7]);
  EXPECT_EQ(r.records, 7u);
  EXPECT_NE(r.problem.find("crc mismatch"), std::string::npos) << r.problem;
}

TEST_F(VerifyTest, RewrittenRecordWithValidCrcIsCaughtByTreeHeads) {
  RewriteSegment([](auto* frames) {
    std::string& p = (*frames)[7].second;
    p.replace(p.find("user-"), 6, "user-9");  // a different subject, same length
  });
  VerifyReport r = VerifyDataDir(dir_.path());
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq, 5u);  // last matching head covers 0..4; 5..9 are suspect
  EXPECT_NE(r.problem.find("root mismatch at tree size 10"), std::string::npos) << r.problem;
  EXPECT_NE(r.problem.find("5..9"), std::string::npos) << r.problem;
  EXPECT_NE(r.file.find("tree_heads.log"), std::string::npos);
}

TEST_F(VerifyTest, RemovedRecordIsAGap) {
  RewriteSegment([](auto* frames) { frames->erase(frames->begin() + 4); });
  VerifyReport r = VerifyDataDir(dir_.path());
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq, 4u);
  EXPECT_EQ(r.offset, offsets_[4]);
  EXPECT_NE(r.problem.find("record removed: seq gap: expected 4, found 5"), std::string::npos)
      << r.problem;
}

TEST_F(VerifyTest, CutTailIsCaughtByTreeHeads) {
  TruncateFile(seg_, offsets_[17]);
  VerifyReport r = VerifyDataDir(dir_.path());
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq, 17u);
  EXPECT_EQ(r.records, 17u);
  EXPECT_NE(r.problem.find("tree head says 20 records, log has 17"), std::string::npos)
      << r.problem;
}

TEST_F(VerifyTest, UnacknowledgedTornTailIsReportedButOk) {
  std::string bytes = ReadFileBytes(seg_);
  WriteFileBytes(seg_, bytes + std::string("\x30\x00\x00\x00\x01", 5));
  VerifyReport r = VerifyDataDir(dir_.path());
  EXPECT_TRUE(r.ok) << r.problem;
  EXPECT_EQ(r.torn_tail_bytes, 5u);
  EXPECT_EQ(r.records, 20u);
}

TEST_F(VerifyTest, ShortHeaderOfNewestSegmentIsATornTail) {
  WriteFileBytes(SegmentPath(dir_.path(), 20), "APTLOG");
  VerifyReport r = VerifyDataDir(dir_.path());
  EXPECT_TRUE(r.ok) << r.problem;
  EXPECT_EQ(r.torn_tail_bytes, 6u);
}

TEST_F(VerifyTest, BadMagicIsReported) {
  FlipByte(seg_, 0);
  VerifyReport r = VerifyDataDir(dir_.path());
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.file, seg_);
  EXPECT_EQ(r.offset, 0u);
  EXPECT_EQ(r.first_bad_seq, 0u);
  EXPECT_NE(r.problem.find("bad magic"), std::string::npos) << r.problem;
}

TEST_F(VerifyTest, EmptyDirVerifies) {
  TempDir empty;
  ASSERT_TRUE(DefaultFileSystem()->CreateDirs(empty.path() + "/segments").ok());
  VerifyReport r = VerifyDataDir(empty.path());
  EXPECT_TRUE(r.ok) << r.problem;
  EXPECT_EQ(r.records, 0u);
}

}  // namespace
}  // namespace apitrail
