// AdminApi: the admin listener's request handlers (query API, inclusion proofs, health,
// metrics), as plain functions over SimpleRequest/SimpleResponse. Every path but /healthz needs a
// bearer admin token. Thread-safe: called concurrently by the admin server's threads; holds
// const state, thread-safe services and the token list, which SetTokens (a reload, on the
// signal thread) replaces whole.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
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
  explicit AdminApi(AdminApiOptions options)
      : tokens_(std::make_shared<const std::vector<std::string>>(std::move(options.tokens))),
        options_(std::move(options)) {}
  SimpleResponse Handle(const SimpleRequest& request) const;
  // Requests that start from now on are checked against `tokens` (a SIGHUP that changed
  // admin.tokens or the token file's lines: rotating a token needs no restart).
  void SetTokens(std::vector<std::string> tokens);
  std::vector<std::string> Tokens() const;

 private:
  bool Authorized(const SimpleRequest& request) const;
  // GET /api/v1/events?filters.
  SimpleResponse ListEvents(const QueryParams& params) const;
  // GET /api/v1/events/{id}; `encoded_id` is the path segment as sent. Takes no parameters.
  SimpleResponse GetEvent(std::string_view encoded_id, const QueryParams& params) const;
  // GET /api/v1/proofs/inclusion?seq=N[&size=M]: the JSON of `apitrail prove inclusion`.
  SimpleResponse InclusionProof(const QueryParams& params) const;

  mutable std::mutex tokens_mu_;
  std::shared_ptr<const std::vector<std::string>> tokens_;  // GUARDED_BY(tokens_mu_)
  AdminApiOptions options_;  // its `tokens` moved into tokens_
};

// Reads admin.tokens and admin.token_file into one list; errors name the key.
Result<std::vector<std::string>> LoadAdminTokens(const AdminConfig& admin);

}  // namespace apitrail
