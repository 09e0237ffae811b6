// AdminApi: the admin listener's request handlers (query API, inclusion proofs, health,
// metrics), as plain functions over SimpleRequest/SimpleResponse. Every path but /healthz needs a
// bearer admin token. Thread-safe: called concurrently by the admin server's threads; holds only
// const state and thread-safe services.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "net/simple_http.h"
#include "query/query_params.h"
#include "store/fs/file_system.h"
#include "store/store.h"

namespace apitrail {

struct AdminApiOptions {
  Store* store = nullptr;
  std::vector<std::string> tokens;       // accepted bearer tokens
  std::function<std::string()> metrics;  // Prometheus text for /metrics
  std::string data_dir;                  // for proofs; empty: /api/v1/proofs/* answer 404
  FileSystem* fs = nullptr;              // proofs read data_dir through it; null: DefaultFileSystem()
};

class AdminApi {
 public:
  explicit AdminApi(AdminApiOptions options) : options_(std::move(options)) {}
  SimpleResponse Handle(const SimpleRequest& request) const;

 private:
  bool Authorized(const SimpleRequest& request) const;
  // GET /api/v1/events?filters.
  SimpleResponse ListEvents(const QueryParams& params) const;
  // GET /api/v1/events/{id}; `encoded_id` is the path segment as sent. Takes no parameters.
  SimpleResponse GetEvent(std::string_view encoded_id, const QueryParams& params) const;
  // GET /api/v1/proofs/inclusion?seq=N[&size=M]: the JSON of `apitrail prove inclusion`.
  SimpleResponse InclusionProof(const QueryParams& params) const;

  AdminApiOptions options_;
};

// Reads admin.tokens and admin.token_file into one list; errors name the key.
Result<std::vector<std::string>> LoadAdminTokens(const AdminConfig& admin);

}  // namespace apitrail
