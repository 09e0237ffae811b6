// Checkpoints: signed tree heads in the C2SP signed-note checkpoint format
// (https://c2sp.org/tlog-checkpoint, https://c2sp.org/signed-note; docs/FORMAT.md §12).
//
//   apitrail/node-1                        origin = "apitrail/" + node name
//   1234                                   tree size, decimal
//   <base64 of the 32-byte root>
//                                          (empty line)
//   — apitrail/node-1 <base64(key hash ‖ Ed25519 signature)>
//
// key hash = first 4 bytes of SHA-256(key name ‖ "\n" ‖ 0x01 ‖ public key); the key name is
// the origin. The verifier key text is "name+hex(key hash)+base64(0x01 ‖ public key)".
// Stateless functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/crypto_util.h"
#include "core/status.h"
#include "store/node_key.h"

namespace apitrail {

struct Checkpoint {
  std::string origin;
  uint64_t size = 0;
  Hash256 root{};
};

struct VerifierKey {
  std::string name;
  uint32_t key_hash = 0;
  std::string public_key;  // 32 raw bytes
};

// "apitrail/" + node.
std::string CheckpointOrigin(std::string_view node);
// A signed-note key name: non-empty UTF-8 without spaces, control characters or '+'.
Status ValidateKeyName(std::string_view name);
// First 4 bytes (big-endian) of SHA-256(name ‖ "\n" ‖ 0x01 ‖ public_key).
uint32_t Ed25519KeyHash(std::string_view name, std::string_view public_key);
std::string VerifierKeyText(std::string_view name, std::string_view public_key);
// Parses "name+hash+key"; InvalidArgument naming what is wrong (including a hash that does
// not match the name and key, or an algorithm other than Ed25519).
Result<VerifierKey> ParseVerifierKey(std::string_view text);

// The note body "<origin>\n<size>\n<base64 root>\n".
std::string CheckpointBody(const Checkpoint& checkpoint);
// The whole signed note, signed with `key` under the key name `checkpoint.origin`.
Result<std::string> SignCheckpoint(const Checkpoint& checkpoint, const NodeKey& key);

// Parses a signed note's body WITHOUT checking any signature (the structure of the note
// and of its signature lines is checked). InvalidArgument when malformed.
Result<Checkpoint> ParseCheckpointNote(std::string_view note);
// Parses the note and requires a valid signature by `key`, whose name must be the origin.
// InvalidArgument when malformed, PermissionDenied when no signature by `key` verifies.
Result<Checkpoint> VerifyCheckpointNote(std::string_view note, const VerifierKey& key);

}  // namespace apitrail
