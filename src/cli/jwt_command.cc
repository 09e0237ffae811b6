// `apitrail jwt verify`: checks one JWT with the gateway's own verifier (same key pinning,
// algorithm rules and deny_reasons as auth.jwt[]) and prints the outcome as JSON — the tool an
// operator reaches for when a client says "my token is refused".
#include <boost/json.hpp>
#include <chrono>
#include <cstring>
#include <iostream>

#include "auth/file_util.h"
#include "auth/jwt_verifier.h"
#include "cli/commands.h"
#include "cli/number_flag.h"

namespace apitrail {

namespace {

namespace json = boost::json;

struct JwtFlags {
  std::string key_file;
  std::string jwks_file;
  std::string secret_file;
  std::string token_file;
  std::string issuer;
  std::vector<std::string> audiences;
  std::vector<std::string> algorithms;
  std::string subject_claim = "sub";
  uint32_t leeway_s = 60;
  uint32_t max_token_bytes = 8192;
  bool signature_only = false;
  std::string ca_file;
  uint32_t fetch_timeout_ms = 5000;
};

// The token as an operator pastes it: surrounding whitespace and a "Bearer " prefix dropped.
std::string_view CleanToken(std::string_view t) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!t.empty() && space(t.front())) t.remove_prefix(1);
  while (!t.empty() && space(t.back())) t.remove_suffix(1);
  if (t.size() > 7 && (t.substr(0, 7) == "Bearer " || t.substr(0, 7) == "bearer ")) {
    t.remove_prefix(7);
    while (!t.empty() && space(t.front())) t.remove_prefix(1);
  }
  return t;
}

int Usage(const std::string& message) {
  std::cerr << "apitrail jwt verify: " << message << "\n";
  return 2;
}

int RunVerify(const JwtFlags& f) {
  int sources = !f.key_file.empty() + !f.jwks_file.empty() + !f.secret_file.empty();
  // --issuer alone: OIDC discovery from the issuer URL (its JWKS, fetched over HTTPS).
  const bool discovery = sources == 0 && !f.issuer.empty();
  if (sources > 1 || (sources == 0 && !discovery)) {
    return Usage("give exactly one of --key, --jwks, --secret-file or --issuer URL");
  }
  if (!f.ca_file.empty() && !discovery) return Usage("--ca-file is only for --issuer URL");
  JwtIssuerConfig c;
  c.key_file = f.key_file;
  c.jwks_file = f.jwks_file;
  c.secret_file = f.secret_file;
  // With discovery the issuer is always set (the document must be for it); the iss claim is
  // still only compared when claims are checked.
  c.issuer = (f.signature_only && !discovery) ? "" : f.issuer;
  c.discovery = discovery;
  c.ca_file = f.ca_file;
  c.fetch_timeout_ms = f.fetch_timeout_ms;
  c.audiences = f.signature_only ? std::vector<std::string>{} : f.audiences;
  c.algorithms = f.algorithms;
  c.subject_claim = f.subject_claim;
  c.leeway_s = f.leeway_s;
  c.max_token_bytes = f.max_token_bytes;
  auto verifier = JwtVerifier::Create({c}, /*cache_capacity=*/0);
  if (!verifier.ok()) {
    // The messages name the config key; here the flags play that role.
    std::string m = verifier.status().message();
    if (m.rfind("auth.jwt[0]", 0) == 0) m = m.substr(11);
    if (!m.empty() && m[0] == '.') m = m.substr(1);
    if (!m.empty() && m[0] == ':') m = "keys" + m;
    for (auto [field, flag] : {std::pair{"key_file", "--key"},
                               {"jwks_file", "--jwks"},
                               {"secret_file", "--secret-file"},
                               {"algorithms", "--alg"}}) {
      if (m.rfind(field, 0) == 0) m = flag + m.substr(std::strlen(field));
    }
    return Usage(m);
  }
  if (discovery) {
    const RemoteKeySet* remote = (*verifier)->remote_keys(0);
    if (remote == nullptr || remote->Keys() == nullptr) {
      std::string why = remote ? remote->LastError() : "no key source";
      return Usage("--issuer: cannot fetch the issuer's keys: " + (why.empty() ? "timed out" : why));
    }
  }

  // A token file larger than any acceptable token is still read (bounded) so the verdict
  // is token_too_large rather than a read error.
  auto text = ReadSmallFile(f.token_file == "-" ? "/dev/stdin" : f.token_file, 1 << 20);
  if (!text.ok()) return Usage("--token-file: " + text.status().message());
  std::string_view token = CleanToken(*text);
  if (token.empty()) return Usage("--token-file: no token in " + f.token_file);

  int64_t now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  JwtVerifier::Detailed d = (*verifier)->VerifyDetailed(token, now_ns, !f.signature_only);

  json::object out;
  out["decision"] = d.outcome.allowed ? "valid" : "invalid";
  out["deny_reason"] = d.outcome.deny_reason;
  if (!d.outcome.detail.empty()) out["detail"] = d.outcome.detail;
  out["checked"] = f.signature_only ? "signature" : "signature+claims";
  if (!f.signature_only) {
    // The gateway refuses a config without audiences (auth.jwt[].audiences); here they are
    // optional, so say plainly which claims a "valid" did not look at.
    json::array not_checked;
    if (f.issuer.empty()) not_checked.emplace_back("iss");
    if (f.audiences.empty()) not_checked.emplace_back("aud");
    // The gateway also wants the client certificate a bound token names.
    if (!d.outcome.identity.bound_certificate.empty()) not_checked.emplace_back("cnf");
    out["not_checked"] = std::move(not_checked);
  }
  out["signature_valid"] = d.signature_valid;
  if (d.signature_valid) {
    const Identity& id = d.outcome.identity;
    json::object identity;
    identity["subject"] = id.subject;
    identity["issuer"] = id.issuer;
    identity["credential_id"] = id.credential_id;
    json::array scopes;
    for (const auto& s : id.scopes) scopes.emplace_back(s);
    identity["scopes"] = std::move(scopes);
    if (!id.bound_certificate.empty()) identity["bound_certificate"] = id.bound_certificate;
    out["identity"] = std::move(identity);
    out["header"] = std::move(d.header);
    out["claims"] = std::move(d.claims);
  }
  std::cout << json::serialize(out) << "\n";
  return d.outcome.allowed ? 0 : 1;
}

}  // namespace

void AddJwtCommand(CLI::App& app, int* exit_code) {
  auto* f = new JwtFlags;  // lives as long as the app: CLI11 binds options by reference
  auto* cmd = app.add_subcommand("jwt", "JSON Web Token tools");
  cmd->require_subcommand(1);
  auto* verify = cmd->add_subcommand(
      "verify",
      "Verify one JWT with the gateway's rules and print decision, deny_reason and the verified "
      "header and claims as JSON. Exit 0 valid, 1 invalid, 2 usage or key error.\n"
      "Keys: --key, --jwks, --secret-file, or --issuer URL alone for OIDC discovery "
      "(<issuer>/.well-known/openid-configuration → jwks_uri, over verified HTTPS).");
  auto* key =
      verify->add_option("--key", f->key_file, "PEM public key or certificate (RSA, EC, Ed25519)");
  auto* jwks = verify->add_option("--jwks", f->jwks_file, "JWKS file");
  auto* secret =
      verify->add_option("--secret-file", f->secret_file, "File holding an HMAC secret (HS*)");
  key->excludes(jwks)->excludes(secret);
  jwks->excludes(secret);
  verify->add_option("--token-file", f->token_file, "File holding the token ('-' for stdin)")
      ->required();
  verify->add_option("--issuer", f->issuer,
                     "Expected iss claim (compared exactly); without --key/--jwks/--secret-file "
                     "the keys come from OIDC discovery at this https:// URL");
  verify->add_option("--ca-file", f->ca_file,
                     "CA certificates (PEM) for --issuer discovery; default: the system store");
  verify->add_option("--fetch-timeout-ms", f->fetch_timeout_ms,
                     "Time limit for each discovery/JWKS fetch")
      ->capture_default_str()
      ->transform(DecimalNumber())
      ->check(CLI::Range(100, 60000));
  verify->add_option("--audience", f->audiences, "Accepted aud (repeatable; any of)");
  verify->add_option("--alg", f->algorithms,
                     "Allowed algorithms (repeatable; default: every one the key is for; RSA keys "
                     "without a JWK alg verify PS* only when listed here)");
  verify->add_option("--subject-claim", f->subject_claim, "Claim used as the subject")
      ->capture_default_str();
  verify->add_option("--leeway", f->leeway_s, "Clock skew allowed for exp/nbf, seconds")
      ->capture_default_str()
      ->transform(DecimalNumber())
      ->check(CLI::Range(0, 3600));
  verify->add_option("--max-token-bytes", f->max_token_bytes, "Longer tokens are refused")
      ->capture_default_str()
      ->transform(DecimalNumber())
      ->check(CLI::Range(256, 1 << 20));
  verify->add_flag(
      "--signature-only", f->signature_only,
      "Check only the JWS structure, algorithm/key rules and signature, not the claims");
  verify->callback([f, exit_code] { *exit_code = RunVerify(*f); });
}

}  // namespace apitrail
