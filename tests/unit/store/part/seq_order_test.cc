// ForEachRecordInSeqOrder with blocks built in memory: the orders no PartBuilder writes (a
// seq held twice, a seq in no block, a seq outside the part) must be refused with the seq and
// an offset, whatever the waiting budget, i.e. in the single-pass and the multi-pass reading.
#include "store/part/seq_order.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace apitrail::part {
namespace {

constexpr uint64_t kFirst = 1000;
// 0: a pass per out-of-turn record; 1 and 8: a few records wait; 64 MiB: one pass.
const std::vector<size_t> kBudgets = {0, 1, 8, size_t{64} << 20};

// A block holding the records with these rels, in this order; record "r<rel>".
std::shared_ptr<const Block> MakeBlock(std::initializer_list<uint32_t> rels) {
  auto b = std::make_shared<Block>();
  b->part_first_seq = kFirst;
  b->starts.push_back(0);
  for (uint32_t rel : rels) {
    b->records += "r" + std::to_string(rel);
    b->starts.push_back(static_cast<uint32_t>(b->records.size()));
    b->rels.push_back(rel);
  }
  return b;
}

struct ReadResult {
  Status status;
  std::vector<uint64_t> seqs;
  int block_reads = 0;
};

constexpr size_t kBlockOrder = SIZE_MAX;  // Read's budget for ForEachRecordInBlockOrder

ReadResult Read(uint64_t count, const std::vector<std::shared_ptr<const Block>>& blocks, size_t budget) {
  PartShape shape{"/data/parts/p.part", kFirst, count, {}, 9000};
  for (size_t i = 0; i < blocks.size(); ++i) shape.block_offsets.push_back(100 + 1000 * i);
  ReadResult run;
  auto read_block = [&](uint32_t i) -> Result<std::shared_ptr<const Block>> {
    ++run.block_reads;
    return blocks[i];
  };
  auto record = [&](uint64_t seq, std::string_view bytes) {
    EXPECT_EQ(bytes, "r" + std::to_string(seq - kFirst));
    run.seqs.push_back(seq);
    return Status::Ok();
  };
  run.status = budget == kBlockOrder ? ForEachRecordInBlockOrder(shape, read_block, record)
                                     : ForEachRecordInSeqOrder(shape, read_block, record, budget);
  return run;
}

std::vector<uint64_t> Seqs(uint64_t from, uint64_t to) {
  std::vector<uint64_t> v;
  for (uint64_t s = from; s < to; ++s) v.push_back(s);
  return v;
}

TEST(SeqOrderTest, ClusteredBlocksComeOutInSeqOrderWithinAnyBudget) {
  const std::vector<std::shared_ptr<const Block>> blocks = {MakeBlock({3, 0, 5, 1}), MakeBlock({2, 7, 4}),
                                                            MakeBlock({6, 8})};
  for (size_t budget : kBudgets) {
    ReadResult run = Read(9, blocks, budget);
    ASSERT_TRUE(run.status.ok()) << budget << ": " << run.status.ToString();
    EXPECT_EQ(run.seqs, Seqs(kFirst, kFirst + 9)) << budget;
    if (budget == kBudgets.back()) {
      EXPECT_EQ(run.block_reads, 3);  // one pass
    }
    if (budget == 0) {
      EXPECT_GT(run.block_reads, 3);  // several
    }
  }
}

TEST(SeqOrderTest, ARecordHeldTwiceIsRefusedNamingItsSeqAndTheSecondBlock) {
  // rel 2 is in block 0 and again in block 1 (rel 3 is nowhere: the duplicate is met first).
  const std::vector<std::shared_ptr<const Block>> blocks = {MakeBlock({0, 2}), MakeBlock({1, 2})};
  for (size_t budget : kBudgets) {
    ReadResult run = Read(3, blocks, budget);
    ASSERT_EQ(run.status.code(), StatusCode::kCorruption) << budget;
    EXPECT_EQ(run.status.message(), "/data/parts/p.part: record 1002 is held twice, again in block 1 at offset 1100")
        << budget;
    EXPECT_EQ(run.seqs, Seqs(kFirst, kFirst + 3)) << budget;  // up to the duplicate, in order
  }
}

TEST(SeqOrderTest, ARecordInNoBlockIsRefusedNamingItsSeq) {
  // rel 2 of 0..3 is missing; and a part whose last record is missing.
  for (size_t budget : kBudgets) {
    ReadResult run = Read(4, {MakeBlock({0, 3}), MakeBlock({1})}, budget);
    ASSERT_EQ(run.status.code(), StatusCode::kCorruption) << budget;
    EXPECT_EQ(run.status.message(), "/data/parts/p.part: record 1002 is in no block at offset 9000") << budget;
    EXPECT_EQ(run.seqs, Seqs(kFirst, kFirst + 2)) << budget;

    run = Read(3, {MakeBlock({1, 0})}, budget);
    ASSERT_EQ(run.status.code(), StatusCode::kCorruption) << budget;
    EXPECT_EQ(run.status.message(), "/data/parts/p.part: record 1002 is in no block at offset 9000") << budget;
  }
}

TEST(SeqOrderTest, ASeqOutsideThePartIsRefused) {
  for (size_t budget : kBudgets) {
    ReadResult run = Read(2, {MakeBlock({0, 1, 5})}, budget);
    ASSERT_EQ(run.status.code(), StatusCode::kCorruption) << budget;
    EXPECT_NE(run.status.message().find("block 0 at offset 100 has seq 1005, outside the part"), std::string::npos)
        << run.status.message();
  }
}

TEST(SeqOrderTest, EmptyPartStillReadsItsBlocksAndErrorsPassThrough) {
  ReadResult run = Read(0, {MakeBlock({})}, 0);
  EXPECT_TRUE(run.status.ok());
  EXPECT_EQ(run.block_reads, 1);

  PartShape shape{"p", kFirst, 2, {100, 200}, 300};
  Status damaged = ForEachRecordInSeqOrder(
      shape,
      [&](uint32_t i) -> Result<std::shared_ptr<const Block>> {
        if (i == 1) return Status::Corruption("block 1 crc mismatch at offset 200");
        return MakeBlock({0});
      },
      [](uint64_t, std::string_view) { return Status::Ok(); }, 0);
  EXPECT_EQ(damaged.message(), "block 1 crc mismatch at offset 200");

  Status stopped = ForEachRecordInSeqOrder(
      shape, [&](uint32_t i) -> Result<std::shared_ptr<const Block>> { return MakeBlock({i}); },
      [](uint64_t seq, std::string_view) { return seq == kFirst + 1 ? Status::IoError("disk full") : Status::Ok(); },
      0);
  EXPECT_EQ(stopped.code(), StatusCode::kIoError);
}

// ForEachRecordInBlockOrder: the same records and the same refusals, in block order, each
// block read once.
TEST(BlockOrderTest, EveryRecordOnceInTheBlocksOrderAndEachBlockReadOnce) {
  ReadResult run = Read(9, {MakeBlock({3, 0, 5, 1}), MakeBlock({2, 7, 4}), MakeBlock({6, 8})}, kBlockOrder);
  ASSERT_TRUE(run.status.ok()) << run.status.ToString();
  EXPECT_EQ(run.seqs, (std::vector<uint64_t>{1003, 1000, 1005, 1001, 1002, 1007, 1004, 1006, 1008}));
  EXPECT_EQ(run.block_reads, 3);
}

TEST(BlockOrderTest, HeldTwiceInNoBlockOrOutsideThePartIsRefusedAsInSeqOrder) {
  ReadResult twice = Read(3, {MakeBlock({0, 2}), MakeBlock({1, 2})}, kBlockOrder);
  ASSERT_EQ(twice.status.code(), StatusCode::kCorruption);
  EXPECT_EQ(twice.status.message(), "/data/parts/p.part: record 1002 is held twice, again in block 1 at offset 1100");

  ReadResult missing = Read(4, {MakeBlock({0, 3}), MakeBlock({1})}, kBlockOrder);
  ASSERT_EQ(missing.status.code(), StatusCode::kCorruption);
  EXPECT_EQ(missing.status.message(), "/data/parts/p.part: record 1002 is in no block at offset 9000");

  ReadResult outside = Read(2, {MakeBlock({0, 1, 5})}, kBlockOrder);
  ASSERT_EQ(outside.status.code(), StatusCode::kCorruption);
  EXPECT_NE(outside.status.message().find("block 0 at offset 100 has seq 1005, outside the part"), std::string::npos)
      << outside.status.message();

  ReadResult empty = Read(0, {MakeBlock({})}, kBlockOrder);
  EXPECT_TRUE(empty.status.ok());
  EXPECT_EQ(empty.block_reads, 1);
}

}  // namespace
}  // namespace apitrail::part
