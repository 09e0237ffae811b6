#include "api/admin_api.h"
#include "api/api_errors.h"
#include "api/stats_api.h"

#include <atomic>
#include <boost/beast/core/string.hpp>
#include <boost/url/pct_string_view.hpp>
#include <cctype>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/crypto_util.h"
#include "core/json_writer.h"
#include "core/time_util.h"
#include "query/query_params.h"
#include "store/fs/file_system.h"
#include "store/proof_json.h"

namespace apitrail {

namespace {

// 8-4-4-4-12 hex digits, either case.
bool IsUuidText(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

int HttpStatusFor(const Status& st) {
  switch (st.code()) {
    case StatusCode::kInvalidArgument: return 400;
    case StatusCode::kNotFound: return 404;
    case StatusCode::kUnavailable:
    case StatusCode::kResourceExhausted: return 503;
    default: return 500;
  }
}

}  // namespace

Result<std::vector<std::string>> LoadAdminTokens(const AdminConfig& admin) {
  std::vector<std::string> tokens = admin.tokens;
  if (!admin.token_file.empty()) {
    const std::string& path = admin.token_file;
    // A directory opens as a stream that reads nothing, and a device (/dev/zero) as one
    // that never ends a line: both started an admin API no token could open, the second
    // after reading without bound.
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
      return Status::InvalidArgument("admin.token_file: '" + path + "' is a directory");
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) return Status::IoError("admin.token_file: cannot read '" + path + "'");
    constexpr size_t kMaxTokenFileBytes = 1 << 20;
    std::string text(kMaxTokenFileBytes + 1, '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<size_t>(in.gcount()));
    if (text.size() > kMaxTokenFileBytes) {
      return Status::InvalidArgument("admin.token_file: '" + path + "' is larger than " +
                                     std::to_string(kMaxTokenFileBytes) + " bytes");
    }
    size_t from_file = 0;
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {
      // Trimmed like a header value is (spaces and tabs, RFC 9110 §5.5), or a token line
      // ending in a tab could never match the value a client sends.
      while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
      if (!line.empty() && line[0] != '#') {
        tokens.push_back(line);
        ++from_file;
      }
    }
    if (from_file == 0) return Status::InvalidArgument("admin.token_file: '" + path + "' holds no token");
  }
  for (const auto& t : tokens) {
    if (t.size() < 16) return Status::InvalidArgument("admin.tokens: every token needs at least 16 characters");
  }
  return tokens;
}

bool AdminApi::Authorized(const SimpleRequest& request) const {
  // credentials = auth-scheme 1*SP token68 (RFC 9110 §11.4), and the scheme is
  // case-insensitive (§11.1): "BEARER t" is the same credential as "Bearer t".
  // Two Authorization fields are two credentials for one request: refused, rather than
  // judged by whichever the parser happens to list first.
  int fields = 0;
  for (const auto& [name, value] : request.headers) fields += boost::beast::iequals(name, "authorization") ? 1 : 0;
  if (fields != 1) return false;
  const std::string h = request.Header("authorization");
  const size_t sp = h.find(' ');
  if (sp == std::string::npos || !boost::beast::iequals(std::string_view(h).substr(0, sp), "bearer")) {
    return false;
  }
  std::string_view presented = std::string_view(h).substr(sp);
  while (!presented.empty() && presented.front() == ' ') presented.remove_prefix(1);
  std::shared_ptr<const std::vector<std::string>> tokens;
  {
    std::lock_guard<std::mutex> lock(tokens_mu_);
    tokens = tokens_;
  }
  // Check every token, without stopping at a match, so timing says nothing about which. Their
  // digests are compared, not the tokens: ConstantTimeEquals returns at once when the lengths
  // differ, so the time of a guess told whether it had a configured token's length.
  auto bytes = [](const Hash256& h) {
    return std::string_view(reinterpret_cast<const char*>(h.data()), h.size());
  };
  const Hash256 presented_digest = Sha256(presented);
  bool ok = false;
  for (const auto& t : *tokens) ok |= ConstantTimeEquals(bytes(Sha256(t)), bytes(presented_digest));
  return ok;
}

void AdminApi::SetTokens(std::vector<std::string> tokens) {
  auto next = std::make_shared<const std::vector<std::string>>(std::move(tokens));
  std::lock_guard<std::mutex> lock(tokens_mu_);
  tokens_ = std::move(next);
}

std::vector<std::string> AdminApi::Tokens() const {
  std::lock_guard<std::mutex> lock(tokens_mu_);
  return *tokens_;
}

SimpleResponse AdminApi::Handle(const SimpleRequest& request) const {
  std::string path;
  QueryParams params;
  ParamError bad_param;
  if (Status st = SplitTarget(request.target, &path, &params, &bad_param); !st.ok()) {
    if (!bad_param.message.empty()) return BadParamResponse(bad_param);
    return ErrorResponse(400, "bad_request", st.message());
  }
  const bool get_or_head = request.method == "GET" || request.method == "HEAD";
  if (path == "/healthz" && get_or_head) {
    SimpleResponse r;
    StoreStats s = options_.store->Stats();
    r.status = s.failed ? 503 : 200;
    r.body = s.failed ? R"({"status":"failing","store":"failed"})" : R"({"status":"ok"})";
    return r;
  }
  if (path != "/healthz" && !Authorized(request)) {
    SimpleResponse r = ErrorResponse(401, "unauthorized", "a valid admin bearer token is required");
    r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"apitrail-admin\"");
    return r;
  }
  // Allow lists HEAD too, which is served (RFC 9110 §10.2.1: the methods the resource
  // supports). /healthz needs no token, so a POST to it is answered here without one.
  if (!get_or_head) {
    SimpleResponse r =
        ErrorResponse(405, "method_not_allowed", "only GET and HEAD are supported here");
    r.headers.emplace_back("Allow", "GET, HEAD");
    return r;
  }
  if (path == "/metrics") {
    SimpleResponse r;
    r.content_type = "text/plain; version=0.0.4";
    r.body = options_.metrics ? options_.metrics() : "";
    return r;
  }
  if (path == "/api/v1/events") return ListEvents(params);
  if (path == "/api/v1/proofs/inclusion") return InclusionProof(params);
  if (path.compare(0, 14, "/api/v1/stats/") == 0) {
    return HandleStats(path, params, options_.store->rollups(), NowNs());
  }
  static constexpr std::string_view kEventPrefix = "/api/v1/events/";
  if (path.size() > kEventPrefix.size() && path.compare(0, kEventPrefix.size(), kEventPrefix) == 0) {
    return GetEvent(std::string_view(path).substr(kEventPrefix.size()), params);
  }
  return ErrorResponse(404, "not_found", "no such admin endpoint: " + path.substr(0, 128));
}

SimpleResponse AdminApi::ListEvents(const QueryParams& params) const {
  EventQuery q;
  ParamError error;
  if (!ParseEventQuery(params, NowNs(), &q, &error)) return BadParamResponse(error);
  auto page = options_.store->Query(q);
  if (!page.ok()) return ErrorResponse(HttpStatusFor(page.status()), "query_failed", page.status().message());
  SimpleResponse r;
  std::string& out = r.body;
  out.reserve(512 * page->events.size() + 64);
  out.append("{\"events\":[");
  for (size_t i = 0; i < page->events.size(); ++i) {
    if (i) out.push_back(',');
    AppendEventJson(page->events[i], &out);
  }
  out.append("],\"next_cursor\":");
  if (page->next_cursor) JsonWriter::AppendEscaped(&out, EncodeCursor(*page->next_cursor));
  else out.append("null");
  out.push_back('}');
  return r;
}

SimpleResponse AdminApi::GetEvent(std::string_view encoded_id, const QueryParams& params) const {
  ParamError error;
  if (!RejectUnknown(params, {}, &error)) return BadParamResponse(error);
  // Clients may percent-encode any character of the id (%2D for '-' is legal), so look up
  // the decoded id. SplitTarget already refused malformed encodings; this checks the segment itself.
  auto pct = boost::urls::make_pct_string_view(encoded_id);
  if (!pct) return ErrorResponse(400, "bad_request", "the event id is not validly percent-encoded");
  std::string id = pct->decode();
  if (id.size() > 64 || id.find('/') != std::string::npos) return ErrorResponse(404, "not_found", "no such event");
  // Event ids are UUIDs, written in lower case; RFC 9562 §4 has their hex digits read
  // case-insensitively, so an id pasted in upper case (as some tools print UUIDs) names the
  // same event instead of a 404.
  if (IsUuidText(id)) {
    for (char& c : id) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  auto ev = options_.store->GetById(id);
  if (!ev.ok()) {
    if (ev.status().code() == StatusCode::kNotFound) return ErrorResponse(404, "not_found", "no event with id " + id);
    return ErrorResponse(HttpStatusFor(ev.status()), "lookup_failed", ev.status().message());
  }
  SimpleResponse r;
  AppendEventJson(*ev, &r.body);
  return r;
}

namespace {

// A decimal uint64 parameter; nullopt when absent.
bool UintParam(const QueryParams& params, std::string_view name, std::optional<uint64_t>* out,
               ParamError* error) {
  for (const auto& [k, v] : params) {
    if (k != name) continue;
    uint64_t n = 0;
    auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (v.empty() || ec != std::errc() || ptr != v.data() + v.size()) {
      return ParamFail(error, name, "must be a non-negative integer");
    }
    *out = n;
  }
  return true;
}

// Each proof re-hashes the log up to its checkpoint (O(records)); at most this many run at
// once so the admin listener cannot be used to keep every core busy.
constexpr int kMaxConcurrentProofs = 2;
std::atomic<int> proofs_in_flight{0};

// Holds one of the slots, if one is free, until it goes out of scope: every way out of a
// proof (a return, or an exception such as bad_alloc on a large log that the server turns
// into a 500) gives the slot back, where a leaked one would leave proofs busy for good.
class ProofSlot {
 public:
  ProofSlot() : held_(proofs_in_flight.fetch_add(1) < kMaxConcurrentProofs) {
    if (!held_) proofs_in_flight.fetch_sub(1);
  }
  ~ProofSlot() {
    if (held_) proofs_in_flight.fetch_sub(1);
  }
  ProofSlot(const ProofSlot&) = delete;
  ProofSlot& operator=(const ProofSlot&) = delete;
  bool held() const { return held_; }

 private:
  const bool held_;
};

}  // namespace

SimpleResponse AdminApi::InclusionProof(const QueryParams& params) const {
  if (options_.data_dir.empty()) return ErrorResponse(404, "not_found", "proofs are not available here");
  std::optional<uint64_t> seq, size;
  ParamError error;
  if (!RejectRepeated(params, &error) || !RejectUnknown(params, {"seq", "size"}, &error)) {
    return BadParamResponse(error);
  }
  if (!UintParam(params, "seq", &seq, &error) || !UintParam(params, "size", &size, &error)) {
    return BadParamResponse(error);
  }
  if (!seq) return BadParamResponse({"seq", "seq: required"});
  if (size && *seq >= *size) return BadParamResponse({"seq", "seq: must be below size"});
  ProofSlot slot;
  if (!slot.held()) {
    SimpleResponse r = ErrorResponse(503, "busy", "too many proofs being built; try again");
    r.headers.emplace_back("Retry-After", "1");
    return r;
  }
  FileSystem* fs = options_.fs != nullptr ? options_.fs : DefaultFileSystem();
  auto json = InclusionProofJson(fs, options_.data_dir, *seq, size);
  if (!json.ok()) {
    const Status& st = json.status();
    if (st.code() == StatusCode::kNotFound) return ErrorResponse(404, "no_checkpoint", st.message());
    if (st.code() == StatusCode::kInvalidArgument) return ErrorResponse(400, "bad_request", st.message());
    return ErrorResponse(500, "proof_failed", st.message());
  }
  SimpleResponse r;
  r.body = std::move(json).value();
  return r;
}

}  // namespace apitrail
