// The adversarial suite against `loom serve`: every request authenticates (API tokens, JWTs of
// an identity provider, tokens as PostgreSQL passwords), forged and expired credentials are
// refused and audited, and an authenticated principal gets exactly its grants over HTTP and psql.

#include <httplib.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include <gtest/gtest.h>

#include <ctime>

#include "security/security_fixture.h"

namespace loom::security_e2e {
namespace {

using nlohmann::json;

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

std::string RsaSign(EVP_PKEY* key, std::string_view input) {
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
  return sig;
}

std::string Jwt(EVP_PKEY* key, const json& header, const json& claims) {
  std::string input = B64(header.dump()) + "." + B64(claims.dump());
  return input + "." + B64(RsaSign(key, input));
}

int Status(int port, const std::string& token, const std::string& path,
           std::string* www_authenticate = nullptr, std::string* body = nullptr) {
  httplib::Client c("127.0.0.1", port);
  if (!token.empty()) c.set_bearer_token_auth(token.c_str());
  auto r = c.Get(path);
  if (!r) return 0;
  if (www_authenticate) *www_authenticate = r->get_header_value("WWW-Authenticate");
  if (body) *body = r->body;
  return r->status;
}

e2e::HttpResponse Query(int port, const std::string& token, const std::string& sql) {
  return e2e::HttpPost(port, "/v1/query", json{{"sql", sql}, {"format", "csv"}}.dump(),
                       "application/json", token);
}

void ExpectNoSecret(const std::string& text, const std::string& what) {
  for (const std::string& s : kSecrets) {
    EXPECT_EQ(text.find(s), std::string::npos) << what << " leaked " << s << ":\n" << text;
  }
}

class ServerAccessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = dir_.Sub("data");
    ASSERT_EQ(BuildMesh(data_, dir_.path()), "");
    rsa_ = EVP_RSA_gen(2048);
    other_ = EVP_RSA_gen(2048);
    testing::WriteFile(dir_.Sub("idp.pem"), PublicPem(rsa_));
    server_ = std::make_unique<e2e::ServeProcess>(
        data_, std::vector<std::string>{"--jwt-issuer", "https://id.example.com/", "--jwt-audience",
                                        "loom", "--jwt-key", "k1=" + dir_.Sub("idp.pem"),
                                        "--jwt-group-map", "clinic-staff=group:clinic-team"});
    ASSERT_TRUE(server_->ok());
    port_ = server_->port();
  }
  void TearDown() override {
    EVP_PKEY_free(rsa_);
    EVP_PKEY_free(other_);
  }
  // A token made by the administrator over HTTP.
  std::string TokenFor(const std::string& principal, std::vector<std::string> scopes) {
    e2e::HttpResponse r = e2e::HttpPost(port_, "/v1/tokens",
                                        json{{"principal", principal}, {"scopes", scopes}}.dump(),
                                        "application/json", server_->token());
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body, nullptr, false).value("secret", "");
  }
  json Claims(const std::string& sub) {
    int64_t now = std::time(nullptr);
    return {{"iss", "https://id.example.com/"},
            {"aud", "loom"},
            {"sub", sub},
            {"iat", now},
            {"exp", now + 600},
            {"groups", json::array()}};
  }
  json AuditOfAnonymous() { return AuditOf(data_, "anonymous"); }

  testing::TempDir dir_;
  std::string data_;
  EVP_PKEY* rsa_ = nullptr;
  EVP_PKEY* other_ = nullptr;
  std::unique_ptr<e2e::ServeProcess> server_;
  int port_ = 0;
};

TEST_F(ServerAccessTest, EveryRequestButHealthNeedsAValidCredential) {
  std::string www;
  EXPECT_EQ(Status(port_, "", "/healthz"), 200);
  EXPECT_EQ(Status(port_, "", "/v1/products", &www), 401);
  EXPECT_NE(www.find("Bearer"), std::string::npos);
  EXPECT_EQ(Status(port_, "loom_0123456789abcdef_" + std::string(64, 'a'), "/v1/products", &www),
            401);
  EXPECT_NE(www.find("invalid_token"), std::string::npos);
  EXPECT_EQ(Status(port_, "not-a-token", "/v1/search?q=x"), 401);
  EXPECT_EQ(Status(port_, server_->token(), "/v1/products"), 200);
  // A revoked token stops working at once.
  std::string eve = TokenFor("user:eve", {"read"});
  EXPECT_EQ(Status(port_, eve, "/v1/products"), 200);
  std::string id = eve.substr(5, 16);
  httplib::Client admin("127.0.0.1", port_);
  admin.set_bearer_token_auth(server_->token().c_str());
  auto del = admin.Delete("/v1/tokens/" + id);
  ASSERT_TRUE(del && del->status == 200);
  EXPECT_EQ(Status(port_, eve, "/v1/products"), 401);
  // The POST routes too.
  EXPECT_EQ(Query(port_, "", "SELECT 1").status, 401);
  EXPECT_EQ(e2e::HttpPost(port_, "/v1/products/clinic/visits/ports/events/events",
                          VisitEvent(5, "a@b.c", "1", "SE"), "application/cloudevents+json")
                .status,
            401);
  json denied = AuditOfAnonymous();
  int authn = 0;
  for (const json& e : denied) authn += e.value("operation", "") == "authenticate";
  EXPECT_GE(authn, 5) << denied.dump();
  // Never the credential itself.
  EXPECT_EQ(denied.dump().find(std::string(64, 'a')), std::string::npos);
}

TEST_F(ServerAccessTest, ForgedExpiredAndConfusedJwtsAreRefused) {
  int64_t now = std::time(nullptr);
  json h = {{"alg", "RS256"}, {"typ", "JWT"}, {"kid", "k1"}};
  std::string good = Jwt(rsa_, h, Claims("ann"));
  EXPECT_EQ(Status(port_, good, "/v1/products"), 200);
  e2e::HttpResponse q = Query(port_, good, "SELECT email FROM users.profiles.current");
  EXPECT_EQ(q.status, 200) << q.body;
  ExpectNoSecret(q.body, "jwt query");

  std::vector<std::pair<std::string, std::string>> bad;
  json expired = Claims("ann");
  expired["exp"] = now - 3600;
  bad.emplace_back("expired", Jwt(rsa_, h, expired));
  json early = Claims("ann");
  early["nbf"] = now + 3600;
  bad.emplace_back("not yet valid", Jwt(rsa_, h, early));
  json iss = Claims("ann");
  iss["iss"] = "https://evil.example.com/";
  bad.emplace_back("wrong issuer", Jwt(rsa_, h, iss));
  json aud = Claims("ann");
  aud["aud"] = "someone-else";
  bad.emplace_back("wrong audience", Jwt(rsa_, h, aud));
  bad.emplace_back("other key", Jwt(other_, h, Claims("ann")));
  bad.emplace_back("alg none", B64(json{{"alg", "none"}, {"typ", "JWT"}}.dump()) + "." +
                                   B64(Claims("ann").dump()) + ".");
  {
    // HS256 keyed with the provider's public PEM: the classic key confusion.
    std::string pem = PublicPem(rsa_);
    std::string input =
        B64(json{{"alg", "HS256"}, {"kid", "k1"}}.dump()) + "." + B64(Claims("ann").dump());
    unsigned char mac[32];
    unsigned int len = 0;
    HMAC(EVP_sha256(), pem.data(), static_cast<int>(pem.size()),
         reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
    bad.emplace_back("hs256 confusion",
                     input + "." + B64(std::string_view(reinterpret_cast<char*>(mac), len)));
  }
  {
    // A valid token whose claims were edited afterwards (admin group added).
    json elevated = Claims("ann");
    elevated["groups"] = {"clinic-staff"};
    std::string forged =
        good.substr(0, good.find('.')) + "." + B64(elevated.dump()) + good.substr(good.rfind('.'));
    bad.emplace_back("edited claims", forged);
  }
  for (const auto& [what, token] : bad) {
    std::string www;
    EXPECT_EQ(Status(port_, token, "/v1/products", &www), 401) << what;
    EXPECT_NE(www.find("invalid_token"), std::string::npos) << what;
    EXPECT_NE(e2e::HttpPost(port_, "/v1/query", json{{"sql", "SELECT 1"}}.dump(),
                            "application/json", token)
                  .status,
              200)
        << what;
  }
  json denied = AuditOfAnonymous();
  int authn = 0;
  for (const json& e : denied) authn += e.value("operation", "") == "authenticate";
  EXPECT_GE(authn, static_cast<int>(bad.size()) * 2) << denied.dump();
  // The group claim maps to the clinic's owners: a real token with it reads the clinic in clear.
  json staff = Claims("nurse");
  staff["groups"] = {"clinic-staff"};
  e2e::HttpResponse clear =
      Query(port_, Jwt(rsa_, h, staff), "SELECT patient_email FROM clinic.visits.events");
  EXPECT_EQ(clear.status, 200) << clear.body;
  EXPECT_NE(clear.body.find("pat2@clinic.uk"), std::string::npos) << clear.body;
}

TEST_F(ServerAccessTest, APrincipalGetsExactlyItsGrantsOverHttp) {
  std::string eve = TokenFor("user:eve", {"read", "write"});
  std::string ann = TokenFor("user:ann", {"read"});
  std::string olle_read = TokenFor("user:olle", {"read"});
  // Eve: a product she may not read is answered as one that does not exist.
  std::string hidden, ghost;
  EXPECT_EQ(Status(port_, eve, "/v1/products/users/profiles", nullptr, &hidden), 404);
  EXPECT_EQ(Status(port_, eve, "/v1/products/users/nothing", nullptr, &ghost), 404);
  EXPECT_EQ(json::parse(hidden)["type"], json::parse(ghost)["type"]);
  EXPECT_EQ(Status(port_, eve, "/v1/products/users/profiles/ports/current/sample"), 404);
  EXPECT_EQ(Status(port_, eve, "/v1/products/clinic/visits/ports/events/events"), 404);
  std::string search;
  EXPECT_EQ(Status(port_, eve, "/v1/search?q=profiles", nullptr, &search), 200);
  EXPECT_TRUE(json::parse(search)["hits"].empty()) << search;
  EXPECT_NE(Query(port_, eve, "SELECT * FROM users.profiles.current").status, 200);
  EXPECT_EQ(e2e::HttpPost(port_, "/v1/products/clinic/visits/ports/events/events",
                          VisitEvent(7, "x@y.z", "1", "SE"), "application/cloudevents+json", eve)
                .status,
            404);
  EXPECT_EQ(e2e::HttpPost(port_, "/v1/grants",
                          json{{"principal", "user:eve"},
                               {"permissions", "read,unmask"},
                               {"address", "loom://users/profiles"}}
                              .dump(),
                          "application/json", eve)
                .status,
            404);
  // Ann: masked, filtered rows.
  e2e::HttpResponse rows = Query(port_, ann, "SELECT user_id, email FROM users.profiles.current");
  ASSERT_EQ(rows.status, 200) << rows.body;
  EXPECT_NE(rows.body.find("usr_0000000001"), std::string::npos);
  EXPECT_EQ(rows.body.find("usr_0000000002"), std::string::npos);
  ExpectNoSecret(rows.body, "ann over http");
  std::string sample;
  EXPECT_EQ(
      Status(port_, ann, "/v1/products/users/profiles/ports/current/sample", nullptr, &sample),
      200);
  ExpectNoSecret(sample, "sample");
  // An owner's read-only token cannot write, whatever the role.
  EXPECT_EQ(e2e::HttpPost(port_, "/v1/products/users/profiles/ports/current/versions",
                          "user_id,email,birth_date,country,plan\n", "text/csv", olle_read)
                .status,
            403);
  json eve_audit = AuditOf(data_, "user:eve");
  for (const char* op : {"show", "sample", "tail", "ingest", "grant", "query"}) {
    EXPECT_TRUE(HasDenial(eve_audit, op)) << op << ": " << eve_audit.dump();
  }
}

TEST_F(ServerAccessTest, StreamReadsMaskAndFilterWhileOwnersGetTheStoredEvents) {
  std::string ann = TokenFor("user:ann", {"read"});
  std::string eve = TokenFor("user:eve", {"read"});
  const std::string path = "/v1/products/clinic/visits/ports/events/events";
  // The administrator: both events, in clear, as they were published.
  std::string body;
  ASSERT_EQ(Status(port_, server_->token(), path, nullptr, &body), 200) << body;
  json page = json::parse(body);
  EXPECT_EQ(page["address"], "loom://clinic/visits/events");
  ASSERT_EQ(page["events"].size(), 2u) << body;
  for (int i = 0; i < 2; ++i) {
    const json& e = page["events"][static_cast<size_t>(i)];
    EXPECT_EQ(e["partition"], 0);
    EXPECT_EQ(e["offset"], i);
    json sent =
        json::parse(VisitEvent(i + 1, i == 0 ? "pat1@clinic.se" : "pat2@clinic.uk",
                               i == 0 ? "19900517-1234" : "19851102-9876", i == 0 ? "SE" : "GB"));
    EXPECT_EQ(e["event"]["id"], sent["id"]);
    EXPECT_EQ(e["event"]["data"], sent["data"]) << body;
  }
  EXPECT_EQ(page["next"], json({{"0", 2}}));
  EXPECT_EQ(page["endOfStream"], true);
  ASSERT_EQ(Status(port_, server_->token(), path + "?offsets=0:1", nullptr, &body), 200) << body;
  page = json::parse(body);
  ASSERT_EQ(page["events"].size(), 1u) << body;
  EXPECT_EQ(page["events"][0]["event"]["id"], "v2");
  // Ann: the rows of SE only, with the personal fields masked, as in SQL.
  ASSERT_EQ(Status(port_, ann, path, nullptr, &body), 200) << body;
  page = json::parse(body);
  ASSERT_EQ(page["events"].size(), 1u) << body;
  EXPECT_EQ(page["events"][0]["event"]["data"]["visit_id"], "v1");
  EXPECT_EQ(page["events"][0]["event"]["data"]["country"], "SE");
  ExpectNoSecret(body, "ann's stream read");
  // She may see the product, not its raw quarantine.
  EXPECT_EQ(Status(port_, ann, path + "?quarantine=true"), 403);
  // Eve: as if the port did not exist.
  EXPECT_EQ(Status(port_, eve, path, nullptr, &body), 404);
  ExpectNoSecret(body, "eve's stream read");
  bool audited = false;
  for (const json& e : AuditOf(data_, "user:ann")) {
    audited |=
        e.value("operation", "") == "tail" && e.value("allowed", false) && e.value("rows", 0) == 1;
  }
  EXPECT_TRUE(audited);
  EXPECT_TRUE(HasDenial(AuditOf(data_, "user:eve"), "tail"));
}

TEST_F(ServerAccessTest, PostgresClientsAuthenticateWithATokenAsPassword) {
  std::string ann = TokenFor("user:ann", {"read"});
  std::string eve = TokenFor("user:eve", {"read"});
  auto psql = [&](const std::string& password, const std::string& sql) {
    return testing::RunCommand({"env", "PGCONNECT_TIMEOUT=10", "PGPASSWORD=" + password, "psql",
                                "-X", "-w", "-A", "-t", "-h", "127.0.0.1", "-p",
                                std::to_string(server_->pg_port()), "-U", "anyone", "-d", "loom",
                                "-c", sql});
  };
  testing::CommandResult wrong = psql("loom_0123456789abcdef_" + std::string(64, 'b'), "SELECT 1");
  EXPECT_NE(wrong.exit_code, 0);
  EXPECT_NE(wrong.err.find("password authentication failed"), std::string::npos) << wrong.err;
  testing::CommandResult hidden = psql(eve, "SELECT * FROM users.profiles.current");
  EXPECT_NE(hidden.exit_code, 0);
  ExpectNoSecret(hidden.out + hidden.err, "psql eve");
  testing::CommandResult masked =
      psql(ann, "SELECT user_id, email, birth_date FROM users.profiles.current");
  ASSERT_EQ(masked.exit_code, 0) << masked.err;
  EXPECT_NE(masked.out.find("usr_0000000001|"), std::string::npos) << masked.out;
  EXPECT_NE(masked.out.find("1990-05-01"), std::string::npos) << masked.out;
  ExpectNoSecret(masked.out, "psql ann");
  testing::CommandResult trick =
      psql(ann, "SELECT min(email) FROM users.profiles.current WHERE email LIKE 'bob%'");
  ExpectNoSecret(trick.out + trick.err, "psql trick");
  json ann_audit = AuditOf(data_, "user:ann");
  bool audited = false;
  for (const json& e : ann_audit) {
    audited |= e.value("operation", "") == "query" &&
               e.value("address", "") == "loom://users/profiles/current" && e.value("rows", 0) == 1;
  }
  EXPECT_TRUE(audited) << ann_audit.dump();
  EXPECT_TRUE(HasDenial(AuditOf(data_, "user:eve"), "query"));
}

}  // namespace
}  // namespace loom::security_e2e
