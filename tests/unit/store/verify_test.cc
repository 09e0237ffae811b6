// VerifyDataDir: a good dir verifies; every kind of tampering is named with file, offset
// and the first bad seq.
#include "store/verify.h"

#include <gtest/gtest.h>

#include <functional>
#include <map>

#include "store/checkpoint.h"
#include "store/checkpoint_log.h"
#include "store/leaf_hashes.h"
#include "store/log/log_format.h"
#include "store/log/record_reader.h"
#include "store/log/record_writer.h"
#include "store/merkle/proofs.h"
#include "store/node_key.h"
#include "store/tree_head_log.h"
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

namespace apitrail {
namespace {

// Completeness: a log that extends its checkpoints and a saved one passes with a
// consistency proof; a saved checkpoint beyond the log, one rewritten, or one signed by
// another key fails completeness while integrity still holds.
class CompletenessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StoreOptions o;
    o.data_dir = dir_.path();
    o.node = "node-c";
    auto store = testing::OpenOrDie(o);
    testing::AppendMany(*store, 6);
    ASSERT_TRUE(store->Flush().ok());
    store->Close();  // signs 6
    auto again = testing::OpenOrDie(o);
    testing::AppendMany(*again, 5, 6);
    again->Close();  // signs 11
    auto file = ReadCheckpoints(DefaultFileSystem(), CheckpointsPath(dir_.path()));
    ASSERT_TRUE(file.ok());
    ASSERT_GE(file->checkpoints.size(), 2u);
    for (const auto& c : file->checkpoints) notes_[c.size] = c.note;
    ASSERT_TRUE(notes_.count(6) && notes_.count(11));
    auto key = NodeKey::Load(dir_.path() + "/node.key");
    ASSERT_TRUE(key.ok());
    key_ = *ParseVerifierKey(VerifierKeyText("apitrail/node-c", (*key)->public_key()));
  }
  VerifyReport Run(const std::string& note) {
    VerifyOptions o;
    o.checkpoint_note = note;
    o.checkpoint_source = "saved";
    o.key = key_;
    return VerifyDataDir(dir_.path(), o, DefaultFileSystem());
  }
  testing::TempDir dir_;
  std::map<uint64_t, std::string> notes_;
  VerifierKey key_;
};

TEST_F(CompletenessTest, SavedCheckpointIsExtendedWithAVerifiedConsistencyProof) {
  VerifyReport r = Run(notes_[6]);
  ASSERT_TRUE(r.ok) << r.problem;
  const auto& c = r.completeness;
  ASSERT_TRUE(c.checked && c.ok) << c.problem;
  EXPECT_TRUE(c.proof_built);
  EXPECT_EQ(c.given_size, 6u);
  EXPECT_EQ(c.proof_to_size, 11u);
  // The same proof as generated from all leaves.
  auto leaves = ReadLeafHashes(DefaultFileSystem(), dir_.path());
  ASSERT_TRUE(leaves.ok());
  auto proof = merkle::ConsistencyProof(*leaves, 6);
  ASSERT_TRUE(proof.ok());
  std::vector<std::string> hex;
  for (const auto& h : *proof) hex.push_back(HexEncode(h));
  EXPECT_EQ(c.proof, hex);
  EXPECT_NE(r.key_source.find("--key"), std::string::npos);
}

TEST_F(CompletenessTest, ACheckpointBeyondTheLogOrForAnotherTreeFails) {
  // Signed by this node for 11 records, but the log was cut to 9 (tree heads too).
  StoreOptions o;
  o.data_dir = dir_.path();
  o.node = "node-c";
  const std::string seg = testing::SegmentPath(dir_.path(), 0);
  auto offsets = testing::FrameOffsets(seg);
  std::string bytes = testing::ReadFileBytes(seg);
  testing::WriteFileBytes(seg, bytes.substr(0, offsets[9]));
  VerifyReport r = Run(notes_[11]);
  EXPECT_FALSE(r.completeness.ok);
  EXPECT_NE(r.completeness.problem.find("says 11 records, log has 9"), std::string::npos) << r.completeness.problem;

  // A note of another key is not trusted.
  auto other = NodeKey::Generate();
  ASSERT_TRUE(other.ok());
  auto forged = SignCheckpoint(Checkpoint{"apitrail/node-c", 3, Hash256{}}, **other);
  ASSERT_TRUE(forged.ok());
  VerifyReport f = Run(*forged);
  EXPECT_FALSE(f.completeness.ok);
  EXPECT_NE(f.completeness.problem.find("not trustworthy"), std::string::npos) << f.completeness.problem;
  EXPECT_FALSE(f.completeness.given_ok);
}

// checkpoints.log removed (and the tree heads with it): the records are intact as far as
// anything can tell, but nothing signed vouches for them — completeness says so.
TEST_F(CompletenessTest, WithoutAnyCheckpointNothingVouchesForTheRecords) {
  // With the checkpoints in place, the newest (at close) covers every record.
  EXPECT_EQ(Run(notes_[6]).completeness.records_after_newest, 0u);
  ASSERT_TRUE(DefaultFileSystem()->Remove(CheckpointsPath(dir_.path())).ok());
  testing::WriteFileBytes(dir_.path() + "/tree_heads.log", "");
  VerifyOptions o;
  o.key = key_;
  VerifyReport r = VerifyDataDir(dir_.path(), o, DefaultFileSystem());
  EXPECT_TRUE(r.ok) << r.problem;
  EXPECT_TRUE(r.completeness.checked);
  EXPECT_FALSE(r.completeness.ok);
  EXPECT_NE(r.completeness.problem.find("no signed checkpoint covers any of the 11 records"),
            std::string::npos)
      << r.completeness.problem;
  // A saved checkpoint of 6 vouches for those; the 5 after it stay uncovered and are counted.
  VerifyReport saved = Run(notes_[6]);
  EXPECT_TRUE(saved.completeness.ok) << saved.completeness.problem;
  EXPECT_EQ(saved.completeness.records_after_newest, 5u);
}

// A log younger than kFreshLogNs with no checkpoint yet (a newcomer's `verify` in the node's
// first second): pending, not failed. The same log with heads of an hour ago, or dated in
// the future: failed.
TEST_F(CompletenessTest, AYoungLogWithoutCheckpointsIsPendingAnOldOneFails) {
  ASSERT_TRUE(DefaultFileSystem()->Remove(CheckpointsPath(dir_.path())).ok());
  VerifyOptions o;
  o.key = key_;
  VerifyReport young = VerifyDataDir(dir_.path(), o, DefaultFileSystem());  // heads written just now
  EXPECT_TRUE(young.ok) << young.problem;
  EXPECT_TRUE(young.completeness.checked);
  EXPECT_TRUE(young.completeness.ok) << young.completeness.problem;
  EXPECT_TRUE(young.completeness.pending);
  EXPECT_EQ(young.completeness.records_after_newest, 11u);

  auto heads = ReadTreeHeads(DefaultFileSystem(), TreeHeadsPath(dir_.path()));
  ASSERT_TRUE(heads.ok());
  ASSERT_FALSE(heads->heads.empty());
  ASSERT_TRUE(DefaultFileSystem()->Remove(TreeHeadsPath(dir_.path())).ok());
  {
    auto w = TreeHeadWriter::Open(DefaultFileSystem(), dir_.path(), "node-c");
    ASSERT_TRUE(w.ok());
    for (const TreeHead& h : heads->heads) {
      ASSERT_TRUE((*w)->Append(h.size, h.root, h.time_ns - 3'600'000'000'000, true).ok());
    }
  }
  VerifyReport old = VerifyDataDir(dir_.path(), o, DefaultFileSystem());
  EXPECT_TRUE(old.ok) << old.problem;
  EXPECT_FALSE(old.completeness.ok);
  EXPECT_FALSE(old.completeness.pending);
  EXPECT_NE(old.completeness.problem.find("no signed checkpoint covers any of the 11 records"), std::string::npos)
      << old.completeness.problem;

  // Heads dated a year ahead cannot make a log without checkpoints look young.
  ASSERT_TRUE(DefaultFileSystem()->Remove(TreeHeadsPath(dir_.path())).ok());
  {
    auto w = TreeHeadWriter::Open(DefaultFileSystem(), dir_.path(), "node-c");
    ASSERT_TRUE(w.ok());
    for (const TreeHead& h : heads->heads) {
      ASSERT_TRUE((*w)->Append(h.size, h.root, h.time_ns + 365 * 86'400'000'000'000, true).ok());
    }
  }
  VerifyReport future = VerifyDataDir(dir_.path(), o, DefaultFileSystem());
  EXPECT_TRUE(future.ok) << future.problem;
  EXPECT_FALSE(future.completeness.ok);
  EXPECT_FALSE(future.completeness.pending);
}

TEST_F(CompletenessTest, ARewrittenRecordBreaksTheLoggedCheckpoints) {
  // Record 7 rewritten with a valid CRC: tree heads catch it (integrity) and so would the
  // checkpoint of 11 (completeness).
  const std::string seg = testing::SegmentPath(dir_.path(), 0);
  auto offsets = testing::FrameOffsets(seg);
  std::string bytes = testing::ReadFileBytes(seg);
  auto reader = log::RecordReader::Open(DefaultFileSystem(), seg, log::kSegmentMagic);
  ASSERT_TRUE(reader.ok());
  std::string rebuilt = bytes.substr(0, (*reader)->header().size);
  log::Frame fr;
  while (true) {
    auto next = (*reader)->Next(&fr);
    ASSERT_TRUE(next.ok());
    if (!*next) break;
    if (fr.seq == 7) fr.payload[fr.payload.size() / 2] ^= 1;
    log::AppendFrame(&rebuilt, fr.seq, fr.payload);
  }
  testing::WriteFileBytes(seg, rebuilt);
  // Remove the tree heads, as someone covering their tracks would: only checkpoints remain.
  testing::WriteFileBytes(dir_.path() + "/tree_heads.log", "");
  VerifyReport r = Run(notes_[6]);
  EXPECT_TRUE(r.completeness.checked);
  EXPECT_FALSE(r.completeness.ok);
  EXPECT_NE(r.completeness.problem.find("root mismatch, a record in seqs 6..10"), std::string::npos)
      << r.completeness.problem;
  EXPECT_EQ(r.completeness.first_bad_seq, 6u);
  EXPECT_EQ(r.completeness.offset, offsets[6]);
}

}  // namespace
}  // namespace apitrail
