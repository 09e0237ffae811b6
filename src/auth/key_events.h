// Key management actions as audit events (DESIGN §2 "the product's own actions"). The
// `apitrail keys` CLI cannot append to the store (only the running server owns the writer),
// so the server diffs the key file it reloads against the one it had and records what
// changed (docs/OPERATIONS.md "Key management in the audit log"). Pure; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "auth/key_store.h"
#include "core/event.h"

namespace apitrail {

// One event per action, oldest first:
//   KEYS create   a key present in `after` but not in `before` (KEYS rotate if it names the
//                 key it replaced in rotated_from), at its `created` time;
//   KEYS revoke   a key revoked in `after` but not in `before`, at its `revoked` time;
//   KEYS expire   a key not revoked whose expiry lies in (since_ns, now_ns], at its expiry;
//   KEYS delete   a key in `before` that is gone from `after`, at now_ns.
// With `before` null (start-up: what happened while no server ran), create/rotate/revoke are
// the keys whose time lies in (since_ns, now_ns] instead.
// Fields: kind admin, no decision (an action, not an access decision), method KEYS, route "KEYS
// <action>", resources {key_id: <id>}, subject = the key's owner, auth_method api_key,
// credential_id = key id, scopes (roles as "role:<r>"), tenant, message. Never the hash.
std::vector<AuditEvent> KeyChangeEvents(const KeySet* before, const KeySet& after, int64_t since_ns,
                                        int64_t now_ns, const std::string& node);

}  // namespace apitrail
