#include "query/query_params.h"

#include <gtest/gtest.h>

namespace apitrail {
namespace {

constexpr int64_t kNow = 1764165012000000000;  // 2025-11-26T13:50:12Z

// The old Result-shaped call, so the cases below read as before.
Result<EventQuery> Parse(const QueryParams& params, int64_t now_ns, ParamError* error = nullptr) {
  EventQuery q;
  ParamError e;
  if (!ParseEventQuery(params, now_ns, &q, &e)) {
    if (error) *error = e;
    return Status::InvalidArgument(e.message);
  }
  return q;
}

TEST(QueryParamsTest, ParsesEveryFilter) {
  auto q = Parse({{"subject", "alice"}, {"route", "GET /v1/orders/{order_id}"},
                  {"resource", "order_id=42"}, {"status", "5xx"}, {"decision", "deny"},
                  {"method", "GET"}, {"client_ip", "10.0.0.1"}, {"correlation_id", "c1"},
                  {"trace_id", "t1"}, {"since", "24h"}, {"until", "2025-11-26T13:00:00Z"},
                  {"limit", "50"}, {"cursor", "99"}},
                 kNow);
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_EQ(*q->subject, "alice");
  EXPECT_EQ(q->resource->first, "order_id");
  EXPECT_EQ(q->resource->second, "42");
  EXPECT_EQ(*q->status_class, 5);
  EXPECT_FALSE(q->status.has_value());
  EXPECT_EQ(*q->since_ns, kNow - 24LL * 3600 * 1000000000);
  EXPECT_EQ(q->limit, 50u);
  EXPECT_EQ(*q->before_seq, 99u);
}

TEST(QueryParamsTest, ExactStatus) {
  auto q = Parse({{"status", "404"}}, kNow);
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(*q->status, 404);
}

TEST(QueryParamsTest, RejectsBadInputNamingTheParameter) {
  struct Case { const char* name; const char* value; const char* expect; };
  for (const Case& c : {Case{"limit", "0", "limit"}, Case{"limit", "1001", "limit"},
                        Case{"limit", "ten", "limit"}, Case{"status", "abc", "status"},
                        Case{"status", "700", "status"}, Case{"resource", "noequals", "resource"},
                        Case{"decision", "maybe", "decision"}, Case{"since", "yesterday", "since"},
                        Case{"cursor", "-1", "cursor"}, Case{"colour", "red", "colour"},
                        Case{"until", "3000-01-01T00:00:00Z", "until"},
                        Case{"since", "0001-01-01T00:00:00Z", "since"},
                        Case{"until", "2026-11-31T00:00:00Z", "until"}}) {
    ParamError e;
    auto q = Parse({{c.name, c.value}}, kNow, &e);
    ASSERT_FALSE(q.ok()) << c.name << "=" << c.value;
    EXPECT_EQ(e.parameter, c.expect) << e.message;
    EXPECT_EQ(e.message.rfind(std::string(c.expect) + ": ", 0), 0u) << e.message;
  }
}

TEST(QueryParamsTest, RejectsARepeatedParameterNamingIt) {
  ParamError e;
  EXPECT_FALSE(Parse({{"limit", "1"}, {"subject", "a"}, {"limit", "1000"}}, kNow, &e).ok());
  EXPECT_EQ(e.parameter, "limit");
  EXPECT_EQ(e.message, "limit: given more than once");
  EXPECT_FALSE(Parse({{"subject", "a"}, {"subject", "a"}}, kNow, &e).ok());  // even the same value
  EXPECT_EQ(e.parameter, "subject");
}

// A client-chosen name is echoed in the error: never more than 64 bytes of it, whichever
// check fails, and never half a UTF-8 sequence.
TEST(QueryParamsTest, EchoesAtMost64BytesOfAParameterName) {
  const std::string long_name(5000, 'n');
  ParamError e;
  EXPECT_FALSE(Parse({{long_name, "x"}}, kNow, &e).ok());  // unknown
  EXPECT_EQ(e.parameter, long_name.substr(0, 64));
  EXPECT_FALSE(Parse({{long_name, std::string(2000, 'v')}}, kNow, &e).ok());  // value too long
  EXPECT_EQ(e.parameter, long_name.substr(0, 64));
  EXPECT_LT(e.message.size(), 100u) << e.message.size();
  EXPECT_FALSE(Parse({{long_name, "1"}, {long_name, "2"}}, kNow, &e).ok());  // repeated
  EXPECT_EQ(e.parameter, long_name.substr(0, 64));
  const std::string accented = std::string(63, 'a') + "\xC3\xA9tude";  // é straddles byte 64
  EXPECT_FALSE(Parse({{accented, "x"}}, kNow, &e).ok());
  EXPECT_EQ(e.parameter, std::string(63, 'a'));
  const std::string emoji =
      std::string(62, 'a') + "\xF0\x9F\x98\x80";  // a 4-byte sequence at 62..65
  EXPECT_FALSE(Parse({{emoji, "x"}}, kNow, &e).ok());
  EXPECT_EQ(e.parameter, std::string(62, 'a'));
}

// A name that is not UTF-8 at all (?%80%80…) is still cut at 64 bytes, not backed off over
// every continuation byte to nothing: the error must name some parameter.
TEST(QueryParamsTest, ANameOfStrayContinuationBytesIsCutAt64Bytes) {
  ParamError e;
  EXPECT_FALSE(Parse({{std::string(100, '\x80'), "1"}}, kNow, &e).ok());
  EXPECT_EQ(e.parameter, std::string(64, '\x80'));
  EXPECT_EQ(e.message.rfind(e.parameter + ": unknown parameter", 0), 0u);
}

// "?subject=" cannot be looked up (no index keeps postings for an empty field), so it
// matched nothing, silently; it is refused, naming the parameter.
TEST(QueryParamsTest, AnEmptyTextFilterIsRefused) {
  for (const char* name :
       {"subject", "route", "method", "client_ip", "correlation_id", "trace_id"}) {
    ParamError e;
    EXPECT_FALSE(Parse({{name, ""}}, kNow, &e).ok()) << name;
    EXPECT_EQ(e.parameter, name);
    EXPECT_EQ(e.message,
              std::string(name) + ": must not be empty (leave it out to match any value)");
    EXPECT_TRUE(Parse({{name, "x"}}, kNow).ok()) << name;
  }
}

TEST(QueryParamsTest, SinceAfterUntilIsAnError) {
  ParamError e;
  EXPECT_FALSE(Parse({{"since", "1h"}, {"until", "2h"}}, kNow, &e).ok());
  EXPECT_EQ(e.parameter, "since");
}

TEST(QueryParamsTest, SplitTargetDecodesAndSkipsEmptyParams) {
  std::string path;
  QueryParams params;
  ASSERT_TRUE(SplitTarget("/api/v1/events?subject=a%20b&&route=GET%20%2Fx&", &path, &params).ok());
  EXPECT_EQ(path, "/api/v1/events");
  ASSERT_EQ(params.size(), 2u);
  EXPECT_EQ(params[0].second, "a b");
  EXPECT_EQ(params[1].second, "GET /x");
  EXPECT_FALSE(SplitTarget("not a target", &path, &params).ok());
}

// RFC 9112 §3.2.2: the absolute-form is accepted; RFC 3986 §6.2.2: equivalent spellings of a
// path are one path (they were 404s on the admin API).
TEST(QueryParamsTest, SplitTargetAcceptsTheAbsoluteFormAndNormalizesThePath) {
  struct Case {
    const char* target;
    const char* path;
  };
  for (const Case& c : {Case{"http://127.0.0.1:9090/api/v1/events?limit=2", "/api/v1/events"},
                        Case{"HTTPS://localhost/metrics", "/metrics"},
                        Case{"http://127.0.0.1:9090", "/"},
                        Case{"/api/v1/%65vents?limit=2", "/api/v1/events"},
                        Case{"/api/v1/./events?limit=2", "/api/v1/events"},
                        Case{"/api/x/../v1/events?limit=2", "/api/v1/events"},
                        Case{"/api/v1/%2e%2E/v1/events", "/api/v1/events"},
                        Case{"/api/v1/events/", "/api/v1/events/"},
                        Case{"/a/.", "/a/"},
                        Case{"/", "/"},
                        Case{"//x", "//x"},
                        Case{"/../..", "/"},
                        Case{"/%7euser/%41", "/~user/A"},
                        Case{"/api/v1/events/a%2Fb", "/api/v1/events/a%2Fb"}}) {
    std::string path;
    QueryParams params;
    ASSERT_TRUE(SplitTarget(c.target, &path, &params).ok()) << c.target;
    EXPECT_EQ(path, c.path) << c.target;
  }
  std::string path;
  QueryParams params;
  ASSERT_TRUE(SplitTarget("http://127.0.0.1:9090/api/v1/events?limit=2", &path, &params).ok());
  ASSERT_EQ(params.size(), 1u);
  EXPECT_EQ(params[0].second, "2");
  EXPECT_FALSE(SplitTarget("ftp://127.0.0.1/api/v1/events", &path, &params).ok());
  EXPECT_FALSE(SplitTarget("http://127.0.0.1/x#frag", &path, &params).ok());
}

// A malformed percent-encoding in the query is reported with the parameter it is in, as every
// other bad parameter is; one in the path names none.
TEST(QueryParamsTest, SplitTargetNamesAParameterThatIsNotPercentEncoded) {
  struct Case {
    const char* target;
    const char* parameter;
  };
  for (const Case& c : {Case{"/x?a=1&subject=%zz", "subject"}, Case{"/x?subject=al%", "subject"},
                        Case{"/x?a+b=%4&c=1", "a b"}, Case{"/x?su%zzbject=a", "su%zzbject"},
                        Case{"/x?%6Cimit=%G1", "limit"}, Case{"/x?ok&&seq=%%30", "seq"}}) {
    std::string path;
    QueryParams params;
    ParamError e;
    EXPECT_FALSE(SplitTarget(c.target, &path, &params, &e).ok()) << c.target;
    EXPECT_EQ(e.parameter, c.parameter) << c.target;
    EXPECT_EQ(e.message,
              std::string(c.parameter) +
                  ": not validly percent-encoded (a '%' must be followed by two hex digits)");
  }
  std::string path;
  QueryParams params;
  ParamError e;
  EXPECT_FALSE(SplitTarget("/x%zz?a=1", &path, &params, &e).ok());
  EXPECT_EQ(e.message, "");
  EXPECT_FALSE(
      SplitTarget("/x?a=%zz", &path, &params).ok());  // no ParamError wanted: still refused
}

}  // namespace
}  // namespace apitrail
