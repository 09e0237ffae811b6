// Reading a verifier key argument (--key) for the offline commands (`proof check`, `verify`):
// the key text itself ("name+hash+base64"), or a file whose first line holds it.
// Thread-safe (no shared state).
#pragma once

#include <string>

#include "core/status.h"
#include "store/checkpoint.h"

namespace apitrail {

Result<VerifierKey> LoadVerifierKeyArg(const std::string& arg);
// The whole file, up to 1 MiB; NotFound when unreadable, InvalidArgument when larger.
Result<std::string> ReadTextFile(const std::string& path);
// NotFound "no data directory at …" unless `path` is a directory. The store's readers take a
// missing dir for an empty log, which named a mistyped --data "no signed checkpoint yet".
Status RequireDataDir(const std::string& path);

}  // namespace apitrail
