#include "auth/verified_token_cache.h"

namespace apitrail {

Hash256 TokenCacheKey(std::string_view token) {
  thread_local Sha256Hasher hasher;
  return hasher.Digest(token);
}

}  // namespace apitrail
