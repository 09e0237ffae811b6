// Sealed part format: builder/reader round trip (record bytes and leaf hashes identical),
// the index and time ranges pick the right blocks, and damage anywhere gives a clear error
// naming the file and offset.
#include <gtest/gtest.h>

#include <fstream>

#include "core/record_codec.h"
#include "store/log/coding.h"
#include "store/merkle/merkle_hash.h"
#include "store/part/part_builder.h"
#include "store/part/part_format.h"
#include "store/part/part_reader.h"
#include "testutil/event_builder.h"
#include "testutil/temp_dir.h"

namespace apitrail::part {
namespace {

using testing::MakeEvent;

class PartTest : public ::testing::Test {
 protected:
  // Writes a part of records first…first+n-1 with small blocks; returns its path.
  std::string Build(uint64_t first, uint64_t n, size_t block = 4096) {
    merkle::CompactRange before;
    for (uint64_t i = 0; i < first; ++i) before.Append(merkle::LeafHash(merkle::ThreadHasher(), "x"));
    const std::string path = dir_.path() + "/" + PartFileName(first);
    auto b = PartBuilder::Create(DefaultFileSystem(), path, "node-1", first, before, block);
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

  testing::TempDir dir_;
  merkle::CompactRange after_;
  std::vector<std::string> records_;
};

TEST_F(PartTest, RoundTripReproducesEveryRecordByte) {
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

TEST_F(PartTest, IndexAndTimeRangesPickOnlyBlocksThatCanMatch) {
  const std::string path = Build(0, 400);
  auto r = PartReader::Open(DefaultFileSystem(), path);
  ASSERT_TRUE(r.ok());
  const PartReader& p = **r;
  // A unique key lives in exactly one block: the one holding its record.
  auto blocks = p.BlocksWith(Field::kCorrelationId, "corr-250");
  ASSERT_EQ(blocks.size(), 1u);
  EXPECT_EQ(blocks[0], p.BlockOf(250));
  EXPECT_TRUE(p.BlocksWith(Field::kCorrelationId, "corr-9999").empty());
  // Every key is found, whichever restart point of the index it follows.
  for (uint64_t i = 0; i < 400; ++i) {
    EXPECT_EQ(p.BlocksWith(Field::kCorrelationId, "corr-" + std::to_string(i)),
              std::vector<uint32_t>{p.BlockOf(i)}) << i;
    EXPECT_EQ(p.BlocksWith(Field::kId, MakeEvent(i).id), std::vector<uint32_t>{p.BlockOf(i)}) << i;
  }
  // Intersection: subject user-1 and status 403 ⇒ only blocks holding such a record.
  EventQuery q;
  q.subject = "user-1";
  q.status = 403;
  auto cand = p.CandidateBlocks(q);
  ASSERT_FALSE(cand.empty());
  for (uint32_t b = 0; b < p.blocks().size(); ++b) {
    bool has = false;
    const auto& m = p.blocks()[b];
    for (uint32_t i = m.first; i < m.first + m.count; ++i) {
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
    const auto& m = p.blocks()[b];
    for (uint32_t i = m.first; i < m.first + m.count; ++i) has = has || MakeEvent(i).status / 100 == 5;
    EXPECT_EQ(has, std::find(c5.begin(), c5.end(), b) != c5.end()) << "block " << b;
  }
  // Time: a range holding only event 200's start picks its block (and the blocks holding
  // early-started events whose min/max overlap it), never a block entirely outside.
  EventQuery t;
  t.since_ns = MakeEvent(200).time_ns;
  t.until_ns = MakeEvent(200).time_ns + 1;
  auto tb = p.CandidateBlocks(t);
  EXPECT_NE(std::find(tb.begin(), tb.end(), p.BlockOf(200)), tb.end());
  for (uint32_t b : tb) {
    EXPECT_LE(p.blocks()[b].min_time_ns, *t.since_ns);
    EXPECT_GE(p.blocks()[b].max_time_ns, *t.since_ns);
  }
  EXPECT_LT(tb.size(), p.blocks().size());
}

TEST_F(PartTest, FlippedByteInABlockNamesTheBlockOffset) {
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

TEST_F(PartTest, FlippedByteInTheIndexFailsOpenNamingTheIndexOffset) {
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

TEST_F(PartTest, FlippedByteInTheFooterOrSummaryOrHeaderFailsOpen) {
  for (int where = 0; where < 3; ++where) {
    const std::string path = Build(0, 50);
    const uint64_t size = FileSize(path);
    uint64_t off = where == 0 ? size - kFooterSize + 2 : where == 1 ? 0 : kHeaderFixedSize + 1;  // a node name byte
    if (where == 1) {
      auto r = PartReader::Open(DefaultFileSystem(), path);
      ASSERT_TRUE(r.ok());
      off = (*r)->blocks().back().offset + (*r)->blocks().back().stored_size + 30;  // in the summary
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

TEST_F(PartTest, TruncatedPartFailsOpenWithoutCrashing) {
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

}  // namespace
}  // namespace apitrail::part
