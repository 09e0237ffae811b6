#include "cli/config_files_check.h"

#include "api/admin_api.h"
#include "auth/authenticator.h"
#include "gateway/tls_contexts.h"

namespace apitrail {

std::vector<std::string> CheckConfigFiles(const Config& config) {
  std::vector<std::string> problems;
  auto tls = TlsContexts::Create(config);
  if (!tls.ok()) problems.push_back(tls.status().message());
  if (config.admin.enabled) {
    auto tokens = LoadAdminTokens(config.admin);
    if (!tokens.ok()) problems.push_back(tokens.status().message());
  }
  // Creating the authenticator loads every key it will verify with; its refreshers (JWKS
  // URLs, introspection) start only in the gateway, so nothing goes over the network here.
  auto auth = Authenticator::Create(config.auth, config.audit.data_dir);
  if (!auth.ok()) problems.push_back(auth.status().message());
  return problems;
}

}  // namespace apitrail
