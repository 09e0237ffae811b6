// `apitrail prove inclusion|consistency` emits RFC 9162 proofs from a data dir against the
// node's signed checkpoints; `apitrail proof check` verifies such a proof and its checkpoint
// signature offline, with only the verifier key. Proof JSON (hashes in lowercase hex):
//   inclusion:   {leaf_index, tree_size, leaf_hash, hashes[], checkpoint}
//   consistency: {from_size, to_size, from_root, to_root, hashes[], checkpoint}
// `checkpoint` is the signed note text of the tree the proof is against. Reading the data
// dir is read-only, so it is safe while the server runs.
#include <boost/json.hpp>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>

#include "cli/commands.h"
#include "cli/key_arg.h"
#include "cli/number_flag.h"
#include "cli/text_flag.h"
#include "core/json_writer.h"
#include "store/checkpoint.h"
#include "store/checkpoint_log.h"
#include "store/fs/file_system.h"
#include "store/leaf_hashes.h"
#include "store/proof_json.h"
#include "store/merkle/proofs.h"

namespace apitrail {

namespace {

struct ProveFlags {
  std::string data = "./apitrail-data";
  uint64_t seq = 0;
  std::optional<uint64_t> size;
  uint64_t from = 0;
  std::optional<uint64_t> to;
  std::string proof_file;
  std::string key;
};

int Fail(const char* cmd, const Status& st) {
  std::cerr << "apitrail " << cmd << ": " << st.message() << "\n";
  return st.code() == StatusCode::kInvalidArgument ? 2 : 1;
}

int ProveInclusion(const ProveFlags& f) {
  if (f.size && f.seq >= *f.size) {
    return Fail("prove inclusion", Status::InvalidArgument("--seq must be below --size"));
  }
  if (Status st = RequireDataDir(f.data); !st.ok()) return Fail("prove inclusion", st);
  auto json = InclusionProofJson(DefaultFileSystem(), f.data, f.seq, f.size);
  if (!json.ok()) return Fail("prove inclusion", json.status());
  std::cout << *json << "\n";
  return 0;
}

int ProveConsistency(const ProveFlags& f) {
  if (f.to && f.from > *f.to) {
    return Fail("prove consistency", Status::InvalidArgument("--from must not exceed --to"));
  }
  if (Status st = RequireDataDir(f.data); !st.ok()) return Fail("prove consistency", st);
  auto json = ConsistencyProofJson(DefaultFileSystem(), f.data, f.from, f.to);
  if (!json.ok()) return Fail("prove consistency", json.status());
  std::cout << *json << "\n";
  return 0;
}

// --- proof check ----------------------------------------------------------------------

Result<std::string> ReadText(const std::string& path) { return ReadTextFile(path); }
Result<VerifierKey> LoadKey(const std::string& arg) { return LoadVerifierKeyArg(arg); }

Result<uint64_t> GetUint(const boost::json::object& o, const char* name) {
  const auto* v = o.if_contains(name);
  if (v == nullptr) return Status::InvalidArgument(std::string("missing \"") + name + "\"");
  if (v->is_uint64()) return v->as_uint64();
  if (v->is_int64() && v->as_int64() >= 0) return static_cast<uint64_t>(v->as_int64());
  return Status::InvalidArgument(std::string("\"") + name + "\" is not a non-negative integer");
}

Result<Hash256> GetHash(const boost::json::value* v, const std::string& name) {
  if (v == nullptr || !v->is_string()) return Status::InvalidArgument("\"" + name + "\" is not a hex string");
  const auto& s = v->as_string();
  auto h = HexToHash(std::string_view(s.data(), s.size()));
  if (!h.ok() || s.size() != 64) return Status::InvalidArgument("\"" + name + "\" is not 32 bytes of hex");
  return h;
}

Result<std::vector<Hash256>> GetHashes(const boost::json::object& o) {
  const auto* v = o.if_contains("hashes");
  if (v == nullptr || !v->is_array()) return Status::InvalidArgument("\"hashes\" is not an array");
  std::vector<Hash256> out;
  for (size_t i = 0; i < v->as_array().size(); ++i) {
    APITRAIL_ASSIGN_OR_RETURN(Hash256 h, GetHash(&v->as_array()[i], "hashes[" + std::to_string(i) + "]"));
    out.push_back(h);
  }
  return out;
}

// The success message, or why the proof is invalid.
Result<std::string> CheckProof(const std::string& text, const VerifierKey& key) {
  boost::system::error_code ec;
  boost::json::value doc = boost::json::parse(text, ec);
  if (ec || !doc.is_object()) return Status::InvalidArgument("proof is not a JSON object");
  const auto& o = doc.as_object();
  const auto* note = o.if_contains("checkpoint");
  if (note == nullptr || !note->is_string()) return Status::InvalidArgument("missing \"checkpoint\" note");
  const std::string note_text(note->as_string().data(), note->as_string().size());
  APITRAIL_ASSIGN_OR_RETURN(Checkpoint cp, VerifyCheckpointNote(note_text, key));
  APITRAIL_ASSIGN_OR_RETURN(std::vector<Hash256> hashes, GetHashes(o));
  const std::string against = "checkpoint " + cp.origin + " size " + std::to_string(cp.size) +
                              " root " + HexEncode(cp.root) + " (signature verified)";
  if (o.contains("leaf_index")) {
    APITRAIL_ASSIGN_OR_RETURN(uint64_t index, GetUint(o, "leaf_index"));
    APITRAIL_ASSIGN_OR_RETURN(uint64_t size, GetUint(o, "tree_size"));
    APITRAIL_ASSIGN_OR_RETURN(Hash256 leaf, GetHash(o.if_contains("leaf_hash"), "leaf_hash"));
    if (size != cp.size) {
      return Status::InvalidArgument("tree_size " + std::to_string(size) + " is not the checkpoint's " +
                                     std::to_string(cp.size));
    }
    APITRAIL_RETURN_IF_ERROR(merkle::VerifyInclusion(leaf, index, size, hashes, cp.root));
    return "inclusion of leaf " + std::to_string(index) + " (" + HexEncode(leaf) + ") in " + against;
  }
  if (o.contains("from_size")) {
    APITRAIL_ASSIGN_OR_RETURN(uint64_t from, GetUint(o, "from_size"));
    APITRAIL_ASSIGN_OR_RETURN(uint64_t to, GetUint(o, "to_size"));
    APITRAIL_ASSIGN_OR_RETURN(Hash256 from_root, GetHash(o.if_contains("from_root"), "from_root"));
    if (to != cp.size) {
      return Status::InvalidArgument("to_size " + std::to_string(to) + " is not the checkpoint's " +
                                     std::to_string(cp.size));
    }
    if (o.contains("to_root")) {
      APITRAIL_ASSIGN_OR_RETURN(Hash256 to_root, GetHash(o.if_contains("to_root"), "to_root"));
      if (to_root != cp.root) return Status::InvalidArgument("to_root is not the checkpoint's root");
    }
    APITRAIL_RETURN_IF_ERROR(merkle::VerifyConsistency(from, to, from_root, cp.root, hashes));
    return "consistency of tree size " + std::to_string(from) + " (root " + HexEncode(from_root) +
           ") with " + against;
  }
  return Status::InvalidArgument("neither an inclusion (leaf_index) nor a consistency (from_size) proof");
}

}  // namespace

void AddProofCommands(CLI::App& app, int* exit_code) {
  auto* f = new ProveFlags;
  auto* prove = app.add_subcommand("prove", "Emit RFC 9162 inclusion and consistency proofs against signed checkpoints");
  prove->require_subcommand(1);

  auto* inclusion = prove->add_subcommand("inclusion", "Prove that record --seq is in the log");
  inclusion->add_option("--data", f->data, "Data directory")->capture_default_str()->check(NotEmpty());
  inclusion->add_option("--seq", f->seq, "Record seq (leaf index)")->required()->transform(DecimalNumber());
  inclusion->add_option("--size", f->size, "Prove against the checkpoint of exactly this tree size (default: the newest)")
      ->transform(DecimalNumber());
  inclusion->callback([f, exit_code] { *exit_code = ProveInclusion(*f); });

  auto* consistency = prove->add_subcommand("consistency", "Prove that the tree of --from records is a prefix of a later checkpoint");
  consistency->add_option("--data", f->data, "Data directory")->capture_default_str()->check(NotEmpty());
  consistency->add_option("--from", f->from, "Older tree size")->required()->transform(DecimalNumber());
  consistency->add_option("--to", f->to, "Prove against the checkpoint of exactly this tree size (default: the newest)")
      ->transform(DecimalNumber());
  consistency->callback([f, exit_code] { *exit_code = ProveConsistency(*f); });

  auto* proof = app.add_subcommand("proof", "Work with saved proofs");
  proof->require_subcommand(1);
  auto* check = proof->add_subcommand("check", "Verify a saved proof and its checkpoint signature offline (no data dir)");
  check->add_option("--proof", f->proof_file, "Proof JSON file (- for stdin)")->required();
  check->add_option("--key", f->key, "Verifier key (name+hash+key), or a file holding it")->required();
  check->callback([f, exit_code] {
    auto key = LoadKey(f->key);
    if (!key.ok()) {
      std::cerr << "apitrail proof check: " << key.status().message() << "\n";
      *exit_code = 2;
      return;
    }
    // stdin too within the file's limit: `proof check --proof - < /dev/zero` ran without end.
    Result<std::string> text = ReadText(f->proof_file == "-" ? "/dev/stdin" : f->proof_file);
    if (!text.ok()) {
      std::cerr << "apitrail proof check: --proof: " << text.status().message() << "\n";
      *exit_code = 2;
      return;
    }
    auto result = CheckProof(*text, *key);
    if (!result.ok()) {
      std::cout << "invalid: " << result.status().message() << "\n";
      *exit_code = 1;
      return;
    }
    std::cout << "valid: " << *result << "\n";
    *exit_code = 0;
  });
}

}  // namespace apitrail
