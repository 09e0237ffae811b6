#include "core/record_codec.h"

#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>

#include "core/assert.h"
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

// The string fields and the members they hold: the one list that decoding, the field
// checks and the encoder's size bound read (EncodeRecord writes them in field order).
struct StringField {
  uint32_t field;
  std::string AuditEvent::*member;
};
constexpr StringField kStringFields[] = {
    {kId, &AuditEvent::id},
    {kKind, &AuditEvent::kind},
    {kDecision, &AuditEvent::decision},
    {kSubject, &AuditEvent::subject},
    {kAuthMethod, &AuditEvent::auth_method},
    {kCredentialId, &AuditEvent::credential_id},
    {kMethod, &AuditEvent::method},
    {kPath, &AuditEvent::path},
    {kRoute, &AuditEvent::route},
    {kClientIp, &AuditEvent::client_ip},
    {kCorrelationId, &AuditEvent::correlation_id},
    {kNode, &AuditEvent::node},
    {kDenyReason, &AuditEvent::deny_reason},
    {kIssuer, &AuditEvent::issuer},
    {kTenant, &AuditEvent::tenant},
    {kHost, &AuditEvent::host},
    {kUserAgent, &AuditEvent::user_agent},
    {kInvalidRequestId, &AuditEvent::invalid_request_id},
    {kTraceId, &AuditEvent::trace_id},
    {kSpanId, &AuditEvent::span_id},
    {kParentSpanId, &AuditEvent::parent_span_id},
    {kTracestate, &AuditEvent::tracestate},
    {kUpstream, &AuditEvent::upstream},
    {kService, &AuditEvent::service},
    {kMessage, &AuditEvent::message},
    {kPhase, &AuditEvent::phase},
    {kIntentId, &AuditEvent::intent_id},
};

// kStringFields by field number (null: not a string field), for the decoder's per-field
// lookup.
constexpr uint32_t kMaxField = kIntentId;
constexpr std::array<std::string AuditEvent::*, kMaxField + 1> MakeStringMembers() {
  std::array<std::string AuditEvent::*, kMaxField + 1> t{};
  for (const StringField& f : kStringFields) t[f.field] = f.member;
  return t;
}
constexpr std::array<std::string AuditEvent::*, kMaxField + 1> kStringMembers = MakeStringMembers();

std::string AuditEvent::*StringMemberPtr(uint32_t field) {
  return field <= kMaxField ? kStringMembers[field] : nullptr;
}

// Writes one record into a buffer sized up front (RecordBound), so that a field is a few
// stores and a memcpy instead of std::string appends, each with its capacity check:
// encoding is done for every event on the request path. The output is byte for byte what
// the field order below prescribes (GoldenBytes pins it): sealed parts re-encode records
// and must reproduce their leaf hashes.
//
// Sized for strings written as they are (kAsIs), a string whose invalid UTF-8 must be
// replaced does not fit: it is skipped and overflowed() set, and the caller encodes again
// sized for the worst case (kReplaced). The first size is ~1/3 of the second, so the
// common record neither zero-fills nor carries through the store a buffer 3x its size.
enum class Bound { kAsIs = 1, kReplaced = 3 };

class Encoder {
 public:
  // kSlack: String's ASCII check may read a few bytes past what it wrote.
  Encoder(size_t size, Bound bound) : out_(size + kSlack, '\0'), p_(out_.data()), bound_(bound) {}

  bool overflowed() const { return overflowed_; }

  void Varint(uint64_t v) {
    while (v >= 0x80) {
      *p_++ = static_cast<char>((v & 0x7F) | 0x80);
      v >>= 7;
    }
    *p_++ = static_cast<char>(v);
  }

  void Key(uint32_t field, WireType type) { Varint((static_cast<uint64_t>(field) << 3) | type); }

  // `valid_len` = utf8::ValidLength(s): invalid sequences are written as U+FFFD.
  void StringValue(std::string_view s, size_t valid_len) {
    if (valid_len > s.size() && bound_ == Bound::kAsIs) {
      overflowed_ = true;  // its bytes (and so every later field's) still fit: no check there
      return;
    }
    Varint(valid_len);
    if (valid_len == s.size()) {
      Raw(s);  // valid as it is: the common case, no second scan
    } else {
      std::string fixed;
      fixed.reserve(valid_len);
      utf8::AppendValid(&fixed, s);
      Raw(fixed);
    }
  }

  void String(uint32_t field, std::string_view s) {
    if (s.empty()) return;
    Key(field, kLen);
    if (s.size() < 0x80) {
      // Copied first and checked where it landed: request data is nearly always ASCII, and
      // one pass over the copy (whole words, no byte loop) is cheaper than a validation
      // pass before it. The one-byte length is right unless there was a non-ASCII byte.
      char* length = p_++;
      if (CopyAscii(p_, s)) {
        *length = static_cast<char>(s.size());
        p_ += s.size();
        return;
      }
      p_ = length;
    }
    StringValue(s, utf8::ValidLength(s));
  }

  void Uint(uint32_t field, uint64_t v) {
    if (v == 0) return;
    Key(field, kVarint);
    Varint(v);
  }

  void KeyValues(uint32_t field, const apitrail::KeyValues& kvs) {
    for (const auto& [k, v] : kvs) {
      // Empty keys and values are still entries; only the empty string fields are omitted.
      const size_t klen = utf8::ValidLength(k);
      const size_t vlen = utf8::ValidLength(v);
      const size_t inner = (k.empty() ? 0 : 1 + VarintSize(klen) + klen) +
                           (v.empty() ? 0 : 1 + VarintSize(vlen) + vlen);
      Key(field, kLen);
      Varint(inner);
      if (!k.empty()) {
        Key(kKvKey, kLen);
        StringValue(k, klen);
      }
      if (!v.empty()) {
        Key(kKvValue, kLen);
        StringValue(v, vlen);
      }
    }
  }

  std::string Finish() && {
    out_.resize(static_cast<size_t>(p_ - out_.data()));
    return std::move(out_);
  }

  // A string field at most: key (≤ 2 bytes for our field numbers) + length varint + each
  // byte replaced by U+FFFD (3 bytes) when none is valid UTF-8.
  static size_t StringBound(std::string_view s, Bound b) { return 2 + 10 + static_cast<size_t>(b) * s.size(); }
  static size_t KeyValuesBound(const apitrail::KeyValues& kvs, Bound b) {
    size_t n = 0;
    for (const auto& [k, v] : kvs) n += 2 + 10 + StringBound(k, b) + StringBound(v, b);
    return n;
  }

 private:
  static constexpr size_t kSlack = 8;

  // Copies `s` to `to` and returns whether it is ASCII (when not, what was written is to be
  // overwritten). Strings of at most 16 bytes (most fields: method, decision, addresses,
  // short ids) are copied without a call to memcpy, by overlapping word loads that stay
  // inside `s`; longer ones are checked where they landed.
  static bool CopyAscii(char* to, std::string_view s) {
    const char* from = s.data();
    const size_t n = s.size();
    if (n > 16) {
      std::memcpy(to, from, n);
      return AsciiOnly(to, n);
    }
    uint64_t seen;
    if (n >= 8) {
      seen = CopyEnds<uint64_t>(to, from, n);
    } else if (n >= 4) {
      seen = CopyEnds<uint32_t>(to, from, n);
    } else {
      seen = 0;
      for (size_t i = 0; i < n; ++i) {
        to[i] = from[i];
        seen |= static_cast<unsigned char>(from[i]);
      }
    }
    return (seen & 0x8080808080808080ull) == 0;
  }

  // Copies n bytes (sizeof(Word) <= n <= 2 * sizeof(Word)) as a first and a last word, which
  // overlap unless n is twice the word; returns the two words OR-ed.
  template <typename Word>
  static uint64_t CopyEnds(char* to, const char* from, size_t n) {
    Word first, last;
    std::memcpy(&first, from, sizeof(Word));
    std::memcpy(&last, from + n - sizeof(Word), sizeof(Word));
    std::memcpy(to, &first, sizeof(Word));
    std::memcpy(to + n - sizeof(Word), &last, sizeof(Word));
    return first | last;
  }

  // Whether p[0, n) is ASCII; reads up to 7 bytes past p + n, which kSlack keeps inside
  // out_ (and the mask ignores).
  static bool AsciiOnly(const char* p, size_t n) {
    static_assert(std::endian::native == std::endian::little, "the tail mask assumes little-endian words");
    uint64_t seen = 0;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
      uint64_t w;
      std::memcpy(&w, p + i, 8);
      seen |= w;
    }
    if (i < n) {
      uint64_t w;
      std::memcpy(&w, p + i, 8);
      seen |= w & (~0ull >> (64 - 8 * (n - i)));
    }
    return (seen & 0x8080808080808080ull) == 0;
  }

  static size_t VarintSize(uint64_t v) {
    size_t n = 1;
    while (v >= 0x80) {
      v >>= 7;
      ++n;
    }
    return n;
  }

  void Raw(std::string_view s) {
    if (s.empty()) return;  // a null data() is undefined for memcpy even for 0 bytes
    std::memcpy(p_, s.data(), s.size());
    p_ += s.size();
  }

  std::string out_;
  char* p_;
  Bound bound_;
  bool overflowed_ = false;
};

// At most what EncodeFields writes for `e` (with `id` and `node` in place of its own), each
// string's bytes counted per `b`.
size_t RecordBound(const AuditEvent& e, std::string_view id, std::string_view node, Bound b) {
  size_t n = 6 * 12;  // time, duration, status, bytes_in, bytes_out, sensitive: key + varint each
  for (const StringField& f : kStringFields) n += Encoder::StringBound(e.*f.member, b);
  n += Encoder::StringBound(id, b) + Encoder::StringBound(node, b) - Encoder::StringBound(e.id, b) -
       Encoder::StringBound(e.node, b);
  for (const auto& s : e.scopes) n += Encoder::StringBound(s, b);
  n += Encoder::KeyValuesBound(e.resources, b) + Encoder::KeyValuesBound(e.query, b) +
       Encoder::KeyValuesBound(e.body_fields, b);
  return n;
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

// The key and value of one KeyValue message (either may be absent: empty).
Status ReadKeyValue(std::string_view bytes, std::string_view* key, std::string_view* value) {
  Reader r(bytes);
  while (!r.Done()) {
    uint64_t tag = 0;
    APITRAIL_RETURN_IF_ERROR(r.Varint(&tag));
    const auto field = static_cast<uint32_t>(tag >> 3);
    const auto type = static_cast<uint32_t>(tag & 7);
    if ((field == kKvKey || field == kKvValue) && type == kLen) {
      APITRAIL_RETURN_IF_ERROR(r.Bytes(field == kKvKey ? key : value));
    } else {
      APITRAIL_RETURN_IF_ERROR(r.Skip(type));
    }
  }
  return Status::Ok();
}

bool IsStringField(uint32_t field) { return StringMemberPtr(field) != nullptr; }

KeyValues AuditEvent::*KeyValuesMemberPtr(uint32_t field) {
  switch (field) {
    case kResources: return &AuditEvent::resources;
    case kQuery: return &AuditEvent::query;
    case kBodyFields: return &AuditEvent::body_fields;
    default: return nullptr;
  }
}

bool IsKeyValuesField(uint32_t field) { return KeyValuesMemberPtr(field) != nullptr; }

// Walks a binary record and checks it; the one definition of a well-formed record for
// DecodeBinary and DecodeRecordHead. The visitor gets each known field:
//   String(field, bytes), KeyValue(field, key, value), Scope(bytes), Varint(field, v).
template <typename Visitor>
Status WalkBinary(std::string_view bytes, Visitor& v) {
  bool has_id = false;
  bool has_time = false;
  Reader r(bytes);
  while (!r.Done()) {
    const size_t at = r.pos();
    uint64_t tag = 0;
    APITRAIL_RETURN_IF_ERROR(r.Varint(&tag));
    const auto field = static_cast<uint32_t>(tag >> 3);
    const auto type = static_cast<uint32_t>(tag & 7);
    if (field == 0) return Status::Corruption("record: field number 0 at byte " + std::to_string(at));
    const bool known_len = IsStringField(field) || IsKeyValuesField(field) || field == kScopes;
    const bool known_varint = field == kTimeNs || field == kDurationUs || field == kStatus ||
                              field == kBytesIn || field == kBytesOut || field == kSensitive;
    if ((known_len && type != kLen) || (known_varint && type != kVarint)) {
      return Status::Corruption("record: field " + std::to_string(field) + " has wire type " +
                                std::to_string(type) + " at byte " + std::to_string(at));
    }
    if (known_len) {
      std::string_view s;
      APITRAIL_RETURN_IF_ERROR(r.Bytes(&s));
      if (IsStringField(field)) {
        if (field == kId) has_id = !s.empty();  // the last occurrence wins, as in a decode
        v.String(field, s);
      } else if (IsKeyValuesField(field)) {
        std::string_view key, value;
        APITRAIL_RETURN_IF_ERROR(ReadKeyValue(s, &key, &value));
        v.KeyValue(field, key, value);
      } else {
        v.Scope(s);
      }
    } else if (known_varint) {
      uint64_t n = 0;
      APITRAIL_RETURN_IF_ERROR(r.Varint(&n));
      if (field == kTimeNs) has_time = true;
      v.Varint(field, n);
    } else {
      APITRAIL_RETURN_IF_ERROR(r.Skip(type));
    }
  }
  if (!has_id) return Status::Corruption("record has no id");
  if (!has_time) return Status::Corruption("record has no time");
  return Status::Ok();
}

struct EventBuilder {
  AuditEvent* e;
  void String(uint32_t field, std::string_view s) { (e->*StringMemberPtr(field)).assign(s); }
  void KeyValue(uint32_t field, std::string_view key, std::string_view value) {
    (e->*KeyValuesMemberPtr(field)).emplace_back(std::string(key), std::string(value));
  }
  void Scope(std::string_view s) { e->scopes.emplace_back(s); }
  void Varint(uint32_t field, uint64_t v) {
    switch (field) {
      case kTimeNs: e->time_ns = static_cast<int64_t>(v); break;
      case kDurationUs: e->duration_us = static_cast<int64_t>(v); break;
      case kStatus: e->status = static_cast<int>(v); break;
      case kBytesIn: e->bytes_in = v; break;
      case kBytesOut: e->bytes_out = v; break;
      case kSensitive: e->sensitive = v != 0; break;
      default: break;
    }
  }
};

Status DecodeBinaryInto(std::string_view bytes, AuditEvent* e) {
  e->kind.clear();  // the default "http" must come from the record, not the struct
  EventBuilder builder{e};
  return WalkBinary(bytes, builder);
}

struct HeadReader {
  RecordHead* head;
  void String(uint32_t field, std::string_view s) {
    switch (field) {
      case kSubject:
        head->subject = s;
        break;
      case kId:
        head->id = s;
        break;
      case kCorrelationId:
        head->correlation_id = s;
        break;
      case kTraceId:
        head->trace_id = s;
        break;
      default:
        break;
    }
  }
  void KeyValue(uint32_t field, std::string_view key, std::string_view value) {
    if (field == kResources) head->resources.emplace_back(key, value);
  }
  void Scope(std::string_view) {}
  void Varint(uint32_t field, uint64_t v) {
    if (field == kTimeNs) head->time_ns = static_cast<int64_t>(v);
  }
};

}  // namespace

std::string EncodeRecord(const AuditEvent& e) { return EncodeRecord(e, e.id, e.node); }

namespace {

void EncodeFields(const AuditEvent& e, std::string_view id, std::string_view node, Encoder& out) {
  out.String(kId, id);
  // time is always written, even 0, so that a record without it is detectably malformed.
  out.Key(kTimeNs, kVarint);
  out.Varint(static_cast<uint64_t>(e.time_ns));
  if (e.duration_us >= 0) {
    out.Key(kDurationUs, kVarint);
    out.Varint(static_cast<uint64_t>(e.duration_us));
  }
  out.String(kKind, e.kind);
  out.String(kDecision, e.decision);
  out.String(kSubject, e.subject);
  out.String(kAuthMethod, e.auth_method);
  out.String(kCredentialId, e.credential_id);
  out.String(kMethod, e.method);
  out.String(kPath, e.path);
  out.String(kRoute, e.route);
  out.KeyValues(kResources, e.resources);
  if (e.status > 0) out.Uint(kStatus, static_cast<uint64_t>(e.status));
  out.String(kClientIp, e.client_ip);
  out.String(kCorrelationId, e.correlation_id);
  out.String(kNode, node);
  out.String(kDenyReason, e.deny_reason);
  out.String(kIssuer, e.issuer);
  for (const auto& s : e.scopes) {
    // A repeated field keeps empty entries: dropping one would change the list.
    out.Key(kScopes, kLen);
    out.StringValue(s, utf8::ValidLength(s));
  }
  out.String(kTenant, e.tenant);
  out.String(kHost, e.host);
  out.KeyValues(kQuery, e.query);
  out.KeyValues(kBodyFields, e.body_fields);
  out.Uint(kBytesIn, e.bytes_in);
  out.Uint(kBytesOut, e.bytes_out);
  out.String(kUserAgent, e.user_agent);
  out.String(kInvalidRequestId, e.invalid_request_id);
  out.String(kTraceId, e.trace_id);
  out.String(kSpanId, e.span_id);
  out.String(kParentSpanId, e.parent_span_id);
  out.String(kTracestate, e.tracestate);
  out.String(kUpstream, e.upstream);
  if (e.sensitive) out.Uint(kSensitive, 1);
  out.String(kService, e.service);
  out.String(kMessage, e.message);
  out.String(kPhase, e.phase);
  out.String(kIntentId, e.intent_id);
}

}  // namespace

std::string EncodeRecord(const AuditEvent& e, std::string_view id, std::string_view node,
                         bool* replaced) {
  for (Bound b : {Bound::kAsIs, Bound::kReplaced}) {
    Encoder out(RecordBound(e, id, node, b), b);
    EncodeFields(e, id, node, out);
    if (out.overflowed()) continue;  // only a string with invalid UTF-8 overflows kAsIs
    if (replaced != nullptr) *replaced = b == Bound::kReplaced;
    return std::move(out).Finish();
  }
  APITRAIL_ASSERT(false, "a record sized for the worst case overflowed");
  return {};
}

Result<AuditEvent> DecodeRecord(std::string_view bytes) {
  if (!bytes.empty() && bytes.front() == '{') return DecodeEventJson(bytes);
  AuditEvent e;
  APITRAIL_RETURN_IF_ERROR(DecodeBinaryInto(bytes, &e));
  return e;
}

Status DecodeRecordInto(std::string_view bytes, AuditEvent* out) {
  if (!bytes.empty() && bytes.front() == '{') {
    APITRAIL_ASSIGN_OR_RETURN(*out, DecodeEventJson(bytes));
    return Status::Ok();
  }
  return DecodeBinaryInto(bytes, out);
}

Status DecodeRecordHead(std::string_view bytes, RecordHead* head, std::string* scratch) {
  auto resources = std::move(head->resources);
  resources.clear();
  *head = RecordHead{};
  head->resources = std::move(resources);
  if (!bytes.empty() && bytes.front() == '{') {
    APITRAIL_ASSIGN_OR_RETURN(AuditEvent e, DecodeEventJson(bytes));
    *scratch = std::move(e.subject);
    head->time_ns = e.time_ns;
    head->subject = *scratch;
    return Status::Ok();
  }
  HeadReader reader{head};
  return WalkBinary(bytes, reader);
}

}  // namespace apitrail
