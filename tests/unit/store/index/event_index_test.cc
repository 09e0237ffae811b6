// EventIndex planning: posting lists, block skipping by time, cursors.
#include "store/index/event_index.h"

#include <gtest/gtest.h>

#include "testutil/event_builder.h"

namespace apitrail {
namespace {

using apitrail::testing::MakeEvent;

class EventIndexTest : public ::testing::Test {
 protected:
  void Fill(uint64_t n) {
    for (uint64_t i = 0; i < n; ++i) index_.Add(i, IndexKeys::FromEvent(MakeEvent(i)), RecordLocation{0, 1, i});
  }
  EventIndex index_;
};

TEST_F(EventIndexTest, SubjectNewestFirstWithCursor) {
  Fill(30);
  EventQuery q;
  q.subject = "user-1";
  q.limit = 4;
  bool more = false;
  auto seqs = index_.Select(q, &more);
  EXPECT_EQ(seqs, (std::vector<uint64_t>{28, 25, 22, 19}));
  EXPECT_TRUE(more);
  q.before_seq = 19;
  q.limit = 100;
  seqs = index_.Select(q, &more);
  EXPECT_EQ(seqs, (std::vector<uint64_t>{16, 13, 10, 7, 4, 1}));
  EXPECT_FALSE(more);
}

TEST_F(EventIndexTest, UnknownValueMatchesNothing) {
  Fill(10);
  EventQuery q;
  q.subject = "nobody";
  bool more = true;
  EXPECT_TRUE(index_.Select(q, &more).empty());
  EXPECT_FALSE(more);
}

TEST_F(EventIndexTest, TimeRangeSkipsBlocksAndStaysExact) {
  Fill(3 * EventIndex::kBlockSize + 10);
  EventQuery q;
  const int64_t t0 = MakeEvent(0).time_ns;
  q.since_ns = t0 + 1500 * 1'000'000'000ll;
  q.until_ns = t0 + 1503 * 1'000'000'000ll;
  bool more = false;
  EXPECT_EQ(index_.Select(q, &more), (std::vector<uint64_t>{1502, 1501, 1500}));
}

TEST_F(EventIndexTest, PostingListsSkipBlocksOutsideTheTimeRangeAndStayExact) {
  const uint64_t n = 4 * EventIndex::kBlockSize;
  // A late record in the middle of the last block, the rest of which lies after the range:
  // a skip that judged a block by its first record's time would miss it.
  const uint64_t late = 3 * EventIndex::kBlockSize + 500;
  for (uint64_t i = 0; i < n; ++i) {
    index_.Add(i, IndexKeys::FromEvent(MakeEvent(i == late ? 1501 : i)), RecordLocation{0, 1, i});
  }
  index_.Add(n, IndexKeys::FromEvent(MakeEvent(1501)), RecordLocation{0, 1, n});  // and the newest
  EventQuery q;
  q.subject = "user-1";  // MakeEvent: subject user-(i % 3)
  const int64_t t0 = MakeEvent(0).time_ns;
  q.since_ns = t0 + 1500 * 1'000'000'000ll;
  q.until_ns = t0 + 1503 * 1'000'000'000ll;
  bool more = false;
  EXPECT_EQ(index_.Select(q, &more), (std::vector<uint64_t>{n, late, 1501}));
  q.until_ns.reset();  // only a lower bound: everything of user-1 from 1500 s on
  q.limit = 1000;
  auto seqs = index_.Select(q, &more);
  ASSERT_FALSE(seqs.empty());
  EXPECT_EQ(seqs.front(), n);
  EXPECT_EQ(seqs.back(), 1501u);
  // user-1 is every seq % 3 == 1 from 1501 on, plus the late one (seq % 3 == 2) and n.
  EXPECT_EQ(seqs.size(), 2u + (n - 1501 + 2) / 3);
}

TEST_F(EventIndexTest, SuperBlocksSkipManyNewerBlocksAndStayExact) {
  // Three super blocks; a late record (the time of seq 1501) deep in the last one, whose
  // other records all lie after the range: a past range must still find it, with and
  // without an equality filter.
  const uint64_t n = 3 * EventIndex::kSuperBlockSize;
  const uint64_t late = 2 * EventIndex::kSuperBlockSize + 7 * EventIndex::kBlockSize + 5;
  for (uint64_t i = 0; i < n; ++i) {
    index_.Add(i, IndexKeys::FromEvent(MakeEvent(i == late ? 1501 : i)), RecordLocation{0, 1, i});
  }
  const int64_t t0 = MakeEvent(0).time_ns;
  EventQuery q;
  q.since_ns = t0 + 1500 * 1'000'000'000ll;
  q.until_ns = t0 + 1503 * 1'000'000'000ll;
  bool more = false;
  EXPECT_EQ(index_.Select(q, &more), (std::vector<uint64_t>{late, 1502, 1501, 1500}));
  q.subject = "user-1";  // MakeEvent(1501), as the late record is
  EXPECT_EQ(index_.Select(q, &more), (std::vector<uint64_t>{late, 1501}));
  q.subject = "user-2";
  EXPECT_EQ(index_.Select(q, &more), (std::vector<uint64_t>{1502}));
  // A range inside the middle super block, and one past every record.
  q.subject.reset();
  q.since_ns = MakeEvent(EventIndex::kSuperBlockSize + 10).time_ns;
  q.until_ns = MakeEvent(EventIndex::kSuperBlockSize + 12).time_ns;
  EXPECT_EQ(index_.Select(q, &more),
            (std::vector<uint64_t>{EventIndex::kSuperBlockSize + 11, EventIndex::kSuperBlockSize + 10}));
  q.since_ns = MakeEvent(n + 5).time_ns;
  q.until_ns.reset();
  EXPECT_TRUE(index_.Select(q, &more).empty());
}

TEST_F(EventIndexTest, ResourcesAreFoundByNameAndValueTogether) {
  auto with = [](uint64_t i, KeyValues resources) {
    AuditEvent e = MakeEvent(i);
    e.resources = std::move(resources);
    return IndexKeys::FromEvent(e);
  };
  index_.Add(0, with(0, {{"order_id", "7"}}), RecordLocation{0, 1, 0});
  index_.Add(1, with(1, {{"user_id", "7"}, {"order_id", "8"}}), RecordLocation{0, 1, 1});
  index_.Add(2, with(2, {{"a=b", "c"}}), RecordLocation{0, 1, 2});
  index_.Add(3, with(3, {{"order_id", "7"}}), RecordLocation{0, 1, 3});
  auto find = [&](const std::string& name, const std::string& value) {
    EventQuery q;
    q.resource = std::make_pair(name, value);
    bool more = false;
    return index_.Select(q, &more);
  };
  EXPECT_EQ(find("order_id", "7"), (std::vector<uint64_t>{3, 0}));
  EXPECT_EQ(find("order_id", "8"), (std::vector<uint64_t>{1}));
  EXPECT_EQ(find("user_id", "7"), (std::vector<uint64_t>{1}));
  EXPECT_EQ(find("a=b", "c"), (std::vector<uint64_t>{2}));
  // The same "name=value" text split elsewhere is another resource.
  EXPECT_TRUE(find("a", "b=c").empty());
  EXPECT_TRUE(find("order_id", "9").empty());
}

TEST_F(EventIndexTest, FindsIds) {
  Fill(5);
  EXPECT_EQ(index_.FindId(MakeEvent(3).id), 3u);
  EXPECT_FALSE(index_.FindId("missing").has_value());
}

}  // namespace
}  // namespace apitrail

namespace apitrail {
namespace {

TEST(FlatMultiMapTest, KeepsDuplicatesAndGrows) {
  FlatMultiMap m;
  for (uint64_t i = 1; i <= 5000; ++i) m.Insert(i * 0x9E3779B97F4A7C15ull, i);
  m.Insert(42 * 0x9E3779B97F4A7C15ull, 99999);  // a second value under one key
  std::vector<uint64_t> out;
  m.FindAll(42 * 0x9E3779B97F4A7C15ull, &out);
  std::sort(out.begin(), out.end());
  EXPECT_EQ(out, (std::vector<uint64_t>{42, 99999}));
  out.clear();
  m.FindAll(12345, &out);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(m.size(), 5001u);
  for (uint64_t i = 1; i <= 5000; i += 499) {
    out.clear();
    m.FindAll(i * 0x9E3779B97F4A7C15ull, &out);
    ASSERT_FALSE(out.empty());
    EXPECT_EQ(out[0] == 99999 ? out[1] : out[0], i);
  }
}

TEST(FlatMultiMapTest, FindsKeysInEveryChunkAndDuplicatesAcrossChunks) {
  // Past three chunks; key 7's values land in the first and the last chunk, and a key that
  // shares key 7's slot (same low bits) probes past it.
  FlatMultiMap m;
  const uint64_t n = 3 * FlatMultiMap::kChunkEntries + 100;
  const uint64_t kMul = 0x9E3779B97F4A7C15ull;
  m.Insert(7 * kMul, 1);
  for (uint64_t i = 100; i < n; ++i) m.Insert(i * kMul, i);
  m.Insert(7 * kMul, 2);
  const uint64_t slot_twin = (7 * kMul) + (uint64_t{1} << 40);
  m.Insert(slot_twin, 3);
  EXPECT_EQ(m.size(), n - 100 + 3);
  std::vector<uint64_t> out;
  m.FindAll(7 * kMul, &out);
  std::sort(out.begin(), out.end());
  EXPECT_EQ(out, (std::vector<uint64_t>{1, 2}));
  out.clear();
  m.FindAll(slot_twin, &out);
  EXPECT_EQ(out, (std::vector<uint64_t>{3}));
  for (uint64_t i = 100; i < n; i += 9973) {
    out.clear();
    m.FindAll(i * kMul, &out);
    EXPECT_EQ(out, (std::vector<uint64_t>{i})) << i;
  }
  out.clear();
  m.FindAll(5 * kMul, &out);  // never inserted
  EXPECT_TRUE(out.empty());
}

TEST(FlatMultiMapTest, ProbesAcrossPageEndsAndWrapAround) {
  // Inserts touch each 4 KiB page of a chunk with a store first (TouchForWrite); a probe
  // that runs from the last slot of a page into the next, or from the chunk's last slot
  // around to slot 0, must still see every key and keep the slots it passes.
  FlatMultiMap m;
  const uint64_t kSlots = FlatMultiMap::kChunkSlots;
  const uint64_t page_end = 4096 / 16 - 1;  // the last slot of the first page
  const uint64_t chunk_end = kSlots - 1;
  std::vector<uint64_t> keys;
  for (uint64_t i = 1; i <= 4; ++i) keys.push_back(page_end + (i << 40));
  for (uint64_t i = 1; i <= 4; ++i) keys.push_back(chunk_end + (i << 40));
  keys.push_back(uint64_t{1} << 40);  // slot 0, taken by the wrapped probe before it
  for (size_t i = 0; i < keys.size(); ++i) m.Insert(keys[i], 1000 + i);
  for (size_t i = 0; i < keys.size(); ++i) {
    std::vector<uint64_t> out;
    m.FindAll(keys[i], &out);
    EXPECT_EQ(out, (std::vector<uint64_t>{1000 + i})) << i;
  }
  std::vector<uint64_t> out;
  m.FindAll(page_end + (uint64_t{9} << 40), &out);  // same slot, never inserted
  EXPECT_TRUE(out.empty());
}

TEST(ChunkedVectorTest, AppendsAcrossChunksKeepTheirPlaceAndSearchAscending) {
  // Past three chunks: an element keeps its address once written (no copy on growth), and
  // LowerBound / Contains agree with std::lower_bound over the same values.
  ChunkedVector<uint64_t> v;
  EXPECT_TRUE(v.empty());
  EXPECT_EQ(v.LowerBound(5), 0u);
  EXPECT_FALSE(v.Contains(5));
  const size_t n = 3 * ChunkedVector<uint64_t>::kChunk + 17;
  std::vector<uint64_t> ref;
  const uint64_t* first_in_tail = nullptr;
  for (size_t i = 0; i < n; ++i) {
    v.push_back(3 * i + 1);  // 1, 4, 7, ...
    ref.push_back(3 * i + 1);
    if (i == ChunkedVector<uint64_t>::kChunk) first_in_tail = &v[i];
  }
  ASSERT_EQ(v.size(), n);
  EXPECT_EQ(first_in_tail, &v[ChunkedVector<uint64_t>::kChunk]);
  EXPECT_EQ(v.back(), 3 * (n - 1) + 1);
  for (size_t i = 0; i < n; i += 997) EXPECT_EQ(v[i], ref[i]) << i;
  for (uint64_t x : {uint64_t{0}, uint64_t{1}, uint64_t{2}, uint64_t{24577}, uint64_t{24578},
                     uint64_t{3 * n}, uint64_t{3 * n + 5}}) {
    const size_t want = static_cast<size_t>(std::lower_bound(ref.begin(), ref.end(), x) - ref.begin());
    EXPECT_EQ(v.LowerBound(x), want) << x;
    EXPECT_EQ(v.Contains(x), std::binary_search(ref.begin(), ref.end(), x)) << x;
  }
  v[5] = 99;
  EXPECT_EQ(v[5], 99u);
}

TEST(ChunkedVectorTest, NextSlotIsWhereTheNextAppendLandsWhenAlreadyAllocated) {
  // Prefetch hints: a wrong address would only cost a miss, but it must never point into
  // freed or unallocated memory, and should be right whenever it is given.
  ChunkedVector<uint64_t> v;
  size_t given = 0;
  for (size_t i = 0; i < 2 * ChunkedVector<uint64_t>::kChunk + 3; ++i) {
    const uint64_t* next = v.NextSlot();
    v.push_back(i);
    if (next != nullptr) {
      ++given;
      EXPECT_EQ(next, &v[i]) << i;
    }
    // Never given for the first element of a tail chunk: that chunk does not exist yet.
    if (i >= ChunkedVector<uint64_t>::kChunk && (i - ChunkedVector<uint64_t>::kChunk) % ChunkedVector<uint64_t>::kChunk == 0) {
      EXPECT_EQ(next, nullptr) << i;
    }
  }
  EXPECT_GT(given, ChunkedVector<uint64_t>::kChunk);  // nearly always known
}

}  // namespace
}  // namespace apitrail
