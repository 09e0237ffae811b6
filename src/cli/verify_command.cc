// `apitrail verify --data DIR [--checkpoint FILE] [--key KEY] [--json]`: integrity and
// completeness of a data dir as two results (store/verify.h). Read-only; safe while the
// server runs. Exit codes: 0 both hold; 1 either failed (or there is no data dir);
// 2 usage: an unreadable or malformed --checkpoint file or --key.
// `apitrail verify --archive DIR [--checkpoint FILE] [--key KEY] [--json]`: an archive
// directory filled by audit.archive.command, without the live node
// (store/archive/archive_verify.h); same codes. With --checkpoint the archive must hold every
// record the saved checkpoint signs.
#include <filesystem>
#include <iostream>

#include "cli/commands.h"
#include "cli/key_arg.h"
#include "cli/text_flag.h"
#include "core/json_writer.h"
#include "store/archive/archive_verify.h"
#include "store/archive/store_part_access.h"
#include "store/fs/file_system.h"
#include "store/verify.h"

namespace apitrail {

namespace {

struct VerifyFlags {
  std::string data = "./apitrail-data";
  std::string checkpoint;
  std::string key;
  std::string archive;
  bool json = false;
};

// Exit 2 after a bad --key or --checkpoint, said on stderr; with --json also as JSON on
// stdout ({"ok":false,"usage_error":…}), which a script parsing the promised JSON gets
// instead of nothing.
int UsageError(const VerifyFlags& f, const std::string& message) {
  std::cerr << "apitrail verify: " << message << "\n";
  if (f.json) {
    std::string out;
    JsonWriter w(&out);
    w.BeginObject();
    w.FieldBool("ok", false);
    w.Field("usage_error", message);
    w.EndObject();
    std::cout << out << "\n";
  }
  return 2;
}

// The --checkpoint file's note, or why it is none.
Result<std::string> ReadCheckpointArg(const std::string& path) {
  auto note = ReadTextFile(path);
  if (!note.ok()) return Status::InvalidArgument("--checkpoint: " + note.status().message());
  if (auto parsed = ParseCheckpointNote(*note); !parsed.ok()) {
    return Status::InvalidArgument("--checkpoint " + path + " is not a signed checkpoint note: " +
                                   parsed.status().message());
  }
  return note;
}

// The store's part reader behind the archive verifier's PartAccess.
archive::PartAccess* ArchivedPartReader() {
  static archive::StorePartAccess parts(DefaultFileSystem());
  return &parts;
}

void PrintArchiveText(const archive::ArchiveVerifyReport& r) {
  if (r.checkpoints_ok) {
    std::cout << "checkpoints ok: " << r.checkpoints << " signed checkpoints in " << r.slices
              << " slices, contiguous from the first; newest tree size " << r.newest_size << ", root "
              << r.newest_root_hex << "\n";
  } else {
    std::cout << "checkpoints FAILED: " << r.problem << "\n";
    if (!r.file.empty()) std::cout << "  file: " << r.file << " offset " << r.offset << "\n";
  }
  if (!r.key_source.empty()) std::cout << "  key: " << r.key_source << "\n";
  if (!r.checkpoints_ok) return;
  if (!r.parts_checked) {
    std::cout << "parts NOT CHECKED: " << r.problem << "\n";
  } else if (r.parts_ok) {
    std::cout << "parts ok: " << r.parts << " parts hold records " << r.first_seq << ".." << r.records << " (exclusive); "
              << r.checkpoints_matched << " signed roots recomputed";
    if (r.checkpoints_beyond > 0) std::cout << "; " << r.checkpoints_beyond << " checkpoints cover records not archived yet";
    if (r.checkpoints_before > 0) std::cout << "; " << r.checkpoints_before << " checkpoints over pruned older parts not checked";
    if (r.given_checked) std::cout << "; the saved checkpoint (tree size " << r.given_size << ") reproduced";
    if (r.records_uncovered > 0) {
      std::cout << "; the last " << r.records_uncovered
                << " records are signed only by checkpoints beyond the archived parts (proven once the next part is archived)";
    }
    std::cout << "\n";
  } else {
    std::cout << "parts FAILED: " << r.problem << "\n";
    if (r.first_bad_seq) std::cout << "  first bad seq: " << *r.first_bad_seq << "\n";
    if (!r.file.empty()) std::cout << "  file: " << r.file << "\n";
  }
}

void PrintArchiveJson(const archive::ArchiveVerifyReport& r) {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject();
  w.FieldBool("ok", r.ok);
  w.Field("key", r.key_source);
  w.Key("checkpoints");
  w.BeginObject();
  w.FieldBool("ok", r.checkpoints_ok);
  w.FieldUint("slices", r.slices);
  w.FieldUint("verified", r.checkpoints);
  w.FieldUint("newest_tree_size", r.newest_size);
  w.Field("newest_root", r.newest_root_hex);
  w.EndObject();
  w.Key("parts");
  w.BeginObject();
  w.FieldUint("count", r.parts);
  w.FieldBool("checked", r.parts_checked);
  w.FieldBool("ok", r.parts_checked && r.parts_ok);
  w.FieldUint("first_seq", r.first_seq);
  w.FieldUint("records", r.records);
  w.FieldUint("checkpoints_matched", r.checkpoints_matched);
  w.FieldUint("checkpoints_beyond", r.checkpoints_beyond);
  w.FieldUint("checkpoints_before", r.checkpoints_before);
  w.FieldUint("records_uncovered", r.records_uncovered);
  w.EndObject();
  if (r.given_size > 0 || r.given_checked) {
    w.Key("saved_checkpoint");
    w.BeginObject();
    w.FieldUint("tree_size", r.given_size);
    w.FieldBool("reproduced", r.given_checked);
    w.EndObject();
  }
  if (!r.problem.empty()) {
    w.Field("problem", r.problem);
    w.Field("file", r.file);
    w.FieldUint("offset", r.offset);
    if (r.first_bad_seq) w.FieldUint("first_bad_seq", *r.first_bad_seq);
  }
  w.EndObject();
  std::cout << out << "\n";
}

// --key and --checkpoint into `options` (both kinds of verify take them alike); 2 on a bad
// one (its message is on stderr), else 0.
template <typename Options>
int LoadKeyAndCheckpoint(const VerifyFlags& f, Options* options) {
  if (!f.key.empty()) {
    auto key = LoadVerifierKeyArg(f.key);
    if (!key.ok()) return UsageError(f, key.status().message());
    options->key = *key;
  }
  if (!f.checkpoint.empty()) {
    auto note = ReadCheckpointArg(f.checkpoint);
    if (!note.ok()) return UsageError(f, note.status().message());
    options->checkpoint_note = std::move(note).value();
    options->checkpoint_source = f.checkpoint;
  }
  return 0;
}

// 1, after saying that `dir` is no directory; --json promises JSON on stdout for this failure
// too (a script parses it).
template <typename Report, typename PrintJsonFn>
int NoDirectory(const VerifyFlags& f, const std::string& kind, const std::string& dir, PrintJsonFn print_json) {
  const std::string problem = "no " + kind + " directory at " + dir;
  if (f.json) {
    Report r;
    r.problem = problem;
    r.file = dir;
    print_json(r);
  } else {
    std::cout << "FAILED: " << problem << "\n";
  }
  return 1;
}

int RunArchive(const VerifyFlags& f) {
  archive::ArchiveVerifyOptions options;
  if (int rc = LoadKeyAndCheckpoint(f, &options); rc != 0) return rc;
  std::error_code ec;
  if (!std::filesystem::is_directory(f.archive, ec)) {
    return NoDirectory<archive::ArchiveVerifyReport>(f, "archive", f.archive, PrintArchiveJson);
  }
  options.parts = ArchivedPartReader();
  archive::ArchiveVerifyReport r = archive::VerifyArchiveDir(f.archive, options, DefaultFileSystem());
  if (f.json) {
    PrintArchiveJson(r);
  } else {
    PrintArchiveText(r);
  }
  return r.ok ? 0 : 1;
}

void PrintText(const VerifyReport& r) {
  if (r.ok) {
    std::cout << "integrity ok: " << r.records << " records intact, root " << r.root_hex << ", "
              << r.tree_heads << " tree heads, " << r.checkpoints << " signed checkpoints";
    if (r.parts > 0) std::cout << ", " << r.parts << " sealed parts";
    if (r.first_seq > 0) std::cout << " (records before seq " << r.first_seq << " no longer stored)";
    std::cout << "\n";
  } else {
    std::cout << "integrity FAILED: " << r.problem << "\n";
    if (r.first_bad_seq) std::cout << "  first bad seq: " << *r.first_bad_seq << "\n";
    if (!r.file.empty()) std::cout << "  file: " << r.file << " offset " << r.offset << "\n";
    std::cout << "  intact records before it: " << r.records << "\n";
  }
  if (!r.key_source.empty()) std::cout << "  key: " << r.key_source << "\n";
  if (r.torn_tail_bytes > 0) {
    std::cout << "  torn tail: " << r.torn_tail_bytes
              << " unacknowledged bytes at the end (cut by the next start; not a failure)\n";
  }
  const auto& c = r.completeness;
  if (!c.checked) {
    std::cout << "completeness not checked: integrity failed first\n";
  } else if (c.pending) {
    std::cout << "completeness pending: no signed checkpoint yet; the log began less than "
              << kFreshLogNs / 1'000'000'000 << " s ago and a running node signs its records within a second"
              << " — run verify again shortly\n";
  } else if (c.ok) {
    std::cout << "completeness ok: the log extends all " << c.checkpoints << " known checkpoints";
    if (c.records_after_newest > 0) {
      std::cout << "; " << c.records_after_newest << " records after the newest one (signed within a second while the node runs)";
    }
    if (!c.have_given && r.records > r.first_seq) std::cout << " — pass --checkpoint with one saved elsewhere to rule out a cut checkpoints.log";
    std::cout << "\n";
  } else {
    std::cout << "completeness FAILED: " << c.problem << "\n";
    if (c.first_bad_seq) std::cout << "  first bad seq: " << *c.first_bad_seq << "\n";
    if (!c.source.empty()) std::cout << "  checkpoint: " << c.source << "\n";
    if (!c.file.empty()) std::cout << "  file: " << c.file << " offset " << c.offset << "\n";
  }
  if (c.have_given && c.given_ok && c.checked) {
    std::cout << "  saved checkpoint: tree size " << c.given_size << ", root " << c.given_root_hex;
    if (c.proof_built) {
      std::cout << "; consistency proof to the checkpoint of tree size " << c.proof_to_size << " ("
                << c.proof.size() << " hashes) verified";
    }
    std::cout << "\n";
  }
}

void PrintJson(const VerifyReport& r) {
  std::string out;
  JsonWriter w(&out);
  const auto& c = r.completeness;
  w.BeginObject();
  w.FieldBool("ok", r.ok && c.checked && c.ok);
  w.Key("integrity");
  w.BeginObject();
  w.FieldBool("ok", r.ok);
  w.FieldUint("records", r.records);
  w.FieldUint("parts", r.parts);
  w.Field("root", r.root_hex);
  w.FieldUint("tree_heads", r.tree_heads);
  w.FieldUint("checkpoints", r.checkpoints);
  w.FieldUint("torn_tail_bytes", r.torn_tail_bytes);
  w.Field("key", r.key_source);
  if (!r.ok) {
    w.Field("problem", r.problem);
    w.Field("file", r.file);
    w.FieldUint("offset", r.offset);
    if (r.first_bad_seq) w.FieldUint("first_bad_seq", *r.first_bad_seq);
  }
  w.EndObject();
  w.Key("completeness");
  w.BeginObject();
  w.FieldBool("checked", c.checked);
  w.FieldBool("ok", c.checked && c.ok);
  w.FieldUint("checkpoints", c.checkpoints);
  w.FieldUint("records_after_newest", c.records_after_newest);
  w.FieldBool("pending", c.pending);
  if (!c.ok) {
    w.Field("problem", c.problem);
    w.Field("checkpoint", c.source);
    w.Field("file", c.file);
    w.FieldUint("offset", c.offset);
    if (c.first_bad_seq) w.FieldUint("first_bad_seq", *c.first_bad_seq);
  }
  if (c.have_given) {
    w.Key("saved_checkpoint");
    w.BeginObject();
    w.FieldBool("signature_ok", c.given_ok);
    w.FieldUint("tree_size", c.given_size);
    w.Field("root", c.given_root_hex);
    if (c.proof_built) {
      w.Key("consistency_proof");
      w.BeginObject();
      w.FieldUint("from_size", c.given_size);
      w.FieldUint("to_size", c.proof_to_size);
      w.Field("from_root", c.given_root_hex);
      w.Field("to_root", c.proof_to_root_hex);
      w.Key("hashes");
      w.BeginArray();
      for (const auto& h : c.proof) w.String(h);
      w.EndArray();
      w.EndObject();
    }
    w.EndObject();
  }
  w.EndObject();
  w.EndObject();
  std::cout << out << "\n";
}

int Run(const VerifyFlags& f) {
  if (!f.archive.empty()) return RunArchive(f);
  VerifyOptions options;
  if (int rc = LoadKeyAndCheckpoint(f, &options); rc != 0) return rc;
  std::error_code ec;
  if (!std::filesystem::is_directory(f.data, ec)) return NoDirectory<VerifyReport>(f, "data", f.data, PrintJson);
  VerifyReport r = VerifyDataDir(f.data, options, DefaultFileSystem());
  if (f.json) {
    PrintJson(r);
  } else {
    PrintText(r);
  }
  return r.ok && r.completeness.checked && r.completeness.ok ? 0 : 1;
}

}  // namespace

void AddVerifyCommand(CLI::App& app, int* exit_code) {
  auto* cmd =
      app.add_subcommand("verify",
                         "Check integrity (every record, frame, hash, tree head and checkpoint "
                         "signature) and completeness "
                         "(the log extends every known checkpoint). Exit 0 ok, 1 failed, 2 usage");
  auto* f = new VerifyFlags;
  cmd->add_option("--data", f->data, "Data directory")->capture_default_str()->check(NotEmpty());
  cmd->add_option(
      "--checkpoint", f->checkpoint,
      "A checkpoint note saved elsewhere earlier (a witness file): prove the log (or, with "
      "--archive, the archive) still extends it")
      ->check(NotEmpty());
  cmd->add_option("--key", f->key,
                  "Trusted verifier key (name+hash+key) or a file holding it; default: derived "
                  "from the data dir's node.key")
      ->check(NotEmpty());
  cmd->add_option("--archive", f->archive,
                  "Verify an archive directory (what audit.archive.command copied: parts, "
                  "checkpoint slices) offline instead of a data dir")
      ->check(NotEmpty());
  cmd->add_flag("--json", f->json, "Print the result as JSON");
  cmd->callback([f, exit_code] { *exit_code = Run(*f); });
}

}  // namespace apitrail
