// Version 5's bit-packed index tables: the bit stream's codes round-trip at every width and
// across word boundaries, a table with an escaped (huge) fingerprint difference decodes to
// what was written, and damage to a packed table is an error or a table that still parses,
// never a crash.
#include "store/part/packed_table.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "store/log/coding.h"
#include "store/part/part_index.h"
#include "testutil/event_builder.h"

namespace apitrail::part {
namespace {

TEST(BitStreamTest, EveryCodeRoundTripsAcrossWordBoundaries) {
  std::mt19937_64 rng(7);
  struct Item {
    int kind;  // 0 fixed, 1 unary, 2 gamma
    uint64_t v;
    int n;
  };
  std::vector<Item> items;
  BitWriter w;
  for (int i = 0; i < 20000; ++i) {
    Item it{static_cast<int>(rng() % 3), 0, 0};
    if (it.kind == 0) {
      it.n = static_cast<int>(rng() % 58);
      it.v = it.n == 0 ? 0 : rng() & ((uint64_t{1} << it.n) - 1);
      w.Put(it.v, it.n);
    } else if (it.kind == 1) {
      it.v = rng() % 100;
      w.PutUnary(it.v);
    } else {
      it.v = 1 + (rng() >> (rng() % 56 + 8));
      w.PutGamma(it.v);
    }
    items.push_back(it);
  }
  const uint64_t bits = w.bits();
  const std::string s = w.Finish();
  ASSERT_EQ(s.size(), (bits + 7) / 8);
  BitReader r(s, 0, bits);
  for (const Item& it : items) {
    uint64_t v = 0;
    if (it.kind == 0) {
      ASSERT_TRUE(r.Get(it.n, &v));
    } else if (it.kind == 1) {
      ASSERT_TRUE(r.GetUnary(1000, &v));
    } else {
      ASSERT_TRUE(r.GetGamma(&v));
    }
    ASSERT_EQ(v, it.v);
  }
  EXPECT_EQ(r.pos(), bits);
  uint64_t v = 0;
  EXPECT_FALSE(r.Get(1, &v));  // past the end: refused, not read
  EXPECT_FALSE(r.GetUnary(10, &v));
}

TEST(BitStreamTest, UnaryRunsLongerThanTheLimitAreRefused) {
  BitWriter w;
  w.PutUnary(70);
  const std::string s = w.Finish();
  BitReader r(s, 0, 71);
  uint64_t q = 0;
  EXPECT_FALSE(r.GetUnary(64, &q));
  BitReader again(s, 0, 71);
  ASSERT_TRUE(again.GetUnary(70, &q));
  EXPECT_EQ(q, 70u);
}

TEST(PackedTableTest, AHugeDifferenceIsEscapedAndDecodesExactly) {
  // Many neighbours and one gap of 2^26: the best Rice parameter is small, so the gap takes
  // the escape (64 ones, then the difference in full).
  std::vector<uint64_t> pairs;
  std::vector<std::vector<uint32_t>> postings;
  uint32_t h = 3;
  for (int i = 0; i < 100; ++i) {
    h += i == 50 ? (1u << 26) : 1;
    std::vector<uint32_t> blocks = {static_cast<uint32_t>(i % 7)};
    if (i % 5 == 0) blocks.push_back(9);
    for (uint32_t b : blocks) pairs.push_back(static_cast<uint64_t>(h) << 32 | b);
    postings.push_back(blocks);
  }
  uint32_t count = 0;
  const std::string table = EncodePackedTable(pairs, 27, 10, &count);
  ASSERT_EQ(count, 100u);
  const int k = static_cast<uint8_t>(table[0]);
  ASSERT_GE((1u << 26) >> k, kPackedEscape) << "the gap must take the escape";
  BitReader r(table, 8, table.size() * 8);
  uint64_t hash = 0;
  for (size_t i = 0; i < postings.size(); ++i) {
    uint64_t v = 0;
    if (i == 0) {
      ASSERT_TRUE(r.Get(27, &v));
      hash = v;
    } else {
      ASSERT_TRUE(DecodePackedDelta(&r, k, 27, &v));
      hash += v;
    }
    std::vector<uint32_t> got;
    ASSERT_TRUE(DecodePackedPostings(&r, 10, &got));
    EXPECT_EQ(got, postings[i]) << i;
  }
  EXPECT_EQ(hash, 3u + 99u + (1u << 26));
  EXPECT_LT(r.end() - r.pos(), 8u);
}

std::string BuildV5(int n) {
  PartIndexBuilder b;
  for (int i = 0; i < n; ++i) {
    AuditEvent e = testing::MakeEvent(static_cast<uint64_t>(i));
    e.correlation_id = "corr-" + std::to_string(i * 7919);
    b.Add(static_cast<uint32_t>(i / 40), e, static_cast<uint32_t>(i));
  }
  return b.Serialize(kVersion5);
}

// The correlation id table (tag 8): its head's offset in the raw section.
size_t Table(const std::string& raw, Field f) {
  size_t at = 4;
  while (raw[at] != static_cast<char>(f)) at += 10 + log::DecodeFixed32(raw.data() + at + 6);
  return at;
}

TEST(PackedTableTest, EveryKeyIsFoundAndDamageIsAnErrorNotACrash) {
  constexpr int kN = 4000;
  const std::string raw = BuildV5(kN);
  auto idx = PartIndex::Parse(raw, kN / 40, "p", 0, kVersion5, kN);
  ASSERT_TRUE(idx.ok()) << idx.status().ToString();
  for (int i = 0; i < kN; ++i) {
    const auto blocks = idx->Blocks(Field::kCorrelationId, "corr-" + std::to_string(i * 7919));
    EXPECT_NE(std::find(blocks.begin(), blocks.end(), static_cast<uint32_t>(i / 40)), blocks.end()) << i;
  }
  // A version 4 reader's view of the same bytes is not taken: the version decides the form.
  EXPECT_FALSE(PartIndex::Parse(raw, kN / 40, "p", 0, kVersion4, kN).ok());
  const size_t at = Table(raw, Field::kCorrelationId);
  const size_t size = log::DecodeFixed32(raw.data() + at + 6);
  // Every bit of the table's first 300 bytes and its last byte flipped in turn.
  std::vector<size_t> bytes;
  for (size_t i = at + 10; i < std::min(at + 10 + size, at + 310); ++i) bytes.push_back(i);
  bytes.push_back(at + 10 + size - 1);
  int refused = 0;
  for (size_t i : bytes) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string flipped = raw;
      flipped[i] = static_cast<char>(flipped[i] ^ (1 << bit));
      auto damaged = PartIndex::Parse(flipped, kN / 40, "p", 0, kVersion5, kN);
      if (!damaged.ok()) {
        EXPECT_EQ(damaged.status().code(), StatusCode::kCorruption);
        ++refused;
        continue;
      }
      for (int j = 0; j < 50; ++j) (void)damaged->Blocks(Field::kCorrelationId, "corr-" + std::to_string(j * 7919));
    }
  }
  EXPECT_GT(refused, 0);
  // A Rice parameter past 31 and a count the bits cannot hold are refused by name.
  std::string bad_k = raw;
  bad_k[at + 10] = 40;
  EXPECT_FALSE(PartIndex::Parse(bad_k, kN / 40, "p", 0, kVersion5, kN).ok());
  std::string bad_count = raw;
  std::string c;
  log::PutFixed32(&c, static_cast<uint32_t>(size * 8));
  bad_count.replace(at + 2, 4, c);
  auto refused_count = PartIndex::Parse(bad_count, kN / 40, "p", 0, kVersion5, kN);
  ASSERT_FALSE(refused_count.ok());
  EXPECT_NE(refused_count.status().message().find("claims"), std::string::npos) << refused_count.status().message();
}

}  // namespace
}  // namespace apitrail::part
