#include "core/event.h"

#include <gtest/gtest.h>

namespace apitrail {
namespace {

AuditEvent Sample() {
  AuditEvent e;
  e.id = "01890a5d-ac96-774b-bcce-b302099a8057";
  e.node = "n1";
  e.time_ns = 1764165012123456789;
  e.duration_us = 1500;
  e.decision = "allow";
  e.subject = "alice";
  e.scopes = {"orders:read"};
  e.method = "GET";
  e.path = "/v1/orders/42";
  e.route = "GET /v1/orders/{order_id}";
  e.resources = {{"order_id", "42"}};
  e.query = {{"token", "[REDACTED]"}};
  e.status = 200;
  e.sensitive = true;
  return e;
}

TEST(EventTest, JsonRoundTrips) {
  AuditEvent e = Sample();
  e.seq = 9;
  std::string json;
  AppendEventJson(e, &json);
  EXPECT_NE(json.find("\"time\":\"2025-11-26T13:50:12.123456789Z\""), std::string::npos);
  EXPECT_EQ(json.find("\"issuer\""), std::string::npos);
  auto d = DecodeEventJson(json);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  std::string again;
  AppendEventJson(*d, &again);
  EXPECT_EQ(again, json);
  EXPECT_EQ(d->resources, e.resources);
  EXPECT_TRUE(d->sensitive);
}

TEST(EventTest, ApiJsonStartsWithSeq) {
  AuditEvent e = Sample();
  e.seq = 7;
  std::string out;
  AppendEventJson(e, &out);
  EXPECT_EQ(out.rfind("{\"seq\":7,\"id\":", 0), 0u);
}

TEST(EventTest, MalformedJsonIsCorruption) {
  auto d = DecodeEventJson("{\"id\":");
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), StatusCode::kCorruption);
}

}  // namespace
}  // namespace apitrail
