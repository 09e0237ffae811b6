#include "auth/token_binding.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace apitrail {
namespace {

struct Read {
  bool ok;
  std::string thumbprint;
  std::string why;
};

Read ReadFrom(const char* claims) {
  Read r;
  r.thumbprint = "stale";
  r.ok = ReadTokenBinding(boost::json::parse(claims).as_object(), &r.thumbprint, &r.why);
  return r;
}

const std::string kX5t = "dGhpcy1pcy1hLXRodW1icHJpbnQtb2YtMzItYnl0ZXM";  // 43 chars

TEST(TokenBinding, NoConfirmationIsABearerToken) {
  Read r = ReadFrom(R"({"sub":"a"})");
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.thumbprint, "");
}

TEST(TokenBinding, CertificateThumbprintIsRead) {
  Read r = ReadFrom((R"({"cnf":{"x5t#S256":")" + kX5t + "\"}}").c_str());
  EXPECT_TRUE(r.ok) << r.why;
  EXPECT_EQ(r.thumbprint, kX5t);
}

TEST(TokenBinding, WhatCannotBeCheckedIsRefused) {
  for (const char* claims :
       {R"({"cnf":{"jkt":"0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}})",
        R"({"cnf":{"jwk":{"kty":"EC"}}})", R"({"cnf":{}})", R"({"cnf":"x5t"})",
        R"({"cnf":{"x5t#S256":"short"}})", R"({"cnf":{"x5t#S256":42}})",
        R"({"cnf":{"x5t#S256":"dGhpcy1pcy1hLXRodW1icHJpbnQtb2YtMzItYnl0ZXM","jkt":"k"}})",
        R"({"cnf":{"x5t#S256":"dGhpcy1pcy1hLXRodW1icHJpbnQtb2YtMzItYnl0ZX+"}})"}) {
    Read r = ReadFrom(claims);
    EXPECT_FALSE(r.ok) << claims;
    EXPECT_EQ(r.thumbprint, "") << claims;
    EXPECT_FALSE(r.why.empty()) << claims;
  }
  EXPECT_NE(ReadFrom(R"({"cnf":{"jkt":"k"}})").why.find("DPoP"), std::string::npos);
}

TEST(TokenBinding, BindingHoldsOnlyForTheSameCertificate) {
  EXPECT_TRUE(CertificateBindingHolds(kX5t, kX5t));
  EXPECT_FALSE(CertificateBindingHolds(kX5t, ""));
  EXPECT_FALSE(CertificateBindingHolds(kX5t, kX5t.substr(0, 42) + "A"));
  EXPECT_FALSE(CertificateBindingHolds("", ""));
}

}  // namespace
}  // namespace apitrail
