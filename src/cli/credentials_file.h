// The demo's credentials file, <data>/demo-credentials.json: {"api_key": ..., "admin_token": ...}.
// Written by `demo` (mode 0600), read by `demo` on restart and by `query --data`.
#pragma once

#include <string>

#include "core/status.h"

namespace apitrail {

struct DemoCredentials {
  std::string api_key;
  std::string admin_token;
};

std::string DemoCredentialsPath(const std::string& data_dir);
Result<DemoCredentials> ReadDemoCredentials(const std::string& data_dir);
Status WriteDemoCredentials(const std::string& data_dir, const DemoCredentials& c);

}  // namespace apitrail
