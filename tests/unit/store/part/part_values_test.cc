// PartValues, a sealed part's table of recurring values (transform 8): which values it keeps
// and in what order, that it stays bounded, that its encoding round-trips and that a damaged
// one is an error; and transform 8 itself, with values missing from the table.
#include "store/part/part_values.h"

#include <gtest/gtest.h>

#include <random>

#include "core/ids.h"
#include "core/record_codec.h"
#include "store/part/part_index.h"
#include "store/part/stream_transform.h"
#include "testutil/event_builder.h"

namespace apitrail::part {
namespace {

std::string Stored(std::string_view data) {  // a value as a stream holds it: length varint, bytes
  std::string out;
  PutVarint(&out, data.size());
  out += data;
  return out;
}

std::string Record(const std::string& route, const std::string& ip, const std::string& path,
                   int64_t t) {
  AuditEvent e = testing::MakeEvent(1);
  e.route = route;
  e.client_ip = ip;
  e.path = path;
  e.time_ns = t;
  e.id = NewEventId(t);
  e.correlation_id = NewUuidV7(t);
  return EncodeRecord(e);
}

TEST(PartValuesTest, KeepsRecurringValuesMostFrequentFirst) {
  PartValues::Counter counter;
  for (int i = 0; i < 30; ++i) {
    const std::string route = i % 3 == 0 ? "GET /v1/a" : "GET /v1/b";  // b twice as often
    const std::string ip = i == 7 ? "10.0.0.9" : "10.0.0.1";           // .9 seen once
    counter.Add(Record(route, ip, "/v1/x/" + std::to_string(i), 1'700'000'000'000'000'000 + i));
  }
  const PartValues table = std::move(counter).Finish();
  using Values = std::vector<std::string_view>;
  const Values* routes = table.Field(11);
  ASSERT_NE(routes, nullptr);
  const std::string a = Stored("GET /v1/a"), b = Stored("GET /v1/b");
  EXPECT_EQ(*routes, (Values{b, a}));
  EXPECT_EQ(table.Code(11, Stored("GET /v1/b")), 1u);
  EXPECT_EQ(table.Code(11, Stored("GET /v1/a")), 2u);
  EXPECT_EQ(table.Code(11, Stored("GET /v1/c")), 0u);
  // A value seen once is left out; paths and UUIDs (ids, correlation ids) are never counted.
  ASSERT_NE(table.Field(14), nullptr);
  const std::string ip = Stored("10.0.0.1");
  EXPECT_EQ(*table.Field(14), Values{ip});
  EXPECT_EQ(table.Field(10), nullptr);
  EXPECT_EQ(table.Field(1), nullptr);
  EXPECT_EQ(table.Field(15), nullptr);
  // Every record has the same fields: one shape, its keys as a block's shape list stores them.
  ASSERT_NE(table.Field(PartValues::kShapes), nullptr);
  ASSERT_EQ(table.Field(PartValues::kShapes)->size(), 1u);
  const std::string rec = Record("GET /v1/a", "10.0.0.1", "/v1/x/1", 1'700'000'000'000'000'000);
  std::vector<WireField> fields;
  ASSERT_TRUE(SplitFields(rec, &fields));
  std::string keys;
  for (const WireField& f : fields) keys.append(f.key.data(), f.key.size());
  EXPECT_EQ(table.Field(PartValues::kShapes)->front(), Stored(keys));
  // Ties go in byte order; a table round-trips through its encoding (and keeps pointing
  // into its own copy when copied).
  PartValues::Counter ties;
  for (int i = 0; i < 2; ++i) {
    ties.Add(Record("GET /v1/z", "10.0.0.2", "/p", 1'700'000'000'000'000'000));
    ties.Add(Record("GET /v1/y", "10.0.0.2", "/p", 1'700'000'000'000'000'000));
  }
  const PartValues tied = std::move(ties).Finish();
  const std::string y = Stored("GET /v1/y"), z = Stored("GET /v1/z");
  EXPECT_EQ(*tied.Field(11), (Values{y, z}));

  auto decoded = PartValues::Decode(table.Encode());
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->Encode(), table.Encode());
  const PartValues copy = *decoded;
  decoded = PartValues::Decode(std::string(1, '\0'));
  EXPECT_EQ(*copy.Field(11), *routes);
  EXPECT_EQ(copy.Code(11, b), 0u);  // codes are the writer's
}

TEST(PartValuesTest, AFieldOfMostlyDistinctValuesIsDropped) {
  PartValues::Counter counter;
  for (size_t i = 0; i <= PartValues::kMaxValuesPerField + 10; ++i) {
    AuditEvent e = testing::MakeEvent(i);
    e.client_ip = "10." + std::to_string(i);  // a new value every record
    e.tenant = "acme";
    counter.Add(EncodeRecord(e));
  }
  const PartValues table = std::move(counter).Finish();
  EXPECT_EQ(table.Field(14), nullptr);
  ASSERT_NE(table.Field(20), nullptr);
  const std::string acme = Stored("acme");
  EXPECT_EQ(*table.Field(20), std::vector<std::string_view>{acme});
}

TEST(PartValuesTest, ADamagedTableIsAnError) {
  std::string good;
  PutVarint(&good, 2);
  PutVarint(&good, 11);
  PutVarint(&good, 1);
  good += Stored("GET /v1/a");
  PutVarint(&good, 14);
  PutVarint(&good, 2);
  good += Stored("10.0.0.1") + Stored("10.0.0.2");
  ASSERT_TRUE(PartValues::Decode(good).ok());
  EXPECT_FALSE(PartValues::Decode(good + "x").ok());                       // trailing bytes
  EXPECT_FALSE(PartValues::Decode(good.substr(0, good.size() - 1)).ok());  // cut short
  std::string unsorted = good;
  unsorted[1 + 1 + 1 + 10] = 11;  // the second field's number, now equal to the first's
  EXPECT_FALSE(PartValues::Decode(unsorted).ok());
  std::string empty_field;
  PutVarint(&empty_field, 1);
  PutVarint(&empty_field, 11);
  PutVarint(&empty_field, 0);
  EXPECT_FALSE(PartValues::Decode(empty_field).ok());
  std::string too_many;
  PutVarint(&too_many, 1);
  PutVarint(&too_many, 11);
  PutVarint(&too_many, PartValues::kMaxValuesPerField + 1);
  EXPECT_FALSE(PartValues::Decode(too_many).ok());
  EXPECT_FALSE(PartValues::Decode("\xff").ok());
  std::string high_field;
  PutVarint(&high_field, 1);
  PutVarint(&high_field, PartValues::kMaxFieldNumber + 1);
  PutVarint(&high_field, 1);
  high_field += Stored("x");
  EXPECT_FALSE(PartValues::Decode(high_field).ok());
  EXPECT_FALSE(PartValues::Decode(std::string(PartValues::kMaxRawBytes + 1, '\0')).ok());
  // Every cut of a good table is refused, and random damage never crashes (ASan checks).
  for (size_t n = 0; n < good.size(); ++n)
    EXPECT_FALSE(PartValues::Decode(good.substr(0, n)).ok()) << n;
  std::mt19937 rng(3);
  for (int round = 0; round < 2000; ++round) {
    std::string bad = good;
    bad[rng() % bad.size()] = static_cast<char>(rng());
    (void)PartValues::Decode(bad);
  }
}

TEST(PartValuesTest, CountingStaysWithinItsBudgetAndSamples) {
  // Distinct 1 KiB values, each seen twice: more than a reader takes in one table, so the
  // table stops at the reader's bound (and counting at its own budget).
  PartValues::Counter counter;
  const size_t fit = PartValues::Counter::kCountBudget / (1024 + 64);
  for (size_t i = 0; i < fit + 100; ++i) {
    AuditEvent e = testing::MakeEvent(i);
    e.user_agent = std::to_string(i) + std::string(1024 - std::to_string(i).size(), 'a');
    const std::string rec = EncodeRecord(e);
    counter.Add(rec);
    counter.Add(rec);
  }
  const PartValues table = std::move(counter).Finish();
  ASSERT_NE(table.Field(26), nullptr);
  EXPECT_LE(table.Encode().size(), PartValues::kMaxRawBytes);
  EXPECT_GT(table.Encode().size(), PartValues::kMaxRawBytes - 2 * 1030);
  EXPECT_TRUE(PartValues::Decode(table.Encode()).ok());
  // Sampling every 4th record: a value only in the other records is never counted.
  PartValues::Counter sampled(4);
  for (int i = 0; i < 40; ++i) {
    AuditEvent e = testing::MakeEvent(static_cast<uint64_t>(i));
    e.tenant = i % 4 == 0 ? "seen" : "unseen";
    sampled.Add(EncodeRecord(e));
  }
  const PartValues st = std::move(sampled).Finish();
  ASSERT_NE(st.Field(20), nullptr);
  const std::string seen = Stored("seen");
  EXPECT_EQ(*st.Field(20), std::vector<std::string_view>{seen});
}

TEST(PartValuesTest, PartDictCodesValuesAndKeepsTheOthersLiterally) {
  PartValues::Counter counter;
  for (int i = 0; i < 4; ++i)
    counter.Add(Record("GET /v1/a", "10.0.0.1", "/p", 1'700'000'000'000'000'000));
  const PartValues table = std::move(counter).Finish();
  const std::string values =
      Stored("GET /v1/a") + Stored("GET /v1/new") + Stored("GET /v1/a") + Stored("");
  std::string codes;
  ASSERT_TRUE(PartDictEncode(values, table, 11, &codes));
  EXPECT_EQ(codes, std::string("\x01", 1) + std::string("\x00", 1) + Stored("GET /v1/new") +
                       std::string("\x01\x00\x00", 3));
  std::string back;
  ASSERT_TRUE(PartDictDecode(codes, *table.Field(11), 1 << 20, &back));
  EXPECT_EQ(back, values);
  // Refused: a code past the table, a literal cut short, a result over the bound.
  EXPECT_FALSE(PartDictDecode(std::string("\x02", 1), *table.Field(11), 1 << 20, &back));
  EXPECT_FALSE(PartDictDecode(std::string("\x00\x05"
                                          "ab",
                                          4),
                              *table.Field(11), 1 << 20, &back));
  EXPECT_FALSE(PartDictDecode(codes, *table.Field(11), 10, &back));
  EXPECT_FALSE(PartDictEncode(std::string("\x05"
                                          "ab",
                                          3),
                              table, 11, &codes));  // not delimited
}

}  // namespace
}  // namespace apitrail::part
