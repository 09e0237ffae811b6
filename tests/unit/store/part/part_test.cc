// Sealed part format, versions 1 (seq-ordered blocks) and 2 (clustered): builder/reader
// round trip (record bytes and leaf hashes identical), the index and time ranges pick the
// right blocks, and damage anywhere gives a clear error naming the file and offset.
#include <gtest/gtest.h>

#include <fstream>

#include "core/record_codec.h"
#include "store/log/coding.h"
#include "store/merkle/merkle_hash.h"
#include "store/part/part_builder.h"
#include "store/part/part_format.h"
#include "store/part/part_reader.h"
#include "store/part/sealer.h"
#include "testutil/event_builder.h"
#include "testutil/temp_dir.h"

namespace apitrail::part {
namespace {

using testing::MakeEvent;

class PartTest : public ::testing::TestWithParam<uint32_t> {
 protected:
  // Writes a part (version GetParam()) of records first…first+n-1 with small blocks; returns its path.
  std::string Build(uint64_t first, uint64_t n, size_t block = 4096) {
    merkle::CompactRange before;
    for (uint64_t i = 0; i < first; ++i) before.Append(merkle::LeafHash(merkle::ThreadHasher(), "x"));
    const std::string path = dir_.path() + "/" + PartFileName(first);
    auto b = PartBuilder::Create(DefaultFileSystem(), path, "node-1", first, before, block, GetParam());
    EXPECT_TRUE(b.ok()) << b.status().ToString();
    after_ = before;
    records_.clear();
    for (uint64_t i = first; i < first + n; ++i) {
      AuditEvent e = MakeEvent(i);
      // Completion order is not time order: every third event started a minute earlier.
      if (i % 3 == 0) e.time_ns -= 60'000'000'000;
      std::string rec = EncodeRecord(e);
      records_.push_back(rec);
      after_.Append(merkle::LeafHash(merkle::ThreadHasher(), rec));
      EXPECT_TRUE((*b)->Add(rec, e).ok());
    }
    EXPECT_TRUE((*b)->Finish(after_).ok());
    return path;
  }

  static void FlipByte(const std::string& path, uint64_t offset) {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(static_cast<std::streamoff>(offset));
    char c;
    f.read(&c, 1);
    c = static_cast<char>(c ^ 0x40);
    f.seekp(static_cast<std::streamoff>(offset));
    f.write(&c, 1);
  }

  // The seqs held by block b (read from the block itself).
  static std::vector<uint64_t> SeqsOf(const PartReader& p, uint32_t b) {
    auto block = p.ReadBlock(b);
    EXPECT_TRUE(block.ok()) << block.status().ToString();
    std::vector<uint64_t> out;
    if (block.ok()) {
      for (uint32_t i = 0; i < (*block)->count(); ++i) out.push_back((*block)->seq(i));
    }
    return out;
  }
  static uint32_t BlockOf(const PartReader& p, uint64_t seq) {
    auto b = p.BlockOf(seq);
    EXPECT_TRUE(b.ok()) << b.status().ToString();
    return b.ok() ? *b : UINT32_MAX;
  }

  testing::TempDir dir_;
  merkle::CompactRange after_;
  std::vector<std::string> records_;
};

TEST_P(PartTest, RoundTripReproducesEveryRecordByte) {
  const std::string path = Build(5, 300);
  auto r = PartReader::Open(DefaultFileSystem(), path);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const PartReader& p = **r;
  EXPECT_EQ(p.first_seq(), 5u);
  EXPECT_EQ(p.count(), 300u);
  EXPECT_EQ(p.node(), "node-1");
  EXPECT_GT(p.blocks().size(), 3u);
  EXPECT_TRUE(p.after() == after_);
  EXPECT_EQ(p.before().size(), 5u);
  merkle::CompactRange again = p.before();
  uint64_t n = 0;
  ASSERT_TRUE(ForEachRecord(p, [&](uint64_t seq, std::string_view rec) {
                EXPECT_EQ(rec, records_[seq - 5]) << seq;
                again.Append(merkle::LeafHash(merkle::ThreadHasher(), rec));
                ++n;
                return Status::Ok();
              }).ok());
  EXPECT_EQ(n, 300u);
  EXPECT_EQ(again.Root(), after_.Root());
  auto one = p.Record(123);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(*one, records_[123 - 5]);
}

TEST_P(PartTest, LeafCheckFindsTheOneRecordThatDiffersFromTheSegment) {
  // The sealer's check, which reads the records in block order: every leaf matching passes;
  // one leaf off (as if the part held other bytes for that seq) is named by its seq.
  const std::string path = Build(5, 300);
  auto r = PartReader::Open(DefaultFileSystem(), path);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::vector<Hash256> leaves;
  for (const std::string& rec : records_) leaves.push_back(merkle::LeafHash(merkle::ThreadHasher(), rec));
  EXPECT_TRUE(CheckPartLeaves(**r, leaves).ok());
  leaves[200 - 5][0] ^= 1;
  Status st = CheckPartLeaves(**r, leaves);
  ASSERT_EQ(st.code(), StatusCode::kCorruption);
  EXPECT_NE(st.message().find("record 200 differs from the segment's"), std::string::npos) << st.message();
  leaves.pop_back();
  EXPECT_EQ(CheckPartLeaves(**r, leaves).code(), StatusCode::kCorruption);  // a record more than the segment
}

TEST_P(PartTest, IndexAndTimeRangesPickOnlyBlocksThatCanMatch) {
  const std::string path = Build(0, 400);
  auto r = PartReader::Open(DefaultFileSystem(), path);
  ASSERT_TRUE(r.ok());
  const PartReader& p = **r;
  // A unique key lives in exactly one block: the one holding its record.
  auto blocks = *p.BlocksWith(Field::kCorrelationId, "corr-250");
  ASSERT_EQ(blocks.size(), 1u);
  EXPECT_EQ(blocks[0], BlockOf(p, 250));
  // Version 1 stores whole 32-bit hashes; version 2 a fingerprint of 15 bits for 400 keys, so
  // about one key in a hundred also names another key's block (refuted on the record).
  const size_t max_collisions = GetParam() == kVersion1 ? 0 : 400 / 16;
  EXPECT_LE(p.BlocksWith(Field::kCorrelationId, "corr-9999")->size(), GetParam() == kVersion1 ? 0u : 1u);
  // Every key is found, whichever restart point of the index it follows.
  size_t collisions = 0;
  for (uint64_t i = 0; i < 400; ++i) {
    for (Field f : {Field::kCorrelationId, Field::kId}) {
      const std::vector<uint32_t> got = *p.BlocksWith(f, f == Field::kId ? MakeEvent(i).id : "corr-" + std::to_string(i));
      EXPECT_NE(std::find(got.begin(), got.end(), BlockOf(p, i)), got.end()) << i;
      EXPECT_LE(got.size(), 2u) << i;
      collisions += got.size() - 1;
    }
  }
  EXPECT_LE(collisions, max_collisions);
  // Intersection: subject user-1 and status 403 ⇒ only blocks holding such a record.
  EventQuery q;
  q.subject = "user-1";
  q.status = 403;
  auto cand = p.CandidateBlocks(q);
  ASSERT_FALSE(cand.empty());
  for (uint32_t b = 0; b < p.blocks().size(); ++b) {
    bool has = false;
    for (uint64_t i : SeqsOf(p, b)) {
      AuditEvent e = MakeEvent(i);
      has = has || (e.subject == "user-1" && e.status == 403);
    }
    EXPECT_EQ(has, std::find(cand.begin(), cand.end(), b) != cand.end()) << "block " << b;
  }
  // Status class is indexed too: only blocks holding a 5xx are candidates.
  EventQuery q5;
  q5.status_class = 5;
  auto c5 = p.CandidateBlocks(q5);
  for (uint32_t b = 0; b < p.blocks().size(); ++b) {
    bool has = false;
    for (uint64_t i : SeqsOf(p, b)) has = has || MakeEvent(i).status / 100 == 5;
    EXPECT_EQ(has, std::find(c5.begin(), c5.end(), b) != c5.end()) << "block " << b;
  }
  // Time: a range holding only event 200's start picks its block (and the blocks holding
  // early-started events whose min/max overlap it), never a block entirely outside.
  EventQuery t;
  t.since_ns = MakeEvent(200).time_ns;
  t.until_ns = MakeEvent(200).time_ns + 1;
  auto tb = p.CandidateBlocks(t);
  EXPECT_NE(std::find(tb.begin(), tb.end(), BlockOf(p, 200)), tb.end());
  for (uint32_t b : tb) {
    EXPECT_LE(p.blocks()[b].min_time_ns, *t.since_ns);
    EXPECT_GE(p.blocks()[b].max_time_ns, *t.since_ns);
  }
  EXPECT_LT(tb.size(), p.blocks().size());
}

TEST_P(PartTest, FlippedByteInABlockNamesTheBlockOffset) {
  const std::string path = Build(0, 200);
  uint64_t at = 0;
  {
    auto r = PartReader::Open(DefaultFileSystem(), path);
    ASSERT_TRUE(r.ok());
    at = (*r)->blocks()[2].offset;
    FlipByte(path, at + 7);
  }
  // Open reads no block, so it succeeds; reading the block reports it.
  auto r = PartReader::Open(DefaultFileSystem(), path);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto b = (*r)->ReadBlock(2);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), StatusCode::kCorruption);
  EXPECT_NE(b.status().message().find(path), std::string::npos) << b.status().message();
  EXPECT_NE(b.status().message().find("block 2 crc mismatch at offset " + std::to_string(at)), std::string::npos)
      << b.status().message();
  Status all = ForEachRecord(**r, [](uint64_t, std::string_view) { return Status::Ok(); });
  EXPECT_FALSE(all.ok());
  EXPECT_TRUE((*r)->ReadBlock(1).ok());
}

uint64_t FileSize(const std::string& path) {
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  return static_cast<uint64_t>(f.tellg());
}

TEST_P(PartTest, FlippedByteInTheIndexFailsOpenNamingTheIndexOffset) {
  const std::string path = Build(0, 200);
  const uint64_t size = FileSize(path);
  std::string footer(kFooterSize, '\0');
  {
    std::ifstream f(path, std::ios::binary);
    f.seekg(static_cast<std::streamoff>(size - kFooterSize));
    f.read(footer.data(), kFooterSize);
  }
  const uint64_t index_off = apitrail::log::DecodeFixed64(footer.data() + 16);
  FlipByte(path, index_off + 3);
  auto r = PartReader::Open(DefaultFileSystem(), path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
  EXPECT_NE(r.status().message().find(path + ": index section crc mismatch at offset " + std::to_string(index_off)),
            std::string::npos)
      << r.status().message();
}

TEST_P(PartTest, FlippedByteInTheFooterOrSummaryOrHeaderFailsOpen) {
  for (int where = 0; where < 3; ++where) {
    const std::string path = Build(0, 50);
    const uint64_t size = FileSize(path);
    uint64_t off = where == 0 ? size - kFooterSize + 2 : where == 1 ? 0 : kHeaderFixedSize + 1;  // a node name byte
    if (where == 1) {
      auto r = PartReader::Open(DefaultFileSystem(), path);
      ASSERT_TRUE(r.ok());
      off = (*r)->summary_offset() + 30;  // in the summary
    }
    FlipByte(path, off);
    auto r = PartReader::Open(DefaultFileSystem(), path);
    ASSERT_FALSE(r.ok()) << where;
    EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
    const std::string m = r.status().message();
    EXPECT_NE(m.find(path + ": "), std::string::npos) << m;
    EXPECT_NE(m.find(" at offset "), std::string::npos) << m;
    if (where == 0) {
      EXPECT_NE(m.find("footer crc mismatch"), std::string::npos) << m;
    }
    if (where == 1) {
      EXPECT_NE(m.find("summary crc mismatch"), std::string::npos) << m;
    }
    if (where == 2) {
      EXPECT_NE(m.find("header crc mismatch"), std::string::npos) << m;
    }
    std::remove(path.c_str());
  }
}

TEST_P(PartTest, TruncatedPartFailsOpenWithoutCrashing) {
  const std::string path = Build(0, 100);
  const uint64_t size = FileSize(path);
  for (uint64_t keep : {uint64_t{0}, uint64_t{10}, size / 2, size - 1}) {
    std::string bytes;
    {
      std::ifstream f(path, std::ios::binary);
      bytes.assign(std::istreambuf_iterator<char>(f), {});
    }
    const std::string cut = dir_.path() + "/cut.part";
    {
      std::ofstream o(cut, std::ios::binary | std::ios::trunc);
      o.write(bytes.data(), static_cast<std::streamsize>(keep));
    }
    auto r = PartReader::Open(DefaultFileSystem(), cut);
    ASSERT_FALSE(r.ok()) << keep;
    EXPECT_NE(r.status().message().find(cut), std::string::npos) << r.status().message();
  }
}

INSTANTIATE_TEST_SUITE_P(Versions, PartTest, ::testing::Values(kVersion1, kVersion2, kVersion3, kVersion4),
                         [](const ::testing::TestParamInfo<uint32_t>& i) { return "v" + std::to_string(i.param); });

}  // namespace
}  // namespace apitrail::part
