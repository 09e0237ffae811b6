// `apitrail key show --data DIR`: prints the node's checkpoint verifier key in signed-note
// form ("name+hash+base64 key"), derived from <data>/node.key. Read-only: never creates a
// key (the store does that on first open) and is safe while the server runs.
#include <iostream>

#include "cli/commands.h"
#include "cli/text_flag.h"
#include "store/checkpoint.h"
#include "store/checkpoint_log.h"
#include "store/fs/file_system.h"
#include "store/log/log_format.h"
#include "store/log/record_reader.h"
#include "store/node_key.h"
#include "store/tree_head_log.h"

namespace apitrail {

namespace {

// The key name is the checkpoint origin: that of the newest checkpoint, else
// "apitrail/<node>" from the node named in checkpoints.log or tree_heads.log.
Result<std::string> KeyName(const std::string& data, const std::string& node_flag) {
  if (!node_flag.empty()) return CheckpointOrigin(node_flag);
  FileSystem* fs = DefaultFileSystem();
  APITRAIL_ASSIGN_OR_RETURN(CheckpointFile file, ReadCheckpoints(fs, CheckpointsPath(data)));
  if (!file.checkpoints.empty()) return file.checkpoints.back().checkpoint.origin;
  if (!file.node.empty()) return CheckpointOrigin(file.node);
  const std::string heads = TreeHeadsPath(data);
  if (fs->Exists(heads)) {
    auto reader = log::RecordReader::Open(fs, heads, log::kTreeHeadMagic);
    if (reader.ok()) return CheckpointOrigin((*reader)->header().node);
  }
  return Status::NotFound("cannot tell the node name of " + data + "; pass --node");
}

}  // namespace

void AddKeyCommand(CLI::App& app, int* exit_code) {
  struct Flags {
    std::string data = "./apitrail-data";
    std::string node;
  };
  auto* f = new Flags;
  auto* cmd = app.add_subcommand("key", "The node's checkpoint signing key");
  cmd->require_subcommand(1);
  auto* show = cmd->add_subcommand("show", "Print the verifier key (name+hash+key) for checkpoints and proofs");
  show->add_option("--data", f->data, "Data directory")->capture_default_str()->check(NotEmpty());
  show->add_option("--node", f->node, "Node name, when the data dir cannot tell it");
  show->callback([f, exit_code] {
    auto key = NodeKey::Load(f->data + "/" + std::string(kNodeKeyFile));
    if (!key.ok()) {
      std::cerr << "apitrail key show: " << key.status().message()
                << (key.status().code() == StatusCode::kNotFound ? " (it is created when the server first opens the data dir)" : "")
                << "\n";
      *exit_code = 1;
      return;
    }
    auto name = KeyName(f->data, f->node);
    if (!name.ok()) {
      std::cerr << "apitrail key show: " << name.status().message() << "\n";
      *exit_code = 1;
      return;
    }
    if (Status st = ValidateKeyName(*name); !st.ok()) {
      std::cerr << "apitrail key show: " << st.message() << "\n";
      *exit_code = 2;
      return;
    }
    std::cout << VerifierKeyText(*name, (*key)->public_key()) << "\n";
    *exit_code = 0;
  });
}

}  // namespace apitrail
