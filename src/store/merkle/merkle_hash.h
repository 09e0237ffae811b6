// RFC 6962 / RFC 9162 §2.1.1 hashing: leaf = SHA-256(0x00 ‖ record bytes),
// node = SHA-256(0x01 ‖ left ‖ right), empty tree = SHA-256(""). The 0x00/0x01 prefixes keep
// a leaf from being passed off as an inner node (second-preimage resistance).
// Functions taking a Sha256Hasher reuse its context (DESIGN §1); the hasher is per thread.
#pragma once

#include <string_view>

#include "core/crypto_util.h"

namespace apitrail::merkle {

Hash256 LeafHash(Sha256Hasher& hasher, std::string_view record);
Hash256 NodeHash(Sha256Hasher& hasher, const Hash256& left, const Hash256& right);
Hash256 EmptyRoot();

// A Sha256Hasher for the calling thread, created on first use.
Sha256Hasher& ThreadHasher();

}  // namespace apitrail::merkle
