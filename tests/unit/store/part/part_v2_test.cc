// Version 2 parts (docs/FORMAT.md §16): records clustered by (hour of time_ns, subject,
// time_ns, seq) in small blocks; reads by seq go through the seq map; whole-part reads come
// out in seq order; the fingerprint index finds every key (a false match is refuted on the
// record); damage to the version 2 pieces (seq map, summary tail) is a clear error.
#include <gtest/gtest.h>

#include <bit>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <random>
#include <set>

#include "core/crc32c.h"
#include "core/record_codec.h"
#include "store/log/coding.h"
#include "store/merkle/merkle_hash.h"
#include "store/part/part_builder.h"
#include "store/part/part_format.h"
#include "store/part/part_reader.h"
#include "store/part/zstd_frame.h"
#include "testutil/event_builder.h"
#include "testutil/temp_dir.h"

namespace apitrail::part {
namespace {

constexpr uint64_t kN = 600;

// Event i: 5 subjects, 20 s apart (a bit over 3 hours), every fourth one started 50 minutes
// before it completed, so seq order is not time order and neighbours fall in other hours.
AuditEvent Event(uint64_t i) {
  AuditEvent e = testing::MakeEvent(i, 5);
  e.time_ns = 1'760'000'000'000'000'000 + static_cast<int64_t>(i) * 20'000'000'000;
  if (i % 4 == 0) e.time_ns -= 3'000'000'000'000;
  return e;
}

int64_t Bucket(int64_t t) { return t / kClusterBucketNs; }

class PartV2Test : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.path() + "/" + PartFileName(0);
    auto b =
        PartBuilder::Create(DefaultFileSystem(), path_, "node-1", 0, merkle::CompactRange(), 4096);
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    for (uint64_t i = 0; i < kN; ++i) {
      records_.push_back(EncodeRecord(Event(i)));
      after_.Append(merkle::LeafHash(merkle::ThreadHasher(), records_.back()));
      ASSERT_TRUE((*b)->Add(records_.back(), Event(i)).ok());
    }
    ASSERT_TRUE((*b)->Finish(after_).ok());
  }

  std::unique_ptr<PartReader> Open() {
    auto r = PartReader::Open(DefaultFileSystem(), path_);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(r).value() : nullptr;
  }

  std::string ReadAll() {
    std::ifstream f(path_, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), {});
  }
  void WriteAll(const std::string& bytes) {
    std::ofstream f(path_, std::ios::binary | std::ios::trunc);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }

  testing::TempDir dir_;
  std::string path_;
  std::vector<std::string> records_;
  merkle::CompactRange after_;
};

// A part of more than 65,536 blocks (one record each here) keeps 4-byte block numbers in
// its loaded seq map; smaller ones 2: both name every record's block.
TEST(PartV2SeqMapTest, PartsOfMoreThan65536BlocksFindEveryRecordsBlock) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/" + PartFileName(0);
  constexpr uint64_t kRecords = 65536 + 300;
  auto b = PartBuilder::Create(DefaultFileSystem(), path, "node-1", 0, merkle::CompactRange(), 1);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  merkle::CompactRange after;
  std::vector<std::string> records;
  for (uint64_t i = 0; i < kRecords; ++i) {
    AuditEvent e = testing::MakeEvent(i, 1000);
    records.push_back(EncodeRecord(e));
    after.Append(merkle::LeafHash(merkle::ThreadHasher(), records.back()));
    ASSERT_TRUE((*b)->Add(records.back(), e).ok());
  }
  ASSERT_TRUE((*b)->Finish(after).ok());
  auto r = PartReader::Open(DefaultFileSystem(), path);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_GT((*r)->blocks().size(), 65536u);
  for (uint64_t seq :
       {uint64_t{0}, uint64_t{1234}, uint64_t{65535}, uint64_t{65536}, kRecords - 1}) {
    auto one = (*r)->Record(seq);  // through the seq map; Record checks the block holds it
    ASSERT_TRUE(one.ok()) << seq << ": " << one.status().ToString();
    EXPECT_EQ(*one, records[seq]) << seq;
    auto block = (*r)->BlockOf(seq);
    ASSERT_TRUE(block.ok());
    EXPECT_EQ((*r)->blocks()[*block].min_rel, seq);
  }
}

TEST_F(PartV2Test, BlocksHoldOneHourEachAndASubjectsRecordsAreContiguous) {
  auto p = Open();
  ASSERT_TRUE(p);
  EXPECT_EQ(p->version(), kVersion5);
  EXPECT_GT(p->blocks().size(), 8u);
  // Walk every record in file order: the cluster key never goes down.
  std::tuple<int64_t, std::string, int64_t, uint64_t> prev{INT64_MIN, "", INT64_MIN, 0};
  std::set<std::pair<int64_t, std::string>> runs_seen;
  std::pair<int64_t, std::string> run{INT64_MIN, ""};
  for (uint32_t b = 0; b < p->blocks().size(); ++b) {
    auto block = p->ReadBlock(b);
    ASSERT_TRUE(block.ok()) << block.status().ToString();
    const BlockMeta& m = p->blocks()[b];
    EXPECT_EQ(Bucket(m.min_time_ns), Bucket(m.max_time_ns)) << "block " << b << " spans two hours";
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    uint32_t lo_rel = UINT32_MAX, hi_rel = 0;
    for (uint32_t i = 0; i < (*block)->count(); ++i) {
      const uint64_t seq = (*block)->seq(i);
      ASSERT_EQ((*block)->record(i), records_[seq]) << seq;
      const AuditEvent e = Event(seq);
      const auto key = std::make_tuple(Bucket(e.time_ns), e.subject, e.time_ns, seq);
      EXPECT_LT(prev, key) << "seq " << seq;
      prev = key;
      // A (bucket, subject) run starts once and is never resumed later.
      const auto this_run = std::make_pair(Bucket(e.time_ns), e.subject);
      if (this_run != run) {
        EXPECT_TRUE(runs_seen.insert(this_run).second) << "subject " << e.subject << " resumed";
        run = this_run;
      }
      lo = std::min(lo, e.time_ns);
      hi = std::max(hi, e.time_ns);
      lo_rel = std::min<uint32_t>(lo_rel, static_cast<uint32_t>(seq));
      hi_rel = std::max<uint32_t>(hi_rel, static_cast<uint32_t>(seq));
    }
    EXPECT_EQ(m.min_time_ns, lo);
    EXPECT_EQ(m.max_time_ns, hi);
    EXPECT_EQ(m.min_rel, lo_rel);
    EXPECT_EQ(m.max_rel, hi_rel);
  }
}

TEST_F(PartV2Test, ReadsBySeqAndWholePartReadsInSeqOrder) {
  auto p = Open();
  ASSERT_TRUE(p);
  for (uint64_t seq = 0; seq < kN; ++seq) {
    auto rec = p->Record(seq);
    ASSERT_TRUE(rec.ok()) << rec.status().ToString();
    EXPECT_EQ(*rec, records_[seq]);
    auto b = p->BlockOf(seq);
    ASSERT_TRUE(b.ok());
    EXPECT_LE(p->blocks()[*b].min_rel, seq);
    EXPECT_GE(p->blocks()[*b].max_rel, seq);
  }
  EXPECT_EQ(p->Record(kN).status().code(), StatusCode::kNotFound);
  uint64_t next = 0;
  merkle::CompactRange again;
  ASSERT_TRUE(ForEachRecord(*p, [&](uint64_t seq, std::string_view rec) {
                EXPECT_EQ(seq, next++);
                EXPECT_EQ(rec, records_[seq]);
                again.Append(merkle::LeafHash(merkle::ThreadHasher(), rec));
                return Status::Ok();
              }).ok());
  EXPECT_EQ(next, kN);
  EXPECT_TRUE(again == after_);
  EXPECT_TRUE(p->after() == after_);
}

TEST_F(PartV2Test, WholePartReadStaysInSeqOrderWithinAnyWaitingBudget) {
  auto p = Open();
  ASSERT_TRUE(p);
  // 0: nothing may wait (a pass per out-of-turn record); a record's size; a few records; all.
  for (size_t budget : {size_t{0}, size_t{1}, records_[0].size(), size_t{4096}, kMaxWaitingRecordBytes}) {
    uint64_t next = 0;
    ASSERT_TRUE(ForEachRecord(
                    *p,
                    [&](uint64_t seq, std::string_view rec) {
                      EXPECT_EQ(seq, next++) << "budget " << budget;
                      EXPECT_EQ(rec, records_[seq]);
                      return Status::Ok();
                    },
                    budget)
                    .ok());
    EXPECT_EQ(next, kN) << "budget " << budget;
  }
}

TEST_F(PartV2Test, ASharedBlockCacheServesRepeatedReadsAndForgetsAClosedReader) {
  auto cache = std::make_shared<BlockCache>(64u << 20);
  auto p = Open();
  ASSERT_TRUE(p);
  p->SetBlockCache(cache);
  const uint32_t nblocks = static_cast<uint32_t>(p->blocks().size());
  ASSERT_GT(nblocks, 4u);  // several blocks, each decoded once and then served from the cache
  for (int pass = 0; pass < 2; ++pass) {
    for (uint32_t b = 0; b < nblocks; ++b) {
      auto block = p->ReadBlock(b);
      ASSERT_TRUE(block.ok()) << block.status().ToString();
      for (uint32_t i = 0; i < (*block)->count(); ++i)
        EXPECT_EQ((*block)->record(i), records_[(*block)->seq(i)]);
    }
  }
  BlockCacheStats s = cache->Stats();
  EXPECT_EQ(s.misses, nblocks);  // each block decoded once ...
  EXPECT_EQ(s.hits, nblocks);    // ... and served from the cache the second time
  EXPECT_EQ(s.blocks, nblocks);

  // A second reader of the same file has its own entries; closing the first frees its own.
  auto q = Open();
  ASSERT_TRUE(q);
  q->SetBlockCache(cache);
  ASSERT_TRUE(q->ReadBlock(0).ok());
  EXPECT_EQ(cache->Stats().misses, nblocks + 1);
  p.reset();
  s = cache->Stats();
  EXPECT_EQ(s.blocks, 1u);
  auto again = q->Record(records_.size() - 1);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, records_.back());
}

TEST_F(PartV2Test, ABlocksDirectoryNamesExactlyTheRecordsOfEachSubjectIdAndResource) {
  auto p = Open();
  ASSERT_TRUE(p);
  size_t records = 0, resources = 0;
  for (uint32_t b = 0; b < p->blocks().size(); ++b) {
    auto block = p->ReadBlock(b);
    ASSERT_TRUE(block.ok()) << block.status().ToString();
    const Block& blk = **block;
    const Block::Directory* dir = blk.directory();
    ASSERT_NE(dir, nullptr);
    EXPECT_EQ(dir, blk.directory());  // built once
    // Subject runs: disjoint, cover the block, and each holds one subject's records only.
    std::vector<int> covered(blk.count(), 0);
    for (size_t r = 0; r < dir->subjects.size(); ++r) {
      const Block::SubjectRun& run = dir->subjects[r];
      if (r > 0) {
        EXPECT_LE(dir->subjects[r - 1].subject, run.subject);
      }
      for (uint32_t i = run.begin; i < run.end; ++i) {
        ++covered[i];
        EXPECT_EQ(Event(blk.seq(i)).subject, run.subject);
      }
    }
    EXPECT_EQ(std::count(covered.begin(), covered.end(), 1),
              static_cast<std::ptrdiff_t>(blk.count()));
    // Every record is found by its id, correlation id and trace id.
    for (uint32_t i = 0; i < blk.count(); ++i) {
      const AuditEvent e = Event(blk.seq(i));
      const auto has = [&](const Block::HashedKeys& keys, const std::string& v) {
        const std::vector<uint32_t> found = Block::Lookup(keys, v);
        return std::find(found.begin(), found.end(), i) != found.end();
      };
      EXPECT_TRUE(has(dir->ids, e.id));
      EXPECT_TRUE(has(dir->correlation_ids, e.correlation_id));
      EXPECT_TRUE(has(dir->trace_ids, e.trace_id));
      std::string key;
      for (const auto& [name, value] : e.resources) {
        Block::ResourceKey(name, value, &key);
        EXPECT_TRUE(has(dir->resources, key)) << name << "=" << value;
        ++resources;
        // The name and value split elsewhere is another resource.
        if (value.empty()) continue;
        Block::ResourceKey(name + value.substr(0, 1), value.substr(1), &key);
        EXPECT_FALSE(has(dir->resources, key)) << name << "=" << value;
      }
    }
    EXPECT_TRUE(Block::Lookup(dir->correlation_ids, "no-such-correlation-id").empty());
    EXPECT_TRUE(std::is_sorted(dir->resources.begin(), dir->resources.end()));
    records += blk.count();
  }
  EXPECT_EQ(records, kN);
  EXPECT_GE(resources, kN);  // the fixture's events name resources
}

TEST_F(PartV2Test, OneSubjectInOneHourTouchesFewBlocksAndTimeRangesStillPrune) {
  auto p = Open();
  ASSERT_TRUE(p);
  const int64_t hour = Bucket(Event(300).time_ns) * kClusterBucketNs;
  EventQuery q;
  q.subject = "user-2";
  q.since_ns = hour;
  q.until_ns = hour + kClusterBucketNs;
  const std::vector<uint32_t> cand = p->CandidateBlocks(q);
  // Every candidate holds a matching record: clustering packed them together.
  size_t matching_bytes = 0;
  for (uint64_t i = 0; i < kN; ++i) {
    const AuditEvent e = Event(i);
    if (e.subject == "user-2" && Bucket(e.time_ns) * kClusterBucketNs == hour)
      matching_bytes += records_[i].size();
  }
  ASSERT_GT(matching_bytes, 0u);
  EXPECT_LE(cand.size(), matching_bytes / 4096 + 2);
  for (uint32_t b : cand) {
    bool has = false;
    auto block = p->ReadBlock(b);
    ASSERT_TRUE(block.ok());
    for (uint32_t i = 0; i < (*block)->count(); ++i) {
      const AuditEvent e = Event((*block)->seq(i));
      has = has ||
            (e.subject == "user-2" && e.time_ns >= hour && e.time_ns < hour + kClusterBucketNs);
    }
    EXPECT_TRUE(has) << "block " << b;
  }
  // A time window alone keeps only that hour's blocks.
  EventQuery t;
  t.since_ns = hour;
  t.until_ns = hour + kClusterBucketNs;
  for (uint32_t b : p->CandidateBlocks(t))
    EXPECT_EQ(Bucket(p->blocks()[b].min_time_ns) * kClusterBucketNs, hour);
}

TEST_F(PartV2Test, FingerprintMatchesOfAbsentKeysAreRefutedOnTheRecord) {
  auto p = Open();
  ASSERT_TRUE(p);
  // Every stored key is found in the block holding it.
  for (uint64_t i = 0; i < kN; ++i) {
    const auto got = *p->BlocksWith(Field::kCorrelationId, "corr-" + std::to_string(i));
    EXPECT_NE(std::find(got.begin(), got.end(), *p->BlockOf(i)), got.end()) << i;
  }
  // Absent keys: about one in 2^6 shares a fingerprint with a stored one. Such a block is
  // named, but no record in it has the key, which is what every reader checks.
  int false_matches = 0;
  for (int k = 0; k < 2000; ++k) {
    const std::string absent = "absent-" + std::to_string(k);
    const std::vector<uint32_t> named = *p->BlocksWith(Field::kCorrelationId, absent);
    for (uint32_t b : named) {
      ++false_matches;
      auto block = p->ReadBlock(b);
      ASSERT_TRUE(block.ok());
      for (uint32_t i = 0; i < (*block)->count(); ++i) {
        auto e = DecodeRecord((*block)->record(i));
        ASSERT_TRUE(e.ok());
        EXPECT_NE(e->correlation_id, absent);
      }
    }
  }
  EXPECT_GT(false_matches, 0);          // the test exercises the refutation
  EXPECT_LT(false_matches, 2000 / 16);  // and fingerprints are sized for ~1/64
}

TEST_F(PartV2Test, DamagedSeqMapFailsReadsBySeqNamingItsOffset) {
  uint64_t seqmap = 0;
  {
    auto p = Open();
    ASSERT_TRUE(p);
    seqmap = p->seqmap_offset();
    EXPECT_EQ(seqmap, p->blocks().back().offset + p->blocks().back().stored_size);
  }
  std::string bytes = ReadAll();
  bytes[seqmap + 5] ^= 0x10;
  WriteAll(bytes);
  auto p = Open();  // open reads no seq map
  ASSERT_TRUE(p);
  auto rec = p->Record(7);
  ASSERT_FALSE(rec.ok());
  EXPECT_EQ(rec.status().code(), StatusCode::kCorruption);
  EXPECT_NE(rec.status().message().find(path_ + ": seq map crc mismatch at offset " +
                                        std::to_string(seqmap)),
            std::string::npos)
      << rec.status().message();
  // Reading the whole part needs no seq map.
  EXPECT_TRUE(ForEachRecord(*p, [](uint64_t, std::string_view) { return Status::Ok(); }).ok());
}

TEST_F(PartV2Test, InconsistentSummaryTailFailsOpenEvenWithValidCrcs) {
  // Rewrite the summary's seq map size (and the CRCs over it): open must refuse the part.
  std::string bytes = ReadAll();
  const size_t footer = bytes.size() - kFooterSize;
  const uint64_t summary_off = log::DecodeFixed64(bytes.data() + footer);
  const uint32_t summary_size = log::DecodeFixed32(bytes.data() + footer + 8);
  const size_t tail = summary_off + summary_size - kSummaryTailV2;
  std::string size_field;
  log::PutFixed32(&size_field, log::DecodeFixed32(bytes.data() + tail + 16) + 1);
  bytes.replace(tail + 16, 4, size_field);
  std::string crc;
  log::PutFixed32(&crc, crc32c::Mask(crc32c::Value(bytes.data() + summary_off, summary_size)));
  bytes.replace(footer + 12, 4, crc);
  crc.clear();
  log::PutFixed32(&crc, crc32c::Mask(crc32c::Value(bytes.data() + footer, 36)));
  bytes.replace(footer + 36, 4, crc);
  WriteAll(bytes);
  auto r = PartReader::Open(DefaultFileSystem(), path_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
  EXPECT_NE(r.status().message().find(path_ + ": seq map entry is inconsistent at offset " +
                                      std::to_string(tail)),
            std::string::npos)
      << r.status().message();
}

// Sizes a part claims are checked against the bytes that hold them before anything is
// allocated: CRCs only catch accidents, and a crafted part must fail open, not exhaust memory.
class PartV2ClaimsTest : public PartV2Test {
 protected:
  static void Put32(std::string* bytes, size_t at, uint32_t v) {
    std::string f;
    log::PutFixed32(&f, v);
    bytes->replace(at, 4, f);
  }
  static void Put64(std::string* bytes, size_t at, uint64_t v) {
    std::string f;
    log::PutFixed64(&f, v);
    bytes->replace(at, 8, f);
  }
  static uint32_t Crc(std::string_view s) { return crc32c::Mask(crc32c::Value(s.data(), s.size())); }
  // The summary's and footer's CRCs, recomputed after a change.
  static void FixCrcs(std::string* bytes) {
    const size_t footer = bytes->size() - kFooterSize;
    const uint64_t summary_off = log::DecodeFixed64(bytes->data() + footer);
    const uint32_t summary_size = log::DecodeFixed32(bytes->data() + footer + 8);
    if (summary_off <= footer && summary_size <= footer - summary_off) Put32(bytes, footer + 12, Crc(std::string_view(*bytes).substr(summary_off, summary_size)));
    Put32(bytes, footer + 36, Crc(std::string_view(*bytes).substr(footer, 36)));
  }
  Status OpenStatus(const std::string& bytes, const std::string& name) {
    const std::string path = dir_.path() + "/" + name;
    std::ofstream(path, std::ios::binary | std::ios::trunc).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    auto r = PartReader::Open(DefaultFileSystem(), path);
    return r.ok() ? Status::Ok() : r.status();
  }
  static void ExpectCorruption(const Status& st, const std::string& what) {
    EXPECT_EQ(st.code(), StatusCode::kCorruption) << st.ToString();
    EXPECT_NE(st.message().find(what), std::string::npos) << st.message();
  }
};

TEST_F(PartV2ClaimsTest, ABlockClaimingMoreRawBytesThanItsFrameCanYieldFailsOpen) {
  std::string bytes = ReadAll();
  const size_t footer = bytes.size() - kFooterSize;
  const uint64_t summary_off = log::DecodeFixed64(bytes.data() + footer);
  const size_t meta = summary_off + 28;  // block 0's entry
  const uint32_t stored = log::DecodeFixed32(bytes.data() + meta + 8);
  Put32(&bytes, meta + 12, stored * 32768 + 32768);  // under kMaxBlockRawSize, past zstd's reach
  FixCrcs(&bytes);
  ExpectCorruption(OpenStatus(bytes, PartFileName(0)), "block 0 entry is inconsistent");
}

TEST_F(PartV2ClaimsTest, FooterOffsetsThatWrapFailOpen) {
  std::string bytes = ReadAll();
  const size_t footer = bytes.size() - kFooterSize;
  const uint64_t index_off = log::DecodeFixed64(bytes.data() + footer + 16);
  // summary_off + summary_size == index_off only modulo 2^64.
  Put64(&bytes, footer, UINT64_MAX - 99);
  Put32(&bytes, footer + 8, static_cast<uint32_t>(index_off + 100));
  FixCrcs(&bytes);
  ExpectCorruption(OpenStatus(bytes, PartFileName(0)), "footer section offsets are inconsistent");
}

TEST_F(PartV2ClaimsTest, ACountRunningPastTheLastSeqFailsOpen) {
  // A part whose first seq is so high that its records' seqs would wrap: its Merkle state
  // before is well formed (one hash per set bit of the size), so only the count check stops it.
  const uint64_t first = UINT64_MAX - 5;
  merkle::CompactRange before;
  ASSERT_TRUE(merkle::CompactRange::FromHashes(first, std::vector<Hash256>(std::popcount(first)), &before));
  const std::string path = dir_.path() + "/renamed.part";  // no part's name: not checked against the header
  auto b = PartBuilder::Create(DefaultFileSystem(), path, "node-1", first, before, 4096);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  for (uint64_t i = 0; i < 10; ++i) ASSERT_TRUE((*b)->Add(records_[i], Event(i)).ok());
  ASSERT_TRUE((*b)->Finish(merkle::CompactRange()).ok());
  auto r = PartReader::Open(DefaultFileSystem(), path);
  ASSERT_FALSE(r.ok());
  ExpectCorruption(r.status(), "record count runs past the last seq");
}

TEST(ZstdFrameTest, ARawSizeTheFrameCannotYieldIsRefusedBeforeAllocating) {
  // A 17-byte frame whose header claims 1 TiB of content (single segment, 8-byte size) and
  // holds one RLE block: the sizes agree, but no 17 bytes of zstd make a terabyte.
  const uint64_t claimed = uint64_t{1} << 40;
  std::string frame("\x28\xb5\x2f\xfd\xe0", 5);
  log::PutFixed64(&frame, claimed);
  frame += std::string("\x0b\x00\x02", 3);  // last block, RLE, 64 KiB of...
  frame += 'a';
  auto raw = ZstdDecompress(frame, claimed);
  ASSERT_FALSE(raw.ok());
  EXPECT_EQ(raw.status().code(), StatusCode::kCorruption);
  EXPECT_NE(raw.status().message().find("cannot hold"), std::string::npos) << raw.status().message();
  // What the frame really holds still decompresses.
  const std::string small = ZstdCompress(std::string(1000, 'x'), 3).value();
  EXPECT_EQ(ZstdDecompress(small, 1000).value(), std::string(1000, 'x'));
}

TEST(PartFileNameTest, TwentyDigitsPastUint64AreNoPartsName) {
  uint64_t first = 0;
  EXPECT_TRUE(ParsePartFileName("part-18446744073709551615.part", &first));
  EXPECT_EQ(first, UINT64_MAX);
  EXPECT_FALSE(ParsePartFileName("part-18446744073709551616.part", &first));
  EXPECT_FALSE(ParsePartFileName("part-99999999999999999999.part", &first));
  EXPECT_TRUE(ParsePartFileName(PartFileName(42), &first));
  EXPECT_EQ(first, 42u);
}

TEST_F(PartV2Test, GarbageAnywhereIsAnErrorNotACrash) {
  const std::string good = ReadAll();
  std::mt19937 rng(5);
  for (int round = 0; round < 300; ++round) {
    std::string bad = good;
    for (int k = 0; k < 1 + round % 3; ++k)
      bad[rng() % bad.size()] ^= static_cast<char>(1 << (rng() % 8));
    WriteAll(bad);
    auto r = PartReader::Open(DefaultFileSystem(), path_);
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), StatusCode::kCorruption) << r.status().ToString();
      continue;
    }
    // Whatever opened reads to a result or a Corruption, never a crash.
    (void)ForEachRecord(**r, [](uint64_t, std::string_view) { return Status::Ok(); });
    if (round % 10 == 0) {  // and read in several passes
      (void)ForEachRecord(**r, [](uint64_t, std::string_view) { return Status::Ok(); }, 4096);
    }
    (void)(*r)->Record(rng() % kN);
  }
}

TEST(PartV2DictionaryTest, APartLargeEnoughGetsADictionaryThatAllItsBlocksUse) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/" + PartFileName(0);
  std::vector<std::string> records;
  {
    auto b =
        PartBuilder::Create(DefaultFileSystem(), path, "node-1", 0, merkle::CompactRange(), 4096);
    ASSERT_TRUE(b.ok());
    merkle::CompactRange after;
    // ~1 MiB of records (over kDictionaryMinPartBytes) with a recurring vocabulary and
    // random ids, as real traffic has: what zstd needs to train a dictionary.
    std::mt19937_64 rng(3);
    const char* const agents[] = {
        "Mozilla/5.0 (X11; Linux x86_64; rv:131.0) Gecko/20100101 Firefox/131.0",
        "acme-sdk-go/2.18.0 (linux; amd64) go1.23.2", "curl/8.5.0", "python-requests/2.32.3",
        "okhttp/4.12.0"};
    const char* const words[] = {"projects", "issues", "members", "labels",
                                 "builds",   "tokens", "reports"};
    for (uint64_t i = 0; i < 3000; ++i) {
      AuditEvent e = Event(i);
      e.user_agent = agents[rng() % 5];
      e.path = std::string("/api/v1/") + words[rng() % 7] + "/" + std::to_string(rng() % 100000) +
               "/" + words[rng() % 7];
      e.correlation_id = std::to_string(rng()) + "-" + std::to_string(rng());
      e.tenant = std::string("tenant-") + words[rng() % 7];
      records.push_back(EncodeRecord(e));
      after.Append(merkle::LeafHash(merkle::ThreadHasher(), records.back()));
      ASSERT_TRUE((*b)->Add(records.back(), e).ok());
    }
    ASSERT_TRUE((*b)->Finish(after).ok());
  }
  uint64_t dict_at = 0;
  {
    auto r = PartReader::Open(DefaultFileSystem(), path);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    const PartReader& p = **r;
    ASSERT_GT(p.dictionary_size(), 0u);
    EXPECT_LE(p.dictionary_size(), kMaxDictionarySectionSize);
    // The tenants and routes recur: the part has a value table beside the zstd dictionary.
    ASSERT_NE(p.values().Field(20), nullptr);
    EXPECT_EQ(p.values().Field(20)->size(), 7u);
    uint64_t n = 0;
    ASSERT_TRUE(ForEachRecord(p, [&](uint64_t seq, std::string_view rec) {
                  EXPECT_EQ(rec, records[seq]);
                  ++n;
                  return Status::Ok();
                }).ok());
    EXPECT_EQ(n, records.size());
    dict_at = p.seqmap_offset() + (p.summary_offset() - p.dictionary_size() - p.seqmap_offset());
  }
  // The dictionary is checked at open: a flipped byte names it.
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(static_cast<std::streamoff>(dict_at + 100));
    char c;
    f.read(&c, 1);
    c = static_cast<char>(c ^ 0x04);
    f.seekp(static_cast<std::streamoff>(dict_at + 100));
    f.write(&c, 1);
  }
  auto r = PartReader::Open(DefaultFileSystem(), path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
  EXPECT_NE(r.status().message().find(path + ": dictionary crc mismatch at offset " +
                                      std::to_string(dict_at)),
            std::string::npos)
      << r.status().message();
}

}  // namespace
}  // namespace apitrail::part

namespace apitrail::part {
namespace {

// Rewrites a part's dictionary section in place (same length) and every CRC over it, as a
// damaged or hostile writer would: what the reader must then catch is the content itself.
void RewriteDictionarySection(const std::string& path,
                              const std::function<void(std::string*)>& change) {
  std::string file;
  {
    std::ifstream in(path, std::ios::binary);
    file.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  auto crc = [](std::string_view s) { return crc32c::Mask(crc32c::Value(s.data(), s.size())); };
  auto put32 = [](char* p, uint32_t v) {
    for (int i = 0; i < 4; ++i) p[i] = static_cast<char>(v >> (8 * i));
  };
  char* footer = file.data() + file.size() - kFooterSize;
  const uint64_t summary_off = log::DecodeFixed64(footer);
  const uint32_t summary_size = log::DecodeFixed32(footer + 8);
  char* tail = file.data() + summary_off + summary_size - kSummaryTailV2;
  const uint64_t dict_off = log::DecodeFixed64(tail + 28);
  const uint32_t dict_size = log::DecodeFixed32(tail + 36);
  std::string section = file.substr(dict_off, dict_size);
  change(&section);
  ASSERT_EQ(section.size(), dict_size);
  file.replace(dict_off, dict_size, section);
  put32(tail + 40, crc(section));
  put32(footer + 12, crc(std::string_view(file).substr(summary_off, summary_size)));
  put32(footer + 36, crc(std::string_view(footer, 36)));
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(file.data(), static_cast<std::streamsize>(file.size()));
}

TEST(PartV3ValueTableTest, ADamagedValueTableIsRefusedAtOpenNamingTheSection) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/" + PartFileName(0);
  {
    auto b =
        PartBuilder::Create(DefaultFileSystem(), path, "node-1", 0, merkle::CompactRange(), 4096);
    ASSERT_TRUE(b.ok());
    merkle::CompactRange after;
    for (uint64_t i = 0; i < 400; ++i) {
      const std::string rec = EncodeRecord(Event(i));
      after.Append(merkle::LeafHash(merkle::ThreadHasher(), rec));
      ASSERT_TRUE((*b)->Add(rec, Event(i)).ok());
    }
    ASSERT_TRUE((*b)->Finish(after).ok());
  }
  const std::string good = [&] {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }();
  {
    auto r = PartReader::Open(DefaultFileSystem(), path);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_EQ((*r)->version(), kVersion5);
    ASSERT_FALSE((*r)->values().empty());  // a small part: a table, no zstd dictionary
  }
  const auto expect_refused = [&](const std::function<void(std::string*)>& change,
                                  const std::string& why) {
    {
      std::ofstream out(path, std::ios::binary | std::ios::trunc);
      out.write(good.data(), static_cast<std::streamsize>(good.size()));
    }
    RewriteDictionarySection(path, change);
    auto r = PartReader::Open(DefaultFileSystem(), path);
    ASSERT_FALSE(r.ok()) << why;
    EXPECT_EQ(r.status().code(), StatusCode::kCorruption) << why;
    EXPECT_NE(r.status().message().find(path + ": "), std::string::npos) << r.status().message();
    EXPECT_NE(r.status().message().find(why), std::string::npos) << r.status().message();
  };
  auto put32 = [](std::string* s, size_t at, uint32_t v) {
    for (int i = 0; i < 4; ++i) (*s)[at + i] = static_cast<char>(v >> (8 * i));
  };
  expect_refused([&](std::string* s) { put32(s, 8, PartValues::kMaxRawBytes + 1); },
                 "value table sizes");
  expect_refused([&](std::string* s) { put32(s, 12, static_cast<uint32_t>(s->size())); },
                 "value table sizes");
  expect_refused([&](std::string* s) { put32(s, 8, log::DecodeFixed32(s->data() + 8) + 1); },
                 "value table");
  expect_refused([&](std::string* s) { (*s)[kValueTableHeaderSize + 6] ^= 0x40; }, "value table");
  // With its magic damaged the section is taken for a (raw content) zstd dictionary: the
  // part opens, but every block that needs the table is refused when read.
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(good.data(), static_cast<std::streamsize>(good.size()));
  }
  RewriteDictionarySection(path, [](std::string* s) { (*s)[0] = 'X'; });
  auto r = PartReader::Open(DefaultFileSystem(), path);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto block = (*r)->ReadBlock(0);
  ASSERT_FALSE(block.ok());
  EXPECT_EQ(block.status().code(), StatusCode::kCorruption);
}

}  // namespace
}  // namespace apitrail::part
