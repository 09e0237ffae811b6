// The seq-keyed id table of a version 4 part index: event ids as the gateway mints them
// (a per-process origin and a counter, logged in about the order they were minted) are kept
// as their UUID tails and their records' seqs, found exactly, and refused when damaged.
#include "store/part/part_index.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "core/ids.h"
#include "store/log/coding.h"
#include "testutil/event_builder.h"

namespace apitrail::part {
namespace {

constexpr uint64_t kEvents = 3000;
constexpr uint64_t kOrigin = 0x2a5a5a5a5a5ULL;

// Event `rel` of a part, its id minted with counter `counter` (an id that reached the log
// a little earlier or later than its counter says: minted by another thread just before a
// commit and queued just after it, or by a gateway before 2026-11-29, at the request's start).
AuditEvent Minted(uint64_t rel, uint32_t counter) {
  AuditEvent e = testing::MakeEvent(rel);
  e.id = FormatEventId(e.time_ns, kOrigin, counter);
  return e;
}

// Counters a few places off their seqs: event rel's counter within ±8 of rel.
std::vector<uint32_t> Counters() {
  std::vector<uint32_t> c(kEvents);
  for (uint32_t i = 0; i < kEvents; ++i) c[i] = 1'000'000 + i;
  std::mt19937 rng(3);
  for (size_t i = 0; i + 16 <= c.size(); i += 16)
    std::shuffle(c.begin() + i, c.begin() + i + 16, rng);
  return c;
}

std::string Build(const std::vector<uint32_t>& counters, uint32_t version, bool with_rels = true) {
  PartIndexBuilder b;
  for (uint32_t rel = 0; rel < counters.size(); ++rel) {
    b.Add(rel / 50, Minted(rel, counters[rel]), with_rels ? rel : PartIndexBuilder::kNoRel);
  }
  return b.Serialize(version);
}

// The id table's head (tag 10): its offset in the raw section.
size_t IdTable(const std::string& raw) {
  size_t at = 4;
  for (;;) {
    const uint32_t size = log::DecodeFixed32(raw.data() + at + 6);
    if (raw[at] == static_cast<char>(Field::kId)) return at;
    at += 10 + size;
  }
}

TEST(PartIndexTest, MintedEventIdsAreKeyedBySeqAndFoundExactly) {
  const std::vector<uint32_t> counters = Counters();
  const std::string raw = Build(counters, kVersion4);
  const size_t at = IdTable(raw);
  EXPECT_EQ(raw[at + 1], 0);  // bits 0: seq-keyed
  // About 3 bytes an entry before zstd (Δh, Δl, Δrel), where a fingerprint and a block
  // number take 4: and they compress far better.
  EXPECT_LE(log::DecodeFixed32(raw.data() + at + 6), kEvents * 4);
  auto idx = PartIndex::Parse(raw, 60, "p", 0, kVersion4, kEvents);
  ASSERT_TRUE(idx.ok()) << idx.status().ToString();
  EXPECT_TRUE(idx->SeqKeyed(Field::kId));
  EXPECT_FALSE(idx->SeqKeyed(Field::kCorrelationId));
  for (uint32_t rel = 0; rel < kEvents; ++rel) {
    EXPECT_EQ(idx->Rels(Field::kId, Minted(rel, counters[rel]).id), std::vector<uint32_t>{rel})
        << rel;
  }
  // Absent ids, another origin, not a UUID, upper case: nothing.
  EXPECT_TRUE(idx->Rels(Field::kId, FormatEventId(1, kOrigin, 5)).empty());
  EXPECT_TRUE(idx->Rels(Field::kId, FormatEventId(1, kOrigin, 1'000'000 + kEvents)).empty());
  EXPECT_TRUE(idx->Rels(Field::kId, FormatEventId(1, kOrigin + 1, 1'000'000)).empty());
  EXPECT_TRUE(idx->Rels(Field::kId, "not-a-uuid").empty());
  std::string upper = Minted(7, counters[7]).id;
  std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
  EXPECT_TRUE(idx->Rels(Field::kId, upper).empty());
  // The tail alone is compared: the same counter at another millisecond names the record,
  // which the caller refutes on the record itself.
  EXPECT_EQ(idx->Rels(Field::kId, FormatEventId(5, kOrigin, counters[9])),
            std::vector<uint32_t>{9});
  // Blocks knows nothing of a seq-keyed table (the reader maps rels by the seq map).
  EXPECT_TRUE(idx->Blocks(Field::kId, Minted(3, counters[3]).id).empty());
  EXPECT_TRUE(idx->MayHave(Field::kId, KeyHash(Field::kId, "anything")));
}

TEST(PartIndexTest, IdsSharingATailAllNameTheirRecords) {
  // Two processes that drew the same origin, or one id logged twice: equal tails in one
  // table, across a restart point.
  std::vector<uint32_t> counters = Counters();
  for (uint32_t rel = 100; rel < 200; ++rel) counters[rel] = 7;
  const std::string raw = Build(counters, kVersion4);
  auto idx = PartIndex::Parse(raw, 60, "p", 0, kVersion4, kEvents);
  ASSERT_TRUE(idx.ok()) << idx.status().ToString();
  std::vector<uint32_t> want;
  for (uint32_t rel = 100; rel < 200; ++rel) want.push_back(rel);
  EXPECT_EQ(idx->Rels(Field::kId, FormatEventId(0, kOrigin, 7)), want);
}

TEST(PartIndexTest, RandomIdsOlderVersionsAndIdsWithoutSeqsKeepFingerprints) {
  PartIndexBuilder random;
  for (uint32_t rel = 0; rel < kEvents; ++rel) {
    AuditEvent e = testing::MakeEvent(rel);
    e.id = NewUuidV7(e.time_ns);  // random tails: a fingerprint is smaller
    random.Add(rel / 50, e, rel);
  }
  const std::string random_raw = random.Serialize(kVersion4);
  EXPECT_NE(random_raw[IdTable(random_raw) + 1], 0);
  const std::string v3 = Build(Counters(), kVersion3);
  EXPECT_NE(v3[IdTable(v3) + 1], 0);
  const std::string no_rels = Build(Counters(), kVersion4, false);
  EXPECT_NE(no_rels[IdTable(no_rels) + 1], 0);
  PartIndexBuilder odd;  // one id that is not a UUID
  for (uint32_t rel = 0; rel < kEvents; ++rel) {
    AuditEvent e = Minted(rel, 1'000'000 + rel);
    if (rel == 1234) e.id = "legacy-id";
    odd.Add(rel / 50, e, rel);
  }
  const std::string odd_raw = odd.Serialize(kVersion4);
  EXPECT_NE(odd_raw[IdTable(odd_raw) + 1], 0);
  auto idx = PartIndex::Parse(odd_raw, 60, "p", 0, kVersion4, kEvents);
  ASSERT_TRUE(idx.ok());
  EXPECT_FALSE(idx->SeqKeyed(Field::kId));
  const std::vector<uint32_t> blocks = idx->Blocks(Field::kId, "legacy-id");
  EXPECT_NE(std::find(blocks.begin(), blocks.end(), 1234u / 50), blocks.end());
}

TEST(PartIndexTest, DamagedSeqKeyedTablesAreCorruption) {
  const std::string raw = Build(Counters(), kVersion4);
  const size_t at = IdTable(raw);
  auto refused = [](const std::string& bad, uint32_t version, uint64_t count,
                    const std::string& what) {
    auto idx = PartIndex::Parse(bad, 60, "part-x", 4096, version, count);
    ASSERT_FALSE(idx.ok()) << what;
    EXPECT_EQ(idx.status().code(), StatusCode::kCorruption) << what;
    EXPECT_NE(idx.status().message().find("part-x"), std::string::npos) << idx.status().message();
  };
  // A version 3 part has no seq-keyed tables; rels must lie in the part.
  refused(raw, kVersion3, kEvents, "version 3");
  refused(raw, kVersion4, kEvents - 1, "a rel past the part");
  // More entries than records.
  std::string more = raw;
  std::string count;
  log::PutFixed32(&count, kEvents + 1);
  more.replace(at + 2, 4, count);
  refused(more, kVersion4, kEvents, "more entries than records");
  // Entries out of order: the second entry's Δh and Δl both 0 with a rel delta of 0.
  std::string same = raw;
  const size_t entries = at + 10;
  const char* p = same.data() + entries;
  uint64_t v = 0;
  for (int i = 0; i < 3; ++i) GetVarint(&p, same.data() + same.size(), &v);  // the first entry
  const size_t second = static_cast<size_t>(p - same.data());
  ASSERT_EQ(same[second], 0);  // Δh
  same[second + 1] = 0;        // Δl (was 1 byte: the counters differ by < 128)
  same[second + 2] = 0;        // Δrel
  refused(same, kVersion4, kEvents, "a repeated entry");
  // Every single-byte flip of the table is an error or a table that still parses; never a crash.
  for (size_t i = entries; i < std::min(raw.size(), entries + 400); ++i) {
    std::string flipped = raw;
    flipped[i] = static_cast<char>(flipped[i] ^ 0x41);
    auto idx = PartIndex::Parse(flipped, 60, "p", 0, kVersion4, kEvents);
    if (idx.ok()) (void)idx->Rels(Field::kId, Minted(5, 1'000'005).id);
  }
}

TEST(PartIndexTest, AKeyHashDeltaThatWrapsIsCorruption) {
  // One subject, so its table holds one entry: hash delta, then the posting list.
  PartIndexBuilder b;
  for (uint32_t rel = 0; rel < 2; ++rel) b.Add(0, testing::MakeEvent(rel, 1), rel);
  std::string raw = b.Serialize(kVersion4);
  size_t at = 4;
  while (raw[at] != static_cast<char>(Field::kSubject)) at += 10 + log::DecodeFixed32(raw.data() + at + 6);
  ASSERT_EQ(log::DecodeFixed32(raw.data() + at + 2), 1u);
  const uint32_t size = log::DecodeFixed32(raw.data() + at + 6);
  const std::string entry = raw.substr(at + 10, size);
  const char* p = entry.data();
  uint64_t h0 = 0;
  ASSERT_TRUE(GetVarint(&p, entry.data() + entry.size(), &h0));
  ASSERT_GT(h0, 1u);
  const std::string postings(p, entry.data() + entry.size());
  // A second entry whose delta brings the hash past 2^64 and back to 1: sorted only modulo 2^64.
  std::string table = entry;
  PutVarint(&table, ~h0 + 2);
  table += postings;
  std::string fields;
  log::PutFixed32(&fields, 2);
  log::PutFixed32(&fields, static_cast<uint32_t>(table.size()));
  raw = raw.substr(0, at + 2) + fields + table + raw.substr(at + 10 + size);
  auto idx = PartIndex::Parse(raw, 60, "part-x", 4096, kVersion4, 2);
  ASSERT_FALSE(idx.ok());
  EXPECT_EQ(idx.status().code(), StatusCode::kCorruption);
  EXPECT_NE(idx.status().message().find("entry 1 has a bad key hash"), std::string::npos) << idx.status().message();
}

}  // namespace
}  // namespace apitrail::part
