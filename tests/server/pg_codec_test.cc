// The wire listener's pure parts: message parsers on malformed input, parameter substitution,
// statement classification, settings, and the PostgreSQL text format of cells.

#include <gtest/gtest.h>

#include <random>

#include "server/pg_errors.h"
#include "server/pg_intercept.h"
#include "server/pg_messages.h"
#include "server/pg_sql.h"
#include "server/pg_test_util.h"
#include "server/pg_text.h"

namespace loom::server::pg {
namespace {

using server::testing::CStr;
using server::testing::Int16;
using server::testing::Int32;

TEST(PgMessagesTest, ParsesABindMessageWithNullAndTextParameters) {
  std::string body = CStr("portal") + CStr("stmt") + Int16(1) + Int16(0) + Int16(2) + Int32(2) +
                     "ab" + Int32(-1) + Int16(1) + Int16(0);
  Result<BindMessage> m = ParseBind(body);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->portal, "portal");
  EXPECT_EQ(m->statement, "stmt");
  ASSERT_EQ(m->params.size(), 2u);
  EXPECT_EQ(*m->params[0], "ab");
  EXPECT_FALSE(m->params[1].has_value());
}

TEST(PgMessagesTest, RefusesCountsAndLengthsBeyondTheMessage) {
  // A parameter count of 30000 in a 20-byte message, a length past the end, a negative length.
  for (const std::string& body :
       {CStr("") + CStr("") + Int16(0) + Int16(30000) + Int32(1),
        CStr("") + CStr("") + Int16(0) + Int16(1) + Int32(100) + "x" + Int16(0),
        CStr("") + CStr("") + Int16(0) + Int16(1) + Int32(-7) + Int16(0), CStr("p") + "no-nul"}) {
    Result<BindMessage> m = ParseBind(body);
    ASSERT_FALSE(m.ok());
    EXPECT_EQ(m.status().code(), StatusCode::kInvalidArgument);
    EXPECT_TRUE(m.status().message().starts_with("malformed Bind message")) << m.status().message();
  }
  EXPECT_FALSE(ParseExecute(CStr("p") + "12").ok());
  EXPECT_FALSE(ParseTarget('D', "X" + CStr("name")).ok());
  EXPECT_FALSE(ParseQuery("SELECT 1").ok());  // no terminating NUL
  EXPECT_FALSE(ParseQuery(CStr("SELECT 1") + "tail").ok());
}

TEST(PgMessagesTest, StartupPacketKinds) {
  Result<StartupPacket> ssl = ParseStartupPacket(Int32(kSslRequestCode));
  ASSERT_TRUE(ssl.ok());
  EXPECT_EQ(ssl->kind, StartupPacket::Kind::kSsl);
  Result<StartupPacket> cancel =
      ParseStartupPacket(Int32(kCancelRequestCode) + Int32(7) + Int32(9));
  ASSERT_TRUE(cancel.ok());
  EXPECT_EQ(cancel->process_id, 7);
  EXPECT_EQ(cancel->secret_key, 9);
  Result<StartupPacket> v2 = ParseStartupPacket(Int32(2 << 16));
  EXPECT_EQ(v2.status().code(), StatusCode::kUnimplemented);
  Result<StartupPacket> start =
      ParseStartupPacket(Int32(kProtocolV3) + CStr("user") + CStr("ann") + std::string(1, '\0'));
  ASSERT_TRUE(start.ok());
  ASSERT_EQ(start->params.size(), 1u);
  EXPECT_EQ(start->params[0].second, "ann");
  EXPECT_FALSE(ParseStartupPacket(Int32(kProtocolV3) + CStr("user")).ok());
}

TEST(PgMessagesTest, RandomBytesNeverCrashTheParsers) {
  std::mt19937 rng(42);
  for (int i = 0; i < 20000; ++i) {
    std::string data(rng() % 64, '\0');
    for (char& c : data) c = static_cast<char>(rng() % 8 == 0 ? 0 : rng());
    FuzzFrontendMessage(data);
  }
}

TEST(PgSqlTest, FindsParametersOutsideLiteralsAndComments) {
  Result<ScannedSql> s = ScanParameters(
      "SELECT $1, '$2', \"$3\", $$ $4 $$, $tag$ $5 $tag$, E'\\' $6', -- $7\n /* $8 /* $9 */ */ "
      "$10");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  ASSERT_EQ(s->refs.size(), 2u);
  EXPECT_EQ(s->refs[0].index, 1);
  EXPECT_EQ(s->refs[1].index, 10);
  EXPECT_EQ(s->max_index, 10);
  EXPECT_FALSE(ScanParameters("SELECT $0").ok());
  EXPECT_FALSE(ScanParameters("SELECT $99999").ok());
}

TEST(PgSqlTest, SubstitutesQuotedTypedLiterals) {
  std::string sql = "SELECT $1 AS a, $2::INT AS b, $1 || $3";
  ScannedSql s = *ScanParameters(sql);
  Result<std::string> out =
      SubstituteParameters(sql, s, {25, 23, 0}, {"it's'; DROP TABLE t; --", "7", std::nullopt});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(
      *out,
      "SELECT  CAST('it''s''; DROP TABLE t; --' AS VARCHAR)  AS a,  CAST('7' AS INTEGER) ::INT "
      "AS b,  CAST('it''s''; DROP TABLE t; --' AS VARCHAR)  ||  NULL ");
  EXPECT_FALSE(SubstituteParameters(sql, s, {}, {"a", "b"}).ok());  // $3 has no value
  EXPECT_FALSE(ParameterLiteral(25, std::string("a\0b", 3)).ok());
  EXPECT_EQ(*ParameterLiteral(1700, "12.50"), "CAST('12.50' AS DECIMAL(4,2))");
  EXPECT_EQ(*ParameterLiteral(17, "\\x41ff"), "CAST('\\x41\\xFF' AS BLOB)");
  EXPECT_EQ(*ParameterLiteral(23, std::nullopt), "CAST(NULL AS INTEGER)");
}

TEST(PgSqlTest, TrimsTrailingSemicolonsAndComments) {
  EXPECT_EQ(TrimStatement("SELECT 1 ;  -- done\n ; /* x */"), "SELECT 1");
  EXPECT_EQ(TrimStatement("  ; -- nothing\n"), "");
  EXPECT_EQ(TrimStatement("SELECT ';' "), "SELECT ';'");
  EXPECT_EQ(DescribeQuery("SELECT 1 -- c"), "SELECT * FROM (\nSELECT 1 -- c\n) LIMIT 0");
}

TEST(PgInterceptTest, ClassifiesTheStatementsDriversSendAtConnect) {
  Intercept set = Classify("SET extra_float_digits = 3");
  EXPECT_EQ(set.kind, Intercept::Kind::kSet);
  EXPECT_EQ(set.name, "extra_float_digits");
  EXPECT_EQ(set.value, "3");
  Intercept app = Classify("set SESSION application_name TO 'Power BI';");
  EXPECT_EQ(app.kind, Intercept::Kind::kSet);
  EXPECT_EQ(app.value, "Power BI");
  EXPECT_EQ(Classify("SET TIME ZONE 'UTC'").name, "timezone");
  EXPECT_EQ(Classify("SET DateStyle = ISO, MDY").value, "iso, mdy");
  EXPECT_EQ(Classify("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY").kind,
            Intercept::Kind::kNoopSet);
  EXPECT_EQ(Classify("SHOW TRANSACTION ISOLATION LEVEL").name, "transaction_isolation");
  EXPECT_EQ(Classify("select version();").kind, Intercept::Kind::kVersion);
  EXPECT_EQ(Classify("SELECT pg_catalog.version()").kind, Intercept::Kind::kVersion);
  EXPECT_EQ(Classify(" ; -- nothing\n").kind, Intercept::Kind::kEmpty);
  // Anything else is the session's to judge (and refuse).
  EXPECT_EQ(Classify("SET a = 1; DROP TABLE t").kind, Intercept::Kind::kQuery);
  EXPECT_EQ(Classify("SELECT version() || 'x'").kind, Intercept::Kind::kQuery);
  EXPECT_EQ(Classify("SHOW TABLES FROM x").kind, Intercept::Kind::kQuery);
}

TEST(PgInterceptTest, SettingsAcceptOnlyHarmlessValues) {
  Settings s;
  std::string reported;
  EXPECT_TRUE(s.Set("application_name", "bi", &reported).ok());
  EXPECT_EQ(reported, "application_name");
  EXPECT_EQ(*s.Show("application_name"), "bi");
  EXPECT_TRUE(s.Set("extra_float_digits", "3", &reported).ok());
  EXPECT_EQ(s.Set("extra_float_digits", "9", &reported).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(s.Set("client_encoding", "UTF8", &reported).ok());
  EXPECT_EQ(s.Set("client_encoding", "LATIN1", &reported).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.Set("statement_timeout", "0", &reported).code(), StatusCode::kUnimplemented);
  EXPECT_EQ(*s.Show("server_version"), "15.0 (Loom)");
  EXPECT_EQ(s.Show("nope").status().code(), StatusCode::kNotFound);
}

TEST(PgTextTest, ListsBecomePostgresArrays) {
  std::string out;
  AppendJsonAsPgArray(R"([1,null,-2.50])", &out);
  EXPECT_EQ(out, "{1,NULL,-2.50}");
  out.clear();
  AppendJsonAsPgArray(R"(["a b","q\"x","","NULL","\u00e9",["n"],{"k":[1]}])", &out);
  EXPECT_EQ(out, R"({"a b","q\"x","","NULL",é,{n},"{\"k\":[1]}"})");
  out.clear();
  AppendJsonAsPgArray(R"([true,false])", &out);
  EXPECT_EQ(out, "{t,f}");
  out.clear();
  AppendJsonAsPgArray("not json", &out);
  EXPECT_EQ(out, "not json");
}

TEST(PgTextTest, BlobsBecomeHex) {
  std::string out;
  AppendDuckBlobAsPgHex("A\\x00\\xFFz", &out);
  EXPECT_EQ(out, "\\x4100ff7a");
}

TEST(PgErrorsTest, MapsCodesAndEngineMessagesToSqlstates) {
  EXPECT_EQ(ErrorFor(InvalidArgument("Parser Error: syntax error at or near \"SELEC\"")).sqlstate,
            "42601");
  EXPECT_EQ(ErrorFor(InvalidArgument("Catalog Error: Table with name x does not exist!")).sqlstate,
            "42P01");
  EXPECT_EQ(ErrorFor(InvalidArgument("Conversion Error: Could not convert string 'a'")).sqlstate,
            "22P02");
  EXPECT_EQ(ErrorFor(PermissionDenied("table function read_csv() is not allowed")).sqlstate,
            "42501");
  EXPECT_EQ(
      ErrorFor(PermissionDenied("relation a.b.c is not one of this session's relations")).sqlstate,
      "42P01");
  PgError catalog = ErrorFor(
      PermissionDenied("relation pg_catalog.pg_class is not one of this session's relations"));
  EXPECT_FALSE(catalog.hint.empty());
  EXPECT_EQ(ErrorFor(Cancelled("query cancelled")).sqlstate, "57014");
  EXPECT_EQ(ErrorFor(DeadlineExceeded("too slow")).sqlstate, "57014");
  EXPECT_EQ(ErrorFor(Internal("bug")).sqlstate, "XX000");
  EXPECT_EQ(ErrorFor(Unimplemented("no")).sqlstate, "0A000");
}

}  // namespace
}  // namespace loom::server::pg
