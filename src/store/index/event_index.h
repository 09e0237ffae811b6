// EventIndex: in-memory indexes over the durable records, rebuilt at Open (issue #3 will
// persist them). Per seq: location and time; posting lists (ascending seqs) for subject,
// route, each resource "name=value", status, decision, method, client_ip, correlation_id,
// trace_id; event id → seq; per block of kBlockSize seqs (and super block of 64) the min/max time, so time ranges
// skip whole blocks (events are ordered by completion, not by time, so this stays exact).
// Not thread-safe: the store guards it with a shared_mutex (writer exclusive on publish).
#pragma once

#include <boost/unordered/unordered_flat_map.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/event.h"
#include "store/index/chunked_vector.h"
#include "store/index/flat_multimap.h"
#include "query/event_query.h"

namespace apitrail {

// The indexed fields of one event as 64-bit key hashes (0: field empty), computed on the
// appending thread so the writer neither decodes records nor allocates a string per key.
// Posting lists are keyed by these hashes; a collision can only add candidates, and
// LogStore drops any candidate whose record does not match the query exactly.
struct IndexKeys {
  uint64_t id = 0;
  int64_t time_ns = 0;
  int status = 0;
  uint64_t subject = 0;
  uint64_t route = 0;
  uint64_t decision = 0;
  uint64_t method = 0;
  uint64_t client_ip = 0;
  uint64_t correlation_id = 0;
  uint64_t trace_id = 0;
  uint64_t intent = 0;  // an outcome's intent_id
  std::vector<uint64_t> resources;

  static IndexKeys FromEvent(const AuditEvent& e) { return FromEvent(e, e.id); }
  // With `id` in place of e.id (see EncodeRecord's overload). `route_subject_client_ip`,
  // when given, receives the std::hash of those three strings, which the keys are made of
  // and the rollups look them up by (StringHash, RollupEvent::Copy).
  static IndexKeys FromEvent(const AuditEvent& e, std::string_view id,
                             std::array<size_t, 3>* route_subject_client_ip = nullptr);
};

struct RecordLocation {
  uint32_t segment = 0;  // index into the store's segment list
  uint32_t length = 0;   // payload bytes
  uint64_t offset = 0;   // of the frame header
};

class EventIndex {
 public:
  static constexpr uint64_t kBlockSize = 1024;
  // Time ranges are kept per block and per super block of 64 blocks: a past day's query
  // skips the hundreds of newer blocks of a busy store by their super blocks.
  static constexpr uint64_t kSuperBlockSize = 64 * kBlockSize;

  // Records below `base` are not indexed here (they are in sealed parts, which carry their
  // own indexes); call before the first Add.
  void SetBase(uint64_t base) { base_ = base; }
  uint64_t base() const { return base_; }
  // One past the newest indexed seq.
  uint64_t size() const { return base_ + locations_.size(); }
  // `seq` must equal size(): records are indexed in log order.
  void Add(uint64_t seq, IndexKeys&& keys, const RecordLocation& location);
  // A hint that `keys` are added soon: starts loading the hash-table slots of their nearly
  // unique fields, which are cache and TLB misses. A committer that
  // adds a batch calls it a few records ahead of Add, so the misses overlap.
  void Prefetch(const IndexKeys& keys) const;
  // base() <= seq < size().
  const RecordLocation& location(uint64_t seq) const { return locations_[seq - base_]; }
  // The seq of the event with this id (the first one whose id hash matches: callers that
  // need certainty compare the record's id, see FindIdCandidates).
  std::optional<uint64_t> FindId(const std::string& id) const;
  std::vector<uint64_t> FindIdCandidates(const std::string& id) const;
  // Seqs that may be the outcome of the intent with this id (same caveat as ids).
  std::vector<uint64_t> FindOutcomeCandidates(const std::string& intent_id) const;

  // Seqs (>= base()) of up to q.limit matching records, newest first, below q.before_seq. *more is set
  // when at least one further match exists (so a cursor is worth returning).
  std::vector<uint64_t> Select(const EventQuery& q, bool* more) const;

 private:
  enum Field { kSubject, kRoute, kResource, kStatus, kDecision, kMethod, kClientIp,
               kCorrelationId, kTraceId, kFieldCount };
  // Open addressing (Boost 1.81's flat map): one probe of a contiguous array per key, where
  // std::unordered_map chased a node pointer; the writer adds ~8 postings per record under
  // the exclusive lock, and this was its largest user-space cost.
  // A posting list: ascending seqs. Chunked so that a popular key's list never copies
  // itself whole (chunked_vector.h).
  using SeqList = ChunkedVector<uint64_t>;
  using Postings = boost::unordered_flat_map<uint64_t, SeqList>;
  struct TimeBlock {
    int64_t min_ns;
    int64_t max_ns;
  };

  void Post(Field f, uint64_t key, uint64_t seq);
  bool Matches(uint64_t seq, const EventQuery& q,
               const std::vector<const SeqList*>& others) const;

  uint64_t base_ = 0;
  std::array<Postings, kFieldCount> postings_;
  ChunkedVector<RecordLocation> locations_;
  ChunkedVector<int64_t> times_;
  ChunkedVector<uint16_t> statuses_;
  std::vector<TimeBlock> blocks_;
  std::vector<TimeBlock> super_blocks_;
  // When seq's super block, or else its block, lies outside q's time range: the first seq of
  // that range (a walk newest first continues below it); nullopt when seq's block may match.
  // seq ≥ base_.
  std::optional<uint64_t> SkipTo(uint64_t seq, const EventQuery& q) const;
  // Ids, correlation ids and trace ids are (nearly) unique per event: a multimap node per
  // event instead of a posting vector each (one allocation, not two).
  FlatMultiMap ids_;  // id hash → seq
  FlatMultiMap correlation_ids_;
  FlatMultiMap trace_ids_;
  FlatMultiMap outcomes_;  // intent id hash → seq of its outcome
};

}  // namespace apitrail
