// The files a configuration names and serve reads when it starts (and again on SIGHUP): TLS
// certificates and keys, the admin token file, JWT keys and JWKS files, the introspection
// secret and CA file, the API key file in the data dir. `config check` reports their
// problems beside the YAML's, and serve checks them before it creates or opens anything, so
// that a file serve cannot use never leaves a new data dir behind. Only reads: nothing is
// fetched, created or written. Any thread.
#pragma once

#include <string>
#include <vector>

#include "config/config.h"

namespace apitrail {

// One message per problem, each naming its key (`admin.token_file: cannot read '…'`); empty
// when every file is usable. Secrets read are never quoted.
std::vector<std::string> CheckConfigFiles(const Config& config);

}  // namespace apitrail
