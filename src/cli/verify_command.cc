#include <filesystem>
#include <iostream>

#include "cli/commands.h"
#include "store/verify.h"

namespace apitrail {

void AddVerifyCommand(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("verify", "Recompute every record, the Merkle tree and compare with the recorded tree heads");
  auto* dir = new std::string("./apitrail-data");
  cmd->add_option("--data", *dir, "Data directory")->capture_default_str();
  cmd->callback([dir, exit_code] {
    std::error_code ec;
    if (!std::filesystem::is_directory(*dir, ec)) {
      std::cout << "FAILED: no data directory at " << *dir << "\n";
      *exit_code = 1;
      return;
    }
    VerifyReport r = VerifyDataDir(*dir);
    if (r.ok) {
      std::cout << "ok: " << r.records << " records intact, root " << r.root_hex << "\n";
      *exit_code = 0;
      return;
    }
    std::cout << "FAILED: " << r.problem << "\n";
    if (r.first_bad_seq) std::cout << "  first bad seq: " << *r.first_bad_seq << "\n";
    if (!r.file.empty()) std::cout << "  file: " << r.file << " offset " << r.offset << "\n";
    std::cout << "  intact records before it: " << r.records << "\n";
    *exit_code = 1;
  });
}

}  // namespace apitrail
