// RunServer: what `serve` and `demo` share — open the store (recovering it), load the
// authenticator, start the gateway and the admin listener, then wait for signals on the
// calling (main) thread: SIGTERM/SIGINT drain and exit; SIGHUP reloads API keys and, when a
// config loader is given, the configuration (Gateway::Reload: routes, upstreams, auth,
// TLS files, ...).
// Key files are also re-read when they change (checked every second). Returns the process
// exit code.
#pragma once

#include <functional>
#include <memory>

#include "config/config.h"
#include "core/status.h"

namespace apitrail {

struct ServerReady {
  uint16_t gateway_port = 0;
  uint16_t admin_port = 0;
};

// Blocks SIGTERM/SIGINT/SIGHUP in the calling thread (and so in every thread started later).
// Call first thing in main, before any thread exists.
void BlockServerSignals();

// Loads the configuration again for SIGHUP; an error lists every problem (the running
// configuration stays).
using ConfigReloader = std::function<Result<std::shared_ptr<const Config>>()>;

int RunServer(std::shared_ptr<const Config> config,
              const std::function<void(const ServerReady&)>& on_ready,
              ConfigReloader reload_config = nullptr);

}  // namespace apitrail
