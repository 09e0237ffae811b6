// `apitrail verify --data DIR [--checkpoint FILE] [--key KEY] [--json]`: integrity and
// completeness of a data dir as two results (store/verify.h). Read-only; safe while the
// server runs. Exit codes: 0 both hold; 1 either failed (or there is no data dir);
// 2 usage: an unreadable or malformed --checkpoint file or --key.
#include <filesystem>
#include <iostream>

#include "cli/commands.h"
#include "cli/key_arg.h"
#include "core/json_writer.h"
#include "store/fs/file_system.h"
#include "store/verify.h"

namespace apitrail {

namespace {

struct VerifyFlags {
  std::string data = "./apitrail-data";
  std::string checkpoint;
  std::string key;
  bool json = false;
};

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
  } else if (c.ok) {
    std::cout << "completeness ok: the log extends all " << c.checkpoints << " known checkpoints\n";
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
  VerifyOptions options;
  if (!f.key.empty()) {
    auto key = LoadVerifierKeyArg(f.key);
    if (!key.ok()) {
      std::cerr << "apitrail verify: " << key.status().message() << "\n";
      return 2;
    }
    options.key = *key;
  }
  if (!f.checkpoint.empty()) {
    auto note = ReadTextFile(f.checkpoint);
    if (!note.ok()) {
      std::cerr << "apitrail verify: --checkpoint: " << note.status().message() << "\n";
      return 2;
    }
    if (auto parsed = ParseCheckpointNote(*note); !parsed.ok()) {
      std::cerr << "apitrail verify: --checkpoint " << f.checkpoint
                << " is not a signed checkpoint note: " << parsed.status().message() << "\n";
      return 2;
    }
    options.checkpoint_note = std::move(note).value();
    options.checkpoint_source = f.checkpoint;
  }
  std::error_code ec;
  if (!std::filesystem::is_directory(f.data, ec)) {
    std::cout << "FAILED: no data directory at " << f.data << "\n";
    return 1;
  }
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
  cmd->add_option("--data", f->data, "Data directory")->capture_default_str();
  cmd->add_option(
      "--checkpoint", f->checkpoint,
      "A checkpoint note saved elsewhere earlier (a witness file): prove the log still extends it");
  cmd->add_option("--key", f->key,
                  "Trusted verifier key (name+hash+key) or a file holding it; default: derived "
                  "from the data dir's node.key");
  cmd->add_flag("--json", f->json, "Print the result as JSON");
  cmd->callback([f, exit_code] { *exit_code = Run(*f); });
}

}  // namespace apitrail
