// The built-in demo REST API that `apitrail demo` puts behind the gateway: users, orders,
// a sensitive export and an echo endpoint that shows what the upstream received.
// HandleDemoRequest is a pure function of the request; thread-safe.
#pragma once

#include "config/config.h"
#include "net/simple_http.h"

namespace apitrail {

SimpleResponse HandleDemoRequest(const SimpleRequest& request);

// The gateway config `apitrail demo` runs: the demo routes, API keys in <data_dir>/keys.json,
// admin token given by the caller.
Config BuildDemoConfig(const std::string& data_dir, const HostPort& gateway, const HostPort& admin,
                       const HostPort& upstream, const std::string& admin_token);

}  // namespace apitrail
