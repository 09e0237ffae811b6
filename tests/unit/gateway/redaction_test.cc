#include "gateway/redaction.h"

#include <gtest/gtest.h>

#include <chrono>

namespace apitrail {
namespace {

constexpr char kRedacted[] = "[REDACTED]";

TEST(RedactorTest, BuiltInNames) {
  Redactor r(RedactionConfig{});
  for (const char* n :
       {"password", "passwd", "pwd", "secret", "client_secret", "token", "access_token",
        "refresh_token", "id_token", "api_key", "apikey", "key", "auth", "authorization",
        "session", "sessionid", "cookie", "signature", "sig", "private_key", "credential",
        "credentials", "otp", "pin", "ssn", "card_number", "cvv", "jwt", "sid"}) {
    EXPECT_TRUE(r.IsSecretName(n)) << n;
  }
}

TEST(RedactorTest, CaseSeparatorsAndContainment) {
  Redactor r(RedactionConfig{});
  for (const char* n : {"PASSWORD", "X-Api-Key", "x_api_key", "accessToken", "AccessToken",
                        "apiKey", "APIKey", "clientSecret", "user[password]", "csrftoken",
                        "userPassword", "passWord", "new-pin", "pinCode", "X-Amz-Signature",
                        "oauth.token", "sessionId", "auth_code", "api_key_id", "cardNumber", "db.key"}) {
    EXPECT_TRUE(r.IsSecretName(n)) << n;
  }
}

TEST(RedactorTest, ShortWordsDoNotMatchInsideOtherWords) {
  Redactor r(RedactionConfig{});
  for (const char* n : {"monkey", "author", "spin", "design", "keyboard_layout", "page",
                        "limit", "expand", "q", "user_id", "order_id", "hotpot", "compass",
                        "sort", "country_code", "state"}) {
    EXPECT_FALSE(r.IsSecretName(n)) << n;
  }
}

TEST(RedactorTest, Extras) {
  RedactionConfig cfg;
  cfg.extra = {"Ticket", "x-signing-nonce", "--"};
  Redactor r(cfg);
  EXPECT_TRUE(r.IsSecretName("ticket"));
  EXPECT_TRUE(r.IsSecretName("TICKET"));
  EXPECT_TRUE(r.IsSecretName("support_ticket"));
  EXPECT_TRUE(r.IsSecretName("X-Signing-Nonce"));
  EXPECT_TRUE(r.IsSecretName("x_signing_nonce"));
  EXPECT_FALSE(r.IsSecretName("tickets_count"));  // "tickets" is another word
  EXPECT_FALSE(r.IsSecretName("ticketing"));  // extras match whole words
  EXPECT_FALSE(Redactor(RedactionConfig{}).IsSecretName("ticket"));
}

// Extra names are case-insensitive, whichever side has the camel case: the name was read
// "my_custom" and the extra "mycustom" (or the reverse), and the value recorded in clear.
TEST(RedactorTest, ExtrasIgnoreCaseEvenWithCamelCase) {
  RedactionConfig cfg;
  cfg.extra = {"mycustom", "ticketId"};
  Redactor r(cfg);
  for (const char* n : {"mycustom", "myCustom", "MyCustom", "MYCUSTOM", "MyCustom_id", "x-MyCustom",
                        "ticketId", "ticket_id", "ticketid", "TICKETID", "TicketID", "old_ticketid"}) {
    EXPECT_TRUE(r.IsSecretName(n)) << n;
  }
  EXPECT_FALSE(r.IsSecretName("my_custom"));  // another word split, as "ticketing" is
  EXPECT_FALSE(r.IsSecretName("mycustomer"));
  EXPECT_FALSE(r.IsSecretName("ticketidx"));
  KeyValues kv = r.RedactQuery("myCustom=SECRET1&ticketid=SECRET2&page=2");
  EXPECT_EQ(kv, (KeyValues{{"myCustom", kRedacted}, {"ticketid", kRedacted}, {"page", "2"}}));
}

// API keys and JWTs are secrets whatever the parameter is called.
TEST(RedactorTest, CredentialsAreRedactedUnderAnyName) {
  Redactor r(RedactionConfig{});
  const std::string key = "atk_AbCdEfGh_0123456789abcdefghijABCDEFGHIJ01234567";  // 51 chars
  const std::string jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";
  KeyValues kv = r.RedactQuery("k=" + key + "&t=" + jwt + "&b=Bearer%20" + jwt + "&" + key +
                               "&u=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.&page=2&v=eyJust.text&w=atk_short_1");
  EXPECT_EQ(kv, (KeyValues{{"k", kRedacted},
                           {"t", kRedacted},
                           {"b", kRedacted},
                           {kRedacted, kRedacted},
                           {"u", kRedacted},
                           {"page", "2"},
                           {"v", "eyJust.text"},
                           {"w", "atk_short_1"}}));
}

TEST(RedactorTest, CredentialSearchIsLinear) {
  // 100k "eyJ"s in one value, each the start of a base64url run that never becomes a JWT: a
  // search restarting at each of them read ~15 G characters (minutes); linear, a few ms.
  Redactor r(RedactionConfig{});
  std::string value;
  for (int i = 0; i < 100000; ++i) value += "eyJ";
  const auto t0 = std::chrono::steady_clock::now();
  KeyValues kv = r.RedactQuery("v=" + value + ".x%20&w=" + value + "." + value);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));  // a complexity bound, not a benchmark
  ASSERT_EQ(kv.size(), 2u);
  EXPECT_NE(kv[0].second, kRedacted);
  EXPECT_NE(kv[1].second, kRedacted);
  EXPECT_EQ(r.RedactQuery("v=" + value + "." + value + "." + value)[0].second, kRedacted);
}

TEST(RedactorTest, RedactQueryParsesDecodesAndRedacts) {
  Redactor r(RedactionConfig{});
  KeyValues kv = r.RedactQuery("a=1&b=x+y%21&&flag&token=abc&Pass%77ord=p&empty=&c=%zz");
  EXPECT_EQ(kv, (KeyValues{{"a", "1"},
                           {"b", "x y!"},
                           {"flag", ""},
                           {"token", kRedacted},
                           {"Password", kRedacted},
                           {"empty", ""},
                           {"c", "%zz"}}));
  EXPECT_TRUE(r.RedactQuery("").empty());
  EXPECT_EQ(r.RedactQuery("a=b=c"), (KeyValues{{"a", "b=c"}}));
}

TEST(RedactorTest, CapsParamCount) {
  Redactor r(RedactionConfig{});
  std::string q;
  for (int i = 0; i < 70; ++i) q += "p" + std::to_string(i) + "=v&";
  KeyValues kv = r.RedactQuery(q);
  ASSERT_EQ(kv.size(), Redactor::kMaxParams + 1);
  EXPECT_EQ(kv[63].first, "p63");
  EXPECT_EQ(kv.back().first, std::string(Redactor::kTruncated));
  EXPECT_EQ(kv.back().second, "6 more");
}

TEST(RedactorTest, CapsNameAndValueLength) {
  Redactor r(RedactionConfig{});
  std::string name(200, 'n');
  std::string value(2000, 'v');
  KeyValues kv = r.RedactQuery(name + "=" + value);
  ASSERT_EQ(kv.size(), 1u);
  EXPECT_EQ(kv[0].first, std::string(128, 'n') + std::string(Redactor::kTruncated));
  EXPECT_EQ(kv[0].second, std::string(1024, 'v') + std::string(Redactor::kTruncated));
  // Never cut inside a UTF-8 sequence: 1023 'v' + "é" (2 bytes) → cut before the 'é'.
  kv = r.RedactQuery("x=" + std::string(1023, 'v') + "%C3%A9zzz");
  EXPECT_EQ(kv[0].second, std::string(1023, 'v') + std::string(Redactor::kTruncated));
  // Bytes that are not UTF-8 at all are cut near the limit, not backed off to nothing: the
  // cut looked back over every continuation byte and kept an empty value.
  std::string raw;
  for (int i = 0; i < 1500; ++i) raw += "%80";
  kv = r.RedactQuery("x=" + raw);
  ASSERT_EQ(kv.size(), 1u);
  EXPECT_GE(kv[0].second.size(), 1020u + std::string(Redactor::kTruncated).size()) << kv[0].second.size();
  EXPECT_LE(kv[0].second.size(), 1024u + std::string(Redactor::kTruncated).size());
  // A long secret name is still recognised (checked before truncation).
  kv = r.RedactQuery(std::string(300, 'a') + "_token=x");
  EXPECT_EQ(kv[0].second, kRedacted);
}

}  // namespace
}  // namespace apitrail

namespace apitrail {
namespace {

// The per-thread memo of answers never outlives its Redactor's configuration: a reload
// builds a new Redactor whose extras apply at once on the same thread, and asking twice,
// or past the memo's capacity, gives the same answers.
TEST(RedactorTest, RememberedAnswersFollowTheirRedactor) {
  RedactionConfig with_ticket;
  with_ticket.extra = {"ticket"};
  Redactor plain{RedactionConfig{}};
  Redactor extended(with_ticket);
  for (int round = 0; round < 2; ++round) {
    EXPECT_FALSE(plain.IsSecretName("ticket"));
    EXPECT_TRUE(extended.IsSecretName("ticket"));
    EXPECT_TRUE(plain.IsSecretName("password"));
    EXPECT_FALSE(plain.IsSecretName("page"));
  }
  for (size_t i = 0; i < Redactor::kCachedNames + 10; ++i) {
    EXPECT_FALSE(plain.IsSecretName("field" + std::to_string(i)));
  }
  EXPECT_TRUE(plain.IsSecretName("api_key"));  // the memo is full: computed, still right
  EXPECT_TRUE(plain.IsSecretName(std::string(Redactor::kMaxCachedNameBytes + 1, 'x') + "token"));
}

}  // namespace
}  // namespace apitrail
