// PartValues, a sealed part's table of recurring values (transform 8): which values it keeps
// and in what order, that it stays bounded, that its encoding round-trips and that a damaged
// one is an error; and transform 8 itself, with values missing from the table.
#include "store/part/part_values.h"

#include <gtest/gtest.h>

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

std::string Record(const std::string& route, const std::string& ip, const std::string& path, int64_t t) {
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
  const std::vector<std::string>* routes = table.Field(11);
  ASSERT_NE(routes, nullptr);
  EXPECT_EQ(*routes, (std::vector<std::string>{Stored("GET /v1/b"), Stored("GET /v1/a")}));
  EXPECT_EQ(table.Code(11, Stored("GET /v1/b")), 1u);
  EXPECT_EQ(table.Code(11, Stored("GET /v1/a")), 2u);
  EXPECT_EQ(table.Code(11, Stored("GET /v1/c")), 0u);
  // A value seen once is left out; paths and UUIDs (ids, correlation ids) are never counted.
  ASSERT_NE(table.Field(14), nullptr);
  EXPECT_EQ(*table.Field(14), std::vector<std::string>{Stored("10.0.0.1")});
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

  auto decoded = PartValues::Decode(table.Encode());
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->Encode(), table.Encode());
  EXPECT_EQ(*decoded->Field(11), *routes);
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
  EXPECT_EQ(*table.Field(20), std::vector<std::string>{Stored("acme")});
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
  EXPECT_FALSE(PartValues::Decode(good + "x").ok());                   // trailing bytes
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
}

TEST(PartValuesTest, PartDictCodesValuesAndKeepsTheOthersLiterally) {
  PartValues::Counter counter;
  for (int i = 0; i < 4; ++i) counter.Add(Record("GET /v1/a", "10.0.0.1", "/p", 1'700'000'000'000'000'000));
  const PartValues table = std::move(counter).Finish();
  const std::string values = Stored("GET /v1/a") + Stored("GET /v1/new") + Stored("GET /v1/a") + Stored("");
  std::string codes;
  ASSERT_TRUE(PartDictEncode(values, table, 11, &codes));
  EXPECT_EQ(codes, std::string("\x01", 1) + std::string("\x00", 1) + Stored("GET /v1/new") +
                       std::string("\x01\x00\x00", 3));
  std::string back;
  ASSERT_TRUE(PartDictDecode(codes, *table.Field(11), 1 << 20, &back));
  EXPECT_EQ(back, values);
  // Refused: a code past the table, a literal cut short, a result over the bound.
  EXPECT_FALSE(PartDictDecode(std::string("\x02", 1), *table.Field(11), 1 << 20, &back));
  EXPECT_FALSE(PartDictDecode(std::string("\x00\x05" "ab", 4), *table.Field(11), 1 << 20, &back));
  EXPECT_FALSE(PartDictDecode(codes, *table.Field(11), 10, &back));
  EXPECT_FALSE(PartDictEncode(std::string("\x05" "ab", 3), table, 11, &codes));  // not delimited
}

}  // namespace
}  // namespace apitrail::part
