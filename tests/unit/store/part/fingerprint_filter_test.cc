// The in-memory Bloom filter over a part-index table's fingerprints: it never rules out a
// fingerprint that was added, and rules out most others; and the part index it guards still
// finds every key and refuses a table whose entry count cannot fit its bytes.
#include "store/part/fingerprint_filter.h"

#include <gtest/gtest.h>

#include <random>
#include <set>
#include <string>

#include "core/status.h"
#include "store/log/coding.h"
#include "store/part/part_index.h"
#include "testutil/event_builder.h"

namespace apitrail::part {
namespace {

TEST(FingerprintFilterTest, NeverRulesOutAnAddedFingerprintAndRulesOutMostOthers) {
  std::mt19937 rng(7);
  std::set<uint32_t> added;
  FingerprintFilter f(20000);
  while (added.size() < 20000) {
    const uint32_t v = rng() >> 6;  // 26-bit fingerprints, as for ~1M keys
    if (added.insert(v).second) f.Add(v);
  }
  for (uint32_t v : added) EXPECT_TRUE(f.MayContain(v)) << v;
  int passed = 0, asked = 0;
  while (asked < 100000) {
    const uint32_t v = rng() >> 6;
    if (added.count(v) != 0) continue;
    ++asked;
    passed += f.MayContain(v);
  }
  // 8 bits per key and 4 probes in a cache line: ~3%.
  EXPECT_LT(passed, asked * 5 / 100);
  EXPECT_GT(passed, 0);
  EXPECT_EQ(f.memory_bytes(), (20000u * 8 + 511) / 512 * 64);
}

TEST(FingerprintFilterTest, AnEmptyFilterPassesEverything) {
  FingerprintFilter f;
  EXPECT_TRUE(f.empty());
  EXPECT_TRUE(f.MayContain(0));
  EXPECT_TRUE(f.MayContain(12345));
}

std::string IndexOf(uint64_t events) {
  PartIndexBuilder b;
  for (uint64_t i = 0; i < events; ++i) b.Add(static_cast<uint32_t>(i / 50), testing::MakeEvent(i));
  return b.Serialize(kVersion2);
}

TEST(FingerprintFilterTest, TheIndexStillFindsEveryKeyAndTheFilterRulesOutMostAbsentKeys) {
  const std::string raw = IndexOf(5000);
  auto idx = PartIndex::Parse(raw, 100, "p", 0, kVersion2);
  ASSERT_TRUE(idx.ok()) << idx.status().ToString();
  for (uint64_t i = 0; i < 5000; ++i) {
    const auto got = idx->Blocks(Field::kId, testing::MakeEvent(i).id);
    EXPECT_NE(std::find(got.begin(), got.end(), i / 50), got.end()) << i;
  }
  // Absent keys: most are ruled out by the filter, before any search. (Those it lets
  // through are then searched; ~1 in 100 shares a stored key's 19-bit fingerprint and names
  // a block, refuted on the record as before.)
  int passed = 0;
  for (int k = 0; k < 5000; ++k) {
    const std::string absent = "absent-" + std::to_string(k);
    passed += idx->MayHave(Field::kId, KeyHash(Field::kId, absent));
  }
  EXPECT_LT(passed, 5000 * 6 / 100);
  for (uint64_t i = 0; i < 5000; i += 7) {
    EXPECT_TRUE(idx->MayHave(Field::kId, KeyHash(Field::kId, testing::MakeEvent(i).id))) << i;
  }
  // Tables below 64 keys have no filter: it would cost more than their search.
  EXPECT_TRUE(idx->MayHave(Field::kDecision, KeyHash(Field::kDecision, "no-such-decision")));
}

TEST(FingerprintFilterTest, ATableClaimingMoreEntriesThanItsBytesHoldIsCorruption) {
  std::string raw = IndexOf(200);
  // Field 1's head: fixed32 field count, then tag, bits, fixed32 count, fixed32 size.
  ASSERT_EQ(raw[4], 1);
  std::string bad = raw;
  const uint32_t size = log::DecodeFixed32(bad.data() + 10);
  std::string count;
  log::PutFixed32(&count, size / 3 + 1);
  bad.replace(6, 4, count);
  auto idx = PartIndex::Parse(bad, 100, "part-x", 4096, kVersion2);
  ASSERT_FALSE(idx.ok());
  EXPECT_EQ(idx.status().code(), StatusCode::kCorruption);
  EXPECT_NE(idx.status().message().find("claims"), std::string::npos) << idx.status().message();
  EXPECT_NE(idx.status().message().find("part-x"), std::string::npos) << idx.status().message();
}

}  // namespace
}  // namespace apitrail::part
