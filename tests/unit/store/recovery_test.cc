// Recovery at Open: torn tails are cut, damage that could hide acknowledged records is not.
#include <gtest/gtest.h>

#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "core/record_codec.h"
#include "store/fs/file_system.h"
#include "store/log/record_writer.h"
#include "store_test_util.h"
#include "store/verify.h"
#include "testutil/fault_file_system.h"

namespace apitrail {
namespace {

using namespace apitrail::testing;

class RecoveryTest : public ::testing::Test {
 protected:
  StoreOptions Options(FileSystem* fs = nullptr) {
    StoreOptions o;
    o.data_dir = dir_.path() + "/data";
    o.fs = fs;
    return o;
  }
  std::string Seg(uint64_t first = 0) { return SegmentPath(dir_.path() + "/data", first); }
  // Writes n events with the default options and closes the store.
  void Populate(uint64_t n, uint64_t max_segment_bytes = 256ull << 20) {
    StoreOptions o = Options();
    o.max_segment_bytes = max_segment_bytes;
    o.seal_rotated = false;  // these cases damage non-last segments
    auto store = OpenOrDie(o);
    AppendMany(*store, n);
  }
  Status OpenStatus() { return Store::Open(Options()).status(); }

  TempDir dir_;
  FaultFileSystem fault_{DefaultFileSystem()};
};

TEST_F(RecoveryTest, TornTailIsCutAtLastWholeRecord) {
  for (uint64_t keep : {uint64_t{0}, uint64_t{10}, uint64_t{1} << 20}) {
    SCOPED_TRACE("keep " + std::to_string(keep));
    TempDir dir;
    fault_.Restart();  // the previous iteration crashed it
    StoreOptions o;
    o.data_dir = dir.path();
    o.fs = &fault_;
    o.durability = Durability::kBatch;  // acknowledged but unsynced records exist
    o.batch_interval_ms = 60'000;
    {
      auto store = OpenOrDie(o);
      AppendMany(*store, 10);  // flushed: durable, covered by a tree head
      for (uint64_t i = 10; i < 15; ++i) ASSERT_TRUE(AppendSync(*store, MakeEvent(i)).ok());
      const uint64_t frame10 = log::FrameSize(EncodeRecord(MakeEvent(10)).size());
      ASSERT_TRUE(fault_.Crash(keep == 10 ? frame10 + 10 : keep).ok());
    }
    o.fs = nullptr;
    auto store = OpenOrDie(o);
    StoreStats s = store->Stats();
    if (keep == 0) {
      EXPECT_EQ(s.size, 10u);
      EXPECT_EQ(s.recovered_truncated_bytes, 0u);
    } else if (keep == 10) {
      EXPECT_EQ(s.size, 11u);  // one whole unsynced record survived, the torn one is cut
      // 10 torn bytes: len, crc and the low two bytes of seq 11. The second of those is 0,
      // as are the bytes of the zero reserve behind it, so 9 count as cut data.
      EXPECT_EQ(s.recovered_truncated_bytes, 9u);
    } else {
      EXPECT_EQ(s.size, 15u);  // everything made it to disk after all
    }
    uint64_t seq = 0;
    ASSERT_TRUE(AppendSync(*store, MakeEvent(99), &seq).ok());
    EXPECT_EQ(seq, s.size);
  }
}

TEST_F(RecoveryTest, AcknowledgedRecordsSurviveACrashAtAnyMoment) {
  StoreOptions o = Options(&fault_);
  std::mutex mu;
  std::set<uint64_t> acked;
  {
    auto store = OpenOrDie(o);
    for (uint64_t i = 0; i < 1000; ++i) {
      Status st = store->Append(MakeEvent(i), [&](const Status& s, uint64_t seq) {
        if (!s.ok()) return;
        std::lock_guard<std::mutex> lock(mu);
        acked.insert(seq);
      });
      if (!st.ok()) break;
      if (i == 100) {
        // Let some acknowledgements happen, then crash while the writer is busy.
        for (int spin = 0; spin < 2000; ++spin) {
          {
            std::lock_guard<std::mutex> lock(mu);
            if (!acked.empty()) break;
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
      }
      if (i == 150) {
        ASSERT_TRUE(fault_.Crash(7).ok());
      }
    }
  }
  auto store = OpenOrDie(Options());
  std::lock_guard<std::mutex> lock(mu);
  ASSERT_FALSE(acked.empty());
  EXPECT_GE(store->Stats().size, *acked.rbegin() + 1);
  for (uint64_t seq : acked) ASSERT_TRUE(store->GetBySeq(seq).ok()) << seq;
}

// Crash at random moments (mid-batch, mid-rotation) with random torn prefixes; every
// acknowledged record must survive and the dir must always reopen and verify.
TEST_F(RecoveryTest, RandomCrashesNeverLoseAcknowledgedRecords) {
  std::mt19937 rng(20261126);
  std::mutex mu;
  std::set<uint64_t> acked;
  for (int round = 0; round < 12; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    FaultFileSystem fault(DefaultFileSystem());
    StoreOptions o = Options(&fault);
    o.max_segment_bytes = 4096;  // rotate often
    {
      auto store = OpenOrDie(o);
      ASSERT_NE(store, nullptr);
      const uint64_t base = store->Stats().size;
      const int crash_at = 20 + static_cast<int>(rng() % 60);
      for (int i = 0; i < 80; ++i) {
        if (i == crash_at / 2) {
          ASSERT_TRUE(store->Flush().ok());  // some acknowledgements before the crash
        }
        if (i == crash_at) {
          Status crashed = fault.Crash(rng() % 400);
          ASSERT_TRUE(crashed.ok()) << crashed.ToString();
        }
        Status st = store->Append(MakeEvent(base + static_cast<uint64_t>(i)),
                                  [&](const Status& s, uint64_t seq) {
                                    if (!s.ok()) return;
                                    std::lock_guard<std::mutex> lock(mu);
                                    acked.insert(seq);
                                  });
        if (!st.ok()) break;
        if (rng() % 8 == 0) std::this_thread::sleep_for(std::chrono::microseconds(200));
      }
    }
    auto store = OpenOrDie(Options());
    ASSERT_NE(store, nullptr);
    std::lock_guard<std::mutex> lock(mu);
    for (uint64_t seq : acked) {
      ASSERT_TRUE(store->GetBySeq(seq).ok()) << seq;
    }
    store.reset();
    VerifyReport report = VerifyDataDir(dir_.path() + "/data");
    ASSERT_TRUE(report.ok) << report.problem << " in " << report.file << " at " << report.offset;
  }
  EXPECT_GT(acked.size(), 100u);
}

// The active segment is pre-extended with zeros (FORMAT.md §3), so after a crash its file
// ends in zeros: recovery treats them as the end of the records, not as a torn tail.
TEST_F(RecoveryTest, ZeroReserveLeftByACrashIsNotDamage) {
  StoreOptions o = Options(&fault_);
  {
    auto store = OpenOrDie(o);
    AppendMany(*store, 20);
    ASSERT_TRUE(store->Flush().ok());
    ASSERT_TRUE(fault_.Crash(0).ok());
  }
  auto size = DefaultFileSystem()->ReadAll(Seg());
  ASSERT_TRUE(size.ok());
  EXPECT_GE(size->size(), 1u << 20) << "the reserve reaches at least 1 MiB";
  EXPECT_EQ(size->back(), '\0');
  VerifyReport before = VerifyDataDir(o.data_dir);
  EXPECT_TRUE(before.ok) << before.problem;
  EXPECT_EQ(before.torn_tail_bytes, 0u);

  o.fs = nullptr;
  auto store = OpenOrDie(o);
  EXPECT_EQ(store->Stats().size, 20u);
  EXPECT_EQ(store->Stats().recovered_truncated_bytes, 0u);
  uint64_t seq = 0;
  ASSERT_TRUE(AppendSync(*store, MakeEvent(20), &seq).ok());
  EXPECT_EQ(seq, 20u);
  store->Close();
  // A closed segment keeps no reserve: it ends with its last frame.
  auto closed = DefaultFileSystem()->ReadAll(Seg());
  ASSERT_TRUE(closed.ok());
  EXPECT_LT(closed->size(), 1u << 20);
  VerifyReport after = VerifyDataDir(o.data_dir);
  EXPECT_TRUE(after.ok) << after.problem;
  EXPECT_EQ(after.records, 21u);
}

// Without room for a reserve the store still writes (each sync then also writes metadata)
// and counts it.
TEST_F(RecoveryTest, FailedReserveIsCountedNotFatal) {
  fault_.SetReserveError(true);
  auto store = OpenOrDie(Options(&fault_));
  AppendMany(*store, 10);
  ASSERT_TRUE(store->Flush().ok());
  EXPECT_TRUE(store->Accepting());
  EXPECT_EQ(store->Stats().size, 10u);
  EXPECT_GT(store->Stats().reserve_failures, 0u);
}

TEST_F(RecoveryTest, MidLogCorruptionRefusesToOpen) {
  Populate(10);
  auto offsets = FrameOffsets(Seg());
  const auto size_before = ReadFileBytes(Seg()).size();
  FlipByte(Seg(), offsets[3] + 20);
  Status st = OpenStatus();
  EXPECT_EQ(st.code(), StatusCode::kCorruption);
  EXPECT_NE(st.message().find(Seg()), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("offset " + std::to_string(offsets[3])), std::string::npos)
      << st.message();
  EXPECT_EQ(ReadFileBytes(Seg()).size(), size_before);  // nothing was cut
}

TEST_F(RecoveryTest, DamagedLastRecordCoveredByTreeHeadRefusesToOpen) {
  Populate(10);
  auto offsets = FrameOffsets(Seg());
  FlipByte(Seg(), offsets[9] + 20);
  Status st = OpenStatus();
  EXPECT_EQ(st.code(), StatusCode::kCorruption);
  EXPECT_NE(st.message().find("covered by a tree head"), std::string::npos) << st.message();
}

TEST_F(RecoveryTest, DamageInNonLastSegmentRefusesToOpen) {
  Populate(60, 4096);
  auto offsets = FrameOffsets(Seg());
  FlipByte(Seg(), offsets[offsets.size() - 2] + 20);  // last record of the first segment
  Status st = OpenStatus();
  EXPECT_EQ(st.code(), StatusCode::kCorruption);
  EXPECT_NE(st.message().find(Seg()), std::string::npos) << st.message();
}

TEST_F(RecoveryTest, TruncationBelowTreeHeadRefusesToOpen) {
  Populate(10);
  auto offsets = FrameOffsets(Seg());
  TruncateFile(Seg(), offsets[8]);  // whole records 8 and 9 gone
  Status st = OpenStatus();
  EXPECT_EQ(st.code(), StatusCode::kCorruption);
  EXPECT_NE(st.message().find("tree head says 10 records, log has 8"), std::string::npos)
      << st.message();
}

TEST_F(RecoveryTest, ShortHeaderOfNewestSegmentIsDropped) {
  Populate(10);
  WriteFileBytes(SegmentPath(dir_.path() + "/data", 10), "APTLOG");  // crash during rotation
  auto store = OpenOrDie(Options());
  EXPECT_EQ(store->Stats().size, 10u);
  uint64_t seq = 0;
  ASSERT_TRUE(AppendSync(*store, MakeEvent(10), &seq).ok());
  EXPECT_EQ(seq, 10u);
}

TEST_F(RecoveryTest, TornTreeHeadIsCut) {
  Populate(10);
  const std::string heads = dir_.path() + "/data/tree_heads.log";
  const std::string good = ReadFileBytes(heads);
  WriteFileBytes(heads, good + std::string(20, '\x01'));
  auto store = OpenOrDie(Options());
  EXPECT_EQ(store->Stats().size, 10u);
  EXPECT_EQ(store->Stats().recovered_truncated_bytes, 20u);
  ASSERT_TRUE(AppendSync(*store, MakeEvent(10)).ok());
  store.reset();
  EXPECT_TRUE(OpenOrDie(Options()) != nullptr);  // the new head was appended at the cut
}

TEST_F(RecoveryTest, RewrittenRecordRefusesToOpen) {
  Populate(10);
  // Same length, valid CRC, different content: only the tree head can tell.
  auto offsets = FrameOffsets(Seg());
  std::string bytes = ReadFileBytes(Seg());
  const size_t at = bytes.find("user-", offsets[9]);
  bytes[at + 5] = bytes[at + 5] == '9' ? '8' : '9';
  const std::string payload = bytes.substr(offsets[9] + 16, offsets[10] - offsets[9] - 16);
  std::string frame;
  log::AppendFrame(&frame, 9, payload);
  bytes.replace(offsets[9], frame.size(), frame);
  WriteFileBytes(Seg(), bytes);
  Status st = OpenStatus();
  EXPECT_EQ(st.code(), StatusCode::kCorruption);
  EXPECT_NE(st.message().find("root mismatch at tree size 10"), std::string::npos) << st.message();
}

TEST_F(RecoveryTest, SegmentSeqGapRefusesToOpen) {
  Populate(60, 4096);
  ASSERT_TRUE(DefaultFileSystem()->Remove(Seg()).ok());  // oldest segment gone
  Status st = OpenStatus();
  EXPECT_EQ(st.code(), StatusCode::kCorruption);
  EXPECT_NE(st.message().find("seq gap: expected 0"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace apitrail
