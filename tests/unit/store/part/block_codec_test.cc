// Block layouts of a sealed part: both reproduce any record bytes exactly (protobuf records,
// JSON records, odd wire types, non-minimal varints, garbage), and a damaged block decodes
// to an error, never a crash.
#include <gtest/gtest.h>

#include <random>

#include "core/record_codec.h"
#include "store/part/block_codec.h"
#include "testutil/event_builder.h"

namespace apitrail::part {
namespace {

std::vector<std::string> Records() {
  std::vector<std::string> r;
  for (uint64_t i = 0; i < 50; ++i) r.push_back(EncodeRecord(testing::MakeEvent(i)));
  r.push_back(R"({"id":"x","time":"2026-01-01T00:00:00.000000000Z"})");  // a version 1 record
  r.push_back(std::string("\x09\x01\x02\x03\x04\x05\x06\x07\x08\x15\xaa\xbb\xcc\xdd", 14));  // fixed64, fixed32
  r.push_back(std::string("\x08\x80\x80\x00", 4));  // a non-minimal varint
  r.push_back(std::string("\x0b\x0c", 2));          // group wire types: kept whole
  r.push_back(std::string("\x0a\x05" "ab", 4));        // length past the end: kept whole
  r.push_back(std::string(1, '\0'));
  for (uint64_t i = 50; i < 60; ++i) r.push_back(EncodeRecord(testing::MakeEvent(i)));
  return r;
}

std::vector<std::string_view> Views(const std::vector<std::string>& r) { return {r.begin(), r.end()}; }

TEST(BlockCodecTest, BothLayoutsReproduceEveryByte) {
  const auto recs = Records();
  for (bool columns : {false, true}) {
    const std::string raw = columns ? EncodeColumns(Views(recs)) : EncodeRows(Views(recs));
    std::string out;
    std::vector<uint32_t> starts;
    Status st = columns ? DecodeColumns(raw, static_cast<uint32_t>(recs.size()), &out, &starts)
                        : DecodeRows(raw, static_cast<uint32_t>(recs.size()), &out, &starts);
    ASSERT_TRUE(st.ok()) << st.ToString();
    ASSERT_EQ(starts.size(), recs.size() + 1);
    for (size_t i = 0; i < recs.size(); ++i) {
      EXPECT_EQ(std::string_view(out).substr(starts[i], starts[i + 1] - starts[i]), recs[i]) << i;
    }
  }
}

TEST(BlockCodecTest, ColumnsGroupFieldsSoTheyCompressBetter) {
  std::vector<std::string> recs;
  for (uint64_t i = 0; i < 200; ++i) recs.push_back(EncodeRecord(testing::MakeEvent(i)));
  const std::string rows = EncodeRows(Views(recs));
  const std::string cols = EncodeColumns(Views(recs));
  // Shapes are stored once: the columns layout is smaller even before compression.
  EXPECT_LT(cols.size(), rows.size());
}

TEST(BlockCodecTest, DamagedBlocksAreErrorsNotCrashes) {
  const auto recs = Records();
  const std::string good = EncodeColumns(Views(recs));
  std::mt19937 rng(7);
  int truncations = 0, truncation_errors = 0;
  for (int round = 0; round < 3000; ++round) {
    std::string bad = good;
    if (round % 3 == 0) {
      bad.resize(rng() % bad.size());
    } else {
      for (int k = 0; k < 1 + round % 4; ++k) bad[rng() % bad.size()] ^= static_cast<char>(1 << (rng() % 8));
    }
    std::string out;
    std::vector<uint32_t> starts;
    const uint32_t count = static_cast<uint32_t>(recs.size() + (round % 5 == 0 ? 1 : 0));
    Status st = DecodeColumns(bad, count, &out, &starts);
    Status rows = DecodeRows(bad, count, &out, &starts);
    if (round % 3 == 0) {
      ++truncations;
      truncation_errors += !st.ok();
    }
    (void)rows;  // flipped payload bytes may decode: the block's CRC is what catches those
  }
  EXPECT_EQ(truncation_errors, truncations);  // a cut block never decodes
}

}  // namespace
}  // namespace apitrail::part
