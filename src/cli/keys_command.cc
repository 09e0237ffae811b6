#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "auth/key_store.h"
#include "cli/commands.h"
#include "cli/text_flag.h"
#include "config/config_loader.h"
#include "core/json_writer.h"
#include "core/time_util.h"

namespace apitrail {

namespace {

struct KeysFlags {
  std::string config;
  std::string data = "./apitrail-data";
  std::string subject;
  std::string scopes;
  std::string roles;
  std::string tenant;
  std::string expires;
  std::string overlap = "24h";
  std::string description;
  std::string id;
  bool json = false;
};

// The key file named by -c (auth.api_keys.file or its data_dir), else <data>/keys.json.
Result<std::string> KeyPath(const KeysFlags& f) {
  if (!f.config.empty()) {
    ConfigLoadResult loaded = LoadConfigFile(f.config);
    if (!loaded.ok()) return Status::InvalidArgument(f.config + ": " + loaded.errors[0].ToString());
    return KeyFilePath(loaded.config.auth.api_keys, loaded.config.audit.data_dir);
  }
  return KeyFilePath(ApiKeyAuthConfig{}, f.data);
}

std::vector<std::string> SplitScopes(const std::string& s) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= s.size()) {
    size_t end = s.find_first_of(", ", pos);
    if (end == std::string::npos) end = s.size();
    if (end > pos) out.push_back(s.substr(pos, end - pos));
    pos = end + 1;
  }
  return out;
}

// now + d. A sum past 2262-04-11 wrapped around to a time in 1716: `rotate --overlap
// 100000d` expired the old key at once instead of keeping it valid.
Result<int64_t> AfterNow(int64_t now, int64_t d) {
  int64_t t;
  if (__builtin_add_overflow(now, d, &t)) return Status::InvalidArgument("reaches beyond 2262-04-11");
  return t;
}

// --expires: an RFC 3339 time, or a duration from now. Anything that starts like a date is
// judged as a time, so "2030-01-01" is told what a time needs, not what a duration is.
Result<int64_t> ExpiresAt(const std::string& text, int64_t now) {
  if (text.size() > 4 && text[4] == '-') return ParseRfc3339(text);
  APITRAIL_ASSIGN_OR_RETURN(int64_t d, ParseDuration(text));
  return AfterNow(now, d);
}

int Fail(const Status& st) {
  std::cerr << "apitrail keys: " << st.message() << "\n";
  return st.code() == StatusCode::kInvalidArgument ? 2 : 1;
}

}  // namespace

void AddKeysCommand(CLI::App& app, int* exit_code) {
  auto* f = new KeysFlags;
  auto* cmd = app.add_subcommand("keys", "Create, list, rotate and revoke API keys");
  cmd->require_subcommand(1);
  cmd->add_option("-c,--config", f->config, "Configuration file (its key file is used)")->check(NotEmpty());
  cmd->add_option("--data", f->data, "Data directory (key file <data>/keys.json)")
      ->capture_default_str()
      ->check(NotEmpty());

  auto* create = cmd->add_subcommand("create", "Create a key; it is printed once and only its hash is stored");
  create->add_option("--subject", f->subject, "Who the key identifies")->required();
  create->add_option("--scopes", f->scopes, "Comma-separated scopes");
  create->add_option("--roles", f->roles, "Comma-separated roles (for routes with roles:)");
  create->add_option("--tenant", f->tenant, "Tenant the key belongs to (recorded, sent upstream)");
  create->add_option("--expires", f->expires, "Expiry: RFC 3339 time or a duration from now (90d)");
  create->add_option("--description", f->description, "Free text");
  create->fallthrough();  // accept -c/--data after the subcommand too
  create->callback([f, exit_code] {
    auto path = KeyPath(*f);
    if (!path.ok()) { *exit_code = Fail(path.status()); return; }
    std::optional<int64_t> expires;
    if (!f->expires.empty()) {
      auto t = ExpiresAt(f->expires, NowNs());
      if (!t.ok()) { *exit_code = Fail(Status::InvalidArgument("--expires: " + t.status().message())); return; }
      expires = *t;
    }
    NewKeySpec spec;
    spec.subject = f->subject;
    spec.scopes = SplitScopes(f->scopes);
    spec.roles = SplitScopes(f->roles);
    spec.tenant = f->tenant;
    spec.expires_ns = expires;
    spec.description = f->description;
    // A closed pipe must fail the write, not kill the process before it can revoke the key.
    std::signal(SIGPIPE, SIG_IGN);
    auto key = CreateKey(*path, spec);
    if (!key.ok()) { *exit_code = Fail(key.status()); return; }
    std::cout << key->key << "\n";
    std::cout.flush();
    if (std::fflush(stdout) != 0 || std::ferror(stdout) || std::cout.fail()) {
      // Shown once or never: a key nobody holds would stay active in the list for good.
      Status revoked = RevokeKey(*path, key->id);
      std::cerr << "apitrail keys: writing the new key to standard output failed; "
                << (revoked.ok() ? "key " + key->id + " was revoked"
                                 : "revoking key " + key->id + " failed too: " + revoked.message())
                << "\n";
      *exit_code = 1;
      return;
    }
    std::cerr << "created key " << key->id << " for " << f->subject << " in " << *path
              << " (shown once; only its hash is stored)\n";
  });

  auto* list = cmd->add_subcommand("list", "List keys (ids, subjects, scopes, state; never secrets)");
  list->add_flag("--json", f->json, "JSON output");
  list->fallthrough();  // accept -c/--data after the subcommand too
  list->callback([f, exit_code] {
    auto path = KeyPath(*f);
    if (!path.ok()) { *exit_code = Fail(path.status()); return; }
    auto keys = ListKeys(*path);
    if (!keys.ok()) { *exit_code = Fail(keys.status()); return; }
    // A missing file lists as no keys, which a mistyped --data made look like every key gone.
    if (std::error_code ec; !std::filesystem::exists(*path, ec)) {
      std::cerr << "apitrail keys: no key file at " << *path << " (no key created there yet)\n";
    }
    // Written by running gateways every 10 s and on SIGHUP/shutdown; unreadable: not shown.
    auto used = LoadLastUsed(*path);
    if (!used.ok()) std::cerr << "apitrail keys: " << used.status().message() << "\n";
    auto last_used = [&](const ApiKeyRecord& k) -> std::string {
      if (!used.ok()) return "";
      auto it = used->find(k.id);
      return it == used->end() ? "" : FormatRfc3339(it->second);
    };
    int64_t now = NowNs();
    auto state_of = [now](const ApiKeyRecord& k) -> std::string {
      return k.revoked_ns ? "revoked" : (k.expires_ns && *k.expires_ns <= now) ? "expired" : "active";
    };
    if (f->json) {
      // Never the hash: it is not secret, but nothing a reader needs either.
      std::string out;
      JsonWriter w(&out);
      w.BeginObject();
      w.Key("keys");
      w.BeginArray();
      for (const auto& k : *keys) {
        w.BeginObject();
        w.Field("id", k.id);
        w.Field("subject", k.subject);
        w.Field("state", state_of(k));
        w.Key("scopes");
        w.BeginArray();
        for (const auto& s : k.scopes) w.String(s);
        w.EndArray();
        if (!k.roles.empty()) {
          w.Key("roles");
          w.BeginArray();
          for (const auto& r : k.roles) w.String(r);
          w.EndArray();
        }
        if (!k.tenant.empty()) w.Field("tenant", k.tenant);
        w.Field("created", FormatRfc3339(k.created_ns));
        if (std::string lu = last_used(k); !lu.empty()) w.Field("last_used", lu);
        if (!k.rotated_from.empty()) w.Field("rotated_from", k.rotated_from);
        if (k.expires_ns) w.Field("expires", FormatRfc3339(*k.expires_ns));
        if (k.revoked_ns) w.Field("revoked", FormatRfc3339(*k.revoked_ns));
        if (!k.description.empty()) w.Field("description", k.description);
        w.EndObject();
      }
      w.EndArray();
      w.EndObject();
      std::cout << out << "\n";
      return;
    }
    std::printf("%-10s %-24s %-8s %-31s %-31s %-31s %s\n", "ID", "SUBJECT", "STATE", "CREATED",
                "LAST_USED", "EXPIRES", "SCOPES");
    for (const auto& k : *keys) {
      std::string state = state_of(k);
      std::string scopes;
      for (const auto& s : k.scopes) scopes += (scopes.empty() ? "" : ",") + s;
      for (const auto& r : k.roles) scopes += (scopes.empty() ? "role:" : ",role:") + r;
      if (!k.tenant.empty()) scopes += " tenant=" + k.tenant;
      std::string lu = last_used(k);
      std::string expires = k.expires_ns ? FormatRfc3339(*k.expires_ns) : "";
      std::printf("%-10s %-24s %-8s %-31s %-31s %-31s %s\n", k.id.c_str(), k.subject.c_str(),
                  state.c_str(), FormatRfc3339(k.created_ns).c_str(), lu.empty() ? "-" : lu.c_str(),
                  expires.empty() ? "-" : expires.c_str(), scopes.c_str());
    }
  });

  auto* revoke = cmd->add_subcommand("revoke", "Revoke a key; running gateways refuse it within a second");
  revoke->add_option("id", f->id, "Key id")->required();
  revoke->fallthrough();  // accept -c/--data after the subcommand too
  revoke->callback([f, exit_code] {
    auto path = KeyPath(*f);
    if (!path.ok()) { *exit_code = Fail(path.status()); return; }
    Status st = RevokeKey(*path, f->id);
    if (!st.ok()) { *exit_code = Fail(st); return; }
    std::cerr << "revoked key " << f->id << "\n";
  });

  auto* rotate = cmd->add_subcommand("rotate", "Issue a replacement key with the same identity; the old one expires after the overlap");
  rotate->add_option("id", f->id, "Key id")->required();
  rotate->add_option("--overlap", f->overlap, "How long the old key stays valid (24h, 7d, 0s; 'none': until revoked)")
      ->capture_default_str();
  rotate->fallthrough();  // accept -c/--data after the subcommand too
  rotate->callback([f, exit_code] {
    auto path = KeyPath(*f);
    if (!path.ok()) { *exit_code = Fail(path.status()); return; }
    std::optional<int64_t> overlap;
    int64_t now = NowNs();
    if (f->overlap != "none") {
      auto d = ParseDuration(f->overlap);
      if (d.ok() && !AfterNow(now, *d).ok()) d = Status::InvalidArgument("reaches beyond 2262-04-11; use 'none'");
      if (!d.ok()) { *exit_code = Fail(Status::InvalidArgument("--overlap: " + d.status().message())); return; }
      overlap = *d;
    }
    std::signal(SIGPIPE, SIG_IGN);  // as in create: a closed pipe fails the write
    std::optional<int64_t> previous_expiry;
    auto key = RotateKey(*path, f->id, now, overlap, &previous_expiry);
    if (!key.ok()) { *exit_code = Fail(key.status()); return; }
    std::cout << key->key << "\n";
    std::cout.flush();
    if (std::fflush(stdout) != 0 || std::ferror(stdout) || std::cout.fail()) {
      // Nobody holds the new key, and the old one would still have expired after the
      // overlap: the rotation is taken back whole.
      Status undone = UndoRotation(*path, key->id, previous_expiry);
      std::cerr << "apitrail keys: writing the new key to standard output failed; "
                << (undone.ok() ? "key " + key->id + " was revoked and " + f->id + " keeps its expiry"
                                : "taking the rotation back failed too: " + undone.message())
                << "\n";
      *exit_code = 1;
      return;
    }
    std::cerr << "new key " << key->id << " replaces " << f->id;
    if (overlap) std::cerr << "; the old key expires at " << FormatRfc3339(now + *overlap) << " (or earlier, if it already did)\n";
    else std::cerr << "; the old key stays valid until revoked\n";
  });
}

}  // namespace apitrail
