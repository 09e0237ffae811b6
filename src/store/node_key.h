// NodeKey: the node's Ed25519 signing key (DESIGN §3), kept in <data_dir>/node.key as a
// PKCS#8 PEM file with mode 0600 (docs/FORMAT.md). The store signs its checkpoints with it;
// `apitrail key show` derives the verifier key from it. Thread-safe: Sign may be called
// from any thread (each call uses its own OpenSSL context).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"

namespace apitrail {

inline constexpr std::string_view kNodeKeyFile = "node.key";

class NodeKey {
 public:
  ~NodeKey();
  NodeKey(const NodeKey&) = delete;
  NodeKey& operator=(const NodeKey&) = delete;

  // Reads the key at `path`; NotFound if there is none, Corruption if it is not an
  // Ed25519 private key in PEM.
  static Result<std::unique_ptr<NodeKey>> Load(const std::string& path);
  // Loads `path`, or generates a key and writes it there first (temp file, fsync, rename,
  // fsync of the directory), readable by the owner only.
  static Result<std::unique_ptr<NodeKey>> LoadOrCreate(const std::string& path);
  // A fresh key that lives only in memory (tests).
  static Result<std::unique_ptr<NodeKey>> Generate();

  // The 32-byte raw Ed25519 public key.
  const std::string& public_key() const { return public_key_; }
  // The 64-byte Ed25519 signature of `message`.
  Result<std::string> Sign(std::string_view message) const;

 private:
  struct Impl;
  explicit NodeKey(Impl* impl, std::string public_key) : impl_(impl), public_key_(std::move(public_key)) {}
  static Result<std::unique_ptr<NodeKey>> FromPkey(void* pkey);

  Impl* impl_;
  std::string public_key_;
};

// True when `signature` is a valid Ed25519 signature of `message` under the 32-byte raw
// `public_key`.
bool VerifyEd25519(std::string_view public_key, std::string_view message,
                   std::string_view signature);

}  // namespace apitrail
