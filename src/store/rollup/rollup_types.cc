#include "store/rollup/rollup_types.h"

#include "core/utf8.h"

namespace apitrail {

namespace {

// Cut at a UTF-8 character boundary: a cut through a character left its first byte(s),
// which the JSON answer writes as U+FFFD, so two long keys differing only in the character
// across byte 1024 (é, ж) became two rollup keys listed under the same name in one
// /stats/top answer. Backing off to the character's start makes them one key (the
// documented merge of keys equal in their first 1024 bytes) and keeps a key valid UTF-8.
void Cap(std::string* s) { s->resize(utf8::CutLength(*s, kMaxRollupKeyBytes)); }

}  // namespace

std::string_view RollupDimName(RollupDim d) {
  switch (d) {
    case RollupDim::kRoute: return "route";
    case RollupDim::kSubject: return "subject";
    case RollupDim::kClientIp: return "client_ip";
  }
  return "?";
}

bool ParseRollupDim(std::string_view s, RollupDim* out) {
  for (int i = 0; i < kRollupDims; ++i) {
    if (RollupDimName(static_cast<RollupDim>(i)) == s) {
      *out = static_cast<RollupDim>(i);
      return true;
    }
  }
  return false;
}

std::string_view RollupMetricName(RollupMetric m) {
  switch (m) {
    case RollupMetric::kRequests: return "requests";
    case RollupMetric::kErrors: return "errors";
    case RollupMetric::kClientErrors: return "client_errors";
    case RollupMetric::kDenied: return "denied";
  }
  return "?";
}

bool ParseRollupMetric(std::string_view s, RollupMetric* out) {
  for (auto m : {RollupMetric::kRequests, RollupMetric::kErrors, RollupMetric::kClientErrors,
                 RollupMetric::kDenied}) {
    if (RollupMetricName(m) == s) {
      *out = m;
      return true;
    }
  }
  return false;
}

namespace {

// Take and Copy: everything but the keys, which `counted` says whether to fill.
RollupEvent Counters(const AuditEvent& e) {
  RollupEvent r;
  r.time_ns = e.time_ns;
  r.status = static_cast<uint16_t>(e.status < 0 || e.status > 65535 ? 0 : e.status);
  r.denied = e.decision == "deny";
  // Admin, system and alert events are in the log but are not traffic; under durability
  // strict a forwarded request has two records, and its outcome is the one counted.
  r.counted = e.kind == "http" && e.phase != "intent";
  return r;
}

// A capped key's hash is of what is kept; a caller's hashes are of the whole strings.
void HashKeys(RollupEvent* r, const std::array<size_t, kRollupDims>* hashes) {
  for (int d = 0; d < kRollupDims; ++d) {
    std::string& k = r->keys[static_cast<size_t>(d)];
    if (hashes != nullptr && k.size() <= kMaxRollupKeyBytes) {
      r->key_hashes[static_cast<size_t>(d)] = (*hashes)[static_cast<size_t>(d)];
    } else {
      Cap(&k);
      r->key_hashes[static_cast<size_t>(d)] = StringHash{}(k);
    }
  }
  r->hashed = true;
}

}  // namespace

RollupEvent RollupEvent::Take(AuditEvent& e, const std::array<size_t, kRollupDims>* hashes) {
  RollupEvent r = Counters(e);
  if (!r.counted) return r;
  r.keys[0] = std::move(e.route);
  r.keys[1] = std::move(e.subject);
  r.keys[2] = std::move(e.client_ip);
  HashKeys(&r, hashes);
  return r;
}

RollupEvent RollupEvent::Copy(const AuditEvent& e, const std::array<size_t, kRollupDims>* hashes) {
  RollupEvent r = Counters(e);
  if (!r.counted) return r;
  r.keys = {e.route, e.subject, e.client_ip};
  HashKeys(&r, hashes);
  return r;
}

}  // namespace apitrail
