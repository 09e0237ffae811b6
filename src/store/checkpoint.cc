#include "store/checkpoint.h"

#include <vector>

namespace apitrail {

namespace {

constexpr unsigned char kAlgEd25519 = 0x01;
constexpr std::string_view kSigPrefix = "\xE2\x80\x94 ";  // U+2014 EM DASH, space
constexpr size_t kMaxSignatures = 100;

Status Malformed(const std::string& why) {
  return Status::InvalidArgument("malformed checkpoint: " + why);
}

// Splits "a\nb\n" into {"a", "b"}; requires the trailing newline.
std::vector<std::string_view> Lines(std::string_view text) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    out.push_back(text.substr(pos, nl - pos));
    pos = nl + 1;
  }
  return out;
}

Result<uint64_t> ParseDecimal(std::string_view s) {
  if (s.empty() || s.size() > 20 || (s.size() > 1 && s[0] == '0')) return Malformed("bad tree size");
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return Malformed("bad tree size");
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return Malformed("tree size overflows");
    v = v * 10 + d;
  }
  return v;
}

struct Signature {
  std::string name;
  uint32_t key_hash;
  std::string sig;
};

struct Note {
  std::string_view body;
  std::vector<Signature> signatures;
};

Result<Note> SplitNote(std::string_view note) {
  for (unsigned char c : note) {
    if ((c < 0x20 && c != '\n') || c == 0x7f) return Malformed("control character in note");
  }
  const size_t sep = note.rfind("\n\n");
  if (sep == std::string_view::npos) return Malformed("no empty line before the signatures");
  Note out;
  out.body = note.substr(0, sep + 1);
  std::string_view sigs = note.substr(sep + 2);
  if (sigs.empty() || sigs.back() != '\n') return Malformed("signature block must end with a newline");
  for (std::string_view line : Lines(sigs)) {
    if (line.substr(0, kSigPrefix.size()) != kSigPrefix) {
      return Malformed("signature line does not start with an em dash");
    }
    line.remove_prefix(kSigPrefix.size());
    const size_t space = line.find(' ');
    if (space == std::string_view::npos) return Malformed("signature line has no key name");
    Signature s;
    s.name = std::string(line.substr(0, space));
    if (!ValidateKeyName(s.name).ok()) return Malformed("bad key name in signature line");
    auto blob = Base64Decode(line.substr(space + 1));
    if (!blob.ok() || blob->size() < 5 || Base64Encode(*blob) != line.substr(space + 1)) {
      return Malformed("bad signature encoding");
    }
    const auto* b = reinterpret_cast<const unsigned char*>(blob->data());
    s.key_hash = (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
    s.sig = blob->substr(4);
    out.signatures.push_back(std::move(s));
    if (out.signatures.size() > kMaxSignatures) return Malformed("too many signatures");
  }
  return out;
}

Result<Checkpoint> ParseBody(std::string_view body) {
  std::vector<std::string_view> lines = Lines(body);
  if (lines.size() < 3) return Malformed("fewer than three lines");
  for (std::string_view l : lines) {
    if (l.empty()) return Malformed("empty line in body");
  }
  Checkpoint c;
  c.origin = std::string(lines[0]);
  APITRAIL_ASSIGN_OR_RETURN(c.size, ParseDecimal(lines[1]));
  auto root = Base64Decode(lines[2]);
  if (!root.ok() || root->size() != 32 || Base64Encode(*root) != lines[2]) {
    return Malformed("root hash is not base64 of 32 bytes");
  }
  std::copy(root->begin(), root->end(), c.root.begin());
  // Lines after the root are extension lines (c2sp tlog-checkpoint); apitrail writes none
  // and ignores them.
  return c;
}

}  // namespace

std::string CheckpointOrigin(std::string_view node) { return "apitrail/" + std::string(node); }

Status ValidateKeyName(std::string_view name) {
  if (name.empty()) return Status::InvalidArgument("key name is empty");
  for (unsigned char c : name) {
    if (c <= 0x20 || c == 0x7f || c == '+') {
      return Status::InvalidArgument("key name \"" + std::string(name) +
                                     "\" contains a space, a control character or '+'");
    }
  }
  return Status::Ok();
}

uint32_t Ed25519KeyHash(std::string_view name, std::string_view public_key) {
  std::string input(name);
  input.push_back('\n');
  input.push_back(static_cast<char>(kAlgEd25519));
  input.append(public_key);
  const Hash256 h = Sha256(input);
  return (uint32_t{h[0]} << 24) | (uint32_t{h[1]} << 16) | (uint32_t{h[2]} << 8) | h[3];
}

std::string VerifierKeyText(std::string_view name, std::string_view public_key) {
  const uint32_t hash = Ed25519KeyHash(name, public_key);
  const unsigned char be[4] = {static_cast<unsigned char>(hash >> 24),
                               static_cast<unsigned char>(hash >> 16),
                               static_cast<unsigned char>(hash >> 8),
                               static_cast<unsigned char>(hash)};
  return std::string(name) + "+" + HexEncode(be, 4) + "+" +
         Base64Encode(std::string(1, static_cast<char>(kAlgEd25519)) + std::string(public_key));
}

Result<VerifierKey> ParseVerifierKey(std::string_view text) {
  const size_t p1 = text.find('+');
  const size_t p2 = p1 == std::string_view::npos ? p1 : text.find('+', p1 + 1);
  if (p2 == std::string_view::npos) {
    return Status::InvalidArgument("verifier key must look like name+hash+key");
  }
  VerifierKey k;
  k.name = std::string(text.substr(0, p1));
  APITRAIL_RETURN_IF_ERROR(ValidateKeyName(k.name));
  const std::string_view hash_hex = text.substr(p1 + 1, p2 - p1 - 1);
  auto hash = HexDecode(hash_hex);
  if (hash_hex.size() != 8 || !hash.ok()) {
    return Status::InvalidArgument("verifier key hash must be 8 hex digits");
  }
  auto key = Base64Decode(text.substr(p2 + 1));
  if (!key.ok() || key->empty()) return Status::InvalidArgument("verifier key is not base64");
  if (static_cast<unsigned char>((*key)[0]) != kAlgEd25519 || key->size() != 33) {
    return Status::InvalidArgument("verifier key is not an Ed25519 key (algorithm 0x01, 32 bytes)");
  }
  k.public_key = key->substr(1);
  const auto* b = reinterpret_cast<const unsigned char*>(hash->data());
  k.key_hash = (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
  if (k.key_hash != Ed25519KeyHash(k.name, k.public_key)) {
    return Status::InvalidArgument("verifier key hash does not match its name and key");
  }
  return k;
}

std::string CheckpointBody(const Checkpoint& c) {
  return c.origin + "\n" + std::to_string(c.size) + "\n" +
         Base64Encode(std::string_view(reinterpret_cast<const char*>(c.root.data()), 32)) + "\n";
}

Result<std::string> SignCheckpoint(const Checkpoint& c, const NodeKey& key) {
  APITRAIL_RETURN_IF_ERROR(ValidateKeyName(c.origin));
  const std::string body = CheckpointBody(c);
  APITRAIL_ASSIGN_OR_RETURN(std::string sig, key.Sign(body));
  const uint32_t hash = Ed25519KeyHash(c.origin, key.public_key());
  std::string blob = {static_cast<char>(hash >> 24), static_cast<char>(hash >> 16),
                      static_cast<char>(hash >> 8), static_cast<char>(hash)};
  blob += sig;
  return body + "\n" + std::string(kSigPrefix) + c.origin + " " + Base64Encode(blob) + "\n";
}

Result<Checkpoint> ParseCheckpointNote(std::string_view note) {
  APITRAIL_ASSIGN_OR_RETURN(Note parts, SplitNote(note));
  return ParseBody(parts.body);
}

Result<Checkpoint> VerifyCheckpointNote(std::string_view note, const VerifierKey& key) {
  APITRAIL_ASSIGN_OR_RETURN(Note parts, SplitNote(note));
  APITRAIL_ASSIGN_OR_RETURN(Checkpoint c, ParseBody(parts.body));
  bool found = false;
  for (const Signature& s : parts.signatures) {
    if (s.name != key.name || s.key_hash != key.key_hash) continue;  // someone else's
    found = true;
    if (!VerifyEd25519(key.public_key, parts.body, s.sig)) {
      return Status::PermissionDenied("checkpoint signature by " + key.name + " does not verify");
    }
  }
  if (!found) return Status::PermissionDenied("checkpoint has no signature by " + key.name);
  if (c.origin != key.name) {
    return Status::PermissionDenied("checkpoint origin \"" + c.origin + "\" is not the key name " +
                                    key.name);
  }
  return c;
}

}  // namespace apitrail
