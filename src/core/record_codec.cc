#include "core/record_codec.h"

#include <cstdint>

#include "core/utf8.h"

namespace apitrail {

namespace {

// Field numbers of docs/record.proto. Never renumber: they are in every stored record.
// 1–15 take a one-byte key, so they go to the fields nearly every http event has.
enum Field : uint32_t {
  kId = 1,
  kTimeNs = 2,
  kDurationUs = 3,
  kKind = 4,
  kDecision = 5,
  kSubject = 6,
  kAuthMethod = 7,
  kCredentialId = 8,
  kMethod = 9,
  kPath = 10,
  kRoute = 11,
  kResources = 12,
  kStatus = 13,
  kClientIp = 14,
  kCorrelationId = 15,
  kNode = 16,
  kDenyReason = 17,
  kIssuer = 18,
  kScopes = 19,
  kTenant = 20,
  kHost = 21,
  kQuery = 22,
  kBodyFields = 23,
  kBytesIn = 24,
  kBytesOut = 25,
  kUserAgent = 26,
  kInvalidRequestId = 27,
  kTraceId = 28,
  kSpanId = 29,
  kParentSpanId = 30,
  kTracestate = 31,
  kUpstream = 32,
  kSensitive = 33,
  kService = 34,
  kMessage = 35,
  kPhase = 36,
  kIntentId = 37,
};

enum WireType : uint32_t { kVarint = 0, kFixed64 = 1, kLen = 2, kFixed32 = 5 };

// KeyValue message fields.
constexpr uint32_t kKvKey = 1;
constexpr uint32_t kKvValue = 2;

size_t VarintSize(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) { v >>= 7; ++n; }
  return n;
}

void PutVarint(std::string* out, uint64_t v) {
  char buf[10];
  size_t n = 0;
  while (v >= 0x80) {
    buf[n++] = static_cast<char>((v & 0x7F) | 0x80);
    v >>= 7;
  }
  buf[n++] = static_cast<char>(v);
  out->append(buf, n);
}

void PutKey(std::string* out, uint32_t field, WireType type) {
  PutVarint(out, (static_cast<uint64_t>(field) << 3) | type);
}

void PutStringValue(std::string* out, std::string_view s) {
  const size_t len = utf8::ValidLength(s);
  PutVarint(out, len);
  if (len == s.size()) {
    out->append(s);  // valid as it is: the common case, no second scan
  } else {
    utf8::AppendValid(out, s);
  }
}

void PutString(std::string* out, uint32_t field, std::string_view s) {
  if (s.empty()) return;
  PutKey(out, field, kLen);
  PutStringValue(out, s);
}

void PutUint(std::string* out, uint32_t field, uint64_t v) {
  if (v == 0) return;
  PutKey(out, field, kVarint);
  PutVarint(out, v);
}

size_t StringFieldSize(uint32_t field, std::string_view s) {
  const size_t len = utf8::ValidLength(s);
  return VarintSize(static_cast<uint64_t>(field) << 3) + VarintSize(len) + len;
}

void PutKeyValues(std::string* out, uint32_t field, const KeyValues& kvs) {
  for (const auto& [k, v] : kvs) {
    // Empty keys and values are still entries; only the empty string fields are omitted.
    size_t inner = (k.empty() ? 0 : StringFieldSize(kKvKey, k)) +
                   (v.empty() ? 0 : StringFieldSize(kKvValue, v));
    PutKey(out, field, kLen);
    PutVarint(out, inner);
    PutString(out, kKvKey, k);
    PutString(out, kKvValue, v);
  }
}

// Bounds-checked reader over one record; every failure names the byte offset.
class Reader {
 public:
  explicit Reader(std::string_view b) : b_(b) {}
  bool Done() const { return pos_ >= b_.size(); }
  size_t pos() const { return pos_; }

  Status Varint(uint64_t* v) {
    uint64_t result = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= b_.size()) return Error("truncated varint");
      auto byte = static_cast<unsigned char>(b_[pos_++]);
      result |= static_cast<uint64_t>(byte & 0x7F) << shift;
      if ((byte & 0x80) == 0) {
        *v = result;
        return Status::Ok();
      }
    }
    return Error("varint longer than 10 bytes");
  }

  Status Bytes(std::string_view* s) {
    uint64_t len = 0;
    APITRAIL_RETURN_IF_ERROR(Varint(&len));
    if (len > b_.size() - pos_) return Error("length past the end of the record");
    *s = b_.substr(pos_, static_cast<size_t>(len));
    pos_ += static_cast<size_t>(len);
    return Status::Ok();
  }

  Status Skip(uint32_t type) {
    uint64_t ignored;
    std::string_view ignored_bytes;
    switch (type) {
      case kVarint: return Varint(&ignored);
      case kLen: return Bytes(&ignored_bytes);
      case kFixed64: return Advance(8);
      case kFixed32: return Advance(4);
      default: return Error("unsupported wire type " + std::to_string(type));
    }
  }

  Status Error(const std::string& what) const {
    return Status::Corruption("record: " + what + " at byte " + std::to_string(pos_));
  }

 private:
  Status Advance(size_t n) {
    if (n > b_.size() - pos_) return Error("field past the end of the record");
    pos_ += n;
    return Status::Ok();
  }

  std::string_view b_;
  size_t pos_ = 0;
};

Status DecodeKeyValue(std::string_view bytes, KeyValues* out) {
  Reader r(bytes);
  std::string_view key, value;
  while (!r.Done()) {
    uint64_t tag = 0;
    APITRAIL_RETURN_IF_ERROR(r.Varint(&tag));
    const auto field = static_cast<uint32_t>(tag >> 3);
    const auto type = static_cast<uint32_t>(tag & 7);
    if ((field == kKvKey || field == kKvValue) && type == kLen) {
      APITRAIL_RETURN_IF_ERROR(r.Bytes(field == kKvKey ? &key : &value));
    } else {
      APITRAIL_RETURN_IF_ERROR(r.Skip(type));
    }
  }
  out->emplace_back(std::string(key), std::string(value));
  return Status::Ok();
}

// The string member a length-delimited field number decodes into, or nullptr.
std::string* StringMember(AuditEvent& e, uint32_t field) {
  switch (field) {
    case kId: return &e.id;
    case kKind: return &e.kind;
    case kDecision: return &e.decision;
    case kSubject: return &e.subject;
    case kAuthMethod: return &e.auth_method;
    case kCredentialId: return &e.credential_id;
    case kMethod: return &e.method;
    case kPath: return &e.path;
    case kRoute: return &e.route;
    case kClientIp: return &e.client_ip;
    case kCorrelationId: return &e.correlation_id;
    case kNode: return &e.node;
    case kDenyReason: return &e.deny_reason;
    case kIssuer: return &e.issuer;
    case kTenant: return &e.tenant;
    case kHost: return &e.host;
    case kUserAgent: return &e.user_agent;
    case kInvalidRequestId: return &e.invalid_request_id;
    case kTraceId: return &e.trace_id;
    case kSpanId: return &e.span_id;
    case kParentSpanId: return &e.parent_span_id;
    case kTracestate: return &e.tracestate;
    case kUpstream: return &e.upstream;
    case kService: return &e.service;
    case kMessage: return &e.message;
    case kPhase: return &e.phase;
    case kIntentId: return &e.intent_id;
    default: return nullptr;
  }
}

KeyValues* KeyValuesMember(AuditEvent& e, uint32_t field) {
  switch (field) {
    case kResources: return &e.resources;
    case kQuery: return &e.query;
    case kBodyFields: return &e.body_fields;
    default: return nullptr;
  }
}

Result<AuditEvent> DecodeBinary(std::string_view bytes) {
  AuditEvent e;
  e.kind.clear();  // the default "http" must come from the record, not the struct
  bool has_time = false;
  Reader r(bytes);
  while (!r.Done()) {
    const size_t at = r.pos();
    uint64_t tag = 0;
    APITRAIL_RETURN_IF_ERROR(r.Varint(&tag));
    const auto field = static_cast<uint32_t>(tag >> 3);
    const auto type = static_cast<uint32_t>(tag & 7);
    if (field == 0) return Status::Corruption("record: field number 0 at byte " + std::to_string(at));
    const bool known_len = StringMember(e, field) != nullptr || KeyValuesMember(e, field) != nullptr ||
                           field == kScopes;
    const bool known_varint = field == kTimeNs || field == kDurationUs || field == kStatus ||
                              field == kBytesIn || field == kBytesOut || field == kSensitive;
    if ((known_len && type != kLen) || (known_varint && type != kVarint)) {
      return Status::Corruption("record: field " + std::to_string(field) + " has wire type " +
                                std::to_string(type) + " at byte " + std::to_string(at));
    }
    if (known_len) {
      std::string_view s;
      APITRAIL_RETURN_IF_ERROR(r.Bytes(&s));
      if (std::string* m = StringMember(e, field)) {
        m->assign(s);
      } else if (KeyValues* kv = KeyValuesMember(e, field)) {
        APITRAIL_RETURN_IF_ERROR(DecodeKeyValue(s, kv));
      } else {
        e.scopes.emplace_back(s);
      }
    } else if (known_varint) {
      uint64_t v = 0;
      APITRAIL_RETURN_IF_ERROR(r.Varint(&v));
      switch (field) {
        case kTimeNs: e.time_ns = static_cast<int64_t>(v); has_time = true; break;
        case kDurationUs: e.duration_us = static_cast<int64_t>(v); break;
        case kStatus: e.status = static_cast<int>(v); break;
        case kBytesIn: e.bytes_in = v; break;
        case kBytesOut: e.bytes_out = v; break;
        case kSensitive: e.sensitive = v != 0; break;
        default: break;
      }
    } else {
      APITRAIL_RETURN_IF_ERROR(r.Skip(type));
    }
  }
  if (e.id.empty()) return Status::Corruption("record has no id");
  if (!has_time) return Status::Corruption("record has no time");
  return e;
}

}  // namespace

std::string EncodeRecord(const AuditEvent& e) {
  std::string out;
  out.reserve(384);
  PutString(&out, kId, e.id);
  // time is always written, even 0, so that a record without it is detectably malformed.
  PutKey(&out, kTimeNs, kVarint);
  PutVarint(&out, static_cast<uint64_t>(e.time_ns));
  if (e.duration_us >= 0) {
    PutKey(&out, kDurationUs, kVarint);
    PutVarint(&out, static_cast<uint64_t>(e.duration_us));
  }
  PutString(&out, kKind, e.kind);
  PutString(&out, kDecision, e.decision);
  PutString(&out, kSubject, e.subject);
  PutString(&out, kAuthMethod, e.auth_method);
  PutString(&out, kCredentialId, e.credential_id);
  PutString(&out, kMethod, e.method);
  PutString(&out, kPath, e.path);
  PutString(&out, kRoute, e.route);
  PutKeyValues(&out, kResources, e.resources);
  if (e.status > 0) PutUint(&out, kStatus, static_cast<uint64_t>(e.status));
  PutString(&out, kClientIp, e.client_ip);
  PutString(&out, kCorrelationId, e.correlation_id);
  PutString(&out, kNode, e.node);
  PutString(&out, kDenyReason, e.deny_reason);
  PutString(&out, kIssuer, e.issuer);
  for (const auto& s : e.scopes) {
    // A repeated field keeps empty entries: dropping one would change the list.
    PutKey(&out, kScopes, kLen);
    PutStringValue(&out, s);
  }
  PutString(&out, kTenant, e.tenant);
  PutString(&out, kHost, e.host);
  PutKeyValues(&out, kQuery, e.query);
  PutKeyValues(&out, kBodyFields, e.body_fields);
  PutUint(&out, kBytesIn, e.bytes_in);
  PutUint(&out, kBytesOut, e.bytes_out);
  PutString(&out, kUserAgent, e.user_agent);
  PutString(&out, kInvalidRequestId, e.invalid_request_id);
  PutString(&out, kTraceId, e.trace_id);
  PutString(&out, kSpanId, e.span_id);
  PutString(&out, kParentSpanId, e.parent_span_id);
  PutString(&out, kTracestate, e.tracestate);
  PutString(&out, kUpstream, e.upstream);
  if (e.sensitive) PutUint(&out, kSensitive, 1);
  PutString(&out, kService, e.service);
  PutString(&out, kMessage, e.message);
  PutString(&out, kPhase, e.phase);
  PutString(&out, kIntentId, e.intent_id);
  return out;
}

Result<AuditEvent> DecodeRecord(std::string_view bytes) {
  if (!bytes.empty() && bytes.front() == '{') return DecodeEventJson(bytes);
  return DecodeBinary(bytes);
}

}  // namespace apitrail
