#include "store/merkle/merkle_hash.h"

namespace apitrail::merkle {

Hash256 LeafHash(Sha256Hasher& hasher, std::string_view record) {
  const unsigned char prefix = 0x00;
  hasher.Init();
  hasher.Update(&prefix, 1);
  hasher.Update(record.data(), record.size());
  return hasher.Final();
}

Hash256 NodeHash(Sha256Hasher& hasher, const Hash256& left, const Hash256& right) {
  const unsigned char prefix = 0x01;
  hasher.Init();
  hasher.Update(&prefix, 1);
  hasher.Update(left.data(), left.size());
  hasher.Update(right.data(), right.size());
  return hasher.Final();
}

Hash256 EmptyRoot() { return Sha256(""); }

Sha256Hasher& ThreadHasher() {
  thread_local Sha256Hasher hasher;
  return hasher;
}

}  // namespace apitrail::merkle
