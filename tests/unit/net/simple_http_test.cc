#include "net/simple_http.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace apitrail {
namespace {

// A handler that throws answers 500 with a JSON body that does not carry the exception's
// text, and the server goes on serving (the next request on the same server works).
TEST(SimpleHttpServerTest, ThrowingHandlerAnswers500AndServerSurvives) {
  SimpleHandler handler = [](const SimpleRequest& req) -> SimpleResponse {
    if (req.target == "/boom") throw std::runtime_error("secret path /etc/apitrail/admin-tokens");
    if (req.target == "/odd") throw 42;
    SimpleResponse res;
    res.body = R"({"ok":true})";
    return res;
  };
  auto server = SimpleHttpServer::Create(HostPort{"127.0.0.1", 0}, SimpleServerOptions{}, handler);
  ASSERT_TRUE(server.ok()) << server.status().message();
  (*server)->Start();
  const HostPort at{"127.0.0.1", (*server)->port()};

  for (const char* target : {"/boom", "/odd"}) {
    auto res = HttpRequest(at, "GET", target, {}, "", 5000);
    ASSERT_TRUE(res.ok()) << res.status().message();
    EXPECT_EQ(res->status, 500) << target;
    EXPECT_EQ(res->content_type, "application/json");
    EXPECT_NE(res->body.find("\"internal\""), std::string::npos) << res->body;
    EXPECT_EQ(res->body.find("secret"), std::string::npos) << res->body;
  }
  auto ok = HttpRequest(at, "GET", "/fine", {}, "", 5000);
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(ok->body, R"({"ok":true})");
  (*server)->Stop();
}

}  // namespace
}  // namespace apitrail
