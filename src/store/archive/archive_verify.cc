#include "store/archive/archive_verify.h"

#include <algorithm>
#include <map>

#include "store/archive/archive_layout.h"
#include "store/archive/checkpoint_slices.h"
#include "store/checkpoint_log.h"
#include "store/log/log_format.h"
#include "store/merkle/compact_range.h"
#include "store/merkle/merkle_hash.h"

namespace apitrail::archive {

namespace {

struct Signed {
  uint64_t size;
  Hash256 root;
  std::string file;
  uint64_t offset;
  bool given = false;  // the saved checkpoint, not one of the archive's
};

bool Fail(ArchiveVerifyReport* r, std::string problem, std::string file = "", uint64_t offset = 0) {
  r->problem = std::move(problem);
  r->file = std::move(file);
  r->offset = offset;
  return false;
}

// The archive's own verifier key file, when there is exactly one.
bool FindKey(const std::string& dir, const std::vector<std::string>& names, FileSystem* fs,
             VerifierKey* key, ArchiveVerifyReport* r) {
  std::vector<std::string> keys;
  for (const std::string& n : names) {
    if (IsVerifierKeyName(n)) keys.push_back(n);
  }
  if (keys.empty()) return Fail(r, "no verifier key: pass --key (the key published elsewhere)");
  if (keys.size() > 1) return Fail(r, "several verifier-key-*.txt files: pass --key to choose one");
  const std::string path = dir + "/" + keys[0];
  // A key line is under 200 bytes. The archive is untrusted input: a huge file under this
  // name must not be read whole into memory (verify allocated its whole size before).
  constexpr uint64_t kMaxKeyFile = 4096;
  auto text = fs->ReadAllAtMost(path, kMaxKeyFile);
  if (!text.ok() && text.status().code() == StatusCode::kResourceExhausted) {
    return Fail(r, "not a verifier key: " + text.status().message() + " (a key file holds one line)", path);
  }
  if (!text.ok()) return Fail(r, text.status().message(), path);
  std::string line = text->substr(0, text->find('\n'));
  auto parsed = ParseVerifierKey(line);
  if (!parsed.ok()) return Fail(r, "not a verifier key: " + parsed.status().message(), path);
  *key = *parsed;
  r->key_source = path +
                  " (from the archive itself: shows self-consistency only; pass --key "
                  "with the key published elsewhere to rule out a re-signed archive)";
  return true;
}

bool CheckSlices(const std::string& dir, FileSystem* fs, const VerifierKey& key,
                 std::vector<Signed>* out, std::string* node_out, ArchiveVerifyReport* r) {
  auto slices = ListSlices(fs, dir);
  if (!slices.ok()) return Fail(r, slices.status().message(), dir);
  if (slices->empty())
    return Fail(r, "no checkpoint slices (checkpoints-*.ckpt) in the archive", dir);
  std::string node;
  uint64_t expected_start = 0;
  std::map<uint64_t, Hash256> roots;
  for (const SliceInfo& s : *slices) {
    const std::string path = dir + "/" + s.name;
    auto file = ReadCheckpoints(fs, path);
    if (!file.ok()) return Fail(r, file.status().message(), path);
    if (file->valid_bytes != file->file_bytes) {
      return Fail(r, "damaged or incomplete frame at the end of the slice", path,
                  file->valid_bytes);
    }
    const uint64_t header = log::kFileHeaderFixedSize + file->node.size() + log::kFileHeaderCrcSize;
    if (file->file_bytes != header + (s.end - s.start)) {
      return Fail(r,
                  "the slice holds " + std::to_string(file->file_bytes - header) +
                      " bytes of frames, its name says " + std::to_string(s.end - s.start),
                  path);
    }
    if (node.empty()) {
      node = file->node;
      expected_start = header;  // the first slice begins at checkpoints.log's first frame
    } else if (file->node != node) {
      return Fail(r, "slice of node '" + file->node + "' among slices of node '" + node + "'",
                  path);
    }
    if (s.start != expected_start) {
      return Fail(r,
                  s.start > expected_start
                      ? "a checkpoint slice is missing: bytes " + std::to_string(expected_start) +
                            "…" + std::to_string(s.start) + " of checkpoints.log are in no slice"
                      : "slices overlap at byte " + std::to_string(s.start) + " of checkpoints.log",
                  path);
    }
    expected_start = s.end;
    for (const CheckpointRecord& c : file->checkpoints) {
      auto verified = VerifyCheckpointNote(c.note, key);
      if (!verified.ok()) {
        return Fail(r,
                    "checkpoint of tree size " + std::to_string(c.size) + ": " +
                        verified.status().message(),
                    path, c.offset);
      }
      if (!out->empty() && c.size < out->back().size) {
        return Fail(
            r, "tree size " + std::to_string(c.size) + " after " + std::to_string(out->back().size),
            path, c.offset);
      }
      auto [it, fresh] = roots.emplace(c.size, verified->root);
      if (!fresh && it->second != verified->root) {
        return Fail(r,
                    "two different roots signed for tree size " + std::to_string(c.size) +
                        ": the log was forked or rewritten",
                    path, c.offset);
      }
      out->push_back({c.size, verified->root, path, c.offset});
      ++r->checkpoints;
    }
    ++r->slices;
  }
  *node_out = node;
  if (!out->empty()) {
    r->newest_size = out->back().size;
    r->newest_root_hex = HexEncode(out->back().root);
  }
  return true;
}

bool CheckParts(const std::string& dir, const std::vector<std::string>& part_names,
                PartAccess* parts, const std::vector<Signed>& signed_list, const std::string& node,
                ArchiveVerifyReport* r) {
  struct Part {
    std::string path;
    PartInfo info;
  };
  std::vector<Part> list;
  for (const std::string& n : part_names) {
    const std::string path = dir + "/" + n;
    auto info = parts->Describe(path);
    if (!info.ok()) return Fail(r, info.status().message(), path);
    if (!info->node.empty() && info->node != node) {
      return Fail(r, "part of node '" + info->node + "' among checkpoints of node '" + node + "'",
                  path);
    }
    list.push_back({path, *info});
  }
  std::sort(list.begin(), list.end(),
            [](const Part& a, const Part& b) { return a.info.first_seq < b.info.first_seq; });
  merkle::CompactRange tree;
  Sha256Hasher hasher;
  size_t next_cp = 0;
  uint64_t proven = 0;  // the largest checkpoint size whose root the parts reproduced
  // Every checkpoint of size s is checked right after record s-1.
  auto check_roots = [&](const std::string& path) -> Status {
    while (next_cp < signed_list.size() && signed_list[next_cp].size == tree.size()) {
      const Signed& c = signed_list[next_cp];
      if (tree.Root() != c.root) {
        // Records up to the last matched size are proven; a changed record lies after it.
        r->first_bad_seq = proven;
        return Status::Corruption("the root over records 0…" + std::to_string(c.size - 1) +
                                  " of the archived parts differs from the checkpoint signed in " +
                                  c.file + " at offset " + std::to_string(c.offset) + " (up to " +
                                  path + "): a record from seq " + std::to_string(proven) +
                                  " on was changed, removed or added");
      }
      proven = c.size;
      ++r->checkpoints_matched;
      ++next_cp;
    }
    return Status::Ok();
  };
  // A checkpoint of the empty tree is checked here: check_roots runs after appends only.
  while (next_cp < signed_list.size() && signed_list[next_cp].size == 0) {
    if (signed_list[next_cp].root != tree.Root()) {
      return Fail(r, "a checkpoint of tree size 0 signs a root other than the empty tree's",
                  signed_list[next_cp].file, signed_list[next_cp].offset);
    }
    ++r->checkpoints_matched;
    ++next_cp;
  }
  // Older parts pruned from cold storage: continue from the first part's stored Merkle state.
  if (!list.empty() && list.front().info.first_seq > 0 && list.front().info.before &&
      list.front().info.before->size() == list.front().info.first_seq) {
    tree = *list.front().info.before;
    r->first_seq = tree.size();
    proven = tree.size();
    while (next_cp < signed_list.size() && signed_list[next_cp].size < tree.size()) {
      ++r->checkpoints_before;
      ++next_cp;
    }
    if (Status st = check_roots(list.front().path); !st.ok())
      return Fail(r, st.message(), list.front().path);
  }
  for (const Part& p : list) {
    if (p.info.first_seq != tree.size()) {
      r->first_bad_seq = tree.size();
      return Fail(r,
                  p.info.first_seq > tree.size()
                      ? "records " + std::to_string(tree.size()) + "…" +
                            std::to_string(p.info.first_seq - 1) + " are in no archived part"
                      : "parts overlap at seq " + std::to_string(p.info.first_seq),
                  p.path);
    }
    Status st = parts->ForEachRecord(p.path, [&](uint64_t seq, std::string_view record) -> Status {
      if (seq != tree.size()) {
        r->first_bad_seq = tree.size();
        return Status::Corruption("expected seq " + std::to_string(tree.size()) + ", found " +
                                  std::to_string(seq));
      }
      tree.Append(merkle::LeafHash(hasher, record));
      return check_roots(p.path);
    });
    if (!st.ok()) return Fail(r, st.message(), p.path);
    if (tree.size() != p.info.end_seq) {
      r->first_bad_seq = tree.size();
      return Fail(r,
                  "the part says it ends before seq " + std::to_string(p.info.end_seq) +
                      " but holds records up to " + std::to_string(tree.size()),
                  p.path);
    }
  }
  r->records = tree.size();
  if (r->first_seq > 0 && r->checkpoints_matched == 0) {
    return Fail(r,
                "the archive starts at seq " + std::to_string(r->first_seq) +
                    " and no archived checkpoint covers its records, so the Merkle state the "
                    "first part carries is unconfirmed",
                list.front().path);
  }
  uint64_t covered = 0;
  for (const Signed& c : signed_list) {
    if (c.size <= r->records) covered = std::max(covered, c.size);
  }
  r->checkpoints_beyond = signed_list.size() - next_cp;
  r->records_uncovered = r->records - covered;
  if (r->records_uncovered > 0 && r->checkpoints_beyond == 0) {
    // Nothing signed vouches for them: such records could have been replaced together with
    // the slices that covered them. The archiver archives a part's covering slice right
    // after it, so an honest archive shows this only until that slice arrives. (With a
    // checkpoint beyond the parts they are signed, and proven once the next part is here.)
    return Fail(r,
                "records " + std::to_string(covered) + "…" + std::to_string(r->records - 1) +
                    " are covered by no archived checkpoint (a checkpoint slice not archived yet, "
                    "or removed): they are not proven",
                list.back().path);
  }
  return true;
}

}  // namespace

ArchiveVerifyReport VerifyArchiveDir(const std::string& dir, const ArchiveVerifyOptions& options,
                                     FileSystem* fs) {
  ArchiveVerifyReport r;
  auto names = fs->ListDir(dir);
  if (!names.ok()) {
    Fail(&r, names.status().message(), dir);
    return r;
  }
  std::sort(names->begin(), names->end());
  VerifierKey key;
  if (options.key) {
    key = *options.key;
    r.key_source = "--key";
  } else if (!FindKey(dir, *names, fs, &key, &r)) {
    return r;
  }
  std::vector<Signed> signed_list;
  std::string node;
  r.checkpoints_ok = CheckSlices(dir, fs, key, &signed_list, &node, &r);
  if (!r.checkpoints_ok) return r;

  std::optional<Signed> given;
  if (options.checkpoint_note) {
    auto verified = VerifyCheckpointNote(*options.checkpoint_note, key);
    if (!verified.ok()) {
      r.checkpoints_ok = false;
      Fail(&r, "the saved checkpoint is not trustworthy: " + verified.status().message(),
           options.checkpoint_source);
      return r;
    }
    given = Signed{verified->size, verified->root, options.checkpoint_source, 0, true};
    r.given_size = verified->size;
    // Checked like the archive's own at its size (a different root there is a fork).
    auto at = std::upper_bound(signed_list.begin(), signed_list.end(), given->size,
                               [](uint64_t size, const Signed& c) { return size < c.size; });
    signed_list.insert(at, *given);
  }

  std::vector<std::string> part_names;
  for (const std::string& n : *names) {
    if (IsPartName(n)) part_names.push_back(n);
  }
  r.parts = part_names.size();
  if (part_names.empty()) {
    r.parts_checked = true;
    r.parts_ok = true;
    r.checkpoints_beyond = signed_list.size();  // the archive holds none of what they sign
  } else if (options.parts != nullptr) {
    r.parts_checked = true;
    r.parts_ok = CheckParts(dir, part_names, options.parts, signed_list, node, &r);
  } else {
    r.problem = std::to_string(part_names.size()) +
                " parts not checked: this build has no reader for sealed parts";
  }
  if (given && r.parts_checked && r.parts_ok) {
    if (given->size > r.records) {
      r.parts_ok = false;
      Fail(&r,
           "the saved checkpoint " + given->file + " signs " + std::to_string(given->size) +
               " records, the archived parts end at seq " + std::to_string(r.records) + ": records " +
               std::to_string(r.records) + "…" + std::to_string(given->size - 1) +
               " are missing from the archive",
           given->file);
    } else if (given->size < r.first_seq) {
      r.parts_ok = false;
      Fail(&r,
           "the saved checkpoint " + given->file + " (tree size " + std::to_string(given->size) +
               ") predates the archived parts (from seq " + std::to_string(r.first_seq) +
               "): it cannot be checked here",
           given->file);
    } else {
      r.given_checked = true;  // CheckParts reproduced its root, or it would have failed
    }
  }
  r.ok = r.checkpoints_ok && r.parts_checked && r.parts_ok;
  return r;
}

}  // namespace apitrail::archive
