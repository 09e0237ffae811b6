#include "auth/key_events.h"

#include <algorithm>

#include "core/ids.h"
#include "core/time_util.h"

namespace apitrail {
namespace {

AuditEvent KeyEvent(const ApiKeyRecord& k, const char* action, int64_t time_ns, std::string message,
                    const std::string& node) {
  AuditEvent e;
  e.id = NewEventId(time_ns);
  e.node = node;
  e.time_ns = time_ns;
  e.kind = "admin";
  e.method = "KEYS";
  e.route = std::string("KEYS ") + action;
  e.resources = {{"key_id", k.id}};
  e.subject = k.subject;
  e.auth_method = "api_key";
  e.credential_id = k.id;
  e.scopes = k.scopes;
  for (const auto& r : k.roles) e.scopes.push_back("role:" + r);
  e.tenant = k.tenant;
  e.message = std::move(message);
  return e;
}

bool In(int64_t t, int64_t since_ns, int64_t now_ns) { return t > since_ns && t <= now_ns; }

}  // namespace

std::vector<AuditEvent> KeyChangeEvents(const KeySet* before, const KeySet& after, int64_t since_ns,
                                        int64_t now_ns, const std::string& node) {
  std::vector<AuditEvent> out;
  for (const ApiKeyRecord& k : after.keys()) {
    const ApiKeyRecord* old = before ? before->Find(k.id) : nullptr;
    bool is_new = before ? old == nullptr : In(k.created_ns, since_ns, now_ns);
    if (is_new) {
      if (k.rotated_from.empty()) {
        out.push_back(KeyEvent(k, "create", k.created_ns, "key " + k.id + " created", node));
      } else {
        std::string msg = "key " + k.id + " replaces " + k.rotated_from;
        if (const ApiKeyRecord* prev = after.Find(k.rotated_from); prev && prev->expires_ns) {
          msg += ", which expires at " + FormatRfc3339(*prev->expires_ns);
        }
        out.push_back(KeyEvent(k, "rotate", k.created_ns, std::move(msg), node));
      }
    }
    bool newly_revoked = k.revoked_ns && (before ? (old == nullptr || !old->revoked_ns)
                                                 : In(*k.revoked_ns, since_ns, now_ns));
    if (newly_revoked) {
      out.push_back(KeyEvent(k, "revoke", *k.revoked_ns, "key " + k.id + " revoked", node));
    }
    if (!k.revoked_ns && k.expires_ns && In(*k.expires_ns, since_ns, now_ns)) {
      out.push_back(KeyEvent(k, "expire", *k.expires_ns, "key " + k.id + " expired", node));
    }
  }
  if (before != nullptr) {
    for (const ApiKeyRecord& k : before->keys()) {
      if (after.Find(k.id) == nullptr) {
        out.push_back(
            KeyEvent(k, "delete", now_ns, "key " + k.id + " removed from the key file", node));
      }
    }
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const AuditEvent& a, const AuditEvent& b) { return a.time_ns < b.time_ns; });
  return out;
}

}  // namespace apitrail
