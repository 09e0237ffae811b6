#include "auth/key_store.h"

#include <sys/stat.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cerrno>
#include <cstring>
#include <unordered_set>

#include "auth/file_util.h"
#include "auth/identity.h"

namespace apitrail {
namespace json = boost::json;

namespace {

constexpr size_t kMaxSubjectBytes = 256;
constexpr size_t kMaxScopeBytes = 128;
constexpr size_t kMaxDescriptionBytes = 1024;
constexpr size_t kMaxTenantBytes = 128;

bool IsLowerHex64(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// Values that end up in audit records and upstream identity headers: no control characters
// (header injection), no empties.
bool IsCleanText(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

bool IsValidScope(std::string_view s) {
  if (s.empty() || s.size() > kMaxScopeBytes) return false;
  for (unsigned char c : s) {
    if (c <= 0x20 || c == 0x7f) return false;  // scopes are sent space-joined
  }
  return true;
}

Status ValidateRecord(const ApiKeyRecord& r) {
  if (!IsValidApiKeyId(r.id)) return Status::InvalidArgument("id: must be 8 base62 characters");
  if (!IsLowerHex64(r.hash)) return Status::InvalidArgument("hash: must be 64 lower-case hex digits");
  if (r.subject.empty() || r.subject.size() > kMaxSubjectBytes || !IsCleanText(r.subject)) {
    return Status::InvalidArgument("subject: must be 1-256 printable characters");
  }
  for (const auto& s : r.scopes) {
    if (!IsValidScope(s)) return Status::InvalidArgument("scopes: '" + s.substr(0, 64) + "' is not a valid scope");
  }
  for (const auto& s : r.roles) {
    if (!IsValidScope(s)) return Status::InvalidArgument("roles: '" + s.substr(0, 64) + "' is not a valid role");
  }
  if (r.tenant.size() > kMaxTenantBytes || !IsCleanText(r.tenant)) {
    return Status::InvalidArgument("tenant: at most 128 printable characters");
  }
  if (!r.rotated_from.empty() && !IsValidApiKeyId(r.rotated_from)) {
    return Status::InvalidArgument("rotated_from: must be a key id");
  }
  if (r.description.size() > kMaxDescriptionBytes || !IsCleanText(r.description)) {
    return Status::InvalidArgument("description: at most 1024 printable characters");
  }
  return Status::Ok();
}

Result<std::string> GetString(const json::object& o, std::string_view name, bool required) {
  const json::value* v = o.if_contains(name);
  if (v == nullptr) {
    if (required) return Status::InvalidArgument(std::string(name) + ": missing");
    return std::string();
  }
  if (!v->is_string()) return Status::InvalidArgument(std::string(name) + ": must be a string");
  return std::string(v->get_string());
}

Result<std::optional<int64_t>> GetTime(const json::object& o, std::string_view name, bool required) {
  const json::value* v = o.if_contains(name);
  if (v == nullptr || v->is_null()) {
    if (required) return Status::InvalidArgument(std::string(name) + ": missing");
    return std::optional<int64_t>();
  }
  if (!v->is_string()) return Status::InvalidArgument(std::string(name) + ": must be an RFC 3339 string");
  auto t = ParseRfc3339(v->get_string());
  if (!t.ok()) return Status::InvalidArgument(std::string(name) + ": " + t.status().message());
  return std::optional<int64_t>(*t);
}

Result<ApiKeyRecord> ParseRecord(const json::value& v) {
  if (!v.is_object()) return Status::InvalidArgument("must be an object");
  const json::object& o = v.get_object();
  ApiKeyRecord r;
  APITRAIL_ASSIGN_OR_RETURN(r.id, GetString(o, "id", true));
  APITRAIL_ASSIGN_OR_RETURN(r.hash, GetString(o, "hash", true));
  APITRAIL_ASSIGN_OR_RETURN(r.subject, GetString(o, "subject", true));
  APITRAIL_ASSIGN_OR_RETURN(r.description, GetString(o, "description", false));
  APITRAIL_ASSIGN_OR_RETURN(r.tenant, GetString(o, "tenant", false));
  APITRAIL_ASSIGN_OR_RETURN(r.rotated_from, GetString(o, "rotated_from", false));
  for (auto [name, list] : {std::pair<const char*, std::vector<std::string>*>{"scopes", &r.scopes},
                            {"roles", &r.roles}}) {
    const json::value* s = o.if_contains(name);
    if (s == nullptr) continue;
    if (!s->is_array()) return Status::InvalidArgument(std::string(name) + ": must be an array of strings");
    for (const auto& e : s->get_array()) {
      if (!e.is_string()) return Status::InvalidArgument(std::string(name) + ": must be an array of strings");
      list->emplace_back(e.get_string());
    }
  }
  APITRAIL_ASSIGN_OR_RETURN(auto created, GetTime(o, "created", true));
  r.created_ns = *created;
  APITRAIL_ASSIGN_OR_RETURN(r.expires_ns, GetTime(o, "expires", false));
  APITRAIL_ASSIGN_OR_RETURN(r.revoked_ns, GetTime(o, "revoked", false));
  APITRAIL_RETURN_IF_ERROR(ValidateRecord(r));
  return r;
}

// Holds the lock for one read-modify-write cycle on the key file.
struct LockedKeyFile {
  FileLock lock;
  std::vector<ApiKeyRecord> keys;
};

Status EnsureParentDir(const std::string& path) {
  std::string dir = DirName(path);
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return Status::IoError(dir + ": cannot create directory: " + std::strerror(errno));
  }
  return Status::Ok();
}

Result<LockedKeyFile> LockAndLoad(const std::string& path) {
  APITRAIL_RETURN_IF_ERROR(EnsureParentDir(path));
  APITRAIL_ASSIGN_OR_RETURN(FileLock lock, FileLock::Acquire(path + ".lock"));
  APITRAIL_ASSIGN_OR_RETURN(KeySet set, LoadKeyFile(path));
  return LockedKeyFile{std::move(lock), set.keys()};
}

Status Store(const std::string& path, const std::vector<ApiKeyRecord>& keys) {
  return WriteFileAtomically(path, SerializeKeyFile(keys), 0600);
}

ApiKeyRecord* FindMutable(std::vector<ApiKeyRecord>& keys, const std::string& id) {
  for (auto& k : keys) {
    if (k.id == id) return &k;
  }
  return nullptr;
}

Result<GeneratedApiKey> AddNewKey(const std::string& path, LockedKeyFile& file, ApiKeyRecord r) {
  GeneratedApiKey g;
  // A random 8-char id collides with probability ~n/2^47; retry rather than overwrite.
  do {
    g = GenerateApiKey();
  } while (FindMutable(file.keys, g.id) != nullptr);
  r.id = g.id;
  r.hash = HashApiKey(g.key);
  APITRAIL_RETURN_IF_ERROR(ValidateRecord(r));
  file.keys.push_back(std::move(r));
  APITRAIL_RETURN_IF_ERROR(Store(path, file.keys));
  return g;
}

}  // namespace

Result<KeySet> KeySet::Build(std::vector<ApiKeyRecord> keys) {
  KeySet set;
  set.keys_ = std::move(keys);
  for (size_t i = 0; i < set.keys_.size(); ++i) {
    if (!set.index_.emplace(set.keys_[i].id, i).second) {
      return Status::InvalidArgument("duplicate key id " + set.keys_[i].id);
    }
  }
  return set;
}

const ApiKeyRecord* KeySet::Find(std::string_view id) const {
  auto it = index_.find(std::string(id));
  return it == index_.end() ? nullptr : &keys_[it->second];
}

std::string KeyFilePath(const ApiKeyAuthConfig& config, const std::string& data_dir) {
  if (!config.file.empty()) return config.file;
  return (data_dir.empty() ? std::string(".") : data_dir) + "/keys.json";
}

Result<KeySet> ParseKeyFile(std::string_view text, const std::string& path) {
  std::error_code ec;
  json::value root = json::parse(text, ec);
  if (ec) return Status::Corruption(path + ": not valid JSON: " + ec.message());
  if (!root.is_object()) return Status::Corruption(path + ": must be a JSON object");
  const json::object& o = root.get_object();
  const json::value* version = o.if_contains("version");
  if (version == nullptr || !version->is_int64() || version->get_int64() != 1) {
    return Status::Corruption(path + ": unsupported or missing \"version\" (expected 1)");
  }
  const json::value* keys = o.if_contains("keys");
  if (keys == nullptr || !keys->is_array()) {
    return Status::Corruption(path + ": \"keys\" must be an array");
  }
  std::vector<ApiKeyRecord> records;
  const json::array& arr = keys->get_array();
  records.reserve(arr.size());
  for (size_t i = 0; i < arr.size(); ++i) {
    auto r = ParseRecord(arr[i]);
    if (!r.ok()) {
      return Status::Corruption(path + ": keys[" + std::to_string(i) + "]." + r.status().message());
    }
    records.push_back(std::move(r).value());
  }
  auto set = KeySet::Build(std::move(records));
  if (!set.ok()) return Status::Corruption(path + ": " + set.status().message());
  return set;
}

std::string SerializeKeyFile(const std::vector<ApiKeyRecord>& keys) {
  std::string out = "{\"version\":1,\"keys\":[";
  for (size_t i = 0; i < keys.size(); ++i) {
    const ApiKeyRecord& r = keys[i];
    json::object o;
    o["id"] = r.id;
    o["hash"] = r.hash;
    o["subject"] = r.subject;
    json::array scopes;
    for (const auto& s : r.scopes) scopes.emplace_back(s);
    o["scopes"] = std::move(scopes);
    if (!r.roles.empty()) {
      json::array roles;
      for (const auto& s : r.roles) roles.emplace_back(s);
      o["roles"] = std::move(roles);
    }
    if (!r.tenant.empty()) o["tenant"] = r.tenant;
    o["created"] = FormatRfc3339(r.created_ns);
    if (r.expires_ns) o["expires"] = FormatRfc3339(*r.expires_ns);
    if (r.revoked_ns) o["revoked"] = FormatRfc3339(*r.revoked_ns);
    if (!r.rotated_from.empty()) o["rotated_from"] = r.rotated_from;
    if (!r.description.empty()) o["description"] = r.description;
    out += i == 0 ? "\n  " : ",\n  ";
    out += json::serialize(o);
  }
  out += keys.empty() ? "]}\n" : "\n]}\n";
  return out;
}

Result<KeySet> LoadKeyFile(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return Status::PermissionDenied(path + ": is writable by group or others; chmod 600 it");
  }
  auto text = ReadSmallFile(path);
  if (!text.ok()) {
    if (text.status().code() == StatusCode::kNotFound) return KeySet();
    return text.status();
  }
  return ParseKeyFile(*text, path);
}

Result<GeneratedApiKey> CreateKey(const std::string& path, const std::string& subject,
                                  const std::vector<std::string>& scopes,
                                  std::optional<int64_t> expires_ns,
                                  const std::string& description, int64_t now_ns) {
  NewKeySpec spec;
  spec.subject = subject;
  spec.scopes = scopes;
  spec.expires_ns = expires_ns;
  spec.description = description;
  return CreateKey(path, spec, now_ns);
}

Result<GeneratedApiKey> CreateKey(const std::string& path, const NewKeySpec& spec,
                                  int64_t now_ns) {
  if (spec.expires_ns && *spec.expires_ns <= now_ns) {
    return Status::InvalidArgument("expiry must be in the future");
  }
  ApiKeyRecord r;
  r.subject = spec.subject;
  r.scopes = spec.scopes;
  r.roles = spec.roles;
  r.tenant = spec.tenant;
  r.created_ns = now_ns;
  r.expires_ns = spec.expires_ns;
  r.description = spec.description;
  r.id = "00000000";
  r.hash.assign(64, '0');
  APITRAIL_RETURN_IF_ERROR(ValidateRecord(r));  // before taking the lock: fail fast on input
  for (const auto& s : r.scopes) {
    if (IsRoleLikeScope(s)) {
      return Status::InvalidArgument("scopes: '" + s.substr(0, 64) +
                                     "' would be recorded as a role; give roles with --roles");
    }
  }
  APITRAIL_ASSIGN_OR_RETURN(LockedKeyFile file, LockAndLoad(path));
  return AddNewKey(path, file, std::move(r));
}

Result<std::vector<ApiKeyRecord>> ListKeys(const std::string& path) {
  APITRAIL_ASSIGN_OR_RETURN(KeySet set, LoadKeyFile(path));
  return set.keys();
}

namespace {

// The id argument of revoke and rotate. Anything but a key id is not echoed: a whole key
// pasted instead of its id (the likeliest mistake) went to the terminal, a shell history
// of errors or a CI log as "no key with id 'atk_…'".
Status CheckKeyIdArgument(const std::string& id) {
  if (IsValidApiKeyId(id)) return Status::Ok();
  if (auto parsed = ParseApiKey(id); parsed.ok()) {
    return Status::InvalidArgument("that is a whole API key, not a key id (its id is " + *parsed +
                                   "); the key is not shown here");
  }
  return Status::InvalidArgument(
      "not a key id (8 letters and digits, as `keys list` shows them); the argument is not "
      "shown here, in case it is a secret");
}

}  // namespace

Status RevokeKey(const std::string& path, const std::string& id, int64_t now_ns) {
  APITRAIL_RETURN_IF_ERROR(CheckKeyIdArgument(id));
  APITRAIL_ASSIGN_OR_RETURN(LockedKeyFile file, LockAndLoad(path));
  ApiKeyRecord* r = FindMutable(file.keys, id);
  if (r == nullptr) return Status::NotFound("no key with id '" + id.substr(0, 64) + "' in " + path);
  if (r->revoked_ns) return Status::Ok();
  r->revoked_ns = now_ns;
  return Store(path, file.keys);
}

Result<GeneratedApiKey> RotateKey(const std::string& path, const std::string& id, int64_t now_ns,
                                  std::optional<int64_t> overlap_ns,
                                  std::optional<int64_t>* previous_expires_ns) {
  if (overlap_ns && *overlap_ns < 0) return Status::InvalidArgument("overlap must not be negative");
  // now + overlap past 2262 would wrap to a time in the past and expire the old key at once.
  int64_t overlap_until = 0;
  if (overlap_ns && __builtin_add_overflow(now_ns, *overlap_ns, &overlap_until)) {
    return Status::InvalidArgument("overlap reaches beyond 2262-04-11");
  }
  APITRAIL_RETURN_IF_ERROR(CheckKeyIdArgument(id));
  APITRAIL_ASSIGN_OR_RETURN(LockedKeyFile file, LockAndLoad(path));
  ApiKeyRecord* old = FindMutable(file.keys, id);
  if (old == nullptr) return Status::NotFound("no key with id '" + id.substr(0, 64) + "' in " + path);
  if (old->revoked_ns) return Status::InvalidArgument("key " + id + " is revoked; create a new key instead");
  // Rotation renews the secret, not the grant: an expired key is not silently extended.
  if (old->expires_ns && *old->expires_ns <= now_ns) {
    return Status::InvalidArgument("key " + id + " has expired; create a new key instead");
  }
  if (previous_expires_ns != nullptr) *previous_expires_ns = old->expires_ns;
  ApiKeyRecord r = *old;
  r.created_ns = now_ns;
  r.rotated_from = id;
  if (overlap_ns && (!old->expires_ns || *old->expires_ns > overlap_until)) {
    old->expires_ns = overlap_until;
  }
  // `old` may dangle once AddNewKey appends; nothing reads it after this point.
  return AddNewKey(path, file, std::move(r));
}

Status UndoRotation(const std::string& path, const std::string& new_id,
                    std::optional<int64_t> old_expires_ns, int64_t now_ns) {
  APITRAIL_RETURN_IF_ERROR(CheckKeyIdArgument(new_id));
  APITRAIL_ASSIGN_OR_RETURN(LockedKeyFile file, LockAndLoad(path));
  ApiKeyRecord* fresh = FindMutable(file.keys, new_id);
  if (fresh == nullptr || fresh->rotated_from.empty()) {
    return Status::NotFound("no rotated key with id '" + new_id + "' in " + path);
  }
  if (!fresh->revoked_ns) fresh->revoked_ns = now_ns;
  ApiKeyRecord* old = FindMutable(file.keys, fresh->rotated_from);
  if (old != nullptr && !old->revoked_ns) old->expires_ns = old_expires_ns;
  return Store(path, file.keys);
}

std::string LastUsedPath(const std::string& key_file) { return key_file + ".last_used"; }

Result<LastUsedMap> LoadLastUsed(const std::string& key_file) {
  std::string path = LastUsedPath(key_file);
  auto text = ReadSmallFile(path);
  if (!text.ok()) {
    if (text.status().code() == StatusCode::kNotFound) return LastUsedMap();
    return text.status();
  }
  std::error_code ec;
  json::value root = json::parse(*text, ec);
  const json::object* o = !ec && root.is_object() ? &root.get_object() : nullptr;
  const json::value* used = o ? o->if_contains("last_used") : nullptr;
  if (used == nullptr || !used->is_object()) {
    return Status::Corruption(path + ": expected {\"version\":1,\"last_used\":{...}}");
  }
  LastUsedMap out;
  for (const auto& [id, t] : used->get_object()) {
    Result<int64_t> ns = Status::InvalidArgument("not a string");
    if (t.is_string()) ns = ParseRfc3339(t.get_string());
    if (!ns.ok() || !IsValidApiKeyId(id)) {
      return Status::Corruption(path + ": last_used entries must be \"<key id>\": \"<RFC 3339>\"");
    }
    out[std::string(id)] = *ns;
  }
  return out;
}

Status MergeLastUsed(const std::string& key_file, const LastUsedMap& used,
                     const std::vector<std::string>* keep_ids) {
  APITRAIL_ASSIGN_OR_RETURN(FileLock lock, FileLock::Acquire(key_file + ".lock"));
  auto existing = LoadLastUsed(key_file);
  // A broken side file is replaced rather than blocking every later write.
  LastUsedMap merged = existing.ok() ? std::move(existing).value() : LastUsedMap();
  for (const auto& [id, t] : used) {
    int64_t& slot = merged[id];
    slot = std::max(slot, t);
  }
  std::unordered_set<std::string> keep;
  if (keep_ids) keep.insert(keep_ids->begin(), keep_ids->end());
  json::object o;
  std::vector<std::pair<std::string, int64_t>> sorted(merged.begin(), merged.end());
  std::sort(sorted.begin(), sorted.end());
  for (const auto& [id, t] : sorted) {
    if (keep_ids && !keep.count(id)) continue;
    o[id] = FormatRfc3339(t);
  }
  json::object root;
  root["version"] = 1;
  root["last_used"] = std::move(o);
  return WriteFileAtomically(LastUsedPath(key_file), json::serialize(root) + "\n", 0600);
}

}  // namespace apitrail
