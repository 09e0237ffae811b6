#include "cli/key_arg.h"

#include <filesystem>
#include <fstream>

namespace apitrail {

Result<std::string> ReadTextFile(const std::string& path) {
  // A directory opens and reads as empty: `proof check --proof DIR` then judged the proof
  // "invalid" (exit 1) instead of naming the wrong argument (exit 2).
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return Status::NotFound("cannot read " + path + ": is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("cannot read " + path);
  // Keys, notes and proofs are a few KiB; `--checkpoint /dev/zero` (or a log given by
  // mistake) was read into memory without end.
  constexpr size_t kMaxBytes = 1 << 20;
  std::string text(kMaxBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) return Status::NotFound("cannot read " + path);
  if (static_cast<size_t>(in.gcount()) > kMaxBytes) {
    return Status::InvalidArgument(path + " is larger than " + std::to_string(kMaxBytes) + " bytes");
  }
  text.resize(static_cast<size_t>(in.gcount()));
  return text;
}

Status RequireDataDir(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_directory(path, ec)) return Status::NotFound("no data directory at " + path);
  return Status::Ok();
}

Result<VerifierKey> LoadVerifierKeyArg(const std::string& arg) {
  auto inline_key = ParseVerifierKey(arg);
  if (inline_key.ok()) return inline_key;
  // Any file, not only a regular one: `--key <(curl …/verifier-key)` and /dev/stdin are pipes.
  std::error_code ec;
  if (!std::filesystem::exists(arg, ec)) {
    return Status::InvalidArgument("--key: " + inline_key.status().message());
  }
  auto text = ReadTextFile(arg);
  if (!text.ok()) return Status::InvalidArgument("--key: " + text.status().message());
  std::string line = text->substr(0, text->find('\n'));
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  auto key = ParseVerifierKey(line);
  if (!key.ok()) return Status::InvalidArgument("--key " + arg + ": " + key.status().message());
  return key;
}

}  // namespace apitrail
