// JwtVerifierFixture: the keys and verifier factories the JWT verifier tests share (an RSA and
// an EC key generated once per suite, issuer configs for kIss and aud orders-api, verifiers
// from a secret, a PEM file or a JWKS file in a per-test directory). Test-only; one thread.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "auth/jwt_verifier.h"
#include "testutil/temp_dir.h"
#include "unit/auth/jwt_test_signer.h"

namespace apitrail::testing {

class JwtVerifierFixture : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    rsa_ = GenerateRsa2048();
    rsa2_ = GenerateRsa2048();
    ec_ = GenerateP256();
  }
  static void TearDownTestSuite() {
    rsa_.reset();
    rsa2_.reset();
    ec_.reset();
  }

  static JwtIssuerConfig Base() {
    JwtIssuerConfig c;
    c.issuer = kIss;
    c.audiences = {"orders-api"};
    return c;
  }
  static std::unique_ptr<JwtVerifier> Make(std::vector<JwtIssuerConfig> configs) {
    auto v = JwtVerifier::Create(configs);
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return v.ok() ? std::move(v).value() : nullptr;
  }
  static std::unique_ptr<JwtVerifier> MakeWithSecret() {
    JwtIssuerConfig c = Base();
    c.secret = kSecret;
    return Make({c});
  }
  std::unique_ptr<JwtVerifier> MakeWithPem(EVP_PKEY* key) {
    JwtIssuerConfig c = Base();
    c.key_file = dir_.Write("key.pem", PublicKeyPem(key));
    return Make({c});
  }
  std::unique_ptr<JwtVerifier> MakeWithJwks(const std::string& jwks) {
    JwtIssuerConfig c = Base();
    c.jwks_file = dir_.Write("jwks.json", jwks);
    return Make({c});
  }

  inline static PkeyPtr rsa_, rsa2_, ec_;
  TempDir dir_;
};

}  // namespace apitrail::testing
