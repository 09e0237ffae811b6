// The stream transforms of sealed parts' column streams: which values qualify, and that
// each (UUID byte planes, the distinct-value table) is exactly undone (docs/FORMAT.md,
// version 2 parts).
#include "store/part/stream_transform.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "core/ids.h"
#include "store/part/part_index.h"

namespace apitrail::part {
namespace {

std::string Value(const std::string& uuid) { return std::string(1, '\x24') + uuid; }

TEST(StreamTransformTest, OnlyCanonicalLowercaseUuidsQualify) {
  const std::string good = "01890a5d-ac96-774b-bcce-b302099a8057";
  EXPECT_TRUE(IsCanonicalUuid(Value(good)));
  EXPECT_FALSE(IsCanonicalUuid(good));                   // no length byte
  EXPECT_FALSE(IsCanonicalUuid(Value(good + "0")));      // too long
  EXPECT_FALSE(IsCanonicalUuid(Value(good.substr(1))));  // too short
  EXPECT_FALSE(IsCanonicalUuid("\x23" + good));          // wrong length byte
  for (size_t i = 0; i < good.size(); ++i) {
    for (char c : {'A', 'F', 'g', '-', '0', ' ', '\xff'}) {
      std::string v = good;
      v[i] = c;
      const bool dash_slot = i == 8 || i == 13 || i == 18 || i == 23;
      const bool expected = dash_slot ? c == '-' : (c == '0' || c == 'f' || (c >= 'a' && c <= 'f'));
      EXPECT_EQ(IsCanonicalUuid(Value(v)), expected) << i << " " << c;
    }
  }
}

TEST(StreamTransformTest, PackedPlanesUnpackToTheValues) {
  std::string values;
  for (int i = 0; i < 100; ++i) values += Value(NewUuidV7(1700000000000000000 + i * 1000000));
  values += Value("00000000-0000-0000-0000-000000000000");
  values += Value("ffffffff-ffff-ffff-ffff-ffffffffffff");
  const std::string planes = PackUuids(values);
  ASSERT_EQ(planes.size(), 102u * 16);
  // Bytes 0..5 (the v7 millisecond time) of every value come first, together.
  EXPECT_EQ(static_cast<unsigned char>(planes[0]), 0x01);
  EXPECT_EQ(static_cast<unsigned char>(planes[1]), 0x8b);
  EXPECT_EQ(planes.substr(101 * 6, 6), std::string(6, '\xff'));
  std::string out;
  ASSERT_TRUE(UnpackUuids(planes, 1 << 20, &out));
  EXPECT_EQ(out, values);
  EXPECT_FALSE(UnpackUuids(planes.substr(1), 1 << 20, &out));
}

TEST(StreamTransformTest, UuidTailsWithTheirTimesUnpackToTheValues) {
  std::string values;
  std::vector<uint64_t> ms;
  for (int i = 0; i < 50; ++i) {
    const int64_t t = 1700000000000000000 + int64_t{i} * 987654321;
    values += Value(NewUuidV7(t));
    ms.push_back(static_cast<uint64_t>(t / 1000000));
  }
  for (size_t v = 0; v < ms.size(); ++v)
    EXPECT_EQ(UuidTimeMs(std::string_view(values).substr(v * 37, 37)), ms[v]);
  EXPECT_EQ(UuidTimeMs(Value("ffffffff-ffff-7fff-bfff-ffffffffffff")), 0xffffffffffffull);
  const std::string tails = PackUuidTails(values);
  ASSERT_EQ(tails.size(), 50u * 10);
  std::string out;
  ASSERT_TRUE(UnpackUuidTails(tails, ms, 1 << 20, &out));
  EXPECT_EQ(out, values);
  // Sizes that disagree, a time past 48 bits, the output bound.
  EXPECT_FALSE(UnpackUuidTails(tails.substr(10), ms, 1 << 20, &out));
  std::vector<uint64_t> big = ms;
  big[3] = uint64_t{1} << 48;
  EXPECT_FALSE(UnpackUuidTails(tails, big, 1 << 20, &out));
  EXPECT_FALSE(UnpackUuidTails(tails, ms, 50 * 37 - 1, &out));
}

TEST(StreamTransformTest, UuidTailDeltasDecodeToTheTails) {
  // Event ids of one process (a counter in the last 4 bytes): about 2 bytes per value.
  std::string counted, random;
  for (int i = 0; i < 50; ++i) {
    const int64_t t = 1700000000000000000 + int64_t{i} * 987654321;
    counted += Value(NewEventId(t));
    random += Value(NewUuidV7(t));
  }
  for (const std::string* values : {&counted, &random}) {
    const std::string tails = PackUuidTails(*values);
    const std::string deltas = DeltaEncodeUuidTails(tails);
    std::string out;
    ASSERT_TRUE(DeltaDecodeUuidTails(deltas, 1 << 20, &out));
    EXPECT_EQ(out, tails);
    if (values == &counted) {
      EXPECT_LE(deltas.size(), 50u * 3 + 8);  // the first value in full
    }
  }
  // The extremes: 16-bit and 64-bit wrap-around both ways, equal neighbours.
  std::string edges = std::string(10, '\0') + std::string(10, '\xff') + std::string(10, '\0') +
                      std::string(10, '\0') + std::string("\x80\x00\x80\x00\x00\x00\x00\x00\x00\x01", 10);
  std::string out;
  ASSERT_TRUE(DeltaDecodeUuidTails(DeltaEncodeUuidTails(edges), 1 << 20, &out));
  EXPECT_EQ(out, edges);
  EXPECT_TRUE(DeltaDecodeUuidTails("", 0, &out));
  EXPECT_TRUE(out.empty());
  // A value cut short, a 16-bit part below 0 or past 65535, the output bound.
  const std::string deltas = DeltaEncodeUuidTails(PackUuidTails(counted));
  EXPECT_FALSE(DeltaDecodeUuidTails(deltas.substr(0, deltas.size() - 1), 1 << 20, &out));
  EXPECT_FALSE(DeltaDecodeUuidTails(std::string("\x01\x00", 2), 1 << 20, &out));        // h = -1
  EXPECT_FALSE(DeltaDecodeUuidTails(std::string("\x80\x80\x08\x00", 4), 1 << 20, &out));  // h = 65536
  EXPECT_TRUE(DeltaDecodeUuidTails(std::string("\xfe\xff\x07\x00", 4), 1 << 20, &out));   // h = 65535
  EXPECT_FALSE(DeltaDecodeUuidTails(deltas, 50 * 10 - 1, &out));
  EXPECT_TRUE(DeltaDecodeUuidTails(deltas, 50 * 10, &out));
}

// A version 4 UUID from a seeded generator: what a client sends as its request id.
std::string RandomV4(std::mt19937_64& rng) {
  uint8_t b[16];
  for (int i = 0; i < 16; i += 8) {
    const uint64_t r = rng();
    for (int j = 0; j < 8; ++j) b[i + j] = static_cast<uint8_t>(r >> (8 * j));
  }
  b[6] = static_cast<uint8_t>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<uint8_t>((b[8] & 0x3f) | 0x80);
  char text[36];
  FormatUuid(b, text);
  return Value(std::string(text, 36));
}

TEST(StreamTransformTest, OnlyVersionFourUuidsOfVariantTenQualifyForTheirRandomBits) {
  EXPECT_TRUE(IsUuidV4(Value("0f0e0d0c-0b0a-4908-8706-050403020100")));
  for (char variant : {'8', '9', 'a', 'b'}) {
    EXPECT_TRUE(IsUuidV4(Value(std::string("0f0e0d0c-0b0a-4908-") + variant + "706-050403020100")));
  }
  for (char variant : {'0', '7', 'c', 'f'}) {
    EXPECT_FALSE(IsUuidV4(Value(std::string("0f0e0d0c-0b0a-4908-") + variant + "706-050403020100")));
  }
  EXPECT_FALSE(IsUuidV4(Value("0f0e0d0c-0b0a-7908-8706-050403020100")));  // version 7
  EXPECT_FALSE(IsUuidV4(Value("0f0e0d0c-0b0a-3908-8706-050403020100")));  // version 3
}

TEST(StreamTransformTest, VersionFourUuidsKeepOnly122BitsEachAndUnpackExactly) {
  std::mt19937_64 rng(7);
  // Every count up to 8 ends the last value at another bit of its byte.
  for (size_t n = 0; n <= 9; ++n) {
    std::string values;
    for (size_t i = 0; i < n; ++i) values += RandomV4(rng);
    if (n == 9) {  // the extremes of the random bits
      values += Value("00000000-0000-4000-8000-000000000000");
      values += Value("ffffffff-ffff-4fff-bfff-ffffffffffff");
    }
    const size_t count = values.size() / 37;
    const std::string bits = PackUuidV4s(values);
    ASSERT_EQ(bits.size(), (count * 122 + 7) / 8) << n;
    std::string out;
    ASSERT_TRUE(UnpackUuidV4s(bits, 1 << 20, &out)) << n;
    EXPECT_EQ(out, values) << n;
  }
  std::string values;
  for (int i = 0; i < 5; ++i) values += RandomV4(rng);
  const std::string bits = PackUuidV4s(values);  // 610 bits: the last byte uses 2
  std::string out;
  EXPECT_FALSE(UnpackUuidV4s(bits.substr(1), 1 << 20, &out));  // not ⌈122 n / 8⌉ bytes
  EXPECT_FALSE(UnpackUuidV4s(bits + "x", 1 << 20, &out));
  std::string padded = bits;
  padded.back() = static_cast<char>(padded.back() | 1);  // a padding bit set
  EXPECT_FALSE(UnpackUuidV4s(padded, 1 << 20, &out));
  EXPECT_FALSE(UnpackUuidV4s(bits, 5 * 37 - 1, &out));  // the output bound
  EXPECT_TRUE(UnpackUuidV4s(bits, 5 * 37, &out));
}

TEST(StreamTransformTest, DeltasInSeqOrderDecodeToTheValuesInTheirOwnOrder) {
  // Times of a block sorted by subject: each a few seconds after the previous seq's.
  std::mt19937_64 rng(11);
  std::vector<uint32_t> rels;
  for (uint32_t r = 0; r < 200; ++r) rels.push_back(r * 37 % 211);
  std::shuffle(rels.begin(), rels.end(), rng);
  std::vector<uint64_t> times(rels.size());
  for (size_t i = 0; i < rels.size(); ++i) {
    times[i] = 1'760'000'000'000'000'000 + uint64_t{rels[i]} * 17'000'000'000 + rng() % 1'000'000'000;
  }
  const std::string by_seq = DeltaEncodeBySeq(times, rels);
  const std::string by_record = DeltaEncode(times);
  EXPECT_LT(by_seq.size() + 100, by_record.size());  // most of a byte a value
  std::string out, expected;
  for (uint64_t t : times) PutVarint(&expected, t);
  ASSERT_TRUE(DeltaDecodeBySeq(by_seq, rels, 1 << 20, &out));
  EXPECT_EQ(out, expected);
  const size_t decoded_bytes = expected.size();

  // Ties, a value below the previous one, 0 and 2^64 - 1, one value, none.
  const std::vector<uint32_t> odd_rels = {5, 5, 1, 9, 5, 0};
  const std::vector<uint64_t> odd = {7, 3, UINT64_MAX, 0, 1ull << 40, 12};
  expected.clear();
  for (uint64_t v : odd) PutVarint(&expected, v);
  ASSERT_TRUE(DeltaDecodeBySeq(DeltaEncodeBySeq(odd, odd_rels), odd_rels, 1 << 20, &out));
  EXPECT_EQ(out, expected);
  for (const std::vector<uint64_t>& few : {std::vector<uint64_t>{42}, std::vector<uint64_t>{}}) {
    const std::vector<uint32_t> few_rels(few.size(), 3);
    expected.clear();
    for (uint64_t v : few) PutVarint(&expected, v);
    ASSERT_TRUE(DeltaDecodeBySeq(DeltaEncodeBySeq(few, few_rels), few_rels, 1 << 20, &out));
    EXPECT_EQ(out, expected);
  }

  // Another count of values, bytes cut or left over, a set padding bit, k past 62, the bound.
  std::vector<uint32_t> fewer = rels;
  fewer.pop_back();
  EXPECT_FALSE(DeltaDecodeBySeq(by_seq, fewer, 1 << 20, &out));
  EXPECT_FALSE(DeltaDecodeBySeq(by_seq.substr(0, by_seq.size() - 1), rels, 1 << 20, &out));
  EXPECT_FALSE(DeltaDecodeBySeq(by_seq + '\0', rels, 1 << 20, &out));
  EXPECT_FALSE(DeltaDecodeBySeq("", rels, 1 << 20, &out));
  std::string bad_k = by_seq;
  bad_k[0] = 63;
  EXPECT_FALSE(DeltaDecodeBySeq(bad_k, rels, 1 << 20, &out));
  const std::vector<uint32_t> three = {0, 1, 2};
  const std::string small = DeltaEncodeBySeq({100, 1100, 2100}, three);  // k = 9: 27 bits
  ASSERT_EQ(static_cast<int>(small[0]), 9);
  std::string padded = small;
  padded.back() = static_cast<char>(padded.back() | 1);
  EXPECT_FALSE(DeltaDecodeBySeq(padded, three, 1 << 20, &out));
  EXPECT_FALSE(DeltaDecodeBySeq(by_seq, rels, decoded_bytes - 1, &out));
  EXPECT_TRUE(DeltaDecodeBySeq(by_seq, rels, decoded_bytes, &out));
}

TEST(StreamTransformTest, SplitValuesKeepTheirLowBitsAsBitsAndDecodeExactly) {
  // Durations in µs, log-normal: the low bits are noise, the high parts a few values.
  std::mt19937_64 rng(13);
  std::lognormal_distribution<double> latency(9.5, 0.8);
  std::vector<uint64_t> durations;
  for (int i = 0; i < 200; ++i) durations.push_back(static_cast<uint64_t>(latency(rng)));
  double split_est = 0, plain_est = 0;
  const int k = ChooseSplitBits(durations, &split_est, &plain_est);
  EXPECT_GT(k, 4);
  EXPECT_LT(split_est, plain_est * 0.95);
  // Small repeated values (statuses): left as they are.
  const std::vector<uint64_t> statuses(150, 200);
  EXPECT_EQ(ChooseSplitBits(statuses, &split_est, &plain_est), 0);

  auto round_trip = [](const std::vector<uint64_t>& values, int bits) {
    std::string expected, out;
    for (uint64_t v : values) PutVarint(&expected, v);
    const std::string split = SplitEncode(values, bits);
    EXPECT_TRUE(SplitDecode(split, 1 << 20, &out)) << bits;
    EXPECT_EQ(out, expected) << bits;
    return split;
  };
  round_trip(durations, k);
  for (int bits : {0, 1, 7, 8, 9, 63}) round_trip({0, 1, UINT64_MAX, 12345, uint64_t{1} << 62}, bits);
  round_trip({}, 5);

  const std::string split = round_trip(durations, k);
  std::string out, expected;
  for (uint64_t v : durations) PutVarint(&expected, v);
  EXPECT_FALSE(SplitDecode(split.substr(0, split.size() - 1), 1 << 20, &out));  // cut
  EXPECT_FALSE(SplitDecode(split + '\0', 1 << 20, &out));                       // left over
  EXPECT_FALSE(SplitDecode("", 1 << 20, &out));
  std::string bad_k = split;
  bad_k[0] = 64;
  EXPECT_FALSE(SplitDecode(bad_k, 1 << 20, &out));
  std::string many = split.substr(0, 1);
  PutVarint(&many, uint64_t{1} << 40);  // a count past the bytes: refused before allocating
  EXPECT_FALSE(SplitDecode(many + std::string(8, '\0'), 1 << 20, &out));
  const std::string odd = SplitEncode({5, 6, 7}, 3);  // 9 bits: a padding bit to set
  std::string padded = odd;
  padded.back() = static_cast<char>(padded.back() | 1);
  EXPECT_FALSE(SplitDecode(padded, 1 << 20, &out));
  EXPECT_FALSE(SplitDecode(split, expected.size() - 1, &out));
  EXPECT_TRUE(SplitDecode(split, expected.size(), &out));
}

// A KeyValue message as a record stores it: length, then key = 1 and value = 2 (empty omitted).
std::string KeyValue(const std::string& k, const std::string& v) {
  std::string m;
  if (!k.empty()) m += std::string(1, '\x0a') + static_cast<char>(k.size()) + k;
  if (!v.empty()) m += std::string(1, '\x12') + static_cast<char>(v.size()) + v;
  return static_cast<char>(m.size()) + m;
}

TEST(StreamTransformTest, ARouteFilledWithItsResourcesGivesThePath) {
  const std::string a = KeyValue("org_id", "42"), b = KeyValue("user_id", "u-7"),
                    empty = KeyValue("x", "");
  std::string path;
  ASSERT_TRUE(FillRouteTemplate("GET /v1/orgs/{org_id}/users/{user_id}", {a, b}, &path));
  EXPECT_EQ(path, "/v1/orgs/42/users/u-7");
  ASSERT_TRUE(FillRouteTemplate("POST /v1/orders", {}, &path));
  EXPECT_EQ(path, "/v1/orders");
  ASSERT_TRUE(FillRouteTemplate("GET /a/{x}/b", {empty}, &path));
  EXPECT_EQ(path, "/a//b");
  EXPECT_FALSE(FillRouteTemplate("GET /v1/orgs/{org_id}/users/{user_id}", {b, a}, &path));  // order
  EXPECT_FALSE(FillRouteTemplate("GET /v1/orgs/{org_id}", {a, b}, &path));  // one too many
  EXPECT_FALSE(
      FillRouteTemplate("GET /v1/orgs/{org_id}/users/{user_id}", {a}, &path));  // one too few
  EXPECT_FALSE(FillRouteTemplate("/v1/orgs/{org_id}", {a}, &path));             // no method
  EXPECT_FALSE(FillRouteTemplate("GET /v1/orgs/{org_id", {a}, &path));          // unclosed
  EXPECT_FALSE(
      FillRouteTemplate("GET /v1/{org_id}", {std::string("\x03\x1a\x01z", 4)}, &path));  // field 3
  EXPECT_FALSE(
      FillRouteTemplate("GET /v1/{org_id}", {a.substr(0, a.size() - 1)}, &path));  // cut short
  const std::string key_twice = std::string("\x09\x0a\x01" "a\x0a\x01" "b\x12\x01" "7", 10);
  EXPECT_FALSE(FillRouteTemplate("GET /x/{b}", {key_twice}, &path));  // a field twice
}

std::string Delimited(const std::string& v) {
  return std::string(1, static_cast<char>(v.size())) + v;
}

TEST(StreamTransformTest, DictionaryKeepsEachDistinctValueOnceAndDecodesExactly) {
  std::string values;
  const std::vector<std::string> routes = {"GET /v1/orders/{order_id}", "POST /v1/orders", "",
                                           "GET /v1/users/{id}"};
  for (int i = 0; i < 200; ++i) values += Delimited(routes[(i * 7 + i / 3) % routes.size()]);
  std::string dict;
  ASSERT_TRUE(DictEncode(values, &dict));
  // 4 distinct values (one of them empty), then 200 one-byte indices.
  size_t table = 1;
  for (const auto& r : routes) table += 1 + r.size();
  EXPECT_EQ(dict.size(), table + 200);
  EXPECT_EQ(static_cast<unsigned char>(dict[0]), 4u);
  std::string out;
  ASSERT_TRUE(DictDecode(dict, 1 << 20, &out));
  EXPECT_EQ(out, values);
  // The decoder's bound holds.
  EXPECT_FALSE(DictDecode(dict, values.size() - 1, &out));
  EXPECT_TRUE(DictDecode(dict, values.size(), &out));
}

TEST(StreamTransformTest, DictionaryRefusesWhatItCannotReproduce) {
  std::string dict;
  EXPECT_FALSE(DictEncode("", &dict));  // no value
  EXPECT_FALSE(DictEncode(std::string("\x05"
                                      "abc",
                                      4),
                          &dict));  // a value runs past the end
  std::string out;
  ASSERT_TRUE(DictEncode(Delimited("a") + Delimited("b") + Delimited("a"), &dict));
  ASSERT_EQ(dict, std::string("\x02\x01"
                              "a"
                              "\x01"
                              "b"
                              "\x00\x01\x00",
                              8));
  EXPECT_FALSE(DictDecode(std::string("\x02\x01"
                                      "a"
                                      "\x01"
                                      "b"
                                      "\x02",
                                      6),
                          100, &out));                          // index 2 of 2
  EXPECT_FALSE(DictDecode(std::string("\x00", 1), 100, &out));  // no values
  EXPECT_FALSE(DictDecode(std::string("\x09\x01"
                                      "a",
                                      3),
                          100, &out));  // 9 values promised
  EXPECT_FALSE(DictDecode(std::string("\x01\x05"
                                      "ab",
                                      4),
                          100, &out));  // value cut short
  EXPECT_FALSE(DictDecode(std::string("\x01\x01"
                                      "a"
                                      "\x80",
                                      4),
                          100, &out));  // index varint cut
}

}  // namespace
}  // namespace apitrail::part
