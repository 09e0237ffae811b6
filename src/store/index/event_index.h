// EventIndex: in-memory indexes over the durable records, rebuilt at Open (issue #3 will
// persist them). Per seq: location and time; posting lists (ascending seqs) for subject,
// route, each resource "name=value", status, decision, method, client_ip, correlation_id,
// trace_id; event id → seq; per block of kBlockSize seqs the min/max time, so time ranges
// skip whole blocks (events are ordered by completion, not by time, so this stays exact).
// Not thread-safe: the store guards it with a shared_mutex (writer exclusive on publish).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/event.h"
#include "query/event_query.h"

namespace apitrail {

// The indexed fields of one event, extracted on the appending thread so the writer never
// decodes records.
struct IndexKeys {
  std::string id;
  int64_t time_ns = 0;
  int status = 0;
  std::string subject;
  std::string route;
  std::string decision;
  std::string method;
  std::string client_ip;
  std::string correlation_id;
  std::string trace_id;
  KeyValues resources;

  // Moves the indexed fields out of `e`.
  static IndexKeys FromEvent(AuditEvent&& e);
};

struct RecordLocation {
  uint32_t segment = 0;  // index into the store's segment list
  uint32_t length = 0;   // payload bytes
  uint64_t offset = 0;   // of the frame header
};

class EventIndex {
 public:
  static constexpr uint64_t kBlockSize = 1024;

  uint64_t size() const { return locations_.size(); }
  // `seq` must equal size(): records are indexed in log order.
  void Add(uint64_t seq, IndexKeys&& keys, const RecordLocation& location);
  const RecordLocation& location(uint64_t seq) const { return locations_[seq]; }
  std::optional<uint64_t> FindId(const std::string& id) const;

  // Seqs of up to q.limit matching records, newest first, below q.before_seq. *more is set
  // when at least one further match exists (so a cursor is worth returning).
  std::vector<uint64_t> Select(const EventQuery& q, bool* more) const;

 private:
  enum Field { kSubject, kRoute, kResource, kStatus, kDecision, kMethod, kClientIp,
               kCorrelationId, kTraceId, kFieldCount };
  using Postings = std::unordered_map<std::string, std::vector<uint64_t>>;
  struct TimeBlock {
    int64_t min_ns;
    int64_t max_ns;
  };

  void Post(Field f, const std::string& key, uint64_t seq);
  bool Matches(uint64_t seq, const EventQuery& q,
               const std::vector<const std::vector<uint64_t>*>& others) const;

  std::array<Postings, kFieldCount> postings_;
  std::vector<RecordLocation> locations_;
  std::vector<int64_t> times_;
  std::vector<uint16_t> statuses_;
  std::vector<TimeBlock> blocks_;
  std::unordered_map<std::string, uint64_t> ids_;
};

}  // namespace apitrail
