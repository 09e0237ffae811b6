// The store with sealed parts (docs/FORMAT.md §16): rotation at the size bound and at the
// UTC day boundary (injected clock), sealing off the hot path, queries and reads spanning
// parts and the active segment with cursors, restart without reading any part block,
// crash cases of sealing, corrupt parts, verification and leaf hashes over parts.
#include <gtest/gtest.h>
#include <linux/ioprio.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include "core/record_codec.h"
#include "core/time_util.h"
#include "store/checkpoint.h"
#include "store/leaf_hashes.h"
#include "store/log/record_writer.h"
#include "store/merkle/merkle_hash.h"
#include "store/node_key.h"
#include "store/part/part_format.h"
#include "store/part/part_reader.h"
#include "store/part/sealer.h"
#include "store/verify.h"
#include "store_test_util.h"
#include "testutil/fault_file_system.h"
#include "testutil/forwarding_file_system.h"

namespace apitrail {
namespace {

using testing::AppendMany;
using testing::MakeEvent;
using testing::OpenOrDie;
using testing::TempDir;
using testing::WaitSealed;

std::vector<std::string> Names(const std::string& dir) {
  auto names = DefaultFileSystem()->ListDir(dir);
  if (!names.ok()) return {};
  std::sort(names->begin(), names->end());
  return *names;
}

// Records every positional read, so a test can prove which bytes of a part were read.
class RecordingFileSystem final : public testing::ForwardingFileSystem {
 public:
  struct Read {
    std::string path;
    uint64_t offset;
    size_t n;
  };
  explicit RecordingFileSystem(FileSystem* base) : ForwardingFileSystem(base) {}
  std::vector<Read> reads() {
    std::lock_guard<std::mutex> lock(mu_);
    return reads_;
  }
  void Clear() {
    std::lock_guard<std::mutex> lock(mu_);
    reads_.clear();
  }

  Result<std::unique_ptr<RandomAccessFile>> OpenForRead(const std::string& path) override {
    APITRAIL_ASSIGN_OR_RETURN(auto f, base()->OpenForRead(path));
    return std::unique_ptr<RandomAccessFile>(new File(this, path, std::move(f)));
  }

 private:
  class File final : public RandomAccessFile {
   public:
    File(RecordingFileSystem* fs, std::string path, std::unique_ptr<RandomAccessFile> f)
        : fs_(fs), path_(std::move(path)), f_(std::move(f)) {}
    Result<size_t> Read(uint64_t offset, size_t n, char* scratch) const override {
      {
        std::lock_guard<std::mutex> lock(fs_->mu_);
        fs_->reads_.push_back({path_, offset, n});
      }
      return f_->Read(offset, n, scratch);
    }
    Result<uint64_t> Size() const override { return f_->Size(); }

   private:
    RecordingFileSystem* fs_;
    std::string path_;
    std::unique_ptr<RandomAccessFile> f_;
  };
  std::mutex mu_;
  std::vector<Read> reads_;
};

// The thread of this process with this name (/proc/self/task/*/comm), waiting up to 2 s
// for it to name itself; 0 when there is none.
pid_t ThreadNamed(const std::string& name) {
  for (int attempt = 0; attempt < 400; ++attempt) {
    for (const auto& entry : std::filesystem::directory_iterator("/proc/self/task")) {
      std::ifstream in(entry.path() / "comm");
      std::string comm;
      std::getline(in, comm);
      if (comm == name) return static_cast<pid_t>(std::stoi(entry.path().filename().string()));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return 0;
}

class PartStoreTest : public ::testing::Test {
 protected:
  StoreOptions Options() {
    StoreOptions o;
    o.data_dir = dir_.path() + "/data";
    o.max_segment_bytes = 8192;  // ~25 records per segment
    o.part_block_bytes = 2048;   // several blocks per part
    o.seal_at_low_priority = false;  // WaitSealed: a loaded host's CPUs must not starve it
    return o;
  }
  std::string PartsDir() { return dir_.path() + "/data/parts"; }
  std::string SegmentsDir() { return dir_.path() + "/data/segments"; }

  // Every page of `q` (newest first), following cursors; the seqs in order.
  static std::vector<uint64_t> AllPages(Store& store, EventQuery q) {
    std::vector<uint64_t> out;
    for (int guard = 0; guard < 1000; ++guard) {
      auto page = store.Query(q);
      EXPECT_TRUE(page.ok()) << page.status().ToString();
      if (!page.ok()) break;
      EXPECT_LE(page->events.size(), q.limit);
      for (const auto& e : page->events) out.push_back(e.seq);
      if (!page->next_cursor) break;
      EXPECT_EQ(page->events.size(), q.limit);  // a cursor only after a full page
      q.before_seq = page->next_cursor;
    }
    return out;
  }

  // Expected answer computed from the events themselves.
  static std::vector<uint64_t> Expected(uint64_t n, const std::function<bool(const AuditEvent&)>& pred) {
    std::vector<uint64_t> out;
    for (uint64_t i = n; i-- > 0;) {
      if (pred(MakeEvent(i))) out.push_back(i);
    }
    return out;
  }

  void CheckQueries(Store& store, uint64_t n) {
    EventQuery all;
    all.limit = 7;
    EXPECT_EQ(AllPages(store, all), Expected(n, [](const AuditEvent&) { return true; }));
    EventQuery sub;
    sub.subject = "user-1";
    sub.status = 403;
    sub.limit = 3;
    EXPECT_EQ(AllPages(store, sub),
              Expected(n, [](const AuditEvent& e) { return e.subject == "user-1" && e.status == 403; }));
    EventQuery timed;
    timed.since_ns = MakeEvent(20).time_ns;
    timed.until_ns = MakeEvent(n - 20).time_ns;
    timed.status_class = 5;
    timed.limit = 4;
    EXPECT_EQ(AllPages(store, timed), Expected(n, [&](const AuditEvent& e) {
                return e.time_ns >= *timed.since_ns && e.time_ns < *timed.until_ns && e.status / 100 == 5;
              }));
    // A resource: a few records in each block, found through the blocks' directories.
    EventQuery res;
    res.resource = std::make_pair(std::string("order_id"), std::string("4"));
    res.limit = 5;
    EXPECT_EQ(AllPages(store, res), Expected(n, [](const AuditEvent& e) {
                return std::find(e.resources.begin(), e.resources.end(),
                                 std::make_pair(std::string("order_id"), std::string("4"))) != e.resources.end();
              }));
    EventQuery trace;
    trace.trace_id = "trace-33";
    trace.limit = 1;
    EXPECT_EQ(AllPages(store, trace), (std::vector<uint64_t>{67, 66}));
    for (uint64_t i : {uint64_t{0}, uint64_t{13}, n / 2, n - 1}) {
      auto by_seq = store.GetBySeq(i);
      ASSERT_TRUE(by_seq.ok()) << by_seq.status().ToString();
      EXPECT_EQ(by_seq->id, MakeEvent(i).id);
      auto by_id = store.GetById(MakeEvent(i).id);
      ASSERT_TRUE(by_id.ok()) << i << by_id.status().ToString();
      EXPECT_EQ(by_id->seq, i);
    }
    EXPECT_EQ(store.GetById("no-such-id").status().code(), StatusCode::kNotFound);
  }

  TempDir dir_;
};

TEST_F(PartStoreTest, RotatedSegmentsAreSealedAndQueriesSpanPartsAndTheActiveSegment) {
  constexpr uint64_t kN = 300;
  std::string root;
  {
    auto store = OpenOrDie(Options());
    AppendMany(*store, kN);
    WaitSealed(*store);
    StoreStats s = store->Stats();
    EXPECT_GT(s.parts, 5u);
    EXPECT_EQ(s.parts, s.parts_sealed);
    root = s.root_hex;
    // Only the active segment is left; every other one became a part.
    EXPECT_EQ(Names(SegmentsDir()).size(), 1u);
    EXPECT_EQ(Names(PartsDir()).size(), s.parts);
    CheckQueries(*store, kN);  // index of this run + parts sealed during it
  }
  auto store = OpenOrDie(Options());
  EXPECT_EQ(store->Stats().root_hex, root);
  EXPECT_EQ(store->Stats().size, kN);
  CheckQueries(*store, kN);  // parts' own indexes + the active segment
  // New records continue the same tree after the restart.
  AppendMany(*store, 40, kN);
  WaitSealed(*store);
  CheckQueries(*store, kN + 40);
  VerifyReport r = VerifyDataDir(Options().data_dir);
  EXPECT_TRUE(r.ok) << r.file << ": " << r.problem;
  EXPECT_EQ(r.records, kN + 40);
  EXPECT_GT(r.parts, 5u);
}

TEST_F(PartStoreTest, SealerRunsAtIdlePriorityAndTheWriterDoesNot) {
  // One rotation: the sealer starts its only job with nothing queued behind it, so it stays
  // at SCHED_IDLE (OPERATIONS "Sealing and other background work").
  StoreOptions o = Options();
  o.seal_at_low_priority = true;
  auto store = OpenOrDie(o);
  ASSERT_NE(store, nullptr);
  const pid_t writer = ThreadNamed("at-writer");
  const pid_t sealer = ThreadNamed("at-sealer");
  ASSERT_NE(writer, 0);
  ASSERT_NE(sealer, 0);
  // Until the first rotation: a second segment appears, or the sealer has already taken
  // the first (it may seal and remove it before this loop looks again).
  const auto rotated = [&] {
    const StoreStats st = store->Stats();
    return Names(SegmentsDir()).size() >= 2 || st.seal_pending > 0 || st.parts_sealed > 0;
  };
  uint64_t n = 0;
  while (!rotated() && n < 200) AppendMany(*store, 1, n++);
  ASSERT_TRUE(rotated()) << "no rotation after " << n << " records";
  // The sealer sets its priority when it takes the job. Checked then, not after the seal:
  // at SCHED_IDLE the seal gets next to no CPU while other processes saturate the host's
  // CPUs (a wait for it ran out there), so the test hands it SCHED_OTHER back to finish.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (::sched_getscheduler(sealer) != SCHED_IDLE && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(::sched_getscheduler(sealer), SCHED_IDLE);
  EXPECT_EQ(::sched_getscheduler(writer), SCHED_OTHER);  // the request path is untouched
  const long io = ::syscall(SYS_ioprio_get, IOPRIO_WHO_PROCESS, static_cast<int>(sealer));
  ASSERT_GE(io, 0);
  EXPECT_EQ(IOPRIO_PRIO_CLASS(io), IOPRIO_CLASS_IDLE);
  const sched_param normal{};
  ASSERT_EQ(::sched_setscheduler(sealer, SCHED_OTHER, &normal), 0);
  WaitSealed(*store);
  EXPECT_EQ(store->Stats().parts_sealed, 1u);
}

TEST_F(PartStoreTest, SealingWaitsWhileTheRequestPathIsBusyUpToFourQueuedSegments) {
  // While the request path is busy, rotated segments wait, until four are queued: then the
  // oldest is sealed (the bound on unsealed segments), and when the load drops, the rest.
  std::atomic<bool> busy{true};
  StoreOptions o = Options();
  o.request_path_busy = [&busy] { return busy.load(); };
  auto store = OpenOrDie(o);
  ASSERT_NE(store, nullptr);
  uint64_t n = 0;
  auto rotate_until = [&](size_t segments) {
    while (Names(SegmentsDir()).size() < segments && n < 2000) AppendMany(*store, 1, n++);
  };
  rotate_until(4);  // three rotated, one active
  ASSERT_TRUE(store->Flush().ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(600));  // a few deferral polls
  EXPECT_EQ(store->Stats().parts_sealed, 0u);
  EXPECT_EQ(store->Stats().seal_pending, 3u);
  rotate_until(5);  // the fourth queued: the oldest is sealed although still busy
  ASSERT_TRUE(store->Flush().ok());
  for (int i = 0; i < 400 && store->Stats().parts_sealed < 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(store->Stats().parts_sealed, 1u);
  EXPECT_EQ(store->Stats().seal_pending, 3u);
  EXPECT_GT(store->Stats().seal_deferred_ms, 0u);
  busy = false;
  WaitSealed(*store);
  EXPECT_EQ(store->Stats().parts_sealed, 4u);
  CheckQueries(*store, n);
}

TEST_F(PartStoreTest, AnIdleRequestPathDoesNotDelaySealing) {
  StoreOptions o = Options();
  o.request_path_busy = [] { return false; };
  auto store = OpenOrDie(o);
  ASSERT_NE(store, nullptr);
  AppendMany(*store, 300);
  WaitSealed(*store);
  EXPECT_GT(store->Stats().parts_sealed, 5u);
  EXPECT_EQ(store->Stats().seal_deferred_ms, 0u);
}

TEST_F(PartStoreTest, RestartReadsNoBlockOfAnyPart) {
  {
    auto store = OpenOrDie(Options());
    AppendMany(*store, 200);
    WaitSealed(*store);
  }
  // Where blocks are, learned by opening each part (which itself reads no block). The seq
  // map follows them; the dictionary section (read at open) and the summary follow it.
  struct Range {
    uint64_t begin, end;
  };
  std::map<std::string, Range> blocks;
  for (const auto& name : Names(PartsDir())) {
    auto p = part::PartReader::Open(DefaultFileSystem(), PartsDir() + "/" + name);
    ASSERT_TRUE(p.ok());
    blocks[PartsDir() + "/" + name] = {(*p)->blocks().front().offset, (*p)->seqmap_offset()};
  }
  ASSERT_GT(blocks.size(), 3u);
  RecordingFileSystem fs(DefaultFileSystem());
  StoreOptions o = Options();
  o.fs = &fs;
  auto store = OpenOrDie(o);
  EXPECT_EQ(store->Stats().size, 200u);
  size_t part_reads = 0;
  for (const auto& r : fs.reads()) {
    auto it = blocks.find(r.path);
    if (it == blocks.end()) continue;
    ++part_reads;
    EXPECT_TRUE(r.offset + r.n <= it->second.begin || r.offset >= it->second.end)
        << r.path << " read [" << r.offset << ", " << r.offset + r.n << ") overlaps its blocks";
  }
  EXPECT_GE(part_reads, blocks.size() * 3);  // footer, header, summary, index of each
  // A query for an old record does read a block (and only then).
  fs.Clear();
  auto e = store->GetBySeq(3);
  ASSERT_TRUE(e.ok());
  bool read_block = false;
  for (const auto& r : fs.reads()) {
    auto it = blocks.find(r.path);
    if (it != blocks.end() && r.offset >= it->second.begin && r.offset < it->second.end) read_block = true;
  }
  EXPECT_TRUE(read_block);
}

TEST_F(PartStoreTest, RotatesAtTheUtcDayBoundaryByTheInjectedClock) {
  std::atomic<int64_t> now{1'764'201'599'000'000'000};  // 2025-11-26T23:59:59Z
  StoreOptions o = Options();
  o.max_segment_bytes = 1 << 20;  // size never rotates here
  o.wall_clock = [&now] { return now.load(); };
  {
    auto store = OpenOrDie(o);
    AppendMany(*store, 5);
    now += 2'000'000'000;  // 2025-11-27T00:00:01Z: the next record starts a new segment
    AppendMany(*store, 7, 5);
    WaitSealed(*store);
    EXPECT_EQ(store->Stats().parts, 1u);
    AppendMany(*store, 3, 12);  // same day: no rotation
    WaitSealed(*store);
    EXPECT_EQ(store->Stats().parts, 1u);
  }
  auto names = Names(PartsDir());
  ASSERT_EQ(names.size(), 1u);
  auto p = part::PartReader::Open(DefaultFileSystem(), PartsDir() + "/" + names[0]);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ((*p)->first_seq(), 0u);
  EXPECT_EQ((*p)->count(), 5u);
  EXPECT_EQ(Names(SegmentsDir()), (std::vector<std::string>{log::SegmentFileName(5)}));
  // A restart the same day appends to the same segment; the next day rotates it.
  {
    auto store = OpenOrDie(o);
    AppendMany(*store, 2, 15);
    WaitSealed(*store);
    EXPECT_EQ(store->Stats().parts, 1u);
  }
  now += 86'400'000'000'000;
  {
    auto store = OpenOrDie(o);
    AppendMany(*store, 1, 17);
    WaitSealed(*store);
    EXPECT_EQ(store->Stats().parts, 2u);
  }
  // Without daily rotation only size rotates.
  o.rotate_daily = false;
  now += 86'400'000'000'000;
  auto store = OpenOrDie(o);
  AppendMany(*store, 1, 18);
  WaitSealed(*store);
  EXPECT_EQ(store->Stats().parts, 2u);
}

// Segments 0.. of a store written with sealing off: the crash cases start from there.
class SealCrashTest : public PartStoreTest {
 protected:
  void SetUp() override {
    StoreOptions o = Options();
    o.seal_rotated = false;
    auto store = OpenOrDie(o);
    AppendMany(*store, 100);
    root_ = store->Stats().root_hex;
    segs_ = Names(SegmentsDir());
    ASSERT_GE(segs_.size(), 3u);
  }
  // Seals the first segment as the sealer would, leaving the segment in place (a crash
  // right after the rename).
  std::string SealFirst() {
    auto r = part::SealSegment(DefaultFileSystem(), Options().data_dir, SegmentsDir() + "/" + segs_[0], 0,
                               merkle::CompactRange(), "node-1", 2048);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->part->path() : "";
  }
  std::string root_;
  std::vector<std::string> segs_;
};

TEST_F(SealCrashTest, PartAndSegmentBothPresentKeepsThePartAndRemovesTheSegment) {
  SealFirst();
  auto store = OpenOrDie(Options());
  EXPECT_EQ(store->Stats().root_hex, root_);
  EXPECT_EQ(store->Stats().size, 100u);
  WaitSealed(*store);  // the other rotated segments are sealed after the open
  EXPECT_EQ(Names(SegmentsDir()).size(), 1u);
  EXPECT_EQ(Names(PartsDir()).size(), segs_.size() - 1);
  CheckQueries(*store, 100);
}

TEST_F(SealCrashTest, LeftoverTmpFileIsRemovedAndTheSegmentSealedAgain) {
  ASSERT_TRUE(DefaultFileSystem()->CreateDirs(PartsDir()).ok());
  const std::string tmp = PartsDir() + "/" + part::PartFileName(0) + ".tmp";
  testing::WriteFileBytes(tmp, "APTPART1 half written");
  {
    // Recovery itself removes it (with sealing on, the sealer would reuse the name at once).
    StoreOptions o = Options();
    o.seal_rotated = false;
    auto store = OpenOrDie(o);
    EXPECT_FALSE(DefaultFileSystem()->Exists(tmp));
  }
  auto store = OpenOrDie(Options());
  WaitSealed(*store);
  EXPECT_FALSE(DefaultFileSystem()->Exists(tmp));
  EXPECT_EQ(store->Stats().root_hex, root_);
  EXPECT_EQ(Names(PartsDir()).size(), segs_.size() - 1);
  CheckQueries(*store, 100);
}

TEST_F(SealCrashTest, APartThatDiffersFromItsSegmentRefusesToOpenAndKeepsBoth) {
  const std::string path = SealFirst();
  auto p = part::PartReader::Open(DefaultFileSystem(), path);
  ASSERT_TRUE(p.ok());
  const uint64_t at = (*p)->blocks()[1].offset;
  testing::FlipByte(path, at + 5);
  auto st = Store::Open(Options()).status();
  EXPECT_EQ(st.code(), StatusCode::kCorruption);
  EXPECT_NE(st.message().find(path + ": block 1 crc mismatch at offset " + std::to_string(at)), std::string::npos)
      << st.message();
  EXPECT_TRUE(DefaultFileSystem()->Exists(SegmentsDir() + "/" + segs_[0]));
  EXPECT_TRUE(DefaultFileSystem()->Exists(path));
}

TEST_F(SealCrashTest, AFailedSealingKeepsTheSegmentAndTheStoreServing) {
  testing::FaultFileSystem fault(DefaultFileSystem());
  StoreOptions o = Options();
  o.fs = &fault;
  fault.FailNthWrite(1);  // the first write after open: the sealer's part header
  {
    auto store = OpenOrDie(o);
    for (int i = 0; i < 2000 && store->Stats().seal_errors == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    StoreStats s = store->Stats();
    ASSERT_EQ(s.seal_errors, 1u);
    EXPECT_NE(s.last_seal_error.find("part-"), std::string::npos) << s.last_seal_error;
    EXPECT_EQ(s.parts, 0u);
    EXPECT_TRUE(store->Accepting());  // sealing is not on the write path
    EXPECT_EQ(Names(SegmentsDir()), segs_);
    EXPECT_TRUE(Names(PartsDir()).empty());  // no part, no .tmp left behind
    AppendMany(*store, 5, 100);
    CheckQueries(*store, 105);
  }
  // The next start seals them.
  auto store = OpenOrDie(Options());
  WaitSealed(*store);
  EXPECT_EQ(store->Stats().parts, segs_.size() - 1);
  CheckQueries(*store, 105);
}

// A segment's records must be in the rollup files before the segment goes (restart replays
// only segments): when they cannot be written, the segment is not sealed. The Persist's
// error was ignored, the segment sealed and deleted all the same.
TEST_F(SealCrashTest, NoSealWhileTheRollupsCannotBeWritten) {
  testing::FaultFileSystem fault(DefaultFileSystem());
  StoreOptions o = Options();
  o.fs = &fault;
  auto store = OpenOrDie(o);
  WaitSealed(*store);  // SetUp's segments
  const uint64_t parts = store->Stats().parts;
  const std::vector<std::string> segments = Names(SegmentsDir());
  fault.FailOpensUnder(Options().data_dir + "/rollups");
  const int64_t now = NowNs();  // inside the rollups' retention
  for (uint64_t i = 100; i < 160; ++i) {
    AuditEvent e = MakeEvent(i);
    e.time_ns = now;
    ASSERT_TRUE(store->Append(e, nullptr).ok());
  }
  ASSERT_TRUE(store->Flush().ok());
  for (int i = 0; i < 2000 && store->Stats().seal_errors == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const StoreStats s = store->Stats();
  ASSERT_EQ(s.seal_errors, 1u) << "sealed although the rollups could not be written";
  EXPECT_NE(s.last_seal_error.find("rollups not written"), std::string::npos) << s.last_seal_error;
  EXPECT_EQ(s.parts, parts);
  EXPECT_GT(Names(SegmentsDir()).size(), segments.size());  // rotated, kept
  EXPECT_TRUE(store->Accepting());  // sealing is not on the write path
  EXPECT_EQ(s.size, 160u);
}

TEST_F(PartStoreTest, CorruptPartIndexRefusesToOpenNamingFileAndOffset) {
  {
    auto store = OpenOrDie(Options());
    AppendMany(*store, 100);
    WaitSealed(*store);
  }
  const auto names = Names(PartsDir());
  ASSERT_GE(names.size(), 2u);
  const std::string path = PartsDir() + "/" + names[1];
  auto p = part::PartReader::Open(DefaultFileSystem(), path);
  ASSERT_TRUE(p.ok());
  const uint64_t at = (*p)->index_offset();
  testing::FlipByte(path, at + 2);
  auto st = Store::Open(Options()).status();
  EXPECT_EQ(st.code(), StatusCode::kCorruption);
  EXPECT_NE(st.message().find(path + ": index section crc mismatch at offset " + std::to_string(at)),
            std::string::npos)
      << st.message();
}

// Parts open in parallel; the error is still the first damaged part in seq order.
TEST_F(PartStoreTest, OfSeveralDamagedPartsTheFirstInOrderIsNamed) {
  {
    auto store = OpenOrDie(Options());
    AppendMany(*store, 200);
    WaitSealed(*store);
  }
  const auto names = Names(PartsDir());
  ASSERT_GE(names.size(), 4u);
  std::string first_damaged;
  for (size_t i : {names.size() - 1, size_t{2}, size_t{1}}) {  // the last one first
    const std::string path = PartsDir() + "/" + names[i];
    auto p = part::PartReader::Open(DefaultFileSystem(), path);
    ASSERT_TRUE(p.ok());
    testing::FlipByte(path, (*p)->index_offset() + 2);
    first_damaged = path;
  }
  for (int round = 0; round < 5; ++round) {  // whichever thread opens which part
    auto st = Store::Open(Options()).status();
    EXPECT_EQ(st.code(), StatusCode::kCorruption);
    EXPECT_EQ(st.message().rfind(first_damaged + ": index section crc mismatch", 0), 0u) << st.message();
  }
}

TEST_F(PartStoreTest, VerifyRecomputesPartsAndNamesTheDamagedBlock) {
  {
    auto store = OpenOrDie(Options());
    AppendMany(*store, 200);
    WaitSealed(*store);
  }
  VerifyReport ok = VerifyDataDir(Options().data_dir);
  ASSERT_TRUE(ok.ok) << ok.file << ": " << ok.problem;
  EXPECT_EQ(ok.records, 200u);
  EXPECT_GT(ok.tree_heads, 0u);
  // Leaf hashes for proofs come out of parts too, equal to the records' own.
  auto leaves = ReadLeafHashes(DefaultFileSystem(), Options().data_dir);
  ASSERT_TRUE(leaves.ok()) << leaves.status().ToString();
  ASSERT_EQ(leaves->size(), 200u);
  for (uint64_t i = 0; i < 200; i += 11) {
    AuditEvent e = MakeEvent(i);
    e.node = "node-1";
    EXPECT_EQ((*leaves)[i], merkle::LeafHash(merkle::ThreadHasher(), EncodeRecord(e))) << i;
  }
  const auto names = Names(PartsDir());
  ASSERT_GE(names.size(), 3u);
  const std::string path = PartsDir() + "/" + names[2];
  auto p = part::PartReader::Open(DefaultFileSystem(), path);
  ASSERT_TRUE(p.ok());
  const uint64_t at = (*p)->blocks()[0].offset;
  testing::FlipByte(path, at + 9);
  VerifyReport bad = VerifyDataDir(Options().data_dir);
  EXPECT_FALSE(bad.ok);
  EXPECT_EQ(bad.file, path);
  EXPECT_EQ(bad.offset, at);
  EXPECT_EQ(bad.first_bad_seq, (*p)->first_seq());
  EXPECT_NE(bad.problem.find("block 0 crc mismatch"), std::string::npos) << bad.problem;
  // A range after the damaged part is still readable: earlier parts' blocks are not read.
  const uint64_t after = (*p)->end_seq();
  auto range = ReadLeafHashRange(DefaultFileSystem(), Options().data_dir, after, 200);
  ASSERT_TRUE(range.ok()) << range.status().ToString();
  ASSERT_EQ(range->size(), 200 - after);
  EXPECT_EQ(range->front(), (*leaves)[after]);
  EXPECT_EQ(range->back(), (*leaves)[199]);
  EXPECT_EQ(ReadLeafHashRange(DefaultFileSystem(), Options().data_dir, 0, 200).status().code(),
            StatusCode::kCorruption);
}

TEST_F(PartStoreTest, DeletingTheOldestPartsKeepsTheRestOpenQueryableAndVerifiable) {
  // What retention does after archiving: parts/ loses its oldest files, nothing else.
  std::string root;
  {
    auto store = OpenOrDie(Options());
    AppendMany(*store, 200);
    WaitSealed(*store);
    root = store->Stats().root_hex;
  }
  auto names = Names(PartsDir());
  ASSERT_GE(names.size(), 4u);
  auto second = part::PartReader::Open(DefaultFileSystem(), PartsDir() + "/" + names[2]);
  ASSERT_TRUE(second.ok());
  const uint64_t kept_from = (*second)->first_seq();
  second->reset();
  ASSERT_TRUE(DefaultFileSystem()->Remove(PartsDir() + "/" + names[0]).ok());
  ASSERT_TRUE(DefaultFileSystem()->Remove(PartsDir() + "/" + names[1]).ok());
  {
    auto store = OpenOrDie(Options());
    EXPECT_EQ(store->Stats().root_hex, root);  // the tree continues from the stored state
    EXPECT_EQ(store->Stats().size, 200u);
    EXPECT_EQ(store->GetBySeq(kept_from - 1).status().code(), StatusCode::kNotFound);
    auto e = store->GetBySeq(kept_from);
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    EventQuery all;
    all.limit = 9;
    auto seqs = AllPages(*store, all);
    ASSERT_EQ(seqs.size(), 200 - kept_from);
    EXPECT_EQ(seqs.back(), kept_from);
    AppendMany(*store, 30, 200);
    WaitSealed(*store);
  }
  VerifyReport r = VerifyDataDir(Options().data_dir);
  EXPECT_TRUE(r.ok) << r.file << ": " << r.problem;
  EXPECT_EQ(r.first_seq, kept_from);
  EXPECT_EQ(r.records, 230u);
  EXPECT_TRUE(r.completeness.ok) << r.completeness.problem;
  // Proofs need every leaf: a clear error, not a short list.
  EXPECT_EQ(ReadLeafHashes(DefaultFileSystem(), Options().data_dir).status().code(), StatusCode::kNotFound);

  // A saved checkpoint of the deleted range cannot be checked here: said so, not passed.
  auto key = NodeKey::Load(Options().data_dir + "/node.key");
  ASSERT_TRUE(key.ok());
  auto note = SignCheckpoint(Checkpoint{CheckpointOrigin(Options().node), 1, Hash256{}}, **key);
  ASSERT_TRUE(note.ok());
  VerifyOptions with_saved;
  with_saved.checkpoint_note = *note;
  with_saved.checkpoint_source = "witness.ckpt";
  VerifyReport old = VerifyDataDir(Options().data_dir, with_saved, DefaultFileSystem());
  EXPECT_TRUE(old.ok) << old.problem;
  EXPECT_FALSE(old.completeness.ok);
  EXPECT_NE(old.completeness.problem.find("predates the records still stored here"), std::string::npos)
      << old.completeness.problem;
}

TEST_F(PartStoreTest, AFingerprintMatchInAPartIsNeverAnAnswer) {
  // Version 2 parts index short fingerprints: an absent id or correlation id may name a block
  // of the part. Query and GetById confirm on the record, so such a value finds nothing.
  StoreOptions o = Options();
  o.max_segment_bytes = 64 * 1024;  // a few hundred records per part
  auto store = OpenOrDie(o);
  AppendMany(*store, 800);
  WaitSealed(*store);
  auto names = Names(PartsDir());
  ASSERT_FALSE(names.empty());
  auto p = part::PartReader::Open(DefaultFileSystem(), PartsDir() + "/" + names[0]);
  ASSERT_TRUE(p.ok());
  ASSERT_EQ((*p)->version(), part::kVersion5);
  int corr_hits = 0;
  for (int k = 0; k < 3000 && corr_hits < 3; ++k) {
    const std::string absent = "absent-" + std::to_string(k);
    auto blocks = (*p)->BlocksWith(part::Field::kCorrelationId, absent);
    ASSERT_TRUE(blocks.ok());
    if (!blocks->empty()) {
      ++corr_hits;
      EventQuery q;
      q.correlation_id = absent;
      auto page = store->Query(q);
      ASSERT_TRUE(page.ok()) << page.status().ToString();
      EXPECT_TRUE(page->events.empty()) << absent;
    }
  }
  EXPECT_GT(corr_hits, 0);
  // These ids count up in seq order: version 4 keys them by seq and compares their UUID
  // tails, not their first 6 bytes (the millisecond). A stored id's tail at another
  // millisecond names that id's block, and GetById refutes it on the record.
  ASSERT_TRUE((*p)->index().SeqKeyed(part::Field::kId));
  std::string other_time = MakeEvent(5).id;
  ASSERT_EQ(other_time[12], '0');
  other_time[12] = '1';
  auto named = (*p)->BlocksWith(part::Field::kId, other_time);
  ASSERT_TRUE(named.ok());
  EXPECT_EQ(named->size(), 1u);
  EXPECT_EQ(store->GetById(other_time).status().code(), StatusCode::kNotFound);
  auto found = store->GetById(MakeEvent(5).id);
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_EQ(found->seq, 5u);
  // The real values are found, whichever part holds them.
  for (uint64_t i : {uint64_t{3}, uint64_t{250}, uint64_t{799}}) {
    EventQuery q;
    q.correlation_id = MakeEvent(i).correlation_id;
    auto page = store->Query(q);
    ASSERT_TRUE(page.ok());
    ASSERT_EQ(page->events.size(), 1u) << i;
    EXPECT_EQ(page->events[0].seq, i);
  }
}

TEST_F(PartStoreTest, IntentOutcomeIsFoundAcrossParts) {
  StoreOptions o = Options();
  {
    auto store = OpenOrDie(o);
    AuditEvent intent = MakeEvent(0);
    intent.phase = "intent";
    AuditEvent lonely = MakeEvent(1);
    lonely.phase = "intent";
    ASSERT_TRUE(testing::AppendSync(*store, intent).ok());
    ASSERT_TRUE(testing::AppendSync(*store, lonely).ok());
    AppendMany(*store, 60, 2);  // pushes the intents into a part
    AuditEvent outcome = MakeEvent(62);
    outcome.phase = "outcome";
    outcome.intent_id = intent.id;
    ASSERT_TRUE(testing::AppendSync(*store, outcome).ok());
    AppendMany(*store, 60, 63);  // and the outcome into a later part
    WaitSealed(*store);
  }
  auto store = OpenOrDie(o);
  ASSERT_GT(store->Stats().parts, 2u);
  auto a = store->GetBySeq(0);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->outcome, "recorded");
  auto b = store->GetById(MakeEvent(1).id);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->outcome, "unknown");
}

}  // namespace
}  // namespace apitrail
