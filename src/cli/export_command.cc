// `apitrail export --leaves --data DIR [--from N] [--to M] [--json]`: the Merkle leaf hash
// (SHA-256(0x00 ‖ record bytes), docs/FORMAT.md §6) of every record with N ≤ seq < M, one
// per line as "seq hex" (or NDJSON {"seq","leaf_hash"} with --json), so an auditor can
// compare a node's log with a copy, or feed another RFC 9162 tool. Read-only; safe while the
// server runs. Exit 0, 1 when the log is damaged before M, 2 on bad arguments.
#include <iostream>
#include <limits>
#include <optional>

#include "cli/commands.h"
#include "cli/key_arg.h"
#include "cli/number_flag.h"
#include "cli/text_flag.h"
#include "core/json_writer.h"
#include "store/fs/file_system.h"
#include "store/leaf_hashes.h"

namespace apitrail {

namespace {

// Whether the log holds at least `n` records. Reading from `n` finds nothing both when `n` is
// the log's end (an incremental export that is up to date) and when it lies beyond it.
Result<bool> LogHasRecords(const std::string& data, uint64_t n) {
  if (n == 0) return true;
  APITRAIL_ASSIGN_OR_RETURN(auto last, ReadLeafHashRange(DefaultFileSystem(), data, n - 1, n));
  return !last.empty();
}

}  // namespace

void AddExportCommand(CLI::App& app, int* exit_code) {
  struct Flags {
    std::string data = "./apitrail-data";
    bool leaves = false;
    uint64_t from = 0;
    std::optional<uint64_t> to;
    bool json = false;
  };
  auto* f = new Flags;
  auto* cmd = app.add_subcommand(
      "export", "Export from the log (for auditors): --leaves prints seq and leaf hash per record");
  cmd->add_option("--data", f->data, "Data directory")->capture_default_str()->check(NotEmpty());
  cmd->add_flag("--leaves", f->leaves, "Print `seq leaf_hash` (hex) per record");
  cmd->add_option("--from", f->from, "First seq (default 0)")->transform(DecimalNumber());
  cmd->add_option("--to", f->to, "End seq, exclusive (default: the end of the log)")->transform(DecimalNumber());
  cmd->add_flag("--json", f->json, "One JSON object per line: {\"seq\":N,\"leaf_hash\":\"hex\"}");
  cmd->callback([f, exit_code] {
    if (!f->leaves) {
      std::cerr << "apitrail export: only --leaves is implemented so far\n";
      *exit_code = 2;
      return;
    }
    const uint64_t to = f->to.value_or(std::numeric_limits<uint64_t>::max());
    if (f->from > to) {
      std::cerr << "apitrail export: --from must not exceed --to\n";
      *exit_code = 2;
      return;
    }
    if (Status st = RequireDataDir(f->data); !st.ok()) {
      std::cerr << "apitrail export: " << st.message() << "\n";
      *exit_code = 1;
      return;
    }
    auto leaves = ReadLeafHashRange(DefaultFileSystem(), f->data, f->from, to);
    if (!leaves.ok()) {
      std::cerr << "apitrail export: " << leaves.status().message() << "\n";
      *exit_code = 1;
      return;
    }
    if (leaves->empty()) {
      auto reaches = LogHasRecords(f->data, f->from);
      if (!reaches.ok()) {
        std::cerr << "apitrail export: " << reaches.status().message() << "\n";
        *exit_code = 1;
        return;
      }
      if (!*reaches) {
        std::cerr << "apitrail export: --from " << f->from << " is beyond the end of the log\n";
        *exit_code = 2;
        return;
      }
    }
    const uint64_t end = f->from + leaves->size();  // records in the log, when the range reaches its end
    if (f->to && end < *f->to) {
      std::cerr << "apitrail export: --to " << *f->to << " is beyond the log (" << end
                << " records)\n";
      *exit_code = 2;
      return;
    }
    std::string out;
    for (uint64_t seq = f->from; seq < end; ++seq) {
      if (f->json) {
        JsonWriter w(&out);
        w.BeginObject();
        w.FieldUint("seq", seq);
        w.Field("leaf_hash", HexEncode((*leaves)[seq - f->from]));
        w.EndObject();
      } else {
        out += std::to_string(seq);
        out += ' ';
        out += HexEncode((*leaves)[seq - f->from]);
      }
      out += '\n';
      if (out.size() > (1u << 16)) {
        std::cout << out;
        out.clear();
      }
    }
    std::cout << out << std::flush;
    *exit_code = 0;
  });
}

}  // namespace apitrail
