// TLS in motion: HTTPS on the HTTP API and TLS on the PostgreSQL port, with a self-signed
// certificate made by the openssl CLI in the test. psql with sslmode=require and verify-full
// connects; plaintext is refused on both ports when TLS is configured.

#include <gtest/gtest.h>
#include <httplib.h>

#include "server/pg_test_util.h"
#include "server/server.h"

namespace loom::server {
namespace {

using loom::testing::CommandResult;
using loom::testing::RunCommand;
using loom::testing::TempDir;
using testing::PgFixture;

// A self-signed certificate for 127.0.0.1 and localhost: dir/cert.pem, dir/key.pem.
void MakeCertificate(const std::string& dir) {
  CommandResult r =
      RunCommand({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                  dir + "/key.pem", "-out", dir + "/cert.pem", "-days", "1", "-subj",
                  "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

CommandResult Psql(int port, const std::string& sslmode, const std::string& root_cert = "") {
  std::vector<std::string> argv = {"env", "PGCONNECT_TIMEOUT=10", "PGSSLMODE=" + sslmode};
  if (!root_cert.empty()) argv.push_back("PGSSLROOTCERT=" + root_cert);
  for (const char* a : {"psql", "-X", "-A", "-t", "-h", "127.0.0.1", "-U", "u", "-d", "loom"}) {
    argv.push_back(a);
  }
  argv.insert(argv.end(), {"-p", std::to_string(port), "-c",
                           "SELECT 'over ' || CASE WHEN true THEN 'tls' END AS answer"});
  return RunCommand(argv);
}

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override { MakeCertificate(certs_.path()); }
  std::string Cert() const { return certs_.Sub("cert.pem"); }
  std::string Key() const { return certs_.Sub("key.pem"); }
  TempDir certs_;
};

TEST_F(TlsTest, PsqlConnectsOverTlsAndPlaintextIsRefused) {
  PgServerOptions o;
  o.tls_cert_file = Cert();
  o.tls_key_file = Key();
  PgFixture fx(o);
  ASSERT_TRUE(fx.ok()) << fx.error();

  CommandResult require = Psql(fx.port(), "require");
  EXPECT_EQ(require.exit_code, 0) << require.err;
  EXPECT_EQ(require.out, "over tls\n");

  CommandResult verified = Psql(fx.port(), "verify-full", Cert());
  EXPECT_EQ(verified.exit_code, 0) << verified.err;
  EXPECT_EQ(verified.out, "over tls\n");

  // The refused caller: no TLS, no service.
  CommandResult plain = Psql(fx.port(), "disable");
  EXPECT_NE(plain.exit_code, 0);
  EXPECT_NE(plain.err.find("this server requires TLS"), std::string::npos) << plain.err;

  // A client that trusts another CA refuses the server.
  TempDir other;
  MakeCertificate(other.path());
  CommandResult untrusted = Psql(fx.port(), "verify-full", other.Sub("cert.pem"));
  EXPECT_NE(untrusted.exit_code, 0);
}

TEST_F(TlsTest, WithoutACertificateSslRequestIsAnsweredN) {
  PgFixture fx;
  ASSERT_TRUE(fx.ok()) << fx.error();
  CommandResult require = Psql(fx.port(), "require");
  EXPECT_NE(require.exit_code, 0);
  EXPECT_NE(require.err.find("does not support SSL"), std::string::npos) << require.err;
}

TEST_F(TlsTest, BadCertificateFilesFailTheStartWithTheFileNamed) {
  TempDir dir;
  platform::Options po;
  po.data_dir = dir.Sub("data");
  auto p = platform::Platform::Open(po);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  PgServerOptions o;
  o.listen = "127.0.0.1:0";
  o.tls_cert_file = dir.Sub("missing.pem");
  o.tls_key_file = Key();
  auto pg = PgServer::Start(**p, o);
  ASSERT_FALSE(pg.ok());
  EXPECT_EQ(pg.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(pg.status().message().find("missing.pem"), std::string::npos);

  ServerOptions so;
  so.listen = "127.0.0.1:0";
  so.tls_cert_file = Cert();
  so.tls_key_file = dir.Sub("missing.pem");
  auto http = Server::Start(**p, so);
  ASSERT_FALSE(http.ok());
  EXPECT_EQ(http.status().code(), StatusCode::kInvalidArgument);
}

TEST_F(TlsTest, HttpsServesTheApiAndPlainHttpGetsNoAnswer) {
  TempDir dir;
  platform::Options po;
  po.data_dir = dir.Sub("data");
  auto p = platform::Platform::Open(po);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  ServerOptions so;
  so.listen = "127.0.0.1:0";
  so.tls_cert_file = Cert();
  so.tls_key_file = Key();
  auto srv = Server::Start(**p, so);
  ASSERT_TRUE(srv.ok()) << srv.status().ToString();
  const int port = (*srv)->port();

  httplib::SSLClient https("127.0.0.1", port);
  https.set_ca_cert_path(Cert().c_str());
  https.enable_server_certificate_verification(true);
  https.set_connection_timeout(10);
  auto ok = https.Get("/healthz");
  ASSERT_TRUE(ok) << httplib::to_string(ok.error());
  EXPECT_EQ(ok->status, 200);

  // The refused callers: plain HTTP, and a client that does not trust the certificate.
  httplib::Client plain("127.0.0.1", port);
  plain.set_connection_timeout(5);
  plain.set_read_timeout(5);
  auto refused = plain.Get("/healthz");
  EXPECT_FALSE(refused && refused->status == 200);

  httplib::SSLClient untrusting("127.0.0.1", port);
  untrusting.enable_server_certificate_verification(true);
  untrusting.set_ca_cert_path("/nonexistent-ca.pem");
  auto untrusted = untrusting.Get("/healthz");
  EXPECT_FALSE(untrusted);
  (*srv)->Stop();
}

}  // namespace
}  // namespace loom::server
