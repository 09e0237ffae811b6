#include "store/archive/archiver.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>

#include "config/archive_command.h"
#include "core/thread_util.h"
#include "core/time_util.h"
#include "store/archive/archive_layout.h"
#include "store/archive/checkpoint_slices.h"
#include "store/archive/command_runner.h"
#include "store/checkpoint.h"
#include "store/checkpoint_log.h"

namespace apitrail::archive {

namespace {

std::string VerifierKeyFileName(const std::string& key_text) {
  // "name+hash+key": the hash names the file, so a new key gets a new file.
  const size_t a = key_text.find('+');
  const size_t b = a == std::string::npos ? a : key_text.find('+', a + 1);
  const std::string hash = b == std::string::npos ? "unknown" : key_text.substr(a + 1, b - a - 1);
  return std::string(kVerifierKeyPrefix) + hash + std::string(kVerifierKeySuffix);
}

}  // namespace

Result<std::unique_ptr<Archiver>> Archiver::Start(ArchiverOptions options) {
  if (options.fs == nullptr) options.fs = DefaultFileSystem();
  // %p is documented as an absolute path (docs/CONFIG.md), but audit.data_dir is relative
  // when the config file was named by a relative path (`serve -c apitrail.yaml` with
  // `data_dir: data`): a command that changes directory first (`cd /mnt/cold && cp %p .`)
  // would then copy nothing. The server never changes its working directory, so the path
  // made absolute here names the same files.
  if (!options.data_dir.empty()) {
    std::error_code ec;
    const std::filesystem::path abs = std::filesystem::absolute(options.data_dir, ec);
    if (!ec) options.data_dir = abs.lexically_normal().string();
    while (options.data_dir.size() > 1 && options.data_dir.back() == '/')
      options.data_dir.pop_back();
  }
  if (!options.now_ns) options.now_ns = [] { return NowNs(); };
  if (!options.remove_part) {
    FileSystem* fs = options.fs;
    const std::string parts = PartsDir(options.data_dir);
    options.remove_part = [fs, parts](const std::string& path) {
      APITRAIL_RETURN_IF_ERROR(fs->Remove(path));
      return fs->SyncDir(parts);
    };
  }
  if (!options.command.empty()) {
    if (Status st = ValidateArchiveCommand(options.command); !st.ok()) {
      return Status::InvalidArgument("archive command: " + st.message());
    }
  }
  std::unique_ptr<Archiver> a(new Archiver(std::move(options)));
  APITRAIL_RETURN_IF_ERROR(a->status_.Open());
  const ArchiverOptions& o = a->options_;
  if (!o.command.empty() && !o.verifier_key_text.empty()) {
    const std::string name = VerifierKeyFileName(o.verifier_key_text);
    const std::string outbox = OutboxDir(o.data_dir);
    if (!o.fs->Exists(outbox + "/" + name)) {
      APITRAIL_RETURN_IF_ERROR(o.fs->WriteFileDurably(outbox, name, o.verifier_key_text + "\n"));
    }
  }
  // The largest tree size already sliced, so a restart does not cut slices for parts that
  // are covered.
  if (!o.command.empty()) {
    APITRAIL_ASSIGN_OR_RETURN(auto slices, ListSlices(o.fs, OutboxDir(o.data_dir)));
    if (!slices.empty()) {
      auto newest = ReadCheckpoints(o.fs, OutboxDir(o.data_dir) + "/" + slices.back().name);
      if (newest.ok() && !newest->checkpoints.empty())
        a->sliced_size_ = newest->checkpoints.back().size;
    }
  }
  a->thread_ = std::thread([p = a.get()] { p->Run(); });
  return a;
}

Archiver::Archiver(ArchiverOptions options)
    : options_(std::move(options)),
      status_(options_.fs, options_.data_dir),
      backoff_(options_.retry_min) {
  stats_.enabled = !options_.command.empty();
}

Archiver::~Archiver() { Stop(); }

void Archiver::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cancel_.store(true);
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Archiver::Poke() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    poked_ = true;
  }
  cv_.notify_all();
}

ArchiverStats Archiver::Stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void Archiver::Run() {
  // Copying parts to cold storage may lag; the archive command (a child) inherits both.
  NameThisThread("at-archiver");
  SetThisThreadCpuPriority(CpuPriority::kBackground);
  SetThisThreadIdleIo();
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    poked_ = false;
    lock.unlock();
    Pass();
    lock.lock();
    // The next scan, or the end of a backoff if that comes first.
    const auto now = Clock::now();
    auto deadline = now + options_.scan_interval;
    if (retry_at_ > now && retry_at_ < deadline) deadline = retry_at_;
    cv_.wait_until(lock, deadline, [this] { return stopping_ || poked_; });
  }
}

std::vector<Archiver::FileEntry> Archiver::ListFiles(const std::string& dir, bool parts) {
  std::vector<FileEntry> out;
  if (!options_.fs->Exists(dir)) return out;
  auto names = options_.fs->ListDir(dir);
  if (!names.ok()) {
    spdlog::error("archive: cannot list {}: {}", dir, names.status().message());
    return out;
  }
  for (const std::string& n : *names) {
    uint64_t a, b;
    const bool wanted =
        parts ? IsPartName(n)
              : (ParseSliceName(n, &a, &b) || IsVerifierKeyName(n));
    if (!wanted) continue;
    FileEntry f{n, dir + "/" + n};
    struct stat st;
    if (::stat(f.path.c_str(), &st) != 0) continue;  // gone meanwhile
    f.size = static_cast<uint64_t>(st.st_size);
    f.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    f.inode = static_cast<uint64_t>(st.st_ino);
    out.push_back(std::move(f));
  }
  std::sort(out.begin(), out.end(),
            [](const FileEntry& x, const FileEntry& y) { return x.name < y.name; });
  return out;
}

void Archiver::CutSlices(const std::vector<FileEntry>& parts) {
  std::vector<const FileEntry*> unseen;
  bool needed = false;
  for (const FileEntry& p : parts) {
    if (seen_parts_.count(p.name) != 0) continue;
    unseen.push_back(&p);
    // At start every part counts as new unless it was archived already; with a part reader,
    // also one whose last record no sliced checkpoint covers yet.
    if (!Archived(p) || PartEnd(p) > sliced_size_) needed = true;
  }
  if (needed && !options_.command.empty()) {
    auto written = WriteCheckpointSlices(options_.fs, options_.data_dir);
    std::lock_guard<std::mutex> lock(mu_);
    if (!written.ok()) {
      ++stats_.slice_errors;
      spdlog::error(
          "archive: cannot cut a checkpoint slice from checkpoints.log: {} (retried at the next "
          "scan)",
          written.status().message());
      return;  // the parts stay unseen, so the next pass tries again
    }
    stats_.slices += written->size();
    for (const SliceInfo& s : *written) {
      sliced_size_ = std::max(sliced_size_, s.max_tree_size);
      spdlog::info("archive: checkpoint slice {} ({} checkpoints, up to tree size {}) ready",
                   s.name, s.checkpoints, s.max_tree_size);
    }
  }
  // A part whose last record no sliced checkpoint covers yet stays unseen, so the next pass
  // cuts the checkpoints signed meanwhile (its records were durable before its segment
  // rotated, so the covering checkpoint follows within audit.checkpoints.max_lag_ms).
  for (const FileEntry* p : unseen) {
    if (options_.command.empty() || PartEnd(*p) <= sliced_size_) seen_parts_.insert(p->name);
  }
}

bool Archiver::ArchiveOne(const FileEntry& f) {
  const std::string cmd = ExpandArchiveCommand(options_.command, f.path, f.name);
  auto ran = RunShellCommand(cmd, options_.timeout, options_.max_output, &cancel_);
  Status marked;
  if (ran.ok() && ran->success()) {
    marked = status_.MarkDone(f.name, f.identity(), options_.now_ns());
    if (marked.ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      ++stats_.archived;
      stats_.last_success_unix_s = options_.now_ns() / 1000000000;
      if (failures_in_row_ > 0) {
        spdlog::info("archive: {} archived after {} failed attempts", f.name, failures_in_row_);
      } else {
        spdlog::info("archive: {} archived ({} bytes, {} ms)", f.name, f.size,
                     ran->elapsed.count());
      }
      failures_in_row_ = 0;
      warned_changed_.erase(f.name);
      backoff_ = options_.retry_min;
      retry_at_ = Clock::time_point::min();
      return true;
    }
  }
  if (ran.ok() && ran->cancelled) return false;  // shutdown: not a failure of the command
  std::lock_guard<std::mutex> lock(mu_);
  ++stats_.failures;
  ++failures_in_row_;
  std::string why;
  if (!ran.ok()) {
    why = ran.status().message();
  } else if (!marked.ok()) {
    why = "the command succeeded but its success could not be recorded: " + marked.message();
  } else {
    if (ran->timed_out) ++stats_.timeouts;
    why = ran->Describe();
    const std::string out = OutputForLog(ran->output_tail);
    if (!out.empty()) why += "; output: " + out;
  }
  spdlog::warn("archive: {} not archived (attempt {}): {}; retrying in {} ms", f.name,
               failures_in_row_, why, backoff_.count());
  retry_at_ = Clock::now() + backoff_;
  backoff_ = std::min(backoff_ * 2, options_.retry_max);
  return false;
}

bool Archiver::Archived(const FileEntry& f) {
  if (status_.IsArchived(f.name, f.identity())) return true;
  if (status_.IsDone(f.name) && warned_changed_.insert(f.name).second) {
    spdlog::warn(
        "archive: {} was replaced after it was archived (size, inode or mtime differ): archiving "
        "it again",
        f.name);
  }
  return false;
}

uint64_t Archiver::PartEnd(const FileEntry& f) {
  if (options_.parts == nullptr) return 0;
  auto cached = part_ends_.find(f.name);
  if (cached != part_ends_.end()) return cached->second;
  auto info = options_.parts->Describe(f.path);
  if (!info.ok()) return 0;  // reported by retention or by the archive run; do not block on it
  part_ends_[f.name] = info->end_seq;
  return info->end_seq;
}

int64_t Archiver::PartNewestTime(const FileEntry& f) {
  if (options_.parts == nullptr) return f.mtime_ns;  // sealed after its newest record
  auto cached = part_times_.find(f.name);
  if (cached != part_times_.end()) return cached->second;
  auto info = options_.parts->Describe(f.path);
  if (!info.ok()) {
    // Dated by its sealing time instead (never earlier than its newest record), so a damaged
    // part still leaves once it was archived and expired, like any other.
    spdlog::error("retention: cannot read {} ({}): dating it by its modification time", f.name,
                  info.status().message());
    part_times_[f.name] = f.mtime_ns;
    return f.mtime_ns;
  }
  part_times_[f.name] = info->newest_time_ns;
  return info->newest_time_ns;
}

void Archiver::ApplyRetention(const std::vector<FileEntry>& parts,
                              const std::vector<FileEntry>& outbox) {
  std::vector<PartCandidate> candidates;
  for (const FileEntry& p : parts) {
    candidates.push_back({p.name, PartNewestTime(p), Archived(p)});
  }
  const RetentionPlan plan = PlanRetention(candidates, options_.retention, options_.now_ns());
  for (const std::string& name : plan.waiting) {
    if (warned_waiting_.insert(name).second) {
      spdlog::warn(
          "retention: {} is past audit.retention.days but not archived yet: kept until it is",
          name);
    }
  }
  uint64_t deleted = 0, bytes = 0, errors = 0;
  for (const std::string& name : plan.remove) {
    auto it = std::find_if(parts.begin(), parts.end(),
                           [&](const FileEntry& f) { return f.name == name; });
    const bool was_archived = Archived(*it);
    const int64_t newest = PartNewestTime(*it);
    Status st = options_.remove_part(it->path);
    // The marker goes after the part: a crash in between leaves a marker without a part
    // (removed below next time), never a part that looks unarchived.
    if (st.ok()) st = status_.Forget(name);
    if (!st.ok()) {
      ++errors;
      spdlog::error("retention: cannot delete {}: {}", name, st.message());
      continue;
    }
    ++deleted;
    bytes += it->size;
    part_times_.erase(name);
    part_ends_.erase(name);
    warned_waiting_.erase(name);
    warned_changed_.erase(name);
    seen_parts_.erase(name);
    spdlog::info("retention: deleted {} ({} bytes, newest record {}, {})", name, it->size,
                 FormatRfc3339(newest), was_archived ? "archived" : "never archived: not required");
  }
  // Markers of files that are gone (a crash between deleting a part and its marker).
  std::set<std::string> present;
  for (const FileEntry& f : parts) present.insert(f.name);
  for (const FileEntry& f : outbox) present.insert(f.name);
  std::vector<std::string> orphans;
  for (const std::string& d : status_.DoneNames()) {
    if (present.count(d) == 0 && IsPartName(d)) orphans.push_back(d);
  }
  for (const std::string& d : orphans) {
    if (!options_.fs->Exists(PartsDir(options_.data_dir) + "/" + d)) (void)status_.Forget(d);
  }
  std::lock_guard<std::mutex> lock(mu_);
  stats_.retention_deleted += deleted;
  stats_.retention_deleted_bytes += bytes;
  stats_.retention_errors += errors;
  stats_.retention_waiting = plan.waiting.size();
}

void Archiver::Pass() {
  const std::vector<FileEntry> parts = ListFiles(PartsDir(options_.data_dir), true);
  CutSlices(parts);
  const std::vector<FileEntry> outbox = ListFiles(OutboxDir(options_.data_dir), false);

  std::vector<const FileEntry*> pending;
  if (!options_.command.empty()) {
    for (const FileEntry& f : parts) {
      if (!Archived(f)) pending.push_back(&f);
    }
    for (const FileEntry& f : outbox) {
      if (!Archived(f)) pending.push_back(&f);
    }
  }
  size_t archived_now = 0;
  bool in_backoff;
  {
    std::lock_guard<std::mutex> lock(mu_);
    in_backoff = Clock::now() < retry_at_;
  }
  if (!in_backoff) {
    for (const FileEntry* f : pending) {
      if (cancel_.load()) break;
      if (!ArchiveOne(*f)) break;
      ++archived_now;
    }
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.pending = pending.size() - archived_now;
    int64_t oldest = 0;
    for (size_t i = archived_now; i < pending.size(); ++i) {
      if (oldest == 0 || pending[i]->mtime_ns < oldest) oldest = pending[i]->mtime_ns;
    }
    const int64_t now = options_.now_ns();
    stats_.oldest_pending_age_s =
        oldest == 0 || now < oldest ? 0 : static_cast<uint64_t>((now - oldest) / 1000000000);
  }
  if (options_.retention.days > 0 && !cancel_.load()) ApplyRetention(parts, outbox);
}

}  // namespace apitrail::archive
