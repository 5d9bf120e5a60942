// JWT tests forge their own tokens: RSA and EC keys are generated here with OpenSSL, and good
// and bad tokens are signed by hand.

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "security/security.h"
#include "security_test_util.h"

namespace loom::security {
namespace {

using loom::security::testing::FakeClock;
using nlohmann::json;

struct KeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using Key = std::unique_ptr<EVP_PKEY, KeyDeleter>;

std::string B64(std::string_view bytes) {
  static constexpr char k[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : bytes) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(k[(acc >> bits) & 63]);
    }
  }
  if (bits > 0) out.push_back(k[(acc << (6 - bits)) & 63]);
  return out;
}

std::string PublicPem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, key);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(n));
  BIO_free(bio);
  return pem;
}

std::string SignDigest(EVP_PKEY* key, std::string_view input) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  size_t len = 0;
  EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key);
  EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()),
                 input.size());
  std::string sig(len, '\0');
  EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                 reinterpret_cast<const unsigned char*>(input.data()), input.size());
  sig.resize(len);
  EVP_MD_CTX_free(ctx);
  if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC) return sig;
  // DER ECDSA-Sig-Value -> JWS r || s, 32 bytes each.
  const unsigned char* p = reinterpret_cast<const unsigned char*>(sig.data());
  ECDSA_SIG* es = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size()));
  std::string raw(64, '\0');
  BN_bn2binpad(ECDSA_SIG_get0_r(es), reinterpret_cast<unsigned char*>(raw.data()), 32);
  BN_bn2binpad(ECDSA_SIG_get0_s(es), reinterpret_cast<unsigned char*>(raw.data()) + 32, 32);
  ECDSA_SIG_free(es);
  return raw;
}

std::string Token(EVP_PKEY* key, const json& header, const json& claims) {
  std::string input = B64(header.dump()) + "." + B64(claims.dump());
  return input + "." + B64(SignDigest(key, input));
}

class JwtTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    rsa_ = EVP_RSA_gen(2048);
    other_rsa_ = EVP_RSA_gen(2048);
    ec_ = EVP_EC_gen("P-256");
  }
  static void TearDownTestSuite() {
    EVP_PKEY_free(rsa_);
    EVP_PKEY_free(other_rsa_);
    EVP_PKEY_free(ec_);
  }

  void SetUp() override {
    JwtOptions o;
    o.issuer = "https://idp.example.com";
    o.audience = "loom";
    o.keys = {{"rsa-1", PublicPem(rsa_)}, {"ec-1", PublicPem(ec_)}};
    o.clock = &clock_;
    auto v = JwtVerifier::Create(o);
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    verifier_ = std::move(v).value();
  }

  json Claims() const {
    const int64_t now = clock_.Seconds();
    return {{"iss", "https://idp.example.com"},
            {"aud", "loom"},
            {"sub", "alice"},
            {"iat", now - 10},
            {"nbf", now - 10},
            {"exp", now + 600},
            {"jti", "abc-123"},
            {"groups", {"analysts", "bad name!", "media-owners"}}};
  }
  static json Rs(std::string kid = "rsa-1") {
    return {{"alg", "RS256"}, {"typ", "JWT"}, {"kid", kid}};
  }
  static json Es(std::string kid = "ec-1") { return {{"alg", "ES256"}, {"kid", kid}}; }

  // The reason a token is refused; fails the test if it is accepted.
  std::string Refusal(const std::string& token) const {
    Result<Identity> id = verifier_->Verify(token);
    EXPECT_FALSE(id.ok()) << "accepted: " << token;
    if (id.ok()) return "";
    EXPECT_EQ(id.status().code(), StatusCode::kUnauthenticated);
    if (!token.empty()) {
      EXPECT_EQ(id.status().message().find(token), std::string::npos);
    }
    return id.status().message();
  }

  static EVP_PKEY* rsa_;
  static EVP_PKEY* other_rsa_;
  static EVP_PKEY* ec_;
  FakeClock clock_;
  std::unique_ptr<JwtVerifier> verifier_;
};

EVP_PKEY* JwtTest::rsa_ = nullptr;
EVP_PKEY* JwtTest::other_rsa_ = nullptr;
EVP_PKEY* JwtTest::ec_ = nullptr;

TEST_F(JwtTest, AcceptsRs256AndMapsClaimsToAnIdentity) {
  ASSERT_OK_AND_ASSIGN(Identity id, verifier_->Verify(Token(rsa_, Rs(), Claims())));
  EXPECT_EQ(id.principal, "user:alice");
  EXPECT_EQ(id.method, AuthMethod::kJwt);
  EXPECT_EQ(id.credential_id, "abc-123");
  // "bad name!" is no legal group name and is dropped.
  EXPECT_EQ(id.groups, (std::vector<std::string>{"group:analysts", "group:media-owners"}));
  EXPECT_EQ(id.scopes, (std::vector<std::string>{"*"}));
}

TEST_F(JwtTest, AcceptsEs256) {
  ASSERT_OK_AND_ASSIGN(Identity id, verifier_->Verify(Token(ec_, Es(), Claims())));
  EXPECT_EQ(id.principal, "user:alice");
}

TEST_F(JwtTest, RefusesAlgNone) {
  json h = {{"alg", "none"}, {"typ", "JWT"}};
  std::string unsigned_token = B64(h.dump()) + "." + B64(Claims().dump()) + ".";
  EXPECT_NE(Refusal(unsigned_token).find("not accepted"), std::string::npos);
  h["alg"] = "None";
  Refusal(B64(h.dump()) + "." + B64(Claims().dump()) + ".");
  // none with the kid of a real key, and with a real signature attached, is still none.
  json h2 = {{"alg", "none"}, {"kid", "rsa-1"}};
  Refusal(B64(h2.dump()) + "." + B64(Claims().dump()) + "." +
          Token(rsa_, Rs(), Claims()).substr(Token(rsa_, Rs(), Claims()).rfind('.') + 1));
}

TEST_F(JwtTest, RefusesHs256SignedWithThePublicKeyAsSecret) {
  const std::string pem = PublicPem(rsa_);
  for (std::string alg : {"HS256", "HS384", "HS512"}) {
    json h = {{"alg", alg}, {"kid", "rsa-1"}};
    std::string input = B64(h.dump()) + "." + B64(Claims().dump());
    unsigned char mac[64];
    unsigned int len = 0;
    HMAC(alg == "HS256"   ? EVP_sha256()
         : alg == "HS384" ? EVP_sha384()
                          : EVP_sha512(),
         pem.data(), static_cast<int>(pem.size()),
         reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
    std::string token = input + "." + B64(std::string(reinterpret_cast<char*>(mac), len));
    EXPECT_NE(Refusal(token).find("not accepted"), std::string::npos) << alg;
  }
}

TEST_F(JwtTest, RefusesATokenSignedByAnotherKey) {
  EXPECT_NE(Refusal(Token(other_rsa_, Rs(), Claims())).find("signature"), std::string::npos);
}

TEST_F(JwtTest, RefusesAlteredClaimsAfterSigning) {
  std::string token = Token(rsa_, Rs(), Claims());
  json evil = Claims();
  evil["sub"] = "admin";
  evil["groups"] = {"governance"};
  size_t d1 = token.find('.');
  size_t d2 = token.rfind('.');
  std::string forged = token.substr(0, d1 + 1) + B64(evil.dump()) + token.substr(d2);
  Refusal(forged);
  // A flipped signature bit.
  std::string flipped = token;
  flipped[d2 + 5] = flipped[d2 + 5] == 'A' ? 'B' : 'A';
  Refusal(flipped);
}

TEST_F(JwtTest, RefusesAlgorithmAndKeyTypeSwaps) {
  // ES256 header naming the RSA key, RS256 header naming the EC key.
  EXPECT_NE(Refusal(Token(ec_, Es("rsa-1"), Claims())).find("does not match"), std::string::npos);
  EXPECT_NE(Refusal(Token(rsa_, Rs("ec-1"), Claims())).find("does not match"), std::string::npos);
  // PS256 and RS512 are not on the list either.
  json ps = {{"alg", "PS256"}, {"kid", "rsa-1"}};
  Refusal(Token(rsa_, ps, Claims()));
}

TEST_F(JwtTest, RefusesUnknownKidAndAmbiguousMissingKid) {
  EXPECT_NE(Refusal(Token(rsa_, Rs("rsa-9"), Claims())).find("not configured"), std::string::npos);
  // Without a kid the single RSA key is used.
  json no_kid = {{"alg", "RS256"}};
  EXPECT_TRUE(verifier_->Verify(Token(rsa_, no_kid, Claims())).ok());
}

TEST_F(JwtTest, RefusesExpiredTokensBeyondTheSkew) {
  json c = Claims();
  c["exp"] = clock_.Seconds() - 30;  // within 60 s of skew
  EXPECT_TRUE(verifier_->Verify(Token(rsa_, Rs(), c)).ok());
  c["exp"] = clock_.Seconds() - 61;
  EXPECT_NE(Refusal(Token(rsa_, Rs(), c)).find("expired"), std::string::npos);
  c.erase("exp");
  EXPECT_NE(Refusal(Token(rsa_, Rs(), c)).find("no exp"), std::string::npos);
  c["exp"] = "tomorrow";
  Refusal(Token(rsa_, Rs(), c));
}

TEST_F(JwtTest, RefusesNotYetValidAndFutureIssuedTokens) {
  json c = Claims();
  c["nbf"] = clock_.Seconds() + 120;
  EXPECT_NE(Refusal(Token(rsa_, Rs(), c)).find("not valid before"), std::string::npos);
  c = Claims();
  c["iat"] = clock_.Seconds() + 120;
  EXPECT_NE(Refusal(Token(rsa_, Rs(), c)).find("future"), std::string::npos);
}

TEST_F(JwtTest, RefusesWrongIssuerAndAudience) {
  json c = Claims();
  c["iss"] = "https://evil.example.com";
  EXPECT_NE(Refusal(Token(rsa_, Rs(), c)).find("issuer"), std::string::npos);
  c = Claims();
  c["aud"] = "other-app";
  EXPECT_NE(Refusal(Token(rsa_, Rs(), c)).find("audience"), std::string::npos);
  c.erase("aud");
  Refusal(Token(rsa_, Rs(), c));
  c["aud"] = {"other-app", "loom"};
  EXPECT_TRUE(verifier_->Verify(Token(rsa_, Rs(), c)).ok());
}

TEST_F(JwtTest, RefusesMalformedTokens) {
  std::string good = Token(rsa_, Rs(), Claims());
  for (const std::string& bad :
       {std::string(""), std::string("abc"), std::string("a.b"), good + ".x.y",
        std::string("!!.??.##"), good + "=", std::string(20000, 'a')}) {
    Refusal(bad);
  }
  json crit = Rs();
  crit["crit"] = {"exp"};
  Refusal(Token(rsa_, crit, Claims()));
}

TEST_F(JwtTest, MapsScopesAndPrincipalSubjects) {
  json c = Claims();
  c["scope"] = "openid profile read";
  c["sub"] = "service:etl";
  ASSERT_OK_AND_ASSIGN(Identity id, verifier_->Verify(Token(rsa_, Rs(), c)));
  EXPECT_EQ(id.principal, "service:etl");
  EXPECT_EQ(id.scopes, (std::vector<std::string>{"read"}));
  c["sub"] = "group:governance";
  EXPECT_NE(Refusal(Token(rsa_, Rs(), c)).find("group"), std::string::npos);
}

TEST_F(JwtTest, AnExplicitGroupMapKeepsOnlyMappedGroups) {
  JwtOptions o;
  o.issuer = "https://idp.example.com";
  o.audience = "loom";
  o.keys = {{"rsa-1", PublicPem(rsa_)}};
  o.clock = &clock_;
  o.group_map = {{"media-owners", "group:media-player-owners"}};
  ASSERT_OK_AND_ASSIGN(auto v, JwtVerifier::Create(o));
  ASSERT_OK_AND_ASSIGN(Identity id, v->Verify(Token(rsa_, Rs(), Claims())));
  EXPECT_EQ(id.groups, (std::vector<std::string>{"group:media-player-owners"}));
}

TEST_F(JwtTest, CreateRefusesBadConfiguration) {
  JwtOptions o;
  o.issuer = "https://idp.example.com";
  o.audience = "loom";
  EXPECT_EQ(JwtVerifier::Create(o).status().code(), StatusCode::kInvalidArgument);  // no keys
  o.keys = {{"k", "-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n"}};
  EXPECT_EQ(JwtVerifier::Create(o).status().code(), StatusCode::kInvalidArgument);
  Key small(EVP_RSA_gen(1024));
  o.keys = {{"small", PublicPem(small.get())}};
  EXPECT_NE(JwtVerifier::Create(o).status().message().find("2048"), std::string::npos);
  Key p384(EVP_EC_gen("P-384"));
  o.keys = {{"p384", PublicPem(p384.get())}};
  EXPECT_NE(JwtVerifier::Create(o).status().message().find("P-256"), std::string::npos);
  o.keys = {{"rsa-1", PublicPem(rsa_)}};
  o.issuer = "";
  EXPECT_EQ(JwtVerifier::Create(o).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace loom::security
