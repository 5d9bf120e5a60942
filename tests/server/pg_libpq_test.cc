// The wire listener through libpq, as programs and drivers use it: simple and extended query
// protocols, typed columns, NULLs, streaming, cancel, errors with SQLSTATEs, connect-time SETs.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "server/pg_test_util.h"

namespace loom::server {
namespace {

using testing::Conn;
using testing::Connect;
using testing::PgFixture;
using testing::Res;
using testing::SqlState;

class PgLibpqTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fx_.ok()) << fx_.error();
    conn_ = Connect(fx_.ConnInfo());
    ASSERT_EQ(PQstatus(conn_.get()), CONNECTION_OK) << PQerrorMessage(conn_.get());
  }
  Res Exec(const std::string& sql) { return Res(PQexec(conn_.get(), sql.c_str())); }

  PgFixture fx_;
  Conn conn_;
};

TEST_F(PgLibpqTest, ReportsServerParametersAtConnect) {
  EXPECT_STREQ(PQparameterStatus(conn_.get(), "server_version"), "15.0 (Loom)");
  EXPECT_EQ(PQserverVersion(conn_.get()), 150000);
  EXPECT_STREQ(PQparameterStatus(conn_.get(), "server_encoding"), "UTF8");
  EXPECT_STREQ(PQparameterStatus(conn_.get(), "client_encoding"), "UTF8");
  EXPECT_STREQ(PQparameterStatus(conn_.get(), "DateStyle"), "ISO");
  EXPECT_STREQ(PQparameterStatus(conn_.get(), "integer_datetimes"), "on");
  EXPECT_STREQ(PQparameterStatus(conn_.get(), "standard_conforming_strings"), "on");
  EXPECT_STREQ(PQparameterStatus(conn_.get(), "TimeZone"), "UTC");
  EXPECT_GT(PQbackendPID(conn_.get()), 0);
}

TEST_F(PgLibpqTest, SimpleQueryReturnsTypedColumnsAndNulls) {
  Res r = Exec(
      "SELECT 42 AS answer, 'x' AS s, 1.5::DOUBLE AS d, true AS b, DATE '2024-05-01' AS day, "
      "NULL::INTEGER AS n, 9000000000 AS big, TIMESTAMP '2024-05-01 10:00:00' AS ts, "
      "12.50::DECIMAL(10,2) AS price");
  ASSERT_EQ(PQresultStatus(r.get()), PGRES_TUPLES_OK) << PQresultErrorMessage(r.get());
  ASSERT_EQ(PQnfields(r.get()), 9);
  ASSERT_EQ(PQntuples(r.get()), 1);
  EXPECT_STREQ(PQfname(r.get(), 0), "answer");
  const Oid oids[] = {23, 25, 701, 16, 1082, 23, 20, 1114, 1700};
  const char* values[] = {
      "42", "x", "1.5", "t", "2024-05-01", "", "9000000000", "2024-05-01 10:00:00", "12.50"};
  for (int c = 0; c < 9; ++c) {
    EXPECT_EQ(PQftype(r.get(), c), oids[c]) << PQfname(r.get(), c);
    EXPECT_STREQ(PQgetvalue(r.get(), 0, c), values[c]) << PQfname(r.get(), c);
  }
  EXPECT_TRUE(PQgetisnull(r.get(), 0, 5));
  EXPECT_FALSE(PQgetisnull(r.get(), 0, 1));
  EXPECT_EQ(PQfsize(r.get(), 0), 4);
  EXPECT_STREQ(PQcmdStatus(r.get()), "SELECT 1");
}

TEST_F(PgLibpqTest, ListsBlobsAndIntervalsUsePostgresTextFormat) {
  Res r = Exec(
      "SELECT [1, 2, NULL] AS a, ['x y', 'q\"'] AS s, '\\xAA\\x00A'::BLOB AS b, "
      "INTERVAL 14 MONTH AS i, 'nan'::DOUBLE AS f");
  ASSERT_EQ(PQresultStatus(r.get()), PGRES_TUPLES_OK) << PQresultErrorMessage(r.get());
  EXPECT_EQ(PQftype(r.get(), 0), 1007u);
  EXPECT_STREQ(PQgetvalue(r.get(), 0, 0), "{1,2,NULL}");
  EXPECT_EQ(PQftype(r.get(), 1), 1009u);
  EXPECT_STREQ(PQgetvalue(r.get(), 0, 1), "{\"x y\",\"q\\\"\"}");
  EXPECT_EQ(PQftype(r.get(), 2), 17u);
  EXPECT_STREQ(PQgetvalue(r.get(), 0, 2), "\\xaa0041");
  EXPECT_STREQ(PQgetvalue(r.get(), 0, 3), "1 year 2 mons");
  EXPECT_STREQ(PQgetvalue(r.get(), 0, 4), "NaN");
}

TEST_F(PgLibpqTest, ExecParamsBindsTextParametersAsLiterals) {
  const char* hostile = "it's'); SELECT * FROM read_csv('/etc/passwd'); --";
  const char* values[] = {"41", hostile, nullptr};
  Res r(PQexecParams(conn_.get(), "SELECT $1::INTEGER + 1 AS n, $2 AS s, $3::VARCHAR AS z", 3,
                     nullptr, values, nullptr, nullptr, 0));
  ASSERT_EQ(PQresultStatus(r.get()), PGRES_TUPLES_OK) << PQresultErrorMessage(r.get());
  EXPECT_STREQ(PQgetvalue(r.get(), 0, 0), "42");
  EXPECT_STREQ(PQgetvalue(r.get(), 0, 1), hostile);
  EXPECT_TRUE(PQgetisnull(r.get(), 0, 2));

  const Oid types[] = {20, 1082};
  const char* typed[] = {"5", "2024-02-28"};
  Res t(PQexecParams(conn_.get(), "SELECT $1 * 2 AS twice, $2 + 1 AS next_day", 2, types, typed,
                     nullptr, nullptr, 0));
  ASSERT_EQ(PQresultStatus(t.get()), PGRES_TUPLES_OK) << PQresultErrorMessage(t.get());
  EXPECT_EQ(PQftype(t.get(), 0), 20u);
  EXPECT_STREQ(PQgetvalue(t.get(), 0, 0), "10");
  EXPECT_STREQ(PQgetvalue(t.get(), 0, 1), "2024-02-29");

  const char* bad[] = {"not a number"};
  const Oid int_type[] = {23};
  Res e(PQexecParams(conn_.get(), "SELECT $1 AS n", 1, int_type, bad, nullptr, nullptr, 0));
  EXPECT_EQ(PQresultStatus(e.get()), PGRES_FATAL_ERROR);
  EXPECT_EQ(SqlState(e.get()), "22P02") << PQresultErrorMessage(e.get());
}

TEST_F(PgLibpqTest, PrepareDescribeAndExecutePrepared) {
  const Oid types[] = {20};
  Res p(PQprepare(conn_.get(), "times",
                  "SELECT x * $1 AS y FROM generate_series(1, 3) t(x) ORDER BY x", 1, types));
  ASSERT_EQ(PQresultStatus(p.get()), PGRES_COMMAND_OK) << PQresultErrorMessage(p.get());
  Res d(PQdescribePrepared(conn_.get(), "times"));
  ASSERT_EQ(PQresultStatus(d.get()), PGRES_COMMAND_OK) << PQresultErrorMessage(d.get());
  EXPECT_EQ(PQnparams(d.get()), 1);
  EXPECT_EQ(PQparamtype(d.get(), 0), 20u);
  ASSERT_EQ(PQnfields(d.get()), 1);
  EXPECT_STREQ(PQfname(d.get(), 0), "y");
  EXPECT_EQ(PQftype(d.get(), 0), 20u);
  for (const char* factor : {"10", "2"}) {
    const char* values[] = {factor};
    Res r(PQexecPrepared(conn_.get(), "times", 1, values, nullptr, nullptr, 0));
    ASSERT_EQ(PQresultStatus(r.get()), PGRES_TUPLES_OK) << PQresultErrorMessage(r.get());
    ASSERT_EQ(PQntuples(r.get()), 3);
    EXPECT_EQ(std::stoll(PQgetvalue(r.get(), 2, 0)), 3 * std::stoll(factor));
    EXPECT_STREQ(PQcmdStatus(r.get()), "SELECT 3");
  }
  Res dup(PQprepare(conn_.get(), "times", "SELECT 1", 0, nullptr));
  EXPECT_EQ(SqlState(dup.get()), "42P05");
  Res missing(PQexecPrepared(conn_.get(), "nope", 0, nullptr, nullptr, nullptr, 0));
  EXPECT_EQ(SqlState(missing.get()), "26000");
  Res refused(PQprepare(conn_.get(), "bad", "SELECT * FROM read_csv('/etc/passwd')", 0, nullptr));
  EXPECT_EQ(SqlState(refused.get()), "42501") << PQresultErrorMessage(refused.get());
}

TEST_F(PgLibpqTest, ErrorsCarrySqlstatesAndTheConnectionGoesOn) {
  struct Case {
    const char* sql;
    const char* state;
  };
  for (const Case& c :
       {Case{"SELEC 1", "42601"}, Case{"SELECT * FROM read_csv('/etc/passwd')", "42501"},
        Case{"SELECT * FROM nope.nope.nope", "42P01"}, Case{"SELECT 1; SELECT 2", "42501"},
        Case{"CREATE TABLE t (a INT)", "42501"}, Case{"SELECT * FROM pg_catalog.pg_class", "42P01"},
        Case{"SELECT no_such_function(1)", "42883"}, Case{"SET statement_timeout = 0", "0A000"},
        Case{"SET client_encoding = 'LATIN1'", "22023"}, Case{"SHOW nothing_like_this", "42704"}}) {
    Res r = Exec(c.sql);
    EXPECT_EQ(PQresultStatus(r.get()), PGRES_FATAL_ERROR) << c.sql;
    EXPECT_EQ(SqlState(r.get()), c.state) << c.sql << ": " << PQresultErrorMessage(r.get());
    EXPECT_EQ(PQresultErrorMessage(r.get())[0], 'E') << c.sql;  // "ERROR:  ..."
    Res ok = Exec("SELECT 1 AS one");
    ASSERT_EQ(PQresultStatus(ok.get()), PGRES_TUPLES_OK) << "after " << c.sql;
  }
  Res hinted = Exec("SELECT relname FROM pg_catalog.pg_class");
  const char* hint = PQresultErrorField(hinted.get(), PG_DIAG_MESSAGE_HINT);
  ASSERT_NE(hint, nullptr);
  EXPECT_NE(std::string(hint).find("system catalog"), std::string::npos);
}

TEST_F(PgLibpqTest, ExtendedProtocolErrorsAndBinaryFormatAreRefusedCleanly) {
  Res bad(PQexecParams(conn_.get(), "SELEC $1", 1, nullptr, nullptr, nullptr, nullptr, 0));
  EXPECT_EQ(SqlState(bad.get()), "42601") << PQresultErrorMessage(bad.get());
  Res binary(
      PQexecParams(conn_.get(), "SELECT 1 AS one", 0, nullptr, nullptr, nullptr, nullptr, 1));
  EXPECT_EQ(SqlState(binary.get()), "0A000") << PQresultErrorMessage(binary.get());
  const char* v[] = {"\x01\x02"};
  const int lengths[] = {2};
  const int formats[] = {1};
  Res binary_param(PQexecParams(conn_.get(), "SELECT $1 AS p", 1, nullptr, v, lengths, formats, 0));
  EXPECT_EQ(SqlState(binary_param.get()), "0A000");
  Res ok(PQexecParams(conn_.get(), "SELECT 2 AS two", 0, nullptr, nullptr, nullptr, nullptr, 0));
  ASSERT_EQ(PQresultStatus(ok.get()), PGRES_TUPLES_OK) << PQresultErrorMessage(ok.get());
  EXPECT_STREQ(PQgetvalue(ok.get(), 0, 0), "2");
}

TEST_F(PgLibpqTest, ConnectTimeStatementsOfDriversAreAnswered) {
  Res efd = Exec("SET extra_float_digits = 3");
  ASSERT_EQ(PQresultStatus(efd.get()), PGRES_COMMAND_OK) << PQresultErrorMessage(efd.get());
  EXPECT_STREQ(PQcmdStatus(efd.get()), "SET");
  Res app = Exec("SET application_name = 'dashboards'");
  ASSERT_EQ(PQresultStatus(app.get()), PGRES_COMMAND_OK);
  EXPECT_STREQ(PQparameterStatus(conn_.get(), "application_name"), "dashboards");
  Res show = Exec("SHOW server_version");
  ASSERT_EQ(PQresultStatus(show.get()), PGRES_TUPLES_OK);
  EXPECT_STREQ(PQfname(show.get(), 0), "server_version");
  EXPECT_STREQ(PQgetvalue(show.get(), 0, 0), "15.0 (Loom)");
  Res iso = Exec("SHOW TRANSACTION ISOLATION LEVEL");
  EXPECT_STREQ(PQgetvalue(iso.get(), 0, 0), "read committed");
  Res app_show = Exec("SHOW application_name");
  EXPECT_STREQ(PQgetvalue(app_show.get(), 0, 0), "dashboards");
  Res version = Exec("SELECT version()");
  ASSERT_EQ(PQresultStatus(version.get()), PGRES_TUPLES_OK);
  EXPECT_EQ(std::string(PQgetvalue(version.get(), 0, 0)).rfind("PostgreSQL 15.0 (Loom)", 0), 0u);
  // The same through the extended protocol, as JDBC sends them.
  Res set_ext(PQexecParams(conn_.get(), "SET application_name = 'jdbc'", 0, nullptr, nullptr,
                           nullptr, nullptr, 0));
  ASSERT_EQ(PQresultStatus(set_ext.get()), PGRES_COMMAND_OK) << PQresultErrorMessage(set_ext.get());
  EXPECT_STREQ(PQparameterStatus(conn_.get(), "application_name"), "jdbc");
  Res show_ext(
      PQexecParams(conn_.get(), "SHOW DateStyle", 0, nullptr, nullptr, nullptr, nullptr, 0));
  ASSERT_EQ(PQresultStatus(show_ext.get()), PGRES_TUPLES_OK);
  EXPECT_STREQ(PQfname(show_ext.get(), 0), "DateStyle");
  EXPECT_STREQ(PQgetvalue(show_ext.get(), 0, 0), "ISO");
  Res empty = Exec("");
  EXPECT_EQ(PQresultStatus(empty.get()), PGRES_EMPTY_QUERY);
  Res semis = Exec(" ; ; -- nothing\n");
  EXPECT_EQ(PQresultStatus(semis.get()), PGRES_EMPTY_QUERY);
}

TEST_F(PgLibpqTest, StreamsALargeResultRowByRow) {
  const int64_t n = testing::UnderSanitizer() ? 100000 : 1000000;
  std::string sql = "SELECT i, i * 2 AS j FROM range(" + std::to_string(n) + ") t(i)";
  ASSERT_EQ(PQsendQuery(conn_.get(), sql.c_str()), 1);
  ASSERT_EQ(PQsetSingleRowMode(conn_.get()), 1);
  int64_t rows = 0;
  int64_t sum = 0;
  bool done = false;
  while (PGresult* raw = PQgetResult(conn_.get())) {
    Res r(raw);
    if (PQresultStatus(r.get()) == PGRES_SINGLE_TUPLE) {
      ++rows;
      sum += std::stoll(PQgetvalue(r.get(), 0, 1));
    } else {
      EXPECT_EQ(PQresultStatus(r.get()), PGRES_TUPLES_OK) << PQresultErrorMessage(r.get());
      EXPECT_EQ(std::string(PQcmdStatus(r.get())), "SELECT " + std::to_string(n));
      done = true;
    }
  }
  EXPECT_TRUE(done);
  EXPECT_EQ(rows, n);
  EXPECT_EQ(sum, n * (n - 1));
}

TEST_F(PgLibpqTest, CancelStopsALongQuery) {
  PGcancel* cancel = PQgetCancel(conn_.get());
  ASSERT_NE(cancel, nullptr);
  std::atomic<bool> finished{false};
  Res result;
  auto start = std::chrono::steady_clock::now();
  std::thread runner([&] {
    result = Exec("SELECT count(*) FROM range(1000000000000) a(x) WHERE x % 7 = 3");
    finished = true;
  });
  // Cancel a few times: the first may land before the query has started.
  char err[256];
  for (int i = 0; i < 50 && !finished; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    if (!finished) {
      EXPECT_EQ(PQcancel(cancel, err, sizeof err), 1) << err;
    }
  }
  runner.join();
  PQfreeCancel(cancel);
  auto seconds =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - start)
          .count();
  EXPECT_LT(seconds, 10);
  EXPECT_EQ(PQresultStatus(result.get()), PGRES_FATAL_ERROR);
  EXPECT_EQ(SqlState(result.get()), "57014") << PQresultErrorMessage(result.get());
  Res after = Exec("SELECT 7 AS seven");
  ASSERT_EQ(PQresultStatus(after.get()), PGRES_TUPLES_OK) << PQresultErrorMessage(after.get());
  EXPECT_STREQ(PQgetvalue(after.get(), 0, 0), "7");
}

TEST_F(PgLibpqTest, ACancelRequestWithTheWrongKeyIsIgnored) {
  // A CancelRequest for this backend with a wrong key, then a query that must run to the end.
  testing::RawClient raw(fx_.port());
  ASSERT_TRUE(raw.connected());
  raw.Send(testing::Int32(16) + testing::Int32(80877102) +
           testing::Int32(PQbackendPID(conn_.get())) + testing::Int32(12345));
  EXPECT_TRUE(raw.ClosedByServer());
  Res r = Exec("SELECT count(*) AS n FROM range(3000000)");
  ASSERT_EQ(PQresultStatus(r.get()), PGRES_TUPLES_OK) << PQresultErrorMessage(r.get());
  EXPECT_STREQ(PQgetvalue(r.get(), 0, 0), "3000000");
}

TEST_F(PgLibpqTest, ConcurrentClientsGetTheirOwnResults) {
  std::vector<std::thread> threads;
  std::atomic<int> good{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      Conn c = Connect(fx_.ConnInfo());
      if (PQstatus(c.get()) != CONNECTION_OK) return;
      for (int i = 0; i < 5; ++i) {
        std::string want = std::to_string(t * 100 + i);
        const char* v[] = {want.c_str()};
        Res r(PQexecParams(c.get(), "SELECT $1::INTEGER AS v", 1, nullptr, v, nullptr, nullptr, 0));
        if (PQresultStatus(r.get()) == PGRES_TUPLES_OK && want == PQgetvalue(r.get(), 0, 0)) {
          ++good;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(good.load(), 20);
}

TEST(PgServerLimitsTest, ConnectionsBeyondTheLimitAreRefused) {
  PgServerOptions options;
  options.max_connections = 1;
  PgFixture fx(options);
  ASSERT_TRUE(fx.ok()) << fx.error();
  Conn first = Connect(fx.ConnInfo());
  ASSERT_EQ(PQstatus(first.get()), CONNECTION_OK);
  Conn second = Connect(fx.ConnInfo());
  EXPECT_EQ(PQstatus(second.get()), CONNECTION_BAD);
  EXPECT_NE(std::string(PQerrorMessage(second.get())).find("too many clients"), std::string::npos)
      << PQerrorMessage(second.get());
  first.reset();
  // The slot frees when the first client leaves.
  for (int i = 0; i < 50; ++i) {
    if (fx.server().connections() == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  Conn third = Connect(fx.ConnInfo());
  EXPECT_EQ(PQstatus(third.get()), CONNECTION_OK) << PQerrorMessage(third.get());
}

TEST(PgServerLimitsTest, StopClosesOpenConnections) {
  PgFixture fx;
  ASSERT_TRUE(fx.ok()) << fx.error();
  Conn c = Connect(fx.ConnInfo());
  ASSERT_EQ(PQstatus(c.get()), CONNECTION_OK);
  EXPECT_EQ(fx.server().connections(), 1u);
  auto start = std::chrono::steady_clock::now();
  fx.server().Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_EQ(fx.server().connections(), 0u);
  Res r(PQexec(c.get(), "SELECT 1"));
  EXPECT_NE(PQresultStatus(r.get()), PGRES_TUPLES_OK);
}

TEST(PgAuthTest, OnlyTheRightPasswordGetsIn) {
  PgServerOptions options;
  std::atomic<int> calls{0};
  options.auth = [&calls](const std::string& user,
                          const std::string& password) -> Result<platform::Caller> {
    ++calls;
    if (user == "ann" && password == "s3cret") return platform::Caller{};
    return Unauthenticated("wrong password");
  };
  PgFixture fx(options);
  ASSERT_TRUE(fx.ok()) << fx.error();
  std::string base = "host=127.0.0.1 port=" + std::to_string(fx.port()) +
                     " user=ann dbname=loom sslmode=disable gssencmode=disable connect_timeout=10";
  Conn wrong = Connect(base + " password=guess");
  EXPECT_EQ(PQstatus(wrong.get()), CONNECTION_BAD);
  EXPECT_NE(std::string(PQerrorMessage(wrong.get())).find("password authentication failed"),
            std::string::npos)
      << PQerrorMessage(wrong.get());
  Conn right = Connect(base + " password=s3cret");
  ASSERT_EQ(PQstatus(right.get()), CONNECTION_OK) << PQerrorMessage(right.get());
  Res r(PQexec(right.get(), "SELECT 1 AS one"));
  EXPECT_EQ(PQresultStatus(r.get()), PGRES_TUPLES_OK);
  EXPECT_EQ(calls.load(), 2);

  // The SQLSTATE of the refusal, as the protocol carries it.
  testing::RawClient raw(fx.port());
  std::string body =
      testing::Int32(196608) + testing::CStr("user") + testing::CStr("ann") + std::string(1, '\0');
  raw.Send(testing::Int32(static_cast<int32_t>(body.size() + 4)) + body);
  char type = 0;
  std::string msg;
  ASSERT_TRUE(raw.Read(&type, &msg));
  ASSERT_EQ(type, 'R');
  EXPECT_EQ(msg, testing::Int32(3));  // AuthenticationCleartextPassword
  raw.SendMessage('p', testing::CStr("nope"));
  ASSERT_TRUE(raw.Read(&type, &msg));
  ASSERT_EQ(type, 'E');
  EXPECT_EQ(testing::ErrorField(msg, 'C'), "28P01");
  EXPECT_EQ(testing::ErrorField(msg, 'S'), "FATAL");
  EXPECT_TRUE(raw.ClosedByServer());
}

}  // namespace
}  // namespace loom::server
