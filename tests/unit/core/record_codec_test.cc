#include "core/record_codec.h"

#include <gtest/gtest.h>

namespace apitrail {
namespace {

// Bytes from a literal, embedded NULs included.
template <size_t N>
std::string B(const char (&s)[N]) {
  return std::string(s, N - 1);
}

AuditEvent Full() {
  AuditEvent e;
  e.id = "01890a5d-ac96-774b-bcce-b302099a8057";
  e.node = "n1";
  e.time_ns = 1764165012123456789;
  e.duration_us = 1500;
  e.kind = "http";
  e.decision = "deny";
  e.deny_reason = "insufficient_scope";
  e.subject = "alice";
  e.auth_method = "jwt";
  e.credential_id = "jti-1";
  e.issuer = "https://issuer.example";
  e.scopes = {"orders:read", "", "orders:write"};
  e.tenant = "acme";
  e.method = "GET";
  e.host = "api.example";
  e.path = "/v1/orders/42";
  e.route = "GET /v1/orders/{order_id}";
  e.resources = {{"order_id", "42"}, {"empty", ""}};
  e.query = {{"token", "[REDACTED]"}, {"q", "x y"}};
  e.body_fields = {{"amount", "10"}};
  e.status = 403;
  e.bytes_in = 12;
  e.bytes_out = 345678;
  e.client_ip = "10.1.2.3";
  e.user_agent = "curl/8";
  e.correlation_id = "req-1";
  e.invalid_request_id = "bad id";
  e.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  e.span_id = "00f067aa0ba902b7";
  e.parent_span_id = "00f067aa0ba902b8";
  e.tracestate = "k=v";
  e.upstream = "orders";
  e.sensitive = true;
  e.service = "svc";
  e.message = "m";
  e.phase = "outcome";
  e.intent_id = "01890a5d-ac96-774b-bcce-b302099a8056";
  return e;
}

void ExpectSameEvent(const AuditEvent& a, const AuditEvent& b) {
  std::string ja, jb;
  AppendEventJson(a, &ja);
  AppendEventJson(b, &jb);
  EXPECT_EQ(ja, jb);
}

TEST(RecordCodecTest, EveryFieldRoundTrips) {
  const AuditEvent e = Full();
  auto d = DecodeRecord(EncodeRecord(e));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  ExpectSameEvent(*d, e);
  EXPECT_EQ(d->scopes, e.scopes);  // the empty entry in a list survives
  EXPECT_EQ(d->resources, e.resources);
  EXPECT_EQ(EncodeRecord(*d), EncodeRecord(e));
}

// The exact bytes are the format: a change here breaks every stored leaf hash, so it must
// come with a format version bump (docs/FORMAT.md §11).
TEST(RecordCodecTest, GoldenBytes) {
  AuditEvent e;
  e.id = "a";
  e.time_ns = 300;
  e.duration_us = 0;
  e.kind = "http";
  e.resources = {{"k", "v"}};
  e.status = 200;
  e.bytes_out = 1;
  e.sensitive = true;
  const std::string want(
      "\x0a\x01" "a"              // 1: id
      "\x10\xac\x02"              // 2: time_ns 300
      "\x18\x00"                  // 3: duration_us 0 (measured, so present)
      "\x22\x04" "http"           // 4: kind
      "\x62\x06\x0a\x01k\x12\x01v"  // 12: resources {key: k, value: v}
      "\x68\xc8\x01"              // 13: status 200
      "\xc8\x01\x01"              // 25: bytes_out 1
      "\x88\x02\x01",             // 33: sensitive
      31);
  EXPECT_EQ(EncodeRecord(e), want);
}

TEST(RecordCodecTest, OmitsUnsetFieldsButAlwaysWritesTime) {
  AuditEvent e;
  e.id = "x";
  e.kind = "";
  e.duration_us = -1;
  const std::string rec = EncodeRecord(e);
  EXPECT_EQ(rec, B("\x0a\x01x\x10\x00"));
  auto d = DecodeRecord(rec);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->duration_us, -1);
  EXPECT_EQ(d->time_ns, 0);
  EXPECT_EQ(d->kind, "");
}

TEST(RecordCodecTest, InvalidUtf8IsReplacedSoRecordsStayValidText) {
  AuditEvent e = Full();
  e.path = "/a\xFF";
  auto d = DecodeRecord(EncodeRecord(e));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->path, "/a\xEF\xBF\xBD");
}

TEST(RecordCodecTest, NonAsciiByteAnywhereInShortOrLongStringsIsChecked) {
  // Strings shorter than 128 bytes are copied before they are checked (by words, short ones
  // by overlapping words): every length around those word sizes and the one-byte length
  // limit, with the odd byte at every place, must come back as the slow path writes it.
  for (size_t len : {1u, 2u, 3u, 4u, 5u, 7u, 8u, 9u, 15u, 16u, 17u, 126u, 127u, 128u, 129u}) {
    for (size_t at = 0; at < len; ++at) {
      for (std::string_view odd : {"\xFF", "\xC3\xA9"}) {  // invalid; valid 2-byte "é"
        std::string s(len, 'a');
        s.replace(at, 1, odd);
        const std::string want = odd == "\xFF" ? std::string(s).replace(at, 1, "\xEF\xBF\xBD") : s;
        AuditEvent e = Full();
        e.user_agent = s;
        auto d = DecodeRecord(EncodeRecord(e));
        ASSERT_TRUE(d.ok()) << len << " " << at << " " << d.status().ToString();
        ASSERT_EQ(d->user_agent, want) << len << " " << at;
        ExpectSameEvent([&] {
          AuditEvent x = *d;
          x.user_agent = e.user_agent;
          return x;
        }(), e);
      }
    }
  }
}

TEST(RecordCodecTest, IdAndNodeCanBeGivenInsteadOfTheEvents) {
  AuditEvent e = Full();
  AuditEvent with = e;
  with.id = "0193a1b2c3d4e5f6a7b8c9d0e1";
  with.node = "node-9";
  EXPECT_EQ(EncodeRecord(e, with.id, with.node), EncodeRecord(with));
  EXPECT_EQ(EncodeRecord(e, e.id, e.node), EncodeRecord(e));
}

TEST(RecordCodecTest, EveryByteInvalidTriplesEachStringAndStillFits) {
  // The encoder sizes its buffer for the worst case: every byte of every string replaced by
  // the 3-byte U+FFFD, in plain fields, list entries and key-value pairs alike (ASan checks
  // that nothing is written past it).
  const std::string bad(200, '\xFF');
  const std::string fffd = [&] {
    std::string r;
    for (size_t i = 0; i < bad.size(); ++i) r += "\xEF\xBF\xBD";
    return r;
  }();
  AuditEvent e = Full();
  e.path = bad;
  e.user_agent = bad;
  e.scopes = {bad, ""};
  e.resources = {{bad, bad}};
  e.query = {{"q", bad}, {bad, ""}};
  auto d = DecodeRecord(EncodeRecord(e));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->path, fffd);
  EXPECT_EQ(d->user_agent, fffd);
  EXPECT_EQ(d->scopes, (std::vector<std::string>{fffd, ""}));
  ASSERT_EQ(d->resources.size(), 1u);
  EXPECT_EQ(d->resources[0].first, fffd);
  EXPECT_EQ(d->resources[0].second, fffd);
  ASSERT_EQ(d->query.size(), 2u);
  EXPECT_EQ(d->query[0].second, fffd);
  EXPECT_EQ(d->query[1].first, fffd);
  EXPECT_EQ(d->query[1].second, "");
}

TEST(RecordCodecTest, UnknownFieldsAreSkipped) {
  std::string rec = EncodeRecord(Full());
  rec.append("\xb8\x06\x05", 3);          // field 103, varint 5
  rec.append("\xc2\x06\x02zz", 5);        // field 104, 2 bytes
  rec.append("\xc9\x06" "12345678", 10);  // field 105, fixed64
  rec.append("\xd5\x06" "1234", 6);       // field 106, fixed32
  auto d = DecodeRecord(rec);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  ExpectSameEvent(*d, Full());
}

TEST(RecordCodecTest, MalformedRecordsAreCorruptionNamingTheByte) {
  const std::string good = EncodeRecord(Full());
  struct Case {
    std::string bytes;
    std::string message;
  };
  const Case cases[] = {
      {B("\x0a\x05" "ab"), "length past the end of the record at byte 2"},
      {B("\x0a\x01" "a\x10"), "truncated varint at byte 4"},
      {B("\x0a\x01" "a\x10\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"),
       "varint longer than 10 bytes"},
      {B("\x0d" "abcd"), "field 1 has wire type 5 at byte 0"},
      {B("\x0a\x01" "a\x12\x00"), "field 2 has wire type 2 at byte 3"},
      {B("\x10\x01"), "record has no id"},
      {B("\x0a\x01" "a"), "record has no time"},
      {B("\x0a\x01" "a\x10\x01\x93\x03"), "unsupported wire type 3"},
      {B("\x00\x00"), "field number 0 at byte 0"},
      {B("\x0a\x01" "a\x10\x01\x62\x03\x0a\x05" "k"), "length past the end"},
  };
  for (const auto& c : cases) {
    auto d = DecodeRecord(c.bytes);
    ASSERT_FALSE(d.ok()) << c.message;
    EXPECT_EQ(d.status().code(), StatusCode::kCorruption);
    EXPECT_NE(d.status().message().find(c.message), std::string::npos) << d.status().ToString();
    // The sealer's light read rejects exactly the same records with the same message.
    RecordHead head;
    std::string scratch;
    const Status h = DecodeRecordHead(c.bytes, &head, &scratch);
    EXPECT_EQ(h.ToString(), d.status().ToString());
  }
  // Every truncation of a good record either fails cleanly or decodes (never reads past
  // it), and both readers agree on which.
  for (size_t n = 0; n < good.size(); ++n) {
    RecordHead head;
    std::string scratch;
    EXPECT_EQ(DecodeRecord(good.substr(0, n)).ok(), DecodeRecordHead(good.substr(0, n), &head, &scratch).ok()) << n;
  }
}

TEST(RecordCodecTest, RecordHeadIsTheDecodedTimeAndSubject) {
  AuditEvent e = Full();
  const std::string rec = EncodeRecord(e);
  RecordHead head;
  std::string scratch;
  ASSERT_TRUE(DecodeRecordHead(rec, &head, &scratch).ok());
  EXPECT_EQ(head.time_ns, e.time_ns);
  EXPECT_EQ(head.subject, e.subject);
  EXPECT_TRUE(scratch.empty());  // a binary record's subject is a view into it
  e.subject.clear();
  ASSERT_TRUE(DecodeRecordHead(EncodeRecord(e), &head, &scratch).ok());
  EXPECT_EQ(head.subject, "");
  const std::string json =
      R"({"id":"01890a5d-ac96-774b-bcce-b302099a8057","time":"2025-11-26T13:50:12.123456789Z",)"
      R"("kind":"http","subject":"alice","status":200})";
  ASSERT_TRUE(DecodeRecordHead(json, &head, &scratch).ok());
  EXPECT_EQ(head.subject, "alice");
  EXPECT_EQ(head.time_ns, 1764165012123456789);
}

TEST(RecordCodecTest, ReadsFormatVersion1JsonRecords) {
  auto d = DecodeRecord(
      R"({"id":"01890a5d-ac96-774b-bcce-b302099a8057","time":"2025-11-26T13:50:12.123456789Z",)"
      R"("kind":"http","subject":"alice","resources":{"order_id":"42"},"status":200})");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->subject, "alice");
  EXPECT_EQ(d->time_ns, 1764165012123456789);
  EXPECT_EQ(d->status, 200);
  EXPECT_EQ(d->resources, (KeyValues{{"order_id", "42"}}));
}

TEST(RecordCodecTest, BinaryIsMuchSmallerThanTheJsonForm) {
  std::string json;
  AppendEventJson(Full(), &json);
  EXPECT_LT(EncodeRecord(Full()).size() * 10, json.size() * 7);
}

}  // namespace
}  // namespace apitrail
