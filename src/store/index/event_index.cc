#include "store/index/event_index.h"

#include <algorithm>
#include <utility>

namespace apitrail {

namespace {

// KeyHash from the value's std::hash, `base`, where the caller has it already.
uint64_t KeyHashOfBase(uint64_t field, std::string_view value, size_t base) {
  if (value.empty()) return 0;
  uint64_t h = base ^ (field * 0x9E3779B97F4A7C15ull);
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  return h == 0 ? 1 : h;
}

// Field-tagged 64-bit hash of a key; never 0 (0 marks an empty field).
uint64_t KeyHash(uint64_t field, std::string_view value) {
  return value.empty() ? 0 : KeyHashOfBase(field, value, std::hash<std::string_view>{}(value));
}

enum : uint64_t { kIdTag = 100, kResourceTag = 101, kIntentTag = 102 };

// "name=value" hashed without building that string (three allocations per resource on
// the append path): the two halves' hashes combined, so "a=b"/"c" and "a"/"b=c" differ.
uint64_t ResourceHash(std::string_view name, std::string_view value) {
  const uint64_t h = std::hash<std::string_view>{}(name) * 0x9E3779B97F4A7C15ull +
                     std::hash<std::string_view>{}(value);
  return KeyHash(kResourceTag, std::string_view(reinterpret_cast<const char*>(&h), sizeof h));
}

uint64_t StatusHash(int status) { return status == 0 ? 0 : static_cast<uint64_t>(status); }

}  // namespace

IndexKeys IndexKeys::FromEvent(const AuditEvent& e, std::string_view id,
                               std::array<size_t, 3>* route_subject_client_ip) {
  const std::hash<std::string_view> hash;
  const std::array<size_t, 3> base = {hash(e.route), hash(e.subject), hash(e.client_ip)};
  if (route_subject_client_ip != nullptr) *route_subject_client_ip = base;
  IndexKeys k;
  k.id = KeyHash(kIdTag, id);
  k.time_ns = e.time_ns;
  k.status = e.status;
  k.subject = KeyHashOfBase(0, e.subject, base[1]);
  k.route = KeyHashOfBase(1, e.route, base[0]);
  k.decision = KeyHash(2, e.decision);
  k.method = KeyHash(3, e.method);
  k.client_ip = KeyHashOfBase(4, e.client_ip, base[2]);
  k.correlation_id = KeyHash(5, e.correlation_id);
  k.trace_id = KeyHash(6, e.trace_id);
  k.intent = KeyHash(kIntentTag, e.intent_id);
  k.resources.reserve(e.resources.size());
  for (const auto& [name, value] : e.resources) k.resources.push_back(ResourceHash(name, value));
  return k;
}

void EventIndex::Post(Field f, uint64_t key, uint64_t seq) {
  if (key != 0) postings_[f][key].push_back(seq);
}

void EventIndex::Add(uint64_t seq, IndexKeys&& k, const RecordLocation& location) {
  locations_.push_back(location);
  times_.push_back(k.time_ns);
  statuses_.push_back(static_cast<uint16_t>(std::clamp(k.status, 0, 65535)));
  for (auto [list, size] : {std::pair{&blocks_, kBlockSize}, std::pair{&super_blocks_, kSuperBlockSize}}) {
    if ((seq - base_) % size == 0) {
      list->push_back({k.time_ns, k.time_ns});
    } else {
      TimeBlock& b = list->back();
      b.min_ns = std::min(b.min_ns, k.time_ns);
      b.max_ns = std::max(b.max_ns, k.time_ns);
    }
  }
  Post(kSubject, k.subject, seq);
  Post(kRoute, k.route, seq);
  for (uint64_t r : k.resources) Post(kResource, r, seq);
  Post(kStatus, StatusHash(k.status), seq);
  Post(kDecision, k.decision, seq);
  Post(kMethod, k.method, seq);
  Post(kClientIp, k.client_ip, seq);
  if (k.correlation_id != 0) correlation_ids_.Insert(k.correlation_id, seq);
  if (k.trace_id != 0) trace_ids_.Insert(k.trace_id, seq);
  if (k.id != 0) ids_.Insert(k.id, seq);
  if (k.intent != 0) outcomes_.Insert(k.intent, seq);
}

void EventIndex::Prefetch(const IndexKeys& k) const {
  // The posting lists of fields with many values: their slot in the map (loaded by find)
  // and the end of the list that Post will write, each a cache miss otherwise (in
  // store_append_bench, 46% and 27% of Post's samples).
  auto list_end = [this](Field f, uint64_t key) {
    if (key == 0) return;
    if (auto it = postings_[f].find(key); it != postings_[f].end()) {
      if (const uint64_t* slot = it->second.NextSlot()) __builtin_prefetch(slot, 1);
    }
  };
  list_end(kSubject, k.subject);
  list_end(kClientIp, k.client_ip);
  list_end(kRoute, k.route);
  for (uint64_t r : k.resources) list_end(kResource, r);
  if (k.correlation_id != 0) correlation_ids_.Prefetch(k.correlation_id);
  if (k.trace_id != 0) trace_ids_.Prefetch(k.trace_id);
  if (k.id != 0) ids_.Prefetch(k.id);
}

std::vector<uint64_t> EventIndex::FindIdCandidates(const std::string& id) const {
  std::vector<uint64_t> out;
  ids_.FindAll(KeyHash(kIdTag, id), &out);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<uint64_t> EventIndex::FindOutcomeCandidates(const std::string& intent_id) const {
  std::vector<uint64_t> out;
  outcomes_.FindAll(KeyHash(kIntentTag, intent_id), &out);
  std::sort(out.begin(), out.end());
  return out;
}

std::optional<uint64_t> EventIndex::FindId(const std::string& id) const {
  auto c = FindIdCandidates(id);
  if (c.empty()) return std::nullopt;
  return c.front();
}

bool EventIndex::Matches(uint64_t seq, const EventQuery& q,
                         const std::vector<const SeqList*>& others) const {
  const int64_t t = times_[seq - base_];
  if (q.since_ns && t < *q.since_ns) return false;
  if (q.until_ns && t >= *q.until_ns) return false;
  if (q.status_class && statuses_[seq - base_] / 100 != *q.status_class) return false;
  for (const SeqList* list : others) {
    if (!list->Contains(seq)) return false;
  }
  return true;
}

std::optional<uint64_t> EventIndex::SkipTo(uint64_t seq, const EventQuery& q) const {
  const auto outside = [&q](const TimeBlock& b) {
    return (q.since_ns && b.max_ns < *q.since_ns) || (q.until_ns && b.min_ns >= *q.until_ns);
  };
  const uint64_t rel = seq - base_;
  if (outside(super_blocks_[rel / kSuperBlockSize])) return base_ + rel / kSuperBlockSize * kSuperBlockSize;
  if (outside(blocks_[rel / kBlockSize])) return base_ + rel / kBlockSize * kBlockSize;
  return std::nullopt;
}

std::vector<uint64_t> EventIndex::Select(const EventQuery& q, bool* more) const {
  *more = false;
  std::vector<uint64_t> out;
  // Equality filters become posting lists; a value never seen means no match at all.
  std::vector<const SeqList*> lists;
  bool impossible = false;
  auto use_hash = [&](Field f, uint64_t hash) {
    auto it = postings_[f].find(hash);
    if (it == postings_[f].end()) {
      impossible = true;
    } else {
      lists.push_back(&it->second);
    }
  };
  auto use = [&](Field f, uint64_t tag, const std::optional<std::string>& key) {
    if (key) use_hash(f, KeyHash(tag, *key));
  };
  use(kSubject, 0, q.subject);
  use(kRoute, 1, q.route);
  if (q.resource) use_hash(kResource, ResourceHash(q.resource->first, q.resource->second));
  if (q.status) use_hash(kStatus, StatusHash(*q.status));
  use(kDecision, 2, q.decision);
  use(kMethod, 3, q.method);
  use(kClientIp, 4, q.client_ip);
  // The unique-ish fields live in multimaps: gather their (few) seqs into sorted lists.
  std::vector<SeqList> gathered;
  gathered.reserve(2);  // `lists` points into it: no reallocation
  auto use_multi = [&](const FlatMultiMap& m, uint64_t tag, const std::optional<std::string>& key) {
    if (!key) return;
    std::vector<uint64_t> v;
    m.FindAll(KeyHash(tag, *key), &v);
    if (v.empty()) {
      impossible = true;
      return;
    }
    std::sort(v.begin(), v.end());
    SeqList& list = gathered.emplace_back();
    for (uint64_t seq : v) list.push_back(seq);
    lists.push_back(&list);
  };
  use_multi(correlation_ids_, 5, q.correlation_id);
  use_multi(trace_ids_, 6, q.trace_id);
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
    const SeqList& driver = **shortest;
    lists.erase(shortest);
    // A time range skips whole blocks of seqs, as below: a busy subject's day in the past
    // must not test every one of its newer postings.
    const bool timed = q.since_ns.has_value() || q.until_ns.has_value();
    for (size_t i = driver.LowerBound(end); i > 0;) {
      const uint64_t seq = driver[i - 1];
      if (timed && seq >= base_) {
        if (const std::optional<uint64_t> below = SkipTo(seq, q)) {
          i = driver.LowerBound(*below);
          continue;
        }
      }
      --i;
      if (Matches(seq, q, lists) && !take(seq)) break;
    }
    return out;
  }

  // No equality filter: newest first over all seqs, skipping blocks outside the time range.
  const bool timed = q.since_ns.has_value() || q.until_ns.has_value();
  uint64_t seq = end;
  while (seq > base_) {
    if (timed) {
      if (const std::optional<uint64_t> below = SkipTo(seq - 1, q)) {
        seq = *below;
        continue;
      }
    }
    --seq;
    if (Matches(seq, q, lists) && !take(seq)) break;
  }
  return out;
}

}  // namespace apitrail
