// verify --archive: a complete archive verifies (every signed root recomputed from the
// parts); a wrong key, a missing slice, a missing part, a rewritten record, a truncated slice
// and a fork (two roots for one size) are each reported with the file; without a part reader
// the checkpoints are still checked and the parts reported as not checked.
#include "store/archive/archive_verify.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "store/archive/archive_layout.h"
#include "store/archive/checkpoint_slices.h"
#include "store/checkpoint.h"
#include "store/checkpoint_log.h"
#include "store/merkle/compact_range.h"
#include "store/merkle/merkle_hash.h"
#include "testutil/temp_dir.h"

namespace apitrail::archive {
namespace {

using apitrail::testing::TempDir;

// Parts whose records live in memory, keyed by file path (the files only mark presence).
class MemoryParts : public PartAccess {
 public:
  void Add(const std::string& path, uint64_t first, std::vector<std::string> records) {
    parts_[path] = {first, std::move(records)};
    apitrail::testing::WriteFileBytes(path, "part");
  }
  std::vector<std::string>& Records(const std::string& path) { return parts_[path].second; }
  void SetBefore(const std::string& path, const merkle::CompactRange& before) {
    before_[path] = before;
  }
  void SetNode(const std::string& node) { node_ = node; }
  Result<PartInfo> Describe(const std::string& path) override {
    auto it = parts_.find(path);
    if (it == parts_.end()) return Status::NotFound(path);
    PartInfo info{it->second.first, it->second.first + it->second.second.size(), 0};
    if (before_.count(path) != 0) info.before = before_.at(path);
    info.node = node_;
    return info;
  }
  Status ForEachRecord(const std::string& path,
                       const std::function<Status(uint64_t, std::string_view)>& fn) override {
    auto& [first, records] = parts_.at(path);
    for (size_t i = 0; i < records.size(); ++i) APITRAIL_RETURN_IF_ERROR(fn(first + i, records[i]));
    return Status::Ok();
  }

 private:
  std::map<std::string, std::pair<uint64_t, std::vector<std::string>>> parts_;
  std::map<std::string, merkle::CompactRange> before_;
  std::string node_ = "n1";
};

class ArchiveVerifyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = dir_.path() + "/data";
    arch_ = dir_.path() + "/archive";
    std::filesystem::create_directories(data_);
    std::filesystem::create_directories(arch_);
    key_ = std::move(NodeKey::Generate()).value();
    writer_ = std::move(CheckpointWriter::Open(DefaultFileSystem(), data_, "n1")).value();
    for (int i = 0; i < 10; ++i) records_.push_back("record-" + std::to_string(i));
    // Checkpoints at 3 and 5 (and a heartbeat), a slice; then at 10, another slice; then at
    // 12 over records the archive does not hold yet.
    SignAt(3);
    SignAt(5);
    SignAt(5);
    Cut();
    SignAt(10);
    Cut();
    records_.push_back("record-10");
    records_.push_back("record-11");
    SignAt(12);
    Cut();
    records_.resize(10);
    parts_.Add(arch_ + "/p-a.part", 0, {records_.begin(), records_.begin() + 4});
    parts_.Add(arch_ + "/p-b.part", 4, {records_.begin() + 4, records_.end()});
  }
  void SignAt(uint64_t size) {
    merkle::CompactRange tree;
    Sha256Hasher h;
    for (uint64_t i = 0; i < size; ++i) tree.Append(merkle::LeafHash(h, records_[i]));
    Checkpoint c{"apitrail/n1", size, tree.Root()};
    ASSERT_TRUE(writer_->Append(size, 1, *SignCheckpoint(c, *key_)).ok());
  }
  void Cut() {
    auto s = WriteCheckpointSlices(DefaultFileSystem(), data_);
    ASSERT_TRUE(s.ok() && s->size() == 1) << s.status().ToString();
    std::filesystem::copy_file(OutboxDir(data_) + "/" + (*s)[0].name, arch_ + "/" + (*s)[0].name);
    slices_.push_back((*s)[0].name);
  }
  ArchiveVerifyReport Verify(bool with_parts = true) {
    ArchiveVerifyOptions o;
    o.key = *ParseVerifierKey(VerifierKeyText("apitrail/n1", key_->public_key()));
    o.parts = with_parts ? &parts_ : nullptr;
    return VerifyArchiveDir(arch_, o, DefaultFileSystem());
  }

  TempDir dir_;
  std::string data_, arch_;
  std::unique_ptr<NodeKey> key_;
  std::unique_ptr<CheckpointWriter> writer_;
  std::vector<std::string> records_;
  std::vector<std::string> slices_;
  MemoryParts parts_;
};

TEST_F(ArchiveVerifyTest, ACompleteArchiveVerifies) {
  ArchiveVerifyReport r = Verify();
  EXPECT_TRUE(r.ok) << r.problem << " " << r.file;
  EXPECT_TRUE(r.checkpoints_ok);
  EXPECT_EQ(r.slices, 3u);
  EXPECT_EQ(r.checkpoints, 5u);
  EXPECT_EQ(r.newest_size, 12u);
  EXPECT_EQ(r.parts, 2u);
  EXPECT_EQ(r.records, 10u);
  EXPECT_EQ(r.checkpoints_matched, 4u);  // 3, 5, 5, 10
  EXPECT_EQ(r.checkpoints_beyond, 1u);   // 12: records not archived yet
  EXPECT_EQ(r.records_uncovered, 0u);
  EXPECT_EQ(r.key_source, "--key");
}

TEST_F(ArchiveVerifyTest, TheArchivesOwnKeyIsUsedWithoutKeyAndSaysSo) {
  const std::string text = VerifierKeyText("apitrail/n1", key_->public_key());
  const std::string name = "verifier-key-" + text.substr(text.find('+') + 1, 8) + ".txt";
  // Only the archiver's own names count: another file beside it is not a key file.
  apitrail::testing::WriteFileBytes(arch_ + "/verifier-key-x.txt", text + "\n");
  ArchiveVerifyOptions o;
  o.parts = &parts_;
  ArchiveVerifyReport r = VerifyArchiveDir(arch_, o, DefaultFileSystem());
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.problem.find("pass --key"), std::string::npos) << r.problem;
  std::filesystem::rename(arch_ + "/verifier-key-x.txt", arch_ + "/" + name);
  r = VerifyArchiveDir(arch_, o, DefaultFileSystem());
  EXPECT_TRUE(r.ok) << r.problem;
  EXPECT_NE(r.key_source.find("self-consistency only"), std::string::npos);
  std::filesystem::remove(arch_ + "/" + name);
  r = VerifyArchiveDir(arch_, o, DefaultFileSystem());
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.problem.find("pass --key"), std::string::npos);
}

TEST_F(ArchiveVerifyTest, AnotherKeyFailsOnTheFirstSignature) {
  auto other = std::move(NodeKey::Generate()).value();
  ArchiveVerifyOptions o;
  o.key = *ParseVerifierKey(VerifierKeyText("apitrail/n1", other->public_key()));
  ArchiveVerifyReport r = VerifyArchiveDir(arch_, o, DefaultFileSystem());
  EXPECT_FALSE(r.ok);
  EXPECT_FALSE(r.checkpoints_ok);
  EXPECT_EQ(r.file, arch_ + "/" + slices_[0]);
  EXPECT_NE(r.problem.find("tree size 3"), std::string::npos) << r.problem;
}

TEST_F(ArchiveVerifyTest, AMissingSliceIsReportedWithItsByteRange) {
  std::filesystem::remove(arch_ + "/" + slices_[1]);
  ArchiveVerifyReport r = Verify();
  EXPECT_FALSE(r.checkpoints_ok);
  EXPECT_NE(r.problem.find("a checkpoint slice is missing"), std::string::npos) << r.problem;
  EXPECT_EQ(r.file, arch_ + "/" + slices_[2]);
}

// The trailing slices removed: no checkpoint vouches for records 5…9 any more, so a forged
// record among them must not pass as archived and verified.
TEST_F(ArchiveVerifyTest, RecordsNoArchivedCheckpointCoversAreNotProven) {
  std::filesystem::remove(arch_ + "/" + slices_[1]);
  std::filesystem::remove(arch_ + "/" + slices_[2]);
  parts_.Records(arch_ + "/p-b.part")[3] = "record-7-forged";
  ArchiveVerifyReport r = Verify();
  EXPECT_TRUE(r.checkpoints_ok);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.records_uncovered, 5u);
  EXPECT_NE(r.problem.find("records 5…9 are covered by no archived checkpoint"), std::string::npos)
      << r.problem;
}

// Every part removed: the checkpoints still say what the archive should hold.
TEST_F(ArchiveVerifyTest, WithoutPartsEveryCheckpointIsBeyondTheArchive) {
  std::filesystem::remove(arch_ + "/p-a.part");
  std::filesystem::remove(arch_ + "/p-b.part");
  ArchiveVerifyReport r = Verify();
  EXPECT_EQ(r.parts, 0u);
  EXPECT_EQ(r.checkpoints_beyond, 5u);
  EXPECT_EQ(r.records, 0u);
}

// A witness's checkpoint (verify --archive --checkpoint): the archive must reach it and
// reproduce its root. Trailing parts removed together with their slices look like an older
// archive otherwise.
TEST_F(ArchiveVerifyTest, ASavedCheckpointMustBeReachedAndReproduced) {
  auto note_at = [&](uint64_t size, const std::vector<std::string>& recs) {
    merkle::CompactRange tree;
    Sha256Hasher h;
    for (uint64_t i = 0; i < size; ++i) tree.Append(merkle::LeafHash(h, recs[i]));
    return *SignCheckpoint(Checkpoint{"apitrail/n1", size, tree.Root()}, *key_);
  };
  auto verify_with = [&](const std::string& note) {
    ArchiveVerifyOptions o;
    o.key = *ParseVerifierKey(VerifierKeyText("apitrail/n1", key_->public_key()));
    o.parts = &parts_;
    o.checkpoint_note = note;
    o.checkpoint_source = "witness.ckpt";
    return VerifyArchiveDir(arch_, o, DefaultFileSystem());
  };
  ArchiveVerifyReport r = verify_with(note_at(7, records_));
  EXPECT_TRUE(r.ok) << r.problem;
  EXPECT_TRUE(r.given_checked);
  EXPECT_EQ(r.given_size, 7u);

  std::vector<std::string> longer = records_;
  longer.push_back("record-10");
  longer.push_back("record-11");
  r = verify_with(note_at(12, longer));
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.problem.find("records 10…11 are missing from the archive"), std::string::npos)
      << r.problem;

  std::vector<std::string> other = records_;
  other[6] = "record-6-elsewhere";
  r = verify_with(note_at(7, other));
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.problem.find("signed in witness.ckpt"), std::string::npos) << r.problem;
  EXPECT_EQ(r.first_bad_seq, 5u);  // the archive's checkpoint of size 5 still matches

  auto stranger = std::move(NodeKey::Generate()).value();
  merkle::CompactRange tree;
  r = verify_with(*SignCheckpoint(Checkpoint{"apitrail/n1", 0, tree.Root()}, *stranger));
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.problem.find("not trustworthy"), std::string::npos) << r.problem;
}

TEST_F(ArchiveVerifyTest, ATruncatedSliceFails) {
  const std::string path = arch_ + "/" + slices_[0];
  std::filesystem::resize_file(path, std::filesystem::file_size(path) - 3);
  ArchiveVerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.file, path);
}

TEST_F(ArchiveVerifyTest, ARewrittenRecordFailsAtTheFirstCheckpointOverIt) {
  parts_.Records(arch_ + "/p-b.part")[0] = "record-4-forged";  // seq 4
  ArchiveVerifyReport r = Verify();
  EXPECT_TRUE(r.checkpoints_ok);
  EXPECT_FALSE(r.ok);
  // The checkpoint of size 3 still matches, the one of size 5 does not: the change is in
  // seqs 3…4, and the first of them is named (as the data-dir verifier does).
  EXPECT_EQ(r.first_bad_seq, 3u);
  EXPECT_NE(r.problem.find("from seq 3 on"), std::string::npos) << r.problem;
  EXPECT_NE(r.problem.find("differs from the checkpoint"), std::string::npos) << r.problem;
}

TEST_F(ArchiveVerifyTest, PrunedOlderPartsVerifyFromTheStoredMerkleState) {
  merkle::CompactRange before;
  Sha256Hasher h;
  for (int i = 0; i < 4; ++i) before.Append(merkle::LeafHash(h, records_[i]));
  std::filesystem::remove(arch_ + "/p-a.part");
  parts_.SetBefore(arch_ + "/p-b.part", before);
  ArchiveVerifyReport r = Verify();
  EXPECT_TRUE(r.ok) << r.problem;
  EXPECT_EQ(r.first_seq, 4u);
  EXPECT_EQ(r.records, 10u);
  EXPECT_EQ(r.checkpoints_before, 1u);   // size 3
  EXPECT_EQ(r.checkpoints_matched, 3u);  // 5, 5, 10
  // A forged state is caught by the first signed root after it.
  merkle::CompactRange forged;
  for (int i = 0; i < 4; ++i) forged.Append(merkle::LeafHash(h, "forged-" + std::to_string(i)));
  parts_.SetBefore(arch_ + "/p-b.part", forged);
  r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.problem.find("differs from the checkpoint"), std::string::npos) << r.problem;
}

TEST_F(ArchiveVerifyTest, APartOfAnotherNodeIsRefused) {
  parts_.SetNode("n2");
  ArchiveVerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.problem.find("part of node 'n2'"), std::string::npos) << r.problem;
}

TEST_F(ArchiveVerifyTest, AMissingPartIsAGap) {
  std::filesystem::remove(arch_ + "/p-a.part");
  ArchiveVerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.problem.find("records 0…3 are in no archived part"), std::string::npos) << r.problem;
  EXPECT_EQ(r.first_bad_seq, 0u);
}

TEST_F(ArchiveVerifyTest, WithoutAPartReaderOnlyTheCheckpointsAreChecked) {
  ArchiveVerifyReport r = Verify(false);
  EXPECT_TRUE(r.checkpoints_ok);
  EXPECT_FALSE(r.parts_checked);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.problem.find("2 parts not checked"), std::string::npos) << r.problem;
}

TEST_F(ArchiveVerifyTest, TwoRootsForOneSizeAreAFork) {
  // Whoever holds the key signs size 12 again over other records: same size, other root.
  std::vector<std::string> saved = records_;
  records_.push_back("record-10");
  records_.push_back("record-11-forged");
  SignAt(12);
  records_ = saved;
  Cut();
  ArchiveVerifyReport r = Verify();
  EXPECT_FALSE(r.checkpoints_ok);
  EXPECT_NE(r.problem.find("two different roots"), std::string::npos) << r.problem;
}

}  // namespace
}  // namespace apitrail::archive
