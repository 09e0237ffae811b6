#include "store/index/event_index.h"

#include <algorithm>
#include <utility>

namespace apitrail {

IndexKeys IndexKeys::FromEvent(AuditEvent&& e) {
  IndexKeys k;
  k.id = std::move(e.id);
  k.time_ns = e.time_ns;
  k.status = e.status;
  k.subject = std::move(e.subject);
  k.route = std::move(e.route);
  k.decision = std::move(e.decision);
  k.method = std::move(e.method);
  k.client_ip = std::move(e.client_ip);
  k.correlation_id = std::move(e.correlation_id);
  k.trace_id = std::move(e.trace_id);
  k.resources = std::move(e.resources);
  return k;
}

namespace {
std::string ResourceKey(const std::string& name, const std::string& value) {
  return name + "=" + value;
}
}  // namespace

void EventIndex::Post(Field f, const std::string& key, uint64_t seq) {
  if (!key.empty()) postings_[f][key].push_back(seq);
}

void EventIndex::Add(uint64_t seq, IndexKeys&& k, const RecordLocation& location) {
  locations_.push_back(location);
  times_.push_back(k.time_ns);
  statuses_.push_back(static_cast<uint16_t>(std::clamp(k.status, 0, 65535)));
  if (seq % kBlockSize == 0) {
    blocks_.push_back({k.time_ns, k.time_ns});
  } else {
    TimeBlock& b = blocks_.back();
    b.min_ns = std::min(b.min_ns, k.time_ns);
    b.max_ns = std::max(b.max_ns, k.time_ns);
  }
  Post(kSubject, k.subject, seq);
  Post(kRoute, k.route, seq);
  for (const auto& [name, value] : k.resources) Post(kResource, ResourceKey(name, value), seq);
  if (k.status != 0) Post(kStatus, std::to_string(k.status), seq);
  Post(kDecision, k.decision, seq);
  Post(kMethod, k.method, seq);
  Post(kClientIp, k.client_ip, seq);
  Post(kCorrelationId, k.correlation_id, seq);
  Post(kTraceId, k.trace_id, seq);
  if (!k.id.empty()) ids_.emplace(std::move(k.id), seq);
}

std::optional<uint64_t> EventIndex::FindId(const std::string& id) const {
  auto it = ids_.find(id);
  if (it == ids_.end()) return std::nullopt;
  return it->second;
}

bool EventIndex::Matches(uint64_t seq, const EventQuery& q,
                         const std::vector<const std::vector<uint64_t>*>& others) const {
  const int64_t t = times_[seq];
  if (q.since_ns && t < *q.since_ns) return false;
  if (q.until_ns && t >= *q.until_ns) return false;
  if (q.status_class && statuses_[seq] / 100 != *q.status_class) return false;
  for (const auto* list : others) {
    if (!std::binary_search(list->begin(), list->end(), seq)) return false;
  }
  return true;
}

std::vector<uint64_t> EventIndex::Select(const EventQuery& q, bool* more) const {
  *more = false;
  std::vector<uint64_t> out;
  // Equality filters become posting lists; a value never seen means no match at all.
  std::vector<const std::vector<uint64_t>*> lists;
  bool impossible = false;
  auto use = [&](Field f, const std::optional<std::string>& key) {
    if (!key) return;
    auto it = postings_[f].find(*key);
    if (it == postings_[f].end()) {
      impossible = true;
    } else {
      lists.push_back(&it->second);
    }
  };
  use(kSubject, q.subject);
  use(kRoute, q.route);
  if (q.resource) use(kResource, ResourceKey(q.resource->first, q.resource->second));
  if (q.status) use(kStatus, std::to_string(*q.status));
  use(kDecision, q.decision);
  use(kMethod, q.method);
  use(kClientIp, q.client_ip);
  use(kCorrelationId, q.correlation_id);
  use(kTraceId, q.trace_id);
  if (impossible) return out;

  const uint64_t end = std::min<uint64_t>(q.before_seq.value_or(size()), size());
  auto take = [&](uint64_t seq) {  // false: page full and one more match seen
    if (out.size() == q.limit) {
      *more = true;
      return false;
    }
    out.push_back(seq);
    return true;
  };

  if (!lists.empty()) {
    // Drive the walk with the shortest list; check the others by binary search.
    auto shortest = std::min_element(lists.begin(), lists.end(),
                                     [](auto* a, auto* b) { return a->size() < b->size(); });
    const std::vector<uint64_t>& driver = **shortest;
    lists.erase(shortest);
    auto it = std::lower_bound(driver.begin(), driver.end(), end);
    while (it != driver.begin()) {
      const uint64_t seq = *--it;
      if (Matches(seq, q, lists) && !take(seq)) break;
    }
    return out;
  }

  // No equality filter: newest first over all seqs, skipping blocks outside the time range.
  const bool timed = q.since_ns.has_value() || q.until_ns.has_value();
  uint64_t seq = end;
  while (seq > 0) {
    const uint64_t block = (seq - 1) / kBlockSize;
    if (timed) {
      const TimeBlock& b = blocks_[block];
      if ((q.since_ns && b.max_ns < *q.since_ns) || (q.until_ns && b.min_ns >= *q.until_ns)) {
        seq = block * kBlockSize;
        continue;
      }
    }
    --seq;
    if (Matches(seq, q, lists) && !take(seq)) break;
  }
  return out;
}

}  // namespace apitrail
