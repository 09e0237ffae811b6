// Crash-point sweep of Store::Open's recovery (docs/FORMAT.md §3, §8, §16.6): one store's
// life (group commits, rotations at a small max_segment_bytes, sealing into parts, tree
// heads, checkpoints, rollup files, a clean close and reopen) runs on a RecordingFileSystem
// that logs every mutating call. The log is then replayed into an in-memory model of the
// disk, and after every operation the data dir is rebuilt as a crash there would leave it:
//   - process crash: every write done so far survives (the page cache), nothing more;
//   - power loss: each file holds what its last fdatasync (or truncate) made durable, the
//     directory entries as the calls made them (as FaultFileSystem assumes);
//   - power loss, strict directories: a created, renamed or removed entry (file or
//     directory) survives only after an fsync of its parent directory (POSIX);
//   - torn writes: the write in progress (segment batch, segment header, tree head,
//     checkpoint, part .tmp, rollup) kept up to a sampled byte offset, over the process or
//     power-loss state.
// The life runs twice: with buffered segments, and with the active segment written as in
// production (direct_io: appends held in the process until a sync writes them as whole,
// zero-padded O_DIRECT|O_DSYNC blocks; such a sync is the write a crash tears).
// Each state is opened with the real file system. After a process crash or a power loss it
// must open (a refusal under strict directory semantics is only counted: see the DISABLED
// test below); a refusal must be Corruption naming a file and change no file; an open must
// come with every acknowledged record (callback OK before the crash point) present and
// identical, a root equal to the RFC 6962 root of the records it holds, no synced byte of
// any log file cut, the newest acknowledged checkpoint known, and, after one more append
// and Close, a data dir that verifies (integrity and checkpoint completeness).
// Deterministic: a fixed workload from one thread, a fixed wall clock, sealing never
// deferred; only the interleaving of the sealer with the writer and the timing of unforced
// tree heads may vary, and every variant must pass. ~5 s under ASan.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/crypto_util.h"
#include "store/checkpoint_log.h"
#include "store/merkle/compact_range.h"
#include "store/tree_head_log.h"
#include "store/verify.h"
#include "store_test_util.h"
#include "testutil/forwarding_file_system.h"

namespace apitrail {
namespace {

using namespace apitrail::testing;
namespace fsys = std::filesystem;

constexpr int64_t kWallNs = 1'760'000'000'000'000'000;  // fixed: no daily rotation surprise

// One mutating file-system call, with paths relative to the data dir ("" is the dir).
struct Op {
  enum Kind {
    kOpen,
    kAppend,
    kReserve,
    kDropReserve,
    kSync,
    kTruncate,
    kRename,
    kRemove,
    kSyncDir,
    kMkdir
  };
  Kind kind;
  int inode = -1;    // kOpen, kAppend, kReserve, kDropReserve, kSync
  std::string path;  // kOpen, kTruncate, kRename (from), kRemove, kSyncDir, kMkdir
  std::string to;    // kRename
  std::string data;  // kAppend
  uint64_t n = 0;    // kOpen: size at open; kReserve: physical end; kTruncate: size
  bool direct = false;  // kOpen: a DirectWritableFile (OpenForSyncedAppend with O_DIRECT)
};

std::string Parent(const std::string& rel) {
  const size_t slash = rel.rfind('/');
  return slash == std::string::npos ? std::string() : rel.substr(0, slash);
}

// Wraps the POSIX file system of a live data dir and logs each successful mutating call in
// the order the calls happened (one lock around call and log entry). With `direct`, synced
// appends (the active segment) go through the POSIX O_DIRECT file, as in production.
class RecordingFileSystem final : public FileSystem {
 public:
  RecordingFileSystem(std::string root, bool direct)
      : base_(DefaultFileSystem()), root_(std::move(root)), direct_(direct) {}

  size_t OpCount() {
    std::lock_guard<std::mutex> lock(mu_);
    return ops_.size();
  }
  std::vector<Op> TakeOps() {
    std::lock_guard<std::mutex> lock(mu_);
    return ops_;
  }
  std::string error() {
    std::lock_guard<std::mutex> lock(mu_);
    return error_;
  }

  Result<std::unique_ptr<WritableFile>> OpenForAppend(const std::string& path) override {
    return OpenRecorded(path, /*synced=*/false);
  }
  Result<std::unique_ptr<WritableFile>> OpenForSyncedAppend(const std::string& path) override {
    return OpenRecorded(path, /*synced=*/direct_);
  }
  Result<std::unique_ptr<RandomAccessFile>> OpenForRead(const std::string& path) override {
    return base_->OpenForRead(path);
  }
  Status Truncate(const std::string& path, uint64_t size) override {
    std::lock_guard<std::mutex> lock(mu_);
    APITRAIL_RETURN_IF_ERROR(base_->Truncate(path, size));
    ops_.push_back(Op{Op::kTruncate, -1, Rel(path), "", "", size});
    return Status::Ok();
  }
  Status Rename(const std::string& from, const std::string& to) override {
    std::lock_guard<std::mutex> lock(mu_);
    APITRAIL_RETURN_IF_ERROR(base_->Rename(from, to));
    const std::string f = Rel(from), t = Rel(to);
    if (auto it = ns_.find(f); it != ns_.end()) {
      ns_[t] = it->second;
      ns_.erase(f);
    }
    ops_.push_back(Op{Op::kRename, -1, f, t, "", 0});
    return Status::Ok();
  }
  Result<std::vector<std::string>> ListDir(const std::string& dir) override {
    return base_->ListDir(dir);
  }
  Status CreateDirs(const std::string& dir) override {
    std::lock_guard<std::mutex> lock(mu_);
    APITRAIL_RETURN_IF_ERROR(base_->CreateDirs(dir));
    ops_.push_back(Op{Op::kMkdir, -1, Rel(dir), "", "", 0});
    return Status::Ok();
  }
  Status Remove(const std::string& path) override {
    std::lock_guard<std::mutex> lock(mu_);
    APITRAIL_RETURN_IF_ERROR(base_->Remove(path));
    ns_.erase(Rel(path));
    ops_.push_back(Op{Op::kRemove, -1, Rel(path), "", "", 0});
    return Status::Ok();
  }
  Status SyncDir(const std::string& dir) override {
    std::lock_guard<std::mutex> lock(mu_);
    APITRAIL_RETURN_IF_ERROR(base_->SyncDir(dir));
    ops_.push_back(Op{Op::kSyncDir, -1, Rel(dir), "", "", 0});
    return Status::Ok();
  }
  bool Exists(const std::string& path) override { return base_->Exists(path); }

 private:
  class File final : public ForwardingWritableFile {
   public:
    File(RecordingFileSystem* fs, std::string path, int inode, std::unique_ptr<WritableFile> f)
        : ForwardingWritableFile(std::move(f)), fs_(fs), path_(std::move(path)), inode_(inode) {}
    Status Append(std::string_view d) override {
      std::lock_guard<std::mutex> lock(fs_->mu_);
      APITRAIL_RETURN_IF_ERROR(base().Append(d));
      fs_->ops_.push_back(Op{Op::kAppend, inode_, "", "", std::string(d), 0});
      return Status::Ok();
    }
    Status Reserve(uint64_t n) override {
      std::lock_guard<std::mutex> lock(fs_->mu_);
      APITRAIL_RETURN_IF_ERROR(base().Reserve(n));
      std::error_code ec;
      const uint64_t physical = fsys::file_size(path_, ec);
      fs_->ops_.push_back(Op{Op::kReserve, inode_, "", "", "", ec ? 0 : physical});
      return Status::Ok();
    }
    Status DropReserve() override {
      std::lock_guard<std::mutex> lock(fs_->mu_);
      APITRAIL_RETURN_IF_ERROR(base().DropReserve());
      fs_->ops_.push_back(Op{Op::kDropReserve, inode_, "", "", "", 0});
      return Status::Ok();
    }
    Status Sync() override {
      std::lock_guard<std::mutex> lock(fs_->mu_);
      APITRAIL_RETURN_IF_ERROR(base().Sync());
      fs_->ops_.push_back(Op{Op::kSync, inode_, "", "", "", 0});
      return Status::Ok();
    }
    bool CanSyncAsync() const override { return false; }

   private:
    RecordingFileSystem* fs_;
    std::string path_;
    int inode_;
  };

  Result<std::unique_ptr<WritableFile>> OpenRecorded(const std::string& path, bool synced) {
    std::lock_guard<std::mutex> lock(mu_);
    const std::string rel = Rel(path);
    const bool known = ns_.count(rel) > 0;
    if (!known && base_->Exists(path)) error_ += "file not made through the seam: " + path + "\n";
    APITRAIL_ASSIGN_OR_RETURN(auto file,
                              synced ? base_->OpenForSyncedAppend(path) : base_->OpenForAppend(path));
    // Only the direct file syncs asynchronously: a buffered fallback (no O_DIRECT here) would
    // sweep the buffered path a second time and prove nothing about the direct one.
    if (synced && !file->CanSyncAsync()) error_ += "no O_DIRECT file for " + path + "\n";
    if (!known) ns_[rel] = next_inode_++;
    const int inode = ns_[rel];
    ops_.push_back(Op{Op::kOpen, inode, rel, "", "", file->Size(), synced});
    return std::unique_ptr<WritableFile>(new File(this, path, inode, std::move(file)));
  }

  std::string Rel(const std::string& path) {
    if (path == root_) return "";
    if (path.compare(0, root_.size() + 1, root_ + "/") == 0) return path.substr(root_.size() + 1);
    error_ += "path outside the data dir: " + path + "\n";
    return path;
  }

  FileSystem* base_;
  const std::string root_;
  const bool direct_;
  std::mutex mu_;
  std::vector<Op> ops_;
  std::map<std::string, int> ns_;
  int next_inode_ = 0;
  std::string error_;
};

// The disk as the ops leave it: each inode's bytes written (cur) and synced (dur), plus a
// physical end behind which the file reads as zeros (the writer's zero reserve); the names
// as the calls left them (ns, dirs) and as fsyncs of their directories made durable.
// A direct inode's appends stay in the process (pending) until a sync writes them, with
// O_DSYNC, as whole 4 KiB blocks: the last one zero-padded past the end of the appends.
struct Inode {
  std::string cur, dur;
  uint64_t cur_phys = 0, dur_phys = 0;
  bool direct = false;
  std::string pending;
};

constexpr uint64_t kDirectBlock = 4096;

// What a direct sync writes and makes durable.
void WritePending(Inode& f) {
  f.cur += f.pending;
  f.pending.clear();
  f.cur_phys = std::max<uint64_t>(f.cur_phys, (f.cur.size() + kDirectBlock - 1) / kDirectBlock * kDirectBlock);
  f.dur = f.cur;
  f.dur_phys = f.cur_phys;
}

struct Model {
  std::vector<Inode> inodes;
  std::map<std::string, int> ns, dur_ns;
  std::set<std::string> dirs, dur_dirs;

  void Apply(const Op& op) {
    switch (op.kind) {
      case Op::kOpen: {
        if (op.inode >= static_cast<int>(inodes.size())) {
          inodes.resize(static_cast<size_t>(op.inode) + 1);
          ns[op.path] = op.inode;
        }
        Inode& f = inodes[static_cast<size_t>(op.inode)];
        if (f.cur.size() < op.n) f.cur.resize(op.n, '\0');  // reopened over its zero reserve
        f.cur_phys = std::max(f.cur_phys, op.n);
        f.direct = op.direct;
        f.pending.clear();  // a direct file's close dropped them
        break;
      }
      case Op::kAppend: {
        Inode& f = inodes[static_cast<size_t>(op.inode)];
        if (f.direct) {
          f.pending += op.data;
          break;
        }
        f.cur += op.data;
        f.cur_phys = std::max<uint64_t>(f.cur_phys, f.cur.size());
        break;
      }
      case Op::kReserve: {
        Inode& f = inodes[static_cast<size_t>(op.inode)];
        f.cur_phys = std::max(f.cur_phys, op.n);
        break;
      }
      case Op::kDropReserve: {
        Inode& f = inodes[static_cast<size_t>(op.inode)];
        if (f.direct) WritePending(f);  // DirectWritableFile::DropReserve syncs first
        if (f.cur_phys > f.cur.size()) {  // ftruncate + fdatasync, as PosixWritableFile does
          f.cur_phys = f.cur.size();
          f.dur = f.cur;
          f.dur_phys = f.cur_phys;
        }
        break;
      }
      case Op::kSync: {
        Inode& f = inodes[static_cast<size_t>(op.inode)];
        if (f.direct) {
          WritePending(f);
          break;
        }
        f.dur = f.cur;
        f.dur_phys = f.cur_phys;
        break;
      }
      case Op::kTruncate: {
        Inode& f = inodes[static_cast<size_t>(ns.at(op.path))];
        if (op.n < f.cur.size()) f.cur.resize(op.n);
        f.cur_phys = op.n;
        f.dur = f.cur;  // FileSystem::Truncate syncs
        f.dur_phys = f.cur_phys;
        break;
      }
      case Op::kRename: {
        ns[op.to] = ns.at(op.path);
        ns.erase(op.path);
        break;
      }
      case Op::kRemove:
        ns.erase(op.path);
        break;
      case Op::kSyncDir: {
        for (auto it = dur_ns.begin(); it != dur_ns.end();) {
          it = Parent(it->first) == op.path && !ns.count(it->first) ? dur_ns.erase(it)
                                                                    : std::next(it);
        }
        for (const auto& [p, ino] : ns) {
          if (Parent(p) == op.path) dur_ns[p] = ino;
        }
        for (const auto& d : dirs) {
          if (Parent(d) == op.path) dur_dirs.insert(d);
        }
        break;
      }
      case Op::kMkdir: {
        for (size_t pos = 0; pos <= op.path.size(); ++pos) {
          if (pos == op.path.size() || op.path[pos] == '/') {
            if (pos > 0) dirs.insert(op.path.substr(0, pos));
          }
        }
        break;
      }
    }
  }
};

enum class Mode { kProcess, kPower, kPowerStrictDirs };

const char* ModeName(Mode m) {
  switch (m) {
    case Mode::kProcess:
      return "process crash";
    case Mode::kPower:
      return "power loss";
    case Mode::kPowerStrictDirs:
      return "power loss, strict dirs";
  }
  return "?";
}

// A write torn by the crash: `extra` lands after the inode's bytes of the mode.
struct Tear {
  int inode = -1;
  std::string extra;
};

struct FileState {
  std::string bytes;
  uint64_t physical = 0;
  std::string durable;  // synced before the crash: recovery must never cut it
};

using DiskState = std::map<std::string, FileState>;  // relative path -> file

DiskState Snapshot(const Model& m, Mode mode, const Tear& tear) {
  DiskState out;
  const bool strict = mode == Mode::kPowerStrictDirs;
  const auto& names = strict ? m.dur_ns : m.ns;
  const auto& dirs = strict ? m.dur_dirs : m.dirs;
  for (const auto& [path, ino] : names) {
    const std::string parent = Parent(path);
    if (!parent.empty() && !dirs.count(parent)) continue;  // its directory is gone
    const Inode& f = m.inodes[static_cast<size_t>(ino)];
    FileState s;
    s.bytes = mode == Mode::kProcess ? f.cur : f.dur;
    s.physical = mode == Mode::kProcess ? f.cur_phys : f.dur_phys;
    if (ino == tear.inode) {
      s.bytes = f.cur + tear.extra;  // the unsynced bytes before the torn write made it too
      s.physical = std::max<uint64_t>(s.physical, s.bytes.size());
    }
    s.physical = std::max<uint64_t>(s.physical, s.bytes.size());
    s.durable = f.dur;
    out[path] = std::move(s);
  }
  return out;
}

std::string StateKey(const Model& m, Mode mode, const DiskState& disk) {
  std::string key;
  const bool strict = mode == Mode::kPowerStrictDirs;
  for (const auto& d : strict ? m.dur_dirs : m.dirs) key += "D" + d + '\n';
  for (const auto& [path, s] : disk) {
    key += "F" + path + '\n' + std::to_string(s.physical) + '\n' +
           std::to_string(s.durable.size()) + '\n' + std::to_string(s.bytes.size()) + '\n';
    key += s.bytes;
  }
  return key;
}

constexpr uint64_t kMaxZeros = 64 << 10;

void Materialize(const Model& m, Mode mode, const DiskState& disk, const std::string& dir,
                 const std::string& node_key) {
  fsys::create_directories(dir);
  for (const auto& d : mode == Mode::kPowerStrictDirs ? m.dur_dirs : m.dirs)
    fsys::create_directories(dir + "/" + d);
  for (const auto& [path, s] : disk) {
    WriteFileBytes(dir + "/" + path, s.bytes);
    // The zero reserve as a hole (reads as zeros), at most kMaxZeros long: recovery treats a
    // zero tail of any length alike, and scanning a whole MiB per state costs seconds.
    const uint64_t physical = std::min<uint64_t>(s.physical, s.bytes.size() + kMaxZeros);
    if (physical > s.bytes.size()) fsys::resize_file(dir + "/" + path, physical);
  }
  WriteFileBytes(dir + "/node.key", node_key);  // written by the first open, outside the seam
  fsys::permissions(dir + "/node.key", fsys::perms::owner_read | fsys::perms::owner_write);
}

// The first n bytes of a file (fewer if it is shorter).
std::string ReadPrefix(const std::string& path, size_t n) {
  std::string out(n, '\0');
  std::ifstream in(path, std::ios::binary);
  in.read(out.data(), static_cast<std::streamsize>(n));
  out.resize(static_cast<size_t>(in.gcount()));
  return out;
}

std::map<std::string, std::string> ReadTree(const std::string& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fsys::recursive_directory_iterator(dir)) {
    if (e.is_regular_file())
      out[e.path().string().substr(dir.size() + 1)] = ReadPrefix(e.path().string(), e.file_size());
  }
  return out;
}

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// What the live run knows about its records and checkpoints.
struct LiveRun {
  std::vector<Op> ops;
  std::string node_key;
  std::map<uint64_t, std::string> ids;  // seq -> event id
  std::map<uint64_t, Hash256> leaves;   // seq -> leaf hash
  std::map<uint64_t, size_t> acked_at;  // seq -> ops done when its callback said OK
  std::vector<std::pair<size_t, uint64_t>> checkpoints_at;  // (ops done, size) when published
};

StoreOptions CommonOptions(const std::string& data_dir) {
  StoreOptions o;
  o.data_dir = data_dir;
  o.max_segment_bytes = 4096;  // ~20 records a segment
  o.direct_io = false;
  o.rotate_daily = false;
  o.wall_clock = [] { return kWallNs; };
  o.request_path_busy = [] { return false; };
  o.seal_at_low_priority = false;  // waited for: a loaded host's CPUs must not starve it
  o.checkpoint_interval_ms = 60'000;
  o.checkpoint_heartbeat_ms = 600'000;
  return o;
}

// Runs the store's life on a RecordingFileSystem: group commits of 1..6 records, some
// flushed (tree head synced), some only acknowledged (head appended later or not at all),
// two pauses that let an unsynced tree head be written, sealing after each rotation, a clean
// close and reopen, more commits, and a final close. With `direct`, the active segment is
// written as in production (direct_io): O_DIRECT|O_DSYNC blocks, nothing before the sync.
void RunLive(const std::string& data_dir, LiveRun* live, bool direct = false) {
  RecordingFileSystem rec(data_dir, direct);
  std::mutex mu;
  std::condition_variable cv;
  size_t callbacks = 0;
  std::vector<Hash256> leaf_of(256);
  uint64_t next_event = 0;
  StoreOptions o = CommonOptions(data_dir);
  o.fs = &rec;
  o.direct_io = direct;
  o.batch_interval_ms = 5;
  o.checkpoint_every_events = 5;
  o.on_checkpoint = [&](const SignedCheckpoint& c) {
    std::lock_guard<std::mutex> lock(mu);
    live->checkpoints_at.emplace_back(rec.OpCount(), c.size);
  };
  auto batch = [&](Store& store, int n, bool flush) {
    size_t want = 0;
    {
      std::lock_guard<std::mutex> lock(mu);
      want = callbacks + static_cast<size_t>(n);
    }
    for (int i = 0; i < n; ++i) {
      const uint64_t index = next_event++;
      Status st = store.Append(
          MakeEvent(index),
          [&, index](const Status& s, uint64_t seq) {
            std::lock_guard<std::mutex> lock(mu);
            if (s.ok()) {
              live->acked_at[seq] = rec.OpCount();
              live->ids[seq] = MakeEvent(index).id;
              live->leaves[seq] = leaf_of[index];
            }
            ++callbacks;
            cv.notify_all();
          },
          &leaf_of[index]);
      ASSERT_TRUE(st.ok()) << st.ToString();
    }
    if (flush) {
      ASSERT_TRUE(store.Flush().ok());
    }
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(20), [&] { return callbacks >= want; }));
    lock.unlock();
    for (int i = 0; i < 4000 && store.Stats().seal_pending > 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ASSERT_EQ(store.Stats().seal_pending, 0u);
    ASSERT_EQ(store.Stats().seal_errors, 0u) << store.Stats().last_seal_error;
  };
  {
    auto opened = Store::Open(o);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    auto store = std::move(opened).value();
    const int sizes[] = {1, 4, 2, 6, 3, 1, 5, 2, 4, 3};
    for (int b = 0; b < 10; ++b) {
      if (b == 4 || b == 7)
        std::this_thread::sleep_for(std::chrono::milliseconds(60));  // a head is due
      batch(*store, sizes[b], b % 3 == 2);
      if (::testing::Test::HasFatalFailure()) return;
    }
    store->Close();
  }
  {
    auto opened = Store::Open(o);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    auto store = std::move(opened).value();
    const int sizes[] = {2, 5, 3, 4};
    for (int b = 0; b < 4; ++b) {
      batch(*store, sizes[b], b == 3);
      if (::testing::Test::HasFatalFailure()) return;
    }
    store->Close();
  }
  ASSERT_EQ(rec.error(), "");
  live->ops = rec.TakeOps();
  live->node_key = ReadFileBytes(data_dir + "/node.key");
  ASSERT_FALSE(live->node_key.empty());
}

struct SweepStats {
  std::map<std::string, int> states;  // per kind
  int opened = 0;
  int refused = 0;
  std::vector<std::string> refusals;
};

class CrashSweep {
 public:
  // A state after a process crash or a power loss must open. After a power loss with strict
  // directory semantics too only when `strict_dirs_must_open` (see the DISABLED test).
  CrashSweep(const LiveRun& live, std::string work, bool strict_dirs_must_open)
      : live_(live), work_(std::move(work)), strict_dirs_must_open_(strict_dirs_must_open) {}

  SweepStats& stats() { return stats_; }

  // Checks one crash state: `done` ops had completed (acknowledgements up to there count).
  void Check(const Model& m, Mode mode, const Tear& tear, size_t done, const std::string& what) {
    DiskState disk = Snapshot(m, mode, tear);
    const uint64_t acked = AckedCount(done);
    const uint64_t ckpt = AckedCheckpoint(done);
    std::string key =
        StateKey(m, mode, disk) + "|" + std::to_string(acked) + "|" + std::to_string(ckpt);
    if (!seen_.insert(std::hash<std::string>()(key)).second) return;
    const std::string label =
        what + " after op " + std::to_string(done) + " (" + ModeName(mode) + ")";
    ++stats_.states[what.substr(0, what.find(' '))];
    const std::string dir = work_ + "/s" + std::to_string(++n_);
    Materialize(m, mode, disk, dir, live_.node_key);
    CheckOpen(m, mode, disk, dir, acked, ckpt, label);
    std::error_code ec;
    fsys::remove_all(dir, ec);
  }

 private:
  // Acknowledged records are a prefix of the seqs: how many by the time `done` ops ran.
  uint64_t AckedCount(size_t done) const {
    uint64_t n = 0;
    for (const auto& [seq, at] : live_.acked_at) {
      if (at <= done) n = std::max(n, seq + 1);
    }
    return n;
  }
  uint64_t AckedCheckpoint(size_t done) const {
    uint64_t size = 0;
    for (const auto& [at, s] : live_.checkpoints_at) {
      if (at <= done) size = std::max(size, s);
    }
    return size;
  }

  void CheckOpen(const Model& m, Mode mode, const DiskState& disk, const std::string& dir,
                 uint64_t acked, uint64_t ckpt, const std::string& label) {
    SCOPED_TRACE(label);
    StoreOptions o = CommonOptions(dir);
    o.seal_rotated = false;  // nothing but Open and our one append changes the dir
    auto opened = Store::Open(o);
    if (!opened.ok()) {
      ++stats_.refused;
      stats_.refusals.push_back(label + ": " + opened.status().ToString());
      if (mode != Mode::kPowerStrictDirs || strict_dirs_must_open_) {
        ADD_FAILURE() << "a crash left a state Open refuses: " << opened.status().ToString();
      }
      EXPECT_EQ(opened.status().code(), StatusCode::kCorruption) << opened.status().ToString();
      EXPECT_NE(opened.status().message().find(dir), std::string::npos)
          << "names no file: " << opened.status().ToString();
      // A refused open touches nothing: compare with the same state built again.
      const std::string again = dir + "-before";
      Materialize(m, mode, disk, again, live_.node_key);
      auto before = ReadTree(again);
      auto after = ReadTree(dir);
      for (const auto& [path, bytes] : before) {
        auto it = after.find(path);
        if (it == after.end()) {
          ADD_FAILURE() << "failed open removed " << path;
        } else if (it->second != bytes) {
          ADD_FAILURE() << "failed open changed " << path << " (" << bytes.size() << " -> "
                        << it->second.size() << " bytes)";
        }
      }
      for (const auto& [path, bytes] : after) {
        if (!before.count(path)) ADD_FAILURE() << "failed open created " << path;
      }
      std::error_code ec;
      fsys::remove_all(again, ec);
      return;
    }
    ++stats_.opened;
    auto store = std::move(opened).value();
    const StoreStats s = store->Stats();
    EXPECT_GE(s.size, acked) << "acknowledged records lost";
    ASSERT_LE(s.size, live_.ids.size()) << "more records than were ever written";
    merkle::CompactRange tree;
    for (uint64_t seq = 0; seq < s.size; ++seq) tree.Append(live_.leaves.at(seq));
    EXPECT_EQ(s.root_hex, HexEncode(tree.Root())) << "root over " << s.size << " records";
    for (uint64_t seq = 0; seq < s.size; ++seq) {
      auto e = store->GetBySeq(seq);
      if (!e.ok()) {
        ADD_FAILURE() << "seq " << seq << ": " << e.status().ToString();
        continue;
      }
      EXPECT_EQ(e->id, live_.ids.at(seq)) << "seq " << seq;
    }
    EXPECT_GE(s.checkpoint_size, ckpt) << "acknowledged checkpoint forgotten";
    // No byte that was synced before the crash is gone: sealed segments may go only when a
    // part holds them, and temporary files and rollups (derived data) are not log files.
    for (const auto& [path, f] : disk) {
      if (f.durable.empty() || EndsWith(path, ".tmp") || path.rfind("rollups/", 0) == 0) continue;
      const std::string full = dir + "/" + path;
      if (!fsys::exists(full)) {
        const bool sealed = path.rfind("segments/seg-", 0) == 0 &&
                            fsys::exists(dir + "/parts/part-" + path.substr(13, 20) + ".part");
        EXPECT_TRUE(sealed) << "Open removed " << path << " holding " << f.durable.size()
                            << " synced bytes";
        continue;
      }
      const uint64_t size = fsys::file_size(full);
      EXPECT_TRUE(size >= f.durable.size() && ReadPrefix(full, f.durable.size()) == f.durable)
          << "Open cut or changed synced bytes of " << path << " (" << f.durable.size()
          << " synced, " << size << " now)";
    }
    // The store goes on where the log ends, and the dir it leaves verifies: every state whose
    // open cut something, and every third of the others (the root was checked above).
    if (s.recovered_truncated_bytes == 0 && ++opened_plain_ % 3 != 1) return;
    uint64_t seq = 0;
    Status st = AppendSync(*store, MakeEvent(900), &seq);
    EXPECT_TRUE(st.ok()) << st.ToString();
    EXPECT_EQ(seq, s.size);
    store->Close();
    store.reset();
    VerifyReport report = VerifyDataDir(dir);
    EXPECT_TRUE(report.ok) << report.problem << " in " << report.file << " at " << report.offset;
    EXPECT_EQ(report.records, s.size + 1);
    EXPECT_TRUE(report.completeness.ok)
        << report.completeness.problem << " for " << report.completeness.source;
  }

  const LiveRun& live_;
  const std::string work_;
  const bool strict_dirs_must_open_;
  SweepStats stats_;
  std::set<size_t> seen_;
  int n_ = 0;
  int opened_plain_ = 0;
};

// Byte offsets at which to tear a write of `data`: the middle, and unless `few` also its
// first and last byte; when `dense`, also every frame boundary (and the bytes around it and
// inside the frame header) and ~32 evenly spaced bytes.
std::vector<size_t> TearPoints(const std::string& data, bool dense, bool few) {
  std::set<size_t> at = {data.size() / 2};
  if (!few) at.insert({1, data.size() - 1});
  if (dense) {
    const size_t step = std::max<size_t>(1, data.size() / 32);
    for (size_t b = 1; b < data.size(); b += step) at.insert(b);
    // Frames: len u32 | crc u32 | seq u64 | payload (docs/FORMAT.md §3).
    for (size_t pos = 0; pos + log::kFrameHeaderSize <= data.size();) {
      const uint32_t len = static_cast<uint8_t>(data[pos]) |
                           static_cast<uint8_t>(data[pos + 1]) << 8 |
                           static_cast<uint8_t>(data[pos + 2]) << 16 |
                           static_cast<uint32_t>(static_cast<uint8_t>(data[pos + 3])) << 24;
      if (len == 0 || len > log::kMaxPayloadSize) break;
      for (size_t d : {pos + 4, pos + 8, pos + 15, pos + 16, pos + 17}) at.insert(d);
      pos += log::kFrameHeaderSize + len;
      for (size_t d : {pos - 1, pos, pos + 1}) at.insert(d);
    }
  }
  std::vector<size_t> out;
  for (size_t b : at) {
    if (b > 0 && b < data.size()) out.push_back(b);
  }
  return out;
}

// What a written file is, for choosing tear points.
std::string WriteKind(const std::string& name, const std::string& data) {
  if (name.rfind("segments/", 0) == 0)
    return data.rfind(log::kSegmentMagic, 0) == 0 ? "segment-header" : "segment";
  if (name.rfind("parts/", 0) == 0) return "part";
  if (name.rfind("rollups/", 0) == 0) return "rollup";
  if (data.rfind(log::kTreeHeadMagic, 0) == 0 || data.rfind(log::kCheckpointMagic, 0) == 0)
    return name + "-header";
  return name;
}

// Every clean cut after each op in `modes`, and with `tears` torn writes: dense (see
// TearPoints), over the process-crash and the power-loss state, on the first write of each
// kind of frames (a multi-record segment batch, a tree head, a checkpoint, a part .tmp
// being sealed) when `dense`; sparse on the others, over both states for file headers (a
// segment's at rotation, tree_heads.log's, checkpoints.log's), over the process-crash state
// for the rest.
void Sweep(const LiveRun& live, CrashSweep& sweep, const std::vector<Mode>& modes, bool tears,
           bool dense) {
  static const std::string kNothing;
  Model m;
  std::set<std::string> dense_done;
  std::map<int, std::string> inode_name;
  for (size_t k = 0; k <= live.ops.size(); ++k) {
    for (Mode mode : modes) {
      sweep.Check(m, mode, Tear{}, k, "clean cut");
      if (::testing::Test::HasFatalFailure()) return;
    }
    if (k == live.ops.size()) break;
    const Op& op = live.ops[k];
    if (op.kind == Op::kOpen) inode_name[op.inode] = op.path;
    // The write a crash may tear: a buffered append, or a direct file's sync (or the one its
    // DropReserve does), which writes everything appended since the last.
    const Inode* file = op.inode >= 0 && static_cast<size_t>(op.inode) < m.inodes.size()
                            ? &m.inodes[static_cast<size_t>(op.inode)]
                            : nullptr;
    const bool direct = file != nullptr && file->direct;
    const std::string& written =
        direct && (op.kind == Op::kSync || op.kind == Op::kDropReserve) ? file->pending
        : !direct && op.kind == Op::kAppend                             ? op.data
                                                                        : kNothing;
    if (tears && written.size() > 1) {
      const std::string kind = WriteKind(inode_name[op.inode], written);
      const bool derived = kind == "part" || kind == "rollup";  // the source stays: less to see
      // A header is torn alike at any byte short of its end: dense tears go to frames.
      const bool header = kind.size() > 7 && kind.compare(kind.size() - 7, 7, "-header") == 0;
      const bool dense_here = dense && !header && kind != "rollup" &&
                              (kind != "segment" || written.size() > 700) &&
                              dense_done.insert(kind).second;
      for (size_t b : TearPoints(written, dense_here, derived)) {
        Tear tear{op.inode, written.substr(0, b)};
        for (Mode mode : {Mode::kProcess, Mode::kPower}) {
          if (mode == Mode::kPower && !dense_here && !header)
            continue;  // sparse: over the process state
          sweep.Check(m, mode, tear, k,
                      "torn " + kind + " write at byte " + std::to_string(b) + " of " +
                          std::to_string(written.size()));
          if (::testing::Test::HasFatalFailure()) return;
        }
      }
      // Sectors persisted out of order: the whole write but one 512-byte sector (at file
      // offsets), whose new bytes are still zeros (the reserve, or a hole): valid frames
      // follow the damage, and none of them was synced (docs/FORMAT.md §8).
      const bool framed =
          kind == "segment" || kind == "tree_heads.log" || kind == "checkpoints.log";
      const uint64_t start = m.inodes[static_cast<size_t>(op.inode)].cur.size();
      const uint64_t end = start + written.size();
      for (uint64_t sector = start / 512 * 512; framed && sector < end; sector += 512) {
        const uint64_t lo = std::max(sector, start), hi = std::min(sector + 512, end);
        if (lo == start && hi == end) break;  // one sector: a prefix tear above
        Tear tear{op.inode, written};
        std::fill(tear.extra.begin() + static_cast<std::ptrdiff_t>(lo - start),
                  tear.extra.begin() + static_cast<std::ptrdiff_t>(hi - start), '\0');
        for (Mode mode : {Mode::kProcess, Mode::kPower}) {
          sweep.Check(m, mode, tear, k,
                      "unwritten sector of a " + kind + " write, bytes " +
                          std::to_string(lo - start) + " to " + std::to_string(hi - start) +
                          " of " + std::to_string(written.size()));
          if (::testing::Test::HasFatalFailure()) return;
        }
      }
    }
    m.Apply(op);
  }
}

// The model after every op must be the live run's data dir as it was left: each file's
// bytes, then nothing but zeros. Otherwise the sweep would check states no crash leaves.
void ExpectModelMatchesDisk(const LiveRun& live, const std::string& data_dir) {
  Model m;
  for (const Op& op : live.ops) m.Apply(op);
  for (const auto& [path, ino] : m.ns) {
    const Inode& f = m.inodes[static_cast<size_t>(ino)];
    const std::string disk = ReadFileBytes(data_dir + "/" + path);
    EXPECT_EQ(disk.substr(0, f.cur.size()), f.cur) << path;
    EXPECT_EQ(disk.find_first_not_of('\0', f.cur.size()), std::string::npos)
        << path << ": bytes past the model's " << f.cur.size();
  }
}

void Report(const SweepStats& s, size_t ops) {
  std::cout << "[ crash sweep ] " << ops << " ops recorded; states checked:";
  for (const auto& [kind, n] : s.states) std::cout << " " << kind << "=" << n;
  std::cout << "; opened " << s.opened << ", refused " << s.refused << "\n";
  for (size_t i = 0; i < s.refusals.size() && i < 5; ++i)
    std::cout << "  refused: " << s.refusals[i] << "\n";
}

// CRASH_SWEEP_DUMP=1 prints the recorded operations, acknowledgements and checkpoints.
void MaybeDump(const LiveRun& live) {
  if (std::getenv("CRASH_SWEEP_DUMP") == nullptr) return;
  const char* kinds[] = {"open",     "append", "reserve", "drop-reserve", "sync",
                         "truncate", "rename", "remove",  "sync-dir",     "mkdir"};
  for (size_t i = 0; i < live.ops.size(); ++i) {
    const Op& op = live.ops[i];
    std::cout << i << " " << kinds[op.kind] << " inode " << op.inode << " '" << op.path << "' '"
              << op.to << "' bytes " << op.data.size() << " n " << op.n
              << (op.direct ? " direct" : "") << "\n";
  }
  for (const auto& [seq, at] : live.acked_at)
    std::cout << "ack " << seq << " after op " << at << "\n";
  for (const auto& [at, size] : live.checkpoints_at)
    std::cout << "checkpoint " << size << " after op " << at << "\n";
}

// The store's life, then every crash state after each of its operations, in every mode,
// with torn writes.
void SweepEveryCrashPoint(bool direct) {
  TempDir tmp;
  LiveRun live;
  RunLive(tmp.path() + "/live", &live, direct);
  if (::testing::Test::HasFatalFailure()) return;
  ASSERT_EQ(live.acked_at.size(), 45u);
  const auto direct_opens = std::count_if(live.ops.begin(), live.ops.end(),
                                          [](const Op& op) { return op.kind == Op::kOpen && op.direct; });
  if (direct) {
    EXPECT_GE(direct_opens, 3) << "the segments were not written directly";
  } else {
    EXPECT_EQ(direct_opens, 0);
  }
  ExpectModelMatchesDisk(live, tmp.path() + "/live");
  MaybeDump(live);
  CrashSweep sweep(live, tmp.path() + "/crash", /*strict_dirs_must_open=*/true);
  Sweep(live, sweep, {Mode::kProcess, Mode::kPower, Mode::kPowerStrictDirs}, /*tears=*/true,
        /*dense=*/true);
  Report(sweep.stats(), live.ops.size());
  EXPECT_GT(sweep.stats().opened, 300);
}

TEST(CrashSweep, EveryCrashPointKeepsAcknowledgedRecordsAndVerifies) {
  SweepEveryCrashPoint(/*direct=*/false);
}

// The same life with the active segment written as production writes it (direct_io): a
// process crash loses whatever was appended but not yet synced, and a sync writes whole
// zero-padded blocks, which a crash may tear like any write. Every state must open as above.
TEST(CrashSweep, DirectIoEveryCrashPointKeepsAcknowledgedRecordsAndVerifies) {
  SweepEveryCrashPoint(/*direct=*/true);
}

// Under POSIX a new directory's entry is durable only once its parent is synced; ext4 and
// XFS happen to commit it with later syncs, other file systems need not. The first sealing
// creates DATA_DIR/parts, syncs parts/, then deletes the sealed segment: unless DATA_DIR was
// synced in between, a power loss before the next Open could leave neither parts/ nor the
// segment, and records 0..k-1 — acknowledged and signed — gone ("seq gap" at Open). The
// sealer now syncs DATA_DIR after creating parts/.
TEST(CrashSweep, SealedRecordsSurvivePowerLossWithStrictDirectorySemantics) {
  TempDir tmp;
  LiveRun live;
  RunLive(tmp.path() + "/live", &live);
  if (HasFatalFailure()) return;
  CrashSweep sweep(live, tmp.path() + "/crash", /*strict_dirs_must_open=*/true);
  Sweep(live, sweep, {Mode::kPowerStrictDirs}, /*tears=*/false, /*dense=*/false);
  Report(sweep.stats(), live.ops.size());
  EXPECT_EQ(sweep.stats().refused, 0);
}

// A store of 10 records in one segment, closed cleanly: tree heads at 5 and 10, the newest
// checkpoint at 10. Returns the data dir.
std::string TenRecords(const TempDir& tmp) {
  StoreOptions o = CommonOptions(tmp.path() + "/data");
  auto store = OpenOrDie(o);
  AppendMany(*store, 5);
  AppendMany(*store, 5, 5);
  store->Close();
  return o.data_dir;
}

// Tree heads are synced at most once a second, checkpoints every time (FORMAT.md §7, §12),
// so the newest durable checkpoint is often ahead of the newest durable head. A damaged last
// record that only a checkpoint covers was acknowledged: recovery refuses to cut it (it did
// cut it, deciding by the tree head alone, and then failed on the checkpoint, leaving a
// shorter log that no longer showed the damage).
TEST(CrashSweep, FailedOpenKeepsARecordACheckpointCovers) {
  TempDir tmp;
  const std::string dir = TenRecords(tmp);
  if (HasFatalFailure()) return;
  FileSystem* fs = DefaultFileSystem();
  auto checkpoints = ReadCheckpoints(fs, CheckpointsPath(dir));
  ASSERT_TRUE(checkpoints.ok()) << checkpoints.status().ToString();
  ASSERT_EQ(checkpoints->checkpoints.back().size, 10u);
  // A power loss took the newest tree head (written but not yet synced: heads are synced
  // at most once a second); the checkpoint at 10 was synced when it was written.
  auto heads = ReadTreeHeads(fs, TreeHeadsPath(dir));
  ASSERT_TRUE(heads.ok()) << heads.status().ToString();
  ASSERT_GE(heads->heads.size(), 2u);
  ASSERT_EQ(heads->heads.back().size, 10u);
  TruncateFile(TreeHeadsPath(dir), heads->heads.back().offset);
  // Record 9, acknowledged and signed, is damaged.
  const std::string seg = SegmentPath(dir, 0);
  auto offsets = FrameOffsets(seg);
  ASSERT_EQ(offsets.size(), 11u);
  FlipByte(seg, offsets[9] + 40);
  const std::string before = ReadFileBytes(seg);

  StoreOptions o = CommonOptions(dir);
  auto opened = Store::Open(o);
  ASSERT_FALSE(opened.ok()) << "record 9 is covered by a checkpoint: it was acknowledged";
  EXPECT_EQ(opened.status().code(), StatusCode::kCorruption);
  EXPECT_EQ(ReadFileBytes(seg).size(), before.size())
      << "the failed Open cut the record: " << opened.status().ToString();
  EXPECT_TRUE(ReadFileBytes(seg) == before);
}

// An Open that fails with Corruption leaves tree_heads.log as it found it: its torn tail is
// cut only once the log checked out. Here: a torn tree head plus a damaged record followed
// by valid ones.
TEST(CrashSweep, FailedOpenLeavesTreeHeadsAsTheyWere) {
  TempDir tmp;
  const std::string dir = TenRecords(tmp);
  if (HasFatalFailure()) return;
  const std::string heads = TreeHeadsPath(dir);
  WriteFileBytes(heads, ReadFileBytes(heads) + std::string(20, '\x01'));  // a torn head
  const std::string seg = SegmentPath(dir, 0);
  FlipByte(seg, FrameOffsets(seg)[3] + 40);  // damage followed by valid records
  const std::string before = ReadFileBytes(heads);

  auto opened = Store::Open(CommonOptions(dir));
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), StatusCode::kCorruption) << opened.status().ToString();
  EXPECT_EQ(ReadFileBytes(heads).size(), before.size()) << "the failed Open cut tree_heads.log";
}

// Nor anything else: a sealing cut short (parts/*.tmp) and a segment a part already holds
// (the crash came between the seal and the delete) are removed only once the log checked
// out. They were removed before the scan, so the Open that then failed on a damaged record
// had changed the dir the operator and verify were to look at.
TEST(CrashSweep, FailedOpenRemovesNothing) {
  TempDir tmp;
  StoreOptions o = CommonOptions(tmp.path() + "/data");
  o.seal_rotated = false;
  {
    auto store = OpenOrDie(o);
    AppendMany(*store, 50);
    store->Close();
  }
  const std::string seg0 = SegmentPath(o.data_dir, 0);
  const std::string seg0_bytes = ReadFileBytes(seg0);
  ASSERT_FALSE(seg0_bytes.empty());
  o.seal_rotated = true;
  {
    auto store = OpenOrDie(o);
    WaitSealed(*store);
    if (HasFatalFailure()) return;
    store->Close();
  }
  ASSERT_FALSE(fsys::exists(seg0)) << "segment 0 was not sealed";
  WriteFileBytes(seg0, seg0_bytes);  // the crash came before the delete
  const std::string tmp_part = o.data_dir + "/parts/part-00000000000000000999.part.tmp";
  WriteFileBytes(tmp_part, "a sealing cut short");
  std::vector<std::string> segments;
  for (const auto& e : fsys::directory_iterator(o.data_dir + "/segments")) segments.push_back(e.path().string());
  std::sort(segments.begin(), segments.end());
  const std::string active = segments.back();
  auto offsets = FrameOffsets(active);
  ASSERT_GE(offsets.size(), 3u);
  FlipByte(active, offsets[0] + 40);  // damage followed by valid records
  const auto before = ReadTree(o.data_dir);

  auto opened = Store::Open(CommonOptions(o.data_dir));
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), StatusCode::kCorruption) << opened.status().ToString();
  EXPECT_EQ(ReadTree(o.data_dir), before) << "the failed Open changed the data dir";
  EXPECT_TRUE(fsys::exists(seg0));
  EXPECT_TRUE(fsys::exists(tmp_part));
}

}  // namespace
}  // namespace apitrail
