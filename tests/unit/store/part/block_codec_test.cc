// Block layouts of a sealed part: both reproduce any record bytes exactly (protobuf records,
// JSON records, odd wire types, non-minimal varints, garbage), and a damaged block decodes
// to an error, never a crash.
#include "store/part/block_codec.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "core/ids.h"
#include "core/record_codec.h"
#include "store/log/log_format.h"
#include "store/part/part_index.h"
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

// Every third round cuts the block short, the others flip one to four bits.
std::string Damaged(const std::string& good, int round, std::mt19937& rng) {
  std::string bad = good;
  if (round % 3 == 0) {
    bad.resize(rng() % bad.size());
  } else {
    for (int k = 0; k < 1 + round % 4; ++k) bad[rng() % bad.size()] ^= static_cast<char>(1 << (rng() % 8));
  }
  return bad;
}

TEST(BlockCodecTest, DamagedBlocksAreErrorsNotCrashes) {
  const auto recs = Records();
  const std::string good = EncodeColumns(Views(recs));
  std::mt19937 rng(7);
  int truncations = 0, truncation_errors = 0;
  for (int round = 0; round < 3000; ++round) {
    const std::string bad = Damaged(good, round, rng);
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

// Version 2 blocks (codec 3): the records' seqs, then columns with per-stream transforms.
std::vector<uint32_t> Rels(size_t n) {
  std::vector<uint32_t> rels;
  for (size_t i = 0; i < n; ++i) rels.push_back(static_cast<uint32_t>((i * 7919) % (n + 13)));  // not in order
  return rels;
}

void ExpectSeqColumnsRoundTrip(const std::vector<std::string>& recs) {
  const std::vector<uint32_t> rels = Rels(recs.size());
  const std::string raw = EncodeSeqColumns(Views(recs), rels);
  std::string out;
  std::vector<uint32_t> starts, got_rels;
  Status st = DecodeSeqColumns(raw, static_cast<uint32_t>(recs.size()), recs.size() + 13, &out, &starts, &got_rels);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(got_rels, rels);
  ASSERT_EQ(starts.size(), recs.size() + 1);
  for (size_t i = 0; i < recs.size(); ++i) {
    EXPECT_EQ(std::string_view(out).substr(starts[i], starts[i + 1] - starts[i]), recs[i]) << i;
  }
}

TEST(BlockCodecTest, SeqColumnsReproduceEveryByteAndEverySeq) { ExpectSeqColumnsRoundTrip(Records()); }

// The same with a value table counted over the records (each twice, so every value and
// shape is in it), decoded from its encoding as a reader has it.
void ExpectSeqColumnsRoundTripWithTable(const std::vector<std::string>& recs) {
  PartValues::Counter counter;
  for (int twice = 0; twice < 2; ++twice) {
    for (const std::string& r : recs) counter.Add(r);
  }
  const PartValues written = std::move(counter).Finish();
  auto table = PartValues::Decode(written.Encode());
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  const std::vector<uint32_t> rels = Rels(recs.size());
  const std::string raw = EncodeSeqColumns(Views(recs), rels, &written);
  std::string out;
  std::vector<uint32_t> starts, got_rels;
  Status st = DecodeSeqColumns(raw, static_cast<uint32_t>(recs.size()), recs.size() + 13, &out, &starts, &got_rels,
                               &*table);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(got_rels, rels);
  ASSERT_EQ(starts.size(), recs.size() + 1);
  for (size_t i = 0; i < recs.size(); ++i) {
    EXPECT_EQ(std::string_view(out).substr(starts[i], starts[i + 1] - starts[i]), recs[i]) << i;
  }
}

TEST(BlockCodecTest, SeqColumnsWithAValueTableReproduceEveryByte) {
  // Odd records too (non-minimal varints, fixed widths, records kept whole): their shapes
  // and values go through the table's codes.
  ExpectSeqColumnsRoundTripWithTable(Records());
}

TEST(BlockCodecTest, BlocksThatWouldCostTheDecoderFarMoreThanTheirSizeAreRefused) {
  std::string out;
  std::vector<uint32_t> starts, rels;
  // More shapes than records.
  std::string many_shapes = std::string(2, '\0') + '\x03' + std::string("\x01\x08\x01\x08\x01\x08", 6);
  Status st = DecodeSeqColumns(many_shapes, 2, 2, &out, &starts, &rels);
  EXPECT_NE(st.message().find("bad shape count"), std::string::npos) << st.message();
  // 1,000 empty uuid-time streams: each would be walked for every record.
  std::string empty_streams = std::string(1, '\0') + "\x01\x02\x10\x0a" + "\x01" + '\0';
  PutVarint(&empty_streams, 1001);
  empty_streams += std::string("\x02\x00\x00", 3);  // field 2: plain, empty
  for (uint64_t f = 3; f < 1003; ++f) {
    PutVarint(&empty_streams, f);
    empty_streams += std::string("\x04\x00", 2);
  }
  st = DecodeSeqColumns(empty_streams, 1, 1, &out, &starts, &rels);
  EXPECT_NE(st.message().find("empty transformed stream"), std::string::npos) << st.message();
  // A shape in the part's table longer than any record, named by the block's one shape.
  std::string long_shape;
  PutVarint(&long_shape, 1);
  PutVarint(&long_shape, PartValues::kShapes);
  PutVarint(&long_shape, 1);
  const std::string keys(log::kMaxPayloadSize + 1, '\x18');
  PutVarint(&long_shape, keys.size());
  long_shape += keys;
  auto table = PartValues::Decode(long_shape);
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  const std::string coded = std::string(1, '\0') + "\x01" + std::string("\x00\x01", 2) + "\x01" + '\0' + '\0';
  st = DecodeSeqColumns(coded, 1, 1, &out, &starts, &rels, &*table);
  EXPECT_NE(st.message().find("shape longer than a record"), std::string::npos) << st.message();
}

TEST(BlockCodecTest, UuidAndDeltaTransformsApplyOnlyWhereTheyAreExact) {
  // Ids: canonical lowercase UUIDs (packed to 16 bytes) in one block; in another an
  // uppercase one, which must keep its stream plain and still round-trip.
  std::vector<std::string> uuids, mixed;
  for (uint64_t i = 0; i < 100; ++i) {
    AuditEvent e = testing::MakeEvent(i);
    e.correlation_id = "3f2c5a1e-9b7d-4c2a-8e1f-" + std::string(12 - std::to_string(i).size(), '0') + std::to_string(i);
    uuids.push_back(EncodeRecord(e));
    if (i == 50) e.correlation_id = "3F2C5A1E-9B7D-4C2A-8E1F-000000000050";
    if (i == 51) e.correlation_id = "3f2c5a1e-9b7d-4c2a-8e1f-00000000005";  // 35 characters
    mixed.push_back(EncodeRecord(e));
  }
  ExpectSeqColumnsRoundTrip(uuids);
  ExpectSeqColumnsRoundTrip(mixed);
  // 100 ids and 100 correlation ids at 16 bytes instead of 37: > 3 KiB less before zstd.
  const std::string packed = EncodeSeqColumns(Views(uuids), Rels(100));
  EXPECT_LT(packed.size() + 3000, EncodeColumns(Views(uuids)).size() + 100 * 2);
  EXPECT_LT(packed.size(), EncodeSeqColumns(Views(mixed), Rels(100)).size());
  // Times in ascending order are delta-coded; a non-minimal varint time keeps the stream
  // plain (its bytes are reproduced as they were).
  std::vector<std::string> times = uuids;
  times[10] = std::string("\x10\x80\x80\x00", 4);  // field 2 (time_ns), a non-minimal 0
  ExpectSeqColumnsRoundTrip(times);
}

TEST(BlockCodecTest, RepeatedStringsAreStoredOnceEachAndRoundTrip) {
  // 200 records over 3 routes and 2 user agents: those streams become tables of distinct
  // values with an index per record, far smaller before zstd; unique paths stay plain.
  std::vector<std::string> recs;
  for (uint64_t i = 0; i < 200; ++i) {
    AuditEvent e = testing::MakeEvent(i);
    e.route = i % 3 == 0   ? "GET /api/v1/projects/{project_id}/members"
              : i % 3 == 1 ? "POST /api/v1/orders"
                           : "";
    e.user_agent = i % 2 ? "Mozilla/5.0 (X11; Linux x86_64; rv:131.0) Gecko/20100101 Firefox/131.0"
                         : "curl/8.5.0";
    e.path = "/api/v1/projects/" + std::to_string(i * 7919) + "/members";
    recs.push_back(EncodeRecord(e));
  }
  ExpectSeqColumnsRoundTrip(recs);
  const std::string raw = EncodeSeqColumns(Views(recs), Rels(recs.size()));
  size_t route_bytes = 0, agent_bytes = 0;
  for (uint64_t i = 0; i < 200; ++i) {
    route_bytes += i % 3 == 0 ? 41 : i % 3 == 1 ? 19 : 0;
    agent_bytes += i % 2 ? 71 : 10;
  }
  // Without the tables the block would hold every route and user agent in full.
  EXPECT_LT(raw.size() + route_bytes + agent_bytes - 2 * 200 - 200,
            EncodeColumns(Views(recs)).size());
  // The same stream with one record's route made unique everywhere still round-trips.
  std::vector<std::string> unique;
  for (uint64_t i = 0; i < 50; ++i) {
    AuditEvent e = testing::MakeEvent(i);
    e.route = "GET /r/" + std::to_string(i);
    unique.push_back(EncodeRecord(e));
  }
  ExpectSeqColumnsRoundTrip(unique);
}

// Events whose id and correlation id are UUIDv7s minted from their own time_ns, as the
// gateway mints them; ids random, or event ids (NewEventId: origin and counter).
std::vector<std::string> Minted(size_t n, int64_t skew_ms_at = -1, bool event_ids = false) {
  std::vector<std::string> recs;
  for (uint64_t i = 0; i < n; ++i) {
    AuditEvent e = testing::MakeEvent(i);
    e.time_ns += static_cast<int64_t>(i) * 123'456'789;
    const int64_t id_time = e.time_ns + (static_cast<int64_t>(i) == skew_ms_at ? 1'000'000 : 0);
    e.id = event_ids ? NewEventId(id_time) : NewUuidV7(id_time);
    e.correlation_id = NewUuidV7(e.time_ns);
    recs.push_back(EncodeRecord(e));
  }
  return recs;
}

TEST(BlockCodecTest, UuidsMintedFromTheirRecordsTimeKeepOnlyTheirLastTenBytes) {
  const std::vector<std::string> minted = Minted(100);
  const std::vector<std::string> one_off = Minted(100, 50);  // one id a millisecond off
  ExpectSeqColumnsRoundTrip(minted);
  ExpectSeqColumnsRoundTrip(one_off);
  // One id off: that stream keeps all 16 bytes of its 100 values; the correlation ids still
  // keep 10.
  const size_t both = EncodeSeqColumns(Views(minted), Rels(100)).size();
  const size_t one = EncodeSeqColumns(Views(one_off), Rels(100)).size();
  EXPECT_GE(one, both + 100 * 6 - 10);
  EXPECT_LE(one, both + 100 * 6 + 10);
}

TEST(BlockCodecTest, EventIdsOfOneProcessKeepAboutTwoBytes) {
  // The same records with event ids (origin and counter) instead of random UUIDv7s: the
  // tails are stored as deltas, and both reproduce every byte.
  const std::vector<std::string> random = Minted(100);
  std::vector<std::string> counted;
  for (const std::string& r : random) {
    AuditEvent e = DecodeRecord(r).value();
    e.id = NewEventId(e.time_ns);
    counted.push_back(EncodeRecord(e));
  }
  ExpectSeqColumnsRoundTrip(counted);
  const size_t with_random = EncodeSeqColumns(Views(random), Rels(100)).size();
  const size_t with_counted = EncodeSeqColumns(Views(counted), Rels(100)).size();
  EXPECT_GE(with_random, with_counted + 100 * 7);  // 10 bytes a value → at most 3
  // One id from another process (another origin) in the middle still round-trips.
  AuditEvent odd = DecodeRecord(counted[40]).value();
  odd.id = FormatEventId(odd.time_ns, 12345, 7);
  counted[40] = EncodeRecord(odd);
  ExpectSeqColumnsRoundTrip(counted);
}

TEST(BlockCodecTest, EventIdsCountedInSeqOrderKeepTheirSeqsDifference) {
  // A sealed block is sorted by subject, not by seq: ids minted in seq order (the gateway
  // logs events in about the order it mints their ids) differ from the previous record's by
  // a seq difference, but from their own seq by a constant. Transform 7 stores that.
  const std::vector<std::string> base = Minted(100);
  const std::vector<uint32_t> rels = Rels(100);
  std::vector<std::string> by_seq, by_record;
  for (size_t i = 0; i < base.size(); ++i) {
    AuditEvent e = DecodeRecord(base[i]).value();
    e.id = FormatEventId(e.time_ns, 0x2a2a2a2a2aULL, 1'000'000 + rels[i]);
    by_seq.push_back(EncodeRecord(e));
    e.id = FormatEventId(e.time_ns, 0x2a2a2a2a2aULL, 1'000'000 + static_cast<uint32_t>(i) * 100);
    by_record.push_back(EncodeRecord(e));
  }
  ExpectSeqColumnsRoundTrip(by_seq);
  const size_t seq_size = EncodeSeqColumns(Views(by_seq), rels).size();
  const size_t record_size = EncodeSeqColumns(Views(by_record), rels).size();
  // Transform 6 needs 2 bytes for a step of 100 and for the seqs' jumps; 7 needs 1 for a
  // constant difference.
  EXPECT_LE(seq_size + 90, record_size);
  // A few ids out of seq order (minted before a slower request's) still round-trip.
  for (size_t i : {3u, 40u, 77u}) {
    AuditEvent e = DecodeRecord(by_seq[i]).value();
    e.id = FormatEventId(e.time_ns, 0x2a2a2a2a2aULL, 1'000'000 + rels[i] + 5);
    by_seq[i] = EncodeRecord(e);
  }
  ExpectSeqColumnsRoundTrip(by_seq);
  EXPECT_LE(EncodeSeqColumns(Views(by_seq), rels).size(), seq_size + 6);
}

TEST(BlockCodecTest, ClientsRandomRequestIdsKeepTheir122RandomBits) {
  // A client's UUIDv4 request ids, beside the same ids with the version digit changed
  // (still canonical UUIDs, but not version 4: 16 bytes each).
  std::mt19937_64 rng(5);
  std::vector<std::string> v4, other;
  for (uint64_t i = 0; i < 100; ++i) {
    AuditEvent e = testing::MakeEvent(i);
    uint8_t b[16];
    for (auto& x : b) x = static_cast<uint8_t>(rng());
    b[6] = static_cast<uint8_t>((b[6] & 0x0f) | 0x40);
    b[8] = static_cast<uint8_t>((b[8] & 0x3f) | 0x80);
    char text[36];
    FormatUuid(b, text);
    e.correlation_id.assign(text, 36);
    v4.push_back(EncodeRecord(e));
    e.correlation_id[14] = '1';
    other.push_back(EncodeRecord(e));
  }
  ExpectSeqColumnsRoundTrip(v4);
  ExpectSeqColumnsRoundTrip(other);
  const size_t v4_size = EncodeSeqColumns(Views(v4), Rels(100)).size();
  const size_t other_size = EncodeSeqColumns(Views(other), Rels(100)).size();
  EXPECT_EQ(other_size - v4_size, 16 * 100 - (122 * 100 + 7) / 8);
  // One id of another version: the whole stream keeps 16 bytes a value, and still round-trips.
  v4[37] = other[37];
  ExpectSeqColumnsRoundTrip(v4);
  EXPECT_EQ(EncodeSeqColumns(Views(v4), Rels(100)).size(), other_size);
}

TEST(BlockCodecTest, TimesAreDeltaCodedInSeqOrderWhenThatIsSmaller) {
  // A block sorted by subject: 40 subjects with 5 records each over an hour, seqs in time
  // order (as the gateway logs them), so consecutive records are far apart in time.
  std::vector<std::string> recs;
  std::vector<uint32_t> rels;
  for (uint32_t subject = 0; subject < 40; ++subject) {
    for (uint32_t k = 0; k < 5; ++k) {
      const uint32_t rel = k * 40 + subject;
      AuditEvent e = testing::MakeEvent(rel);
      e.subject = "user-" + std::to_string(subject);
      e.time_ns = 1'760'000'000'000'000'000 + int64_t{rel} * 18'000'000'000 + (rel * 7919 % 1000) * 1'000'000;
      recs.push_back(EncodeRecord(e));
      rels.push_back(rel);
    }
  }
  std::string out;
  std::vector<uint32_t> starts, got_rels;
  const std::string raw = EncodeSeqColumns(Views(recs), rels);
  ASSERT_TRUE(DecodeSeqColumns(raw, 200, 200, &out, &starts, &got_rels).ok());
  for (size_t i = 0; i < recs.size(); ++i) {
    EXPECT_EQ(std::string_view(out).substr(starts[i], starts[i + 1] - starts[i]), recs[i]) << i;
  }
  // The same times with seqs unrelated to them: seq order no longer follows time, so the
  // times keep their record-order deltas (~6 bytes each where seq order needs ~5).
  std::vector<uint32_t> reversed;
  for (uint32_t rel : rels) reversed.push_back(rel * 7919 % 211);
  EXPECT_LT(raw.size() + 100, EncodeSeqColumns(Views(recs), reversed).size());
  ASSERT_TRUE(DecodeSeqColumns(EncodeSeqColumns(Views(recs), reversed), 200, 211, &out, &starts, &got_rels).ok());
  EXPECT_EQ(got_rels, reversed);
  for (size_t i = 0; i < recs.size(); ++i) {
    EXPECT_EQ(std::string_view(out).substr(starts[i], starts[i + 1] - starts[i]), recs[i]) << i;
  }
}

TEST(BlockCodecTest, ValuesInThePartsTableKeepOnlyTheirCodes) {
  // 200 records over 40 routes and 60 client IPs, as in a part: the part's table has them
  // all, so the block keeps a code per value, not its own table of the distinct ones.
  std::vector<std::string> recs;
  PartValues::Counter counter;
  for (uint64_t i = 0; i < 200; ++i) {
    AuditEvent e = testing::MakeEvent(i);
    e.route = "GET /v1/resource-number-" + std::to_string(i * 7 % 40) + "/items";
    e.client_ip = "192.168.100." + std::to_string(i * 11 % 60);
    recs.push_back(EncodeRecord(e));
    counter.Add(recs.back());
    counter.Add(recs.back());  // every value recurs in the part
  }
  const PartValues table = std::move(counter).Finish();
  const std::vector<uint32_t> rels = Rels(recs.size());
  const std::string with = EncodeSeqColumns(Views(recs), rels, &table);
  const std::string without = EncodeSeqColumns(Views(recs), rels);
  EXPECT_LE(with.size() + 40 * 30 + 60 * 12, without.size());
  std::string out;
  std::vector<uint32_t> starts, got_rels;
  Status st = DecodeSeqColumns(with, 200, 213, &out, &starts, &got_rels, &table);
  ASSERT_TRUE(st.ok()) << st.ToString();
  for (size_t i = 0; i < recs.size(); ++i) {
    EXPECT_EQ(std::string_view(out).substr(starts[i], starts[i + 1] - starts[i]), recs[i]) << i;
  }
  // Without its part's table (or with another part's) the block cannot be read as it was:
  // its one shape, too, is a code in the table.
  st = DecodeSeqColumns(with, 200, 213, &out, &starts, &got_rels);
  EXPECT_EQ(st.code(), StatusCode::kCorruption);
  EXPECT_NE(st.message().find("bad shape code"), std::string::npos) << st.message();
  const PartValues empty_table = PartValues::Counter().Finish();
  st = DecodeSeqColumns(with, 200, 213, &out, &starts, &got_rels, &empty_table);
  EXPECT_EQ(st.code(), StatusCode::kCorruption);
  // A value missing from the table is kept literally.
  AuditEvent odd = DecodeRecord(recs[5]).value();
  odd.route = "GET /v1/never-seen";
  recs[5] = EncodeRecord(odd);
  const std::string with_odd = EncodeSeqColumns(Views(recs), rels, &table);
  ASSERT_TRUE(DecodeSeqColumns(with_odd, 200, 213, &out, &starts, &got_rels, &table).ok());
  EXPECT_EQ(std::string_view(out).substr(starts[5], starts[6] - starts[5]), recs[5]);
  // Damaged, such a block is an error, never a crash (ASan checks the reads).
  std::mt19937 rng(5);
  for (int round = 0; round < 2000; ++round) {
    const std::string bad = Damaged(with_odd, round, rng);
    (void)DecodeSeqColumns(bad, 200, 213, &out, &starts, &got_rels, &table);
  }
}

TEST(BlockCodecTest, TimedUuidsRoundTripBesideOddTimesAndRepeatedFields) {
  // A record with a second time_ns of another wire type, one with only such a time, one
  // with its id twice, one kept whole: the timed stream must still find each value's time.
  // Ids random (transform 4) and event ids (transform 6).
  for (bool event_ids : {false, true}) {
    std::vector<std::string> recs = Minted(30, -1, event_ids);
    recs[3] += std::string(
        "\x12\x01"
        "x",
        3);  // field 2, wire type 2
    recs.push_back(
        std::string("\x12\x02"
                    "yz",
                    4));                         // only that
    recs.push_back(std::string("\x0b\x0c", 2));  // kept whole
    ExpectSeqColumnsRoundTrip(recs);
    std::vector<std::string> twice = Minted(30, -1, event_ids);
    const std::string id_field = twice[7].substr(0, 38);  // key 0x0a, 0x24, 36 characters
    ASSERT_EQ(id_field[0], '\x0a');
    twice[7] += id_field;
    ExpectSeqColumnsRoundTrip(twice);
    // A record without any time_ns holding a UUID: that stream cannot take times.
    std::vector<std::string> untimed = Minted(30, -1, event_ids);
    untimed.push_back(id_field);
    ExpectSeqColumnsRoundTrip(untimed);
  }
}

TEST(BlockCodecTest, PathsThatAreTheirRouteFilledInTakeOneByte) {
  // 100 paths built from their route and resources; in a second block a few are not (a
  // percent-encoded id, a prefix route, a record without a route): those are kept as
  // they are, and both blocks reproduce every byte.
  std::vector<std::string> filled, mixed;
  for (uint64_t i = 0; i < 100; ++i) {
    AuditEvent e = testing::MakeEvent(i);
    e.route = "GET /api/v1/projects/{project_id}/members/{member_id}";
    e.resources = {{"project_id", std::to_string(i * 7919)},
                   {"member_id", "m-" + std::to_string(i)}};
    e.path = "/api/v1/projects/" + std::to_string(i * 7919) + "/members/m-" + std::to_string(i);
    filled.push_back(EncodeRecord(e));
    if (i == 10) e.path = "/api/v1/projects/" + std::to_string(i * 7919) + "/members/m%2D10";
    if (i == 20) e.route = "GET /internal/**";
    if (i == 30) e.route.clear();
    if (i == 40) std::swap(e.resources[0], e.resources[1]);
    mixed.push_back(EncodeRecord(e));
  }
  ExpectSeqColumnsRoundTrip(filled);
  ExpectSeqColumnsRoundTrip(mixed);
  // The same records with every path changed by one letter (no longer derivable): their
  // paths are then stored in full, one byte per path apart.
  std::vector<std::string> unfilled;
  size_t plain_paths = 0;
  for (uint64_t i = 0; i < 100; ++i) {
    AuditEvent e = DecodeRecord(filled[i]).value();
    e.path.replace(e.path.find("/members/"), 9, "/memberz/");
    plain_paths += 1 + e.path.size();
    unfilled.push_back(EncodeRecord(e));
  }
  ExpectSeqColumnsRoundTrip(unfilled);
  const size_t with = EncodeSeqColumns(Views(filled), Rels(100)).size();
  const size_t without = EncodeSeqColumns(Views(unfilled), Rels(100)).size();
  EXPECT_GE(without, with + plain_paths - 100);
  EXPECT_LE(without, with + plain_paths - 100 + 2);  // the stream's length varint may grow
}

TEST(BlockCodecTest, ResourcesNamedByTheirRouteKeepOnlyTheirValues) {
  // 100 records whose resources are the route's parameters in order: transform 9 keeps
  // each value and a tag, not the names. A second block mixes in resources the route does
  // not name (swapped, one too many, a record without a route, an empty value, a prefix
  // route): those are kept as they are, and both blocks reproduce every byte.
  std::vector<std::string> named, mixed;
  size_t names_bytes = 0;
  for (uint64_t i = 0; i < 100; ++i) {
    AuditEvent e = testing::MakeEvent(i);
    e.route = "GET /api/v1/projects/{project_id}/members/{member_id}";
    e.resources = {{"project_id", std::to_string(i * 7919)}, {"member_id", "m-" + std::to_string(i)}};
    e.path = "/api/v1/projects/" + std::to_string(i * 7919) + "/members/m-" + std::to_string(i);
    names_bytes += 2 + 10 + 2 + 9;  // each name's key byte, length byte and text
    named.push_back(EncodeRecord(e));
    if (i == 10) std::swap(e.resources[0], e.resources[1]);
    if (i == 20) e.resources.emplace_back("extra", "1");
    if (i == 30) e.route.clear();
    if (i == 40) e.resources[1].second.clear();
    if (i == 50) e.route = "GET /internal/**";
    mixed.push_back(EncodeRecord(e));
  }
  ExpectSeqColumnsRoundTrip(named);
  ExpectSeqColumnsRoundTrip(mixed);
  // Against the same records with one letter of each name changed (no longer the route's):
  // the names are then stored, less the tag bytes transform 9 adds.
  std::vector<std::string> unnamed;
  for (uint64_t i = 0; i < 100; ++i) {
    AuditEvent e = DecodeRecord(named[i]).value();
    e.resources[0].first = "project_iD";
    e.resources[1].first = "member_iD";
    unnamed.push_back(EncodeRecord(e));
  }
  ExpectSeqColumnsRoundTrip(unnamed);
  const size_t with = EncodeSeqColumns(Views(named), Rels(100)).size();
  const size_t without = EncodeSeqColumns(Views(unnamed), Rels(100)).size();
  EXPECT_GE(without + 2 * 100, with + names_bytes);
  // A resource whose stored bytes are not the codec's own (value before key) is kept whole.
  std::vector<std::string> odd;
  for (int i = 0; i < 20; ++i) {
    std::string r = std::string("\x5a\x0a", 2) + "GET /x/{b}";                           // route
    r += i % 2 ? std::string("\x62\x06\x12\x01" "7\x0a\x01" "b", 8)                // value, then key
               : std::string("\x62\x06\x0a\x01" "b\x12\x01" "7", 8);               // key, then value
    odd.push_back(r);
  }
  ExpectSeqColumnsRoundTrip(odd);
}

TEST(BlockCodecTest, MethodsTheirRouteNamesTakeOneByte) {
  // The method is the route's first word: transform 10 keeps a tag. Methods that differ
  // (HEAD served by a GET route), records without a route or with a route without a space,
  // and a non-minimal length are kept as they are; every byte comes back.
  std::vector<std::string> same, mixed;
  for (uint64_t i = 0; i < 60; ++i) {
    AuditEvent e = testing::MakeEvent(i);  // route "GET /v1/orders/{order_id}" or "POST …"
    same.push_back(EncodeRecord(e));
    if (i == 5) e.method = "HEAD";
    if (i == 6) e.route.clear();
    if (i == 7) e.route = "GET";
    mixed.push_back(EncodeRecord(e));
  }
  mixed.push_back(std::string("\x4a\x83\x00" "GET", 6) + std::string("\x5a\x06" "GET /x", 8));  // 2-byte length
  ExpectSeqColumnsRoundTrip(same);
  ExpectSeqColumnsRoundTrip(mixed);
  const std::string raw = EncodeSeqColumns(Views(same), Rels(same.size()));
  EXPECT_NE(raw.find(std::string("\x09\x0a\x3c", 3) + std::string(60, '\0')), std::string::npos)
      << "field 9, transform 10, 60 tag bytes of 0";
}

TEST(BlockCodecTest, RecordsWithOddRoutesKeepTheirMethodsResourcesAndPaths) {
  // Transforms 5, 9 and 10 take the record's route; these records have two routes, a route
  // of another wire type, resources but no route, or a method before its route: every byte
  // still comes back, with and without a value table.
  const std::string route = std::string("\x5a\x0f", 2) + "GET /x/{a}/{b}";  // field 11
  const std::string method = std::string("\x4a\x03", 2) + "GET";             // field 9
  const std::string path = std::string("\x52\x05", 2) + "/x/1/";             // field 10: b empty
  const std::string res_a = std::string("\x62\x06\x0a\x01" "a\x12\x01" "1", 8);
  const std::string res_b = std::string("\x62\x03\x0a\x01" "b", 5);           // an empty value
  std::vector<std::string> recs;
  for (int i = 0; i < 12; ++i) {
    recs.push_back(method + path + route + res_a + res_b);        // all derivable
    recs.push_back(method + path + route + route + res_a + res_b);  // two routes
    recs.push_back(method + path + std::string("\x58\x07", 2) + res_a + res_b);  // route, wire type 0
    recs.push_back(method + path + res_a + res_b);                // no route
    recs.push_back(route + method + res_b + res_a + path);        // out of field order
  }
  ExpectSeqColumnsRoundTrip(recs);
  ExpectSeqColumnsRoundTripWithTable(recs);
}

TEST(BlockCodecTest, RoutePathsKeepNonMinimalLengthsAndRepeatedResourceKeys) {
  // A path whose length varint is longer than needed matches its route by text but not by
  // bytes; a resource with its key twice is not a plain KeyValue. Both stay as they were.
  std::vector<std::string> recs;
  for (int i = 0; i < 20; ++i) {
    std::string r = std::string("\x5a\x0d", 2) + "GET /orders/x";                  // route
    if (i % 2 == 0) {
      r = std::string("\x52\x89\x00", 3) + "/orders/x" + r;                       // path, 2-byte length
    } else {
      r = std::string("\x52\x09", 2) + "/orders/x" + r;                             // path, minimal
    }
    recs.push_back(r);
  }
  ExpectSeqColumnsRoundTrip(recs);
  std::vector<std::string> twice;
  for (int i = 0; i < 20; ++i) {
    std::string r = std::string("\x52\x04", 2) + "/x/7";                             // path
    r += std::string("\x5a\x0a", 2) + "GET /x/{b}";                                 // route
    r += std::string("\x62\x09\x0a\x01" "a\x0a\x01" "b\x12\x01" "7", 11);        // key a, then key b
    twice.push_back(r);
  }
  ExpectSeqColumnsRoundTrip(twice);
}

TEST(BlockCodecTest, ShapesTooLongForTheOutputBoundFailBeforeTheTimeWalk) {
  // 20,000 records sharing a 20,000-key shape, with a uuid-time stream: the walk that finds
  // each value's time would take 4e8 steps; the block is refused by its size first.
  constexpr uint32_t kRecords = 20000;
  std::string raw;
  for (uint32_t i = 0; i < kRecords; ++i) raw.push_back(i == 0 ? '\0' : '\x02');  // rels 0, 1, 2, …
  raw += '\x01';                                                                  // one shape
  raw += std::string("\xa0\x9c\x01", 3) + std::string(20000, '\x18');             // 20,000 keys of field 3
  raw += std::string(kRecords, '\x01');                                            // every record: shape 1
  raw += '\0';                                                                    // no whole records
  raw += std::string("\x02" "\x01\x04\x0a", 4) + std::string(10, '\x07');         // field 1: uuid-time, one value
  raw += std::string("\x02\x00\x00", 3);                                           // field 2: plain
  std::string out;
  std::vector<uint32_t> starts, rels;
  Status st = DecodeSeqColumns(raw, kRecords, kRecords, &out, &starts, &rels);
  ASSERT_EQ(st.code(), StatusCode::kCorruption);
  EXPECT_NE(st.message().find("256 MiB"), std::string::npos) << st.message();
}

TEST(BlockCodecTest, SeqColumnsRefuseASeqOutsideThePart) {
  const auto recs = Records();
  const std::vector<uint32_t> rels = Rels(recs.size());
  const std::string raw = EncodeSeqColumns(Views(recs), rels);
  std::string out;
  std::vector<uint32_t> starts, got;
  const uint32_t highest = *std::max_element(rels.begin(), rels.end());
  EXPECT_TRUE(DecodeSeqColumns(raw, static_cast<uint32_t>(recs.size()), highest + 1, &out, &starts, &got).ok());
  Status st = DecodeSeqColumns(raw, static_cast<uint32_t>(recs.size()), highest, &out, &starts, &got);
  EXPECT_EQ(st.code(), StatusCode::kCorruption);
  EXPECT_NE(st.message().find("seq outside the part"), std::string::npos) << st.message();
}

TEST(BlockCodecTest, DamagedSeqColumnBlocksAreErrorsNotCrashes) {
  // Timed UUID streams with random ids (transform 4), event ids counted in record order
  // (transform 6) and event ids counted in seq order (transform 7).
  for (const char transform : {'\x04', '\x06', '\x07'}) {
    std::vector<std::string> recs = Records();
    for (std::string& r : Minted(40, -1, transform != '\x04')) recs.push_back(std::move(r));
    for (uint64_t i = 0; i < 40; ++i) {
      AuditEvent e = testing::MakeEvent(i);
      e.correlation_id = "3f2c5a1e-9b7d-4c2a-8e1f-0000000000" + std::to_string(10 + i);
      recs.push_back(EncodeRecord(e));
    }
    const std::vector<uint32_t> seq_rels = Rels(recs.size());
    if (transform == '\x07') {
      for (size_t i = Records().size(); i < Records().size() + 40; ++i) {
        AuditEvent e = DecodeRecord(recs[i]).value();
        e.id = FormatEventId(e.time_ns, 99, 5000 + seq_rels[i]);
        recs[i] = EncodeRecord(e);
      }
    }
    ExpectSeqColumnsRoundTrip(recs);
    ExpectSeqColumnsRoundTripWithTable(recs);
    const std::string good = EncodeSeqColumns(Views(recs), seq_rels);
    EXPECT_NE(good.find(std::string("\x01", 1) + transform), std::string::npos);  // field 1's stream
    EXPECT_NE(good.find(std::string("\x0c\x09", 2)), std::string::npos);  // resources by route (9)
    EXPECT_NE(good.find(std::string("\x09\x0a", 2)), std::string::npos);  // methods by route (10)
    std::mt19937 rng(11);
    int truncations = 0, truncation_errors = 0;
    for (int round = 0; round < 3000; ++round) {
      const std::string bad = Damaged(good, round, rng);
      std::string out;
      std::vector<uint32_t> starts, rels;
      Status st = DecodeSeqColumns(bad, static_cast<uint32_t>(recs.size()), recs.size() + 13, &out, &starts, &rels);
      if (round % 3 == 0) {
        ++truncations;
        truncation_errors += !st.ok();
      }
    }
    EXPECT_EQ(truncation_errors, truncations);
  }
}

}  // namespace
}  // namespace apitrail::part
