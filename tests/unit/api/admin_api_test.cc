#include "api/admin_api.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "core/ids.h"
#include "core/time_util.h"
#include "testutil/forwarding_file_system.h"

namespace apitrail {
namespace {

constexpr char kToken[] = "admin-token-0123456789";

class AdminApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("apitrail-admin-" + RandomHexId(6));
    StoreOptions so;
    so.data_dir = dir_.string();
    auto s = Store::Open(so);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
    AdminApiOptions o;
    o.store = store_.get();
    o.tokens = {kToken};
    o.metrics = [] { return std::string("apitrail_requests_total 0\n"); };
    o.data_dir = dir_.string();
    api_ = std::make_unique<AdminApi>(std::move(o));
  }
  void TearDown() override {
    store_->Close();
    std::filesystem::remove_all(dir_);
  }
  void Add(const std::string& subject, int status) {
    AuditEvent e;
    e.time_ns = NowNs();
    e.id = NewUuidV7(e.time_ns);
    e.subject = subject;
    e.status = status;
    e.decision = status < 400 ? "allow" : "deny";
    e.method = "GET";
    e.path = "/x";
    ASSERT_TRUE(store_->Append(e, nullptr).ok());
    ids_.push_back(e.id);
  }
  SimpleResponse Get(const std::string& target, const std::string& token = kToken) {
    SimpleRequest r;
    r.method = "GET";
    r.target = target;
    if (!token.empty()) r.headers.emplace_back("Authorization", "Bearer " + token);
    return api_->Handle(r);
  }

  std::filesystem::path dir_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<AdminApi> api_;
  std::vector<std::string> ids_;
};

TEST_F(AdminApiTest, RequiresABearerToken) {
  EXPECT_EQ(Get("/api/v1/events", "").status, 401);
  EXPECT_EQ(Get("/api/v1/events", "admin-token-0123456788").status, 401);
  EXPECT_EQ(Get("/metrics", "").status, 401);
  EXPECT_EQ(Get("/healthz", "").status, 200);  // health needs no credentials
}

// RFC 9110 §11.1: the auth scheme is case-insensitive; one or more spaces follow it.
TEST_F(AdminApiTest, BearerSchemeIsCaseInsensitive) {
  auto with = [&](const std::string& authorization) {
    SimpleRequest r;
    r.method = "GET";
    r.target = "/api/v1/events";
    r.headers.emplace_back("Authorization", authorization);
    return api_->Handle(r).status;
  };
  for (const char* scheme : {"Bearer ", "bearer ", "BEARER ", "bEaReR ", "Bearer   "}) {
    EXPECT_EQ(with(scheme + std::string(kToken)), 200) << scheme;
  }
  for (const std::string& bad : {std::string("Bearer"), "Bearer" + std::string(kToken),
                                 "Basic " + std::string(kToken), "Bearers " + std::string(kToken),
                                 "Bearer " + std::string(kToken) + "x", std::string("Bearer ")}) {
    EXPECT_EQ(with(bad), 401) << bad;
  }
}

TEST_F(AdminApiTest, ListsNewestFirstWithCursor) {
  for (int i = 0; i < 3; ++i) Add("alice", 200);
  Add("bob", 500);
  ASSERT_TRUE(store_->Flush().ok());
  auto r = Get("/api/v1/events?subject=alice&limit=2");
  ASSERT_EQ(r.status, 200) << r.body;
  auto v = boost::json::parse(r.body).as_object();
  auto& events = v["events"].as_array();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].as_object()["id"].as_string(), ids_[2]);
  EXPECT_EQ(events[0].as_object()["seq"].as_int64(), 2);
  std::string cursor(v["next_cursor"].as_string());
  auto r2 = Get("/api/v1/events?subject=alice&limit=2&cursor=" + cursor);
  auto v2 = boost::json::parse(r2.body).as_object();
  ASSERT_EQ(v2["events"].as_array().size(), 1u);
  EXPECT_TRUE(v2["next_cursor"].is_null());
  auto r3 = Get("/api/v1/events?status=5xx");
  EXPECT_EQ(boost::json::parse(r3.body).as_object()["events"].as_array().size(), 1u);
}

TEST_F(AdminApiTest, GetsOneEventById) {
  Add("alice", 200);
  ASSERT_TRUE(store_->Flush().ok());
  auto r = Get("/api/v1/events/" + ids_[0]);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(boost::json::parse(r.body).as_object()["subject"].as_string(), "alice");
  EXPECT_EQ(Get("/api/v1/events/01890000-0000-7000-8000-000000000000").status, 404);
}

// Equivalent spellings of an endpoint's path reach it (RFC 3986 §6.2.2), and so does the
// absolute-form a server must accept (RFC 9112 §3.2.2): both were 404 / 400.
TEST_F(AdminApiTest, EquivalentTargetsReachTheSameEndpoint) {
  Add("alice", 200);
  ASSERT_TRUE(store_->Flush().ok());
  for (const char* target : {"/api/v1/%65vents?subject=alice", "/api/v1/./events?subject=alice",
                             "/api/x/../v1/events?subject=alice",
                             "http://127.0.0.1:9090/api/v1/events?subject=alice"}) {
    auto r = Get(target);
    ASSERT_EQ(r.status, 200) << target << ": " << r.body;
    EXPECT_EQ(boost::json::parse(r.body).as_object()["events"].as_array().size(), 1u) << target;
  }
  EXPECT_EQ(Get("http://127.0.0.1:9090/metrics").status, 200);
  EXPECT_EQ(Get("http://127.0.0.1:9090/metrics", "").status, 401) << "the absolute-form is no way around the token";
  EXPECT_EQ(Get("/%6detrics", "").status, 401);
}

// The id segment is percent-decoded before the lookup: %2D is '-', %61 is 'a'.
TEST_F(AdminApiTest, EventIdIsPercentDecoded) {
  Add("alice", 200);
  ASSERT_TRUE(store_->Flush().ok());
  std::string encoded;
  for (char c : ids_[0]) {
    if (c == '-')
      encoded += "%2D";
    else if (c == 'a')
      encoded += "%61";
    else
      encoded += c;
  }
  ASSERT_NE(encoded, ids_[0]);
  auto r = Get("/api/v1/events/" + encoded);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(boost::json::parse(r.body).as_object()["id"].as_string(), ids_[0]);
  for (const char* bad : {"%zz", "%4", "abc%"}) {  // malformed encodings: 400, not a lookup
    auto b = Get(std::string("/api/v1/events/") + bad);
    EXPECT_EQ(b.status, 400) << bad << " " << b.body;
  }
  EXPECT_EQ(Get("/api/v1/events/a%2Fb").status, 404);  // an encoded '/' is no id either
}

// RFC 9562 §4: a UUID's hex digits are case-insensitive on input; ids are stored in lower case.
TEST_F(AdminApiTest, EventIdIsCaseInsensitive) {
  Add("alice", 200);
  ASSERT_TRUE(store_->Flush().ok());
  std::string upper = ids_[0];
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  ASSERT_NE(upper, ids_[0]);
  auto r = Get("/api/v1/events/" + upper);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(boost::json::parse(r.body).as_object()["id"].as_string(), ids_[0]);
  EXPECT_EQ(Get("/api/v1/events/" + upper.substr(0, 35) + "G").status, 404);  // not a UUID
}

TEST_F(AdminApiTest, BadInputIsAJsonError) {
  auto r = Get("/api/v1/events?limit=0");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_NE(r.body.find("\"error\":\"bad_request\""), std::string::npos);
  EXPECT_EQ(Get("/api/v1/nothing").status, 404);
  SimpleRequest post;
  post.method = "POST";
  post.target = "/api/v1/events";
  post.headers.emplace_back("Authorization", std::string("Bearer ") + kToken);
  EXPECT_EQ(api_->Handle(post).status, 405);
}

// 405 names every method served, HEAD included; /healthz (no token) is no exception.
TEST_F(AdminApiTest, OtherMethodsAre405WithAllowGetAndHead) {
  for (const char* method : {"POST", "PUT", "DELETE", "OPTIONS"}) {
    for (const char* target : {"/api/v1/events", "/metrics", "/healthz"}) {
      SimpleRequest r;
      r.method = method;
      r.target = target;
      r.headers.emplace_back("Authorization", std::string("Bearer ") + kToken);
      auto res = api_->Handle(r);
      EXPECT_EQ(res.status, 405) << method << " " << target;
      ASSERT_EQ(res.headers.size(), 1u);
      EXPECT_EQ(res.headers[0], (std::pair<std::string, std::string>("Allow", "GET, HEAD")));
    }
  }
  SimpleRequest post;
  post.method = "POST";
  post.target = "/healthz";
  EXPECT_EQ(api_->Handle(post).status, 405);
  post.target = "/api/v1/events";
  EXPECT_EQ(api_->Handle(post).status, 401);  // elsewhere the token comes first
  SimpleRequest head;
  head.method = "HEAD";
  head.target = "/healthz";
  EXPECT_EQ(api_->Handle(head).status, 200);
}

// Every 400 about a parameter has one shape whichever endpoint answers it.
TEST_F(AdminApiTest, BadParametersHaveOneShapeOnEveryEndpoint) {
  struct Case {
    const char* target;
    const char* parameter;
  };
  for (const Case& c :
       {Case{"/api/v1/events?limit=0", "limit"}, Case{"/api/v1/events?colour=red", "colour"},
        Case{"/api/v1/events?since=1h&until=2h", "since"},
        Case{"/api/v1/proofs/inclusion?seq=x", "seq"},
        Case{"/api/v1/proofs/inclusion?seq=1&size=-1", "size"},
        Case{"/api/v1/proofs/inclusion", "seq"},
        Case{"/api/v1/proofs/inclusion?seq=3&size=3", "seq"},
        Case{"/api/v1/stats/top?dim=nope", "dim"},
        // Repeated: an error, not "last one wins".
        Case{"/api/v1/events?limit=1&limit=1000", "limit"},
        Case{"/api/v1/proofs/inclusion?seq=1&seq=2", "seq"},
        Case{"/api/v1/stats/top?dim=route&dim=subject", "dim"},
        Case{"/api/v1/stats/series?metric=errors&step=1m&step=1h", "step"},
        // Not validly percent-encoded: named like any other bad parameter.
        Case{"/api/v1/events?limit=1&subject=%zz", "subject"},
        Case{"/api/v1/proofs/inclusion?seq=%3", "seq"},
        Case{"/api/v1/stats/top?dim=route&k=%G1", "k"}}) {
    auto r = Get(c.target);
    ASSERT_EQ(r.status, 400) << c.target;
    auto v = boost::json::parse(r.body).as_object();
    EXPECT_EQ(v.at("error").as_string(), "bad_request") << r.body;
    EXPECT_EQ(v.at("parameter").as_string(), c.parameter) << c.target << " " << r.body;
    std::string message(v.at("message").as_string());
    EXPECT_EQ(message.rfind(std::string(c.parameter) + ": ", 0), 0u) << message;
  }
}

// Like /events and /stats, the proof and single-event endpoints refuse what they do not know
// instead of answering as if it were not there (a typo such as ?szie=5 would go unnoticed).
TEST_F(AdminApiTest, UnknownParametersAreRefusedEverywhere) {
  Add("alice", 200);
  ASSERT_TRUE(store_->Flush().ok());
  ASSERT_EQ(Get("/api/v1/events/" + ids_[0]).status, 200);
  struct Case {
    std::string target;
    std::string parameter;
    std::string message;
  };
  for (const Case& c : {Case{"/api/v1/proofs/inclusion?seq=0&szie=5", "szie",
                             "szie: unknown parameter (known: seq, size)"},
                        Case{"/api/v1/events/" + ids_[0] + "?fields=all", "fields",
                             "fields: unknown parameter (this endpoint takes none)"}}) {
    auto r = Get(c.target);
    ASSERT_EQ(r.status, 400) << c.target << " " << r.body;
    auto v = boost::json::parse(r.body).as_object();
    EXPECT_EQ(v.at("parameter").as_string(), c.parameter);
    EXPECT_EQ(v.at("message").as_string(), c.message);
  }
}

// The echoed name is cut to 64 bytes and escaped: quotes, control characters and invalid
// UTF-8 in it still give a body that parses.
TEST_F(AdminApiTest, EchoedParameterNamesAreShortAndValidJson) {
  for (const std::string& name : {std::string(4000, 'n'), std::string("a%22b%5C%0A%01%FF%C3")}) {
    auto r = Get("/api/v1/events?" + name + "=" + std::string(1500, 'v'));
    ASSERT_EQ(r.status, 400);
    EXPECT_LT(r.body.size(), 300u) << r.body.size();
    boost::system::error_code ec;
    auto v = boost::json::parse(r.body, ec);
    ASSERT_FALSE(ec) << r.body;
    EXPECT_LE(v.as_object().at("parameter").as_string().size(), 64u);
  }
  auto r = Get("/api/v1/events?a%22b%5C%0A=1");
  EXPECT_EQ(boost::json::parse(r.body).as_object().at("parameter").as_string(), "a\"b\\\n");
}

// Reads that throw, as a bad_alloc while re-hashing a huge log would.
class ThrowingFileSystem : public apitrail::testing::ForwardingFileSystem {
 public:
  ThrowingFileSystem() : ForwardingFileSystem(DefaultFileSystem()) {}
  Result<std::unique_ptr<RandomAccessFile>> OpenForRead(const std::string&) override {
    throw std::runtime_error("injected");
  }
  Result<std::vector<std::string>> ListDir(const std::string&) override {
    throw std::runtime_error("injected");
  }
  bool Exists(const std::string&) override { throw std::runtime_error("injected"); }
};

// The server turns an exception into a 500; the proof's concurrency slot must come back with
// it, or after two such proofs every later one is "busy" until restart.
TEST_F(AdminApiTest, AProofThatThrowsGivesItsSlotBack) {
  ThrowingFileSystem throwing;
  AdminApiOptions o;
  o.store = store_.get();
  o.tokens = {kToken};
  o.data_dir = dir_.string();
  o.fs = &throwing;
  AdminApi failing(std::move(o));
  SimpleRequest r;
  r.method = "GET";
  r.target = "/api/v1/proofs/inclusion?seq=0";
  r.headers.emplace_back("Authorization", std::string("Bearer ") + kToken);
  for (int i = 0; i < 3; ++i) EXPECT_THROW(failing.Handle(r), std::runtime_error) << i;
  auto after = Get("/api/v1/proofs/inclusion?seq=0");
  EXPECT_NE(after.status, 503) << after.body;
  EXPECT_EQ(after.status, 404) << after.body;  // no checkpoint yet in a fresh store
}

// Two Authorization fields are refused whatever their order: the request was judged by the
// first one, so a valid token followed by a wrong one passed.
TEST_F(AdminApiTest, TwoAuthorizationFieldsAreRefused) {
  const std::string good = std::string("Bearer ") + kToken;
  for (const auto& [first, second] :
       {std::pair<std::string, std::string>{good, "Bearer wrong-token-000000000"},
        {"Bearer wrong-token-000000000", good},
        {good, good}}) {
    SimpleRequest r;
    r.method = "GET";
    r.target = "/api/v1/events";
    r.headers.emplace_back("Authorization", first);
    r.headers.emplace_back("authorization", second);
    EXPECT_EQ(api_->Handle(r).status, 401) << first << " / " << second;
  }
}

TEST_F(AdminApiTest, MetricsAreServed) {
  auto r = Get("/metrics");
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("apitrail_requests_total"), std::string::npos);
}

TEST(AdminTokensTest, ShortTokensRejected) {
  AdminConfig c;
  c.tokens = {"short"};
  EXPECT_FALSE(LoadAdminTokens(c).ok());
  c.tokens = {"long-enough-token-123"};
  EXPECT_TRUE(LoadAdminTokens(c).ok());
}

// A token file's lines lose trailing spaces, tabs and CRs, as a header value does.
TEST(AdminTokensTest, TokenFileLinesAreTrimmedLikeHeaderValues) {
  const std::string path = ::testing::TempDir() + "/admin-tokens-trim";
  {
    std::ofstream out(path);
    out << "# comment\nfirst-token-0123456789\t\r\nsecond-token-0123456789 \t \n";
  }
  AdminConfig c;
  c.token_file = path;
  auto tokens = LoadAdminTokens(c);
  ASSERT_TRUE(tokens.ok()) << tokens.status().ToString();
  EXPECT_EQ(*tokens,
            (std::vector<std::string>{"first-token-0123456789", "second-token-0123456789"}));
  std::filesystem::remove(path);
}

// A token file that cannot hold a token is refused: a directory or an empty file started an
// admin API nobody could open, and /dev/zero was read without end (config_edges).
TEST(AdminTokensTest, TokenFileWithoutTokensIsRefused) {
  AdminConfig c;
  c.tokens = {"inline-token-0123456789"};
  c.token_file = ::testing::TempDir();
  auto dir = LoadAdminTokens(c);
  ASSERT_FALSE(dir.ok());
  EXPECT_NE(dir.status().message().find("is a directory"), std::string::npos) << dir.status().message();
  const std::string path = ::testing::TempDir() + "/admin-tokens-empty";
  {
    std::ofstream out(path);
    out << "# only a comment\n\n";
  }
  c.token_file = path;
  auto empty = LoadAdminTokens(c);
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.status().message().find("holds no token"), std::string::npos);
  std::filesystem::remove(path);
  c.token_file = "/dev/zero";
  auto endless = LoadAdminTokens(c);
  ASSERT_FALSE(endless.ok());
  EXPECT_NE(endless.status().message().find("larger than 1048576 bytes"), std::string::npos);
}

}  // namespace
}  // namespace apitrail
