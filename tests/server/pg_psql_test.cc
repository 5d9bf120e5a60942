// The wire listener with the real psql client (PostgreSQL 15), as a user would run it.

#include <gtest/gtest.h>

#include "server/pg_test_util.h"

namespace loom::server {
namespace {

using loom::testing::CommandResult;
using loom::testing::RunCommand;
using testing::PgFixture;

class PgPsqlTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(fx_.ok()) << fx_.error(); }
  CommandResult Psql(const std::vector<std::string>& args, const std::string& password = "") {
    std::vector<std::string> argv = {"env",
                                     "PGCONNECT_TIMEOUT=10",
                                     "PGSSLMODE=prefer",
                                     "PGPASSWORD=" + password,
                                     "psql",
                                     "-X",
                                     "-h",
                                     "127.0.0.1",
                                     "-p",
                                     std::to_string(fx_.port()),
                                     "-U",
                                     "u",
                                     "-d",
                                     "loom"};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv);
  }
  PgFixture fx_;
};

TEST_F(PgPsqlTest, RunsAQueryWithUnalignedTupleOnlyOutput) {
  CommandResult r = Psql({"-A", "-t", "-c", "SELECT 42 AS answer"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "42\n");
  EXPECT_EQ(r.err, "");
}

TEST_F(PgPsqlTest, PrintsSeveralRowsAndColumns) {
  CommandResult r = Psql({"-A", "-t", "-F", ",", "-c",
                          "SELECT x, x * x AS sq, NULL AS n, 'a b' AS s FROM generate_series(1, 3) "
                          "t(x) ORDER BY x"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "1,1,,a b\n2,4,,a b\n3,9,,a b\n");
  CommandResult aligned = Psql({"-c", "SELECT 1 AS one, 'x' AS two"});
  EXPECT_EQ(aligned.exit_code, 0) << aligned.err;
  EXPECT_EQ(aligned.out, " one | two \n-----+-----\n   1 | x\n(1 row)\n\n");
}

TEST_F(PgPsqlTest, ARefusedStatementPrintsTheErrorAndExitsNonZero) {
  CommandResult r =
      Psql({"-v", "VERBOSITY=verbose", "-c", "SELECT * FROM read_csv('/etc/passwd')"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("ERROR:  42501:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("read_csv"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("root:"), std::string::npos) << r.err;  // no file content
}

TEST_F(PgPsqlTest, CatalogCommandsFailCleanly) {
  CommandResult r = Psql({"-c", "\\d"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("ERROR:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("system catalog"), std::string::npos) << r.err;
  CommandResult v = Psql({"-A", "-t", "-c", "SHOW server_version"});
  EXPECT_EQ(v.exit_code, 0) << v.err;
  EXPECT_EQ(v.out, "15.0 (Loom)\n");
}

TEST_F(PgPsqlTest, RunsAScriptFromStdinStatementByStatement) {
  CommandResult r =
      RunCommand({"env", "PGCONNECT_TIMEOUT=10", "psql", "-X", "-A", "-t", "-h", "127.0.0.1", "-p",
                  std::to_string(fx_.port()), "-U", "u", "-d", "loom", "-v", "ON_ERROR_STOP=1"},
                 "SET application_name = 'script';\nSELECT 1;\nSELECT 'two';\n");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "SET\n1\ntwo\n");
}

TEST(PgPsqlAuthTest, AWrongPasswordIsRefused) {
  PgServerOptions options;
  options.auth = [](const std::string& user,
                    const std::string& password) -> Result<platform::Caller> {
    if (user == "u" && password == "right") return platform::Caller{};
    return Unauthenticated("no");
  };
  PgFixture fx(options);
  ASSERT_TRUE(fx.ok()) << fx.error();
  auto psql = [&](const std::string& password) {
    return RunCommand({"env", "PGCONNECT_TIMEOUT=10", "PGPASSWORD=" + password, "psql", "-X", "-w",
                       "-A", "-t", "-h", "127.0.0.1", "-p", std::to_string(fx.port()), "-U", "u",
                       "-d", "loom", "-c", "SELECT 'in' AS state"});
  };
  CommandResult wrong = psql("wrong");
  EXPECT_EQ(wrong.exit_code, 2);
  EXPECT_NE(wrong.err.find("password authentication failed for user \"u\""), std::string::npos)
      << wrong.err;
  CommandResult right = psql("right");
  EXPECT_EQ(right.exit_code, 0) << right.err;
  EXPECT_EQ(right.out, "in\n");
}

}  // namespace
}  // namespace loom::server
