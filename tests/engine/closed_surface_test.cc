// Every way out of the session's relations that we know of must be refused, and the refusal
// must not name a file path.

#include <string>
#include <vector>

#include "engine/engine.h"
#include "engine/session_impl.h"
#include "session_fixture.h"

namespace loom::engine {
namespace {

class ClosedSurfaceTest : public SessionTest {
 protected:
  void ExpectRefused(Session& s, const std::string& sql) {
    SCOPED_TRACE(sql);
    auto r = s.QueryRows(sql);
    ASSERT_FALSE(r.ok()) << "admitted";
    EXPECT_TRUE(r.status().code() == StatusCode::kPermissionDenied ||
                r.status().code() == StatusCode::kInvalidArgument)
        << r.status().ToString();
    const std::string& m = r.status().message();
    EXPECT_EQ(m.find(dir_.path()), std::string::npos) << m;
    EXPECT_EQ(m.find("sha256"), std::string::npos) << m;
    EXPECT_EQ(m.find("/etc"), std::string::npos) << m;
    EXPECT_EQ(m.find(".parquet"), std::string::npos) << m;
    // Check() agrees with Query().
    EXPECT_FALSE(s.Check(sql).ok());
  }
};

TEST_F(ClosedSurfaceTest, RefusesFileReadingTableFunctions) {
  auto s = Open(Options());
  ASSERT_TRUE(s);
  for (const std::string& sql : std::vector<std::string>{
           "SELECT * FROM read_parquet('/etc/passwd')",
           "SELECT * FROM read_parquet('" + events_ + "')",
           "SELECT * FROM read_parquet(['" + events_ + "'])",
           "SELECT * FROM read_csv('/etc/passwd')",
           "SELECT * FROM read_csv_auto('/etc/passwd')",
           "SELECT * FROM read_text('/etc/passwd')",
           "SELECT * FROM read_blob('/etc/passwd')",
           "SELECT * FROM read_json('/etc/passwd')",
           "SELECT * FROM read_json_objects('/etc/passwd')",
           "SELECT * FROM glob('*')",
           "SELECT * FROM parquet_metadata('" + events_ + "')",
           "SELECT * FROM parquet_schema('" + events_ + "')",
           "SELECT * FROM sniff_csv('/etc/passwd')",
           "SELECT * FROM query('SELECT * FROM duckdb_views()')",
           "SELECT * FROM query_table('media_player.play_events.events')",
           "SELECT 1 WHERE EXISTS (SELECT * FROM read_text('/etc/passwd'))",
           "SELECT (SELECT content FROM read_text('/etc/passwd'))",
       }) {
    ExpectRefused(*s, sql);
  }
}

TEST_F(ClosedSurfaceTest, RefusesPathsAsTableNames) {
  auto s = Open(Options());
  ASSERT_TRUE(s);
  for (const std::string& sql : std::vector<std::string>{
           "SELECT * FROM '/etc/passwd'",
           "SELECT * FROM 'x.parquet'",
           "SELECT * FROM \"/etc/passwd\"",
           "SELECT * FROM '" + events_ + "'",
           "SELECT * FROM \"" + events_ + "\"",
           "FROM '" + events_ + "'",
           "SELECT * FROM media_player.play_events.events, '" + events_ + "'",
           "WITH x AS (SELECT * FROM '" + events_ + "') SELECT * FROM x",
       }) {
    ExpectRefused(*s, sql);
  }
}

TEST_F(ClosedSurfaceTest, RefusesStatementsOtherThanSelect) {
  auto s = Open(Options());
  ASSERT_TRUE(s);
  for (const std::string& sql : std::vector<std::string>{
           "ATTACH '/tmp/x.db' AS x",
           "DETACH media_player",
           "COPY (SELECT 1) TO '/tmp/loom-engine-x.csv'",
           "COPY media_player.play_events.events TO '/tmp/loom-engine-x.csv'",
           "EXPORT DATABASE '/tmp/loom-engine-x'",
           "INSTALL httpfs",
           "LOAD httpfs",
           "SET enable_external_access = true",
           "RESET lock_configuration",
           "SET threads = 1",
           "PRAGMA enable_profiling",
           "PRAGMA database_list",
           "CALL duckdb_views()",
           "CALL pragma_version()",
           "CREATE TABLE t AS SELECT 1",
           "CREATE VIEW v AS SELECT 1",
           "CREATE MACRO m() AS 1",
           "INSERT INTO media_player.play_events.events VALUES (1)",
           "UPDATE media_player.play_events.events SET user_id = 1",
           "DELETE FROM media_player.play_events.events",
           "DROP VIEW media_player.play_events.events",
           "ALTER VIEW media_player.play_events.events RENAME TO x",
           "EXPLAIN SELECT * FROM media_player.play_events.events",
           "EXPLAIN ANALYZE SELECT 1",
           "DESCRIBE media_player.play_events.events",
           "SUMMARIZE media_player.play_events.events",
           "SHOW TABLES",
           "USE media_player",
           "CHECKPOINT",
           "VACUUM",
           "BEGIN TRANSACTION",
           "PREPARE p AS SELECT 1",
           "SELECT 1; SELECT 2",
           "SELECT 1; ATTACH '/tmp/x.db' AS x",
           "SELECT * FROM media_player.play_events.events; DROP VIEW media_player.catalog.tracks",
       }) {
    ExpectRefused(*s, sql);
  }
}

TEST_F(ClosedSurfaceTest, RefusesEngineMetadata) {
  auto s = Open(Options());
  ASSERT_TRUE(s);
  for (const std::string& sql : std::vector<std::string>{
           "SELECT * FROM duckdb_views()",
           "SELECT * FROM duckdb_settings()",
           "SELECT * FROM duckdb_tables()",
           "SELECT * FROM duckdb_functions()",
           "SELECT * FROM duckdb_databases()",
           "SELECT * FROM duckdb_views",
           "SELECT * FROM main.duckdb_views",
           "SELECT * FROM information_schema.views",
           "SELECT * FROM information_schema.tables",
           "SELECT * FROM pg_catalog.pg_views",
           "SELECT * FROM sqlite_master",
           "SELECT * FROM pragma_database_list",
           "SELECT * FROM pragma_table_info('media_player.play_events.events')",
           "SELECT current_setting('allowed_paths')",
           "SELECT current_setting('temp_directory')",
           "SELECT getvariable('x')",
           "SELECT write_log('x')",
           "SELECT pg_get_viewdef(1)",
           "SELECT main.current_setting('threads')",
           "SELECT system.main.current_setting('threads')",
           "SELECT media_player.main.current_setting('threads')",
           "PIVOT media_player.play_events.events ON country USING count(*)",
           "SELECT json_serialize_sql('SELECT 1')",
           "SELECT * FROM json_execute_serialized_sql('{}')",
           "SELECT * FROM which_secret('x', 'y')",
           "SELECT * FROM sql_auto_complete('SEL')",
           "SELECT * FROM media_player.play_events.events AT (VERSION => 1)",
       }) {
    ExpectRefused(*s, sql);
  }
}

TEST_F(ClosedSurfaceTest, RefusesTricksWithCommentsCasingAndScopes) {
  auto s = Open(Options());
  ASSERT_TRUE(s);
  for (const std::string& sql : std::vector<std::string>{
           "/* SELECT */ ATTACH '/tmp/x.db' AS x",
           "-- SELECT\nATTACH '/tmp/x.db' AS x",
           "sElEcT * FrOm ReAd_TeXt('/etc/passwd')",
           "SELECT * FROM READ_PARQUET('" + events_ + "')",
           "SELECT * FROM \"read_text\"('/etc/passwd')",
           "SELECT 1 /* ; */ ; ATTACH 'x' AS y",
           "(SELECT 1) UNION ALL (SELECT * FROM read_text('/etc/passwd'))",
           "SELECT * FROM media_player.play_events.events WHERE email IN "
           "(SELECT content FROM read_text('/etc/passwd'))",
           // A CTE named like a system view is visible only where it is in scope.
           "SELECT * FROM (WITH duckdb_views AS (SELECT 1) SELECT * FROM duckdb_views), "
           "duckdb_views",
           "WITH duckdb_views AS (SELECT * FROM duckdb_views) SELECT * FROM duckdb_views",
           "WITH a AS (SELECT * FROM duckdb_views), duckdb_views AS (SELECT 1) SELECT * FROM a",
           "SELECT * FROM media_player.play_events",
           "SELECT * FROM play_events.events",
           "SELECT * FROM events",
           "SELECT * FROM memory.main.duckdb_views",
           "SELECT * FROM system.main.duckdb_views",
           "SELECT * FROM media_player.information_schema.tables",
           "PIVOT (SELECT * FROM read_text('/etc/passwd')) ON filename",
       }) {
    ExpectRefused(*s, sql);
  }
}

TEST_F(ClosedSurfaceTest, AdmitsOrdinaryAnalyticSql) {
  auto s = Open(Options());
  ASSERT_TRUE(s);
  for (const std::string& sql : std::vector<std::string>{
           "SELECT 1",
           "VALUES (1), (2)",
           "SELECT * FROM range(3)",
           "SELECT unnest([1, 2, 3])",
           "SELECT * FROM unnest([1, 2])",
           "WITH x AS (SELECT * FROM media_player.play_events.events) SELECT count(*) FROM x",
           "WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < 5) "
           "SELECT sum(n) FROM t",
           "SELECT country, count(*) OVER (PARTITION BY country) FROM "
           "media_player.play_events.events QUALIFY row_number() OVER (ORDER BY played_at) < 3",
           "SELECT * FROM media_player.play_events.events e WHERE EXISTS "
           "(SELECT 1 FROM media_player.catalog.tracks t WHERE t.track_id = e.track_id)",
           "PIVOT media_player.play_events.events ON country IN ('SE', 'NO') USING count(*)",
           "FROM artists.catalog.artists SELECT name",
           "SELECT list_transform([1, 2], x -> x + 1), regexp_replace('a', 'a', 'b')",
       }) {
    auto r = s->QueryRows(sql);
    EXPECT_TRUE(r.ok()) << sql << ": " << r.status().ToString();
  }
}

TEST_F(ClosedSurfaceTest, RefusalNamesWhatWasRefused) {
  auto s = Open(Options());
  ASSERT_TRUE(s);
  EXPECT_NE(s->Check("ATTACH 'x' AS y").message().find("ATTACH"), std::string::npos);
  EXPECT_NE(s->Check("SELECT * FROM read_text('/etc/passwd')").message().find("read_text"),
            std::string::npos);
  EXPECT_NE(s->Check("SELECT current_setting('threads')").message().find("current_setting"),
            std::string::npos);
  EXPECT_NE(s->Check("SELECT * FROM a.b.c").message().find("'a.b.c'"), std::string::npos);
  EXPECT_NE(s->Check("SELECT 1; SELECT 2").message().find("one statement"), std::string::npos);
  EXPECT_EQ(s->Check("SELEC 1").code(), StatusCode::kInvalidArgument);
}

TEST_F(ClosedSurfaceTest, SealedDatabaseRefusesFilesAndSettingsBehindTheFrontDoor) {
  // The second layer alone, as if the front door had let everything through.
  auto db = Database::Open();
  ASSERT_TRUE(db.ok());
  auto trusted = (*db)->Connect();
  auto user = (*db)->Connect();
  ASSERT_TRUE(trusted.ok() && user.ok());
  ASSERT_TRUE(SealDatabase(**trusted, {events_}, "").ok());
  Connection& u = **user;
  EXPECT_FALSE(u.QueryRows("SELECT * FROM read_text('/etc/passwd')").ok());
  EXPECT_FALSE(u.QueryRows("SELECT * FROM read_parquet(" + QuoteString(tracks_) + ")").ok());
  EXPECT_FALSE(u.Execute("COPY (SELECT 1) TO " + QuoteString(dir_.Sub("x.csv"))).ok());
  EXPECT_FALSE(u.Execute("ATTACH " + QuoteString(dir_.Sub("x.db")) + " AS x").ok());
  EXPECT_FALSE(u.Execute("SET enable_external_access = true").ok());
  EXPECT_FALSE(u.Execute("RESET allowed_paths").ok());
  EXPECT_FALSE(u.Execute("SET allowed_paths = ['/etc/passwd']").ok());
  // An allowed file stays readable directly, around any view: why the front door must refuse
  // every path and file function.
  EXPECT_TRUE(u.QueryRows("SELECT * FROM read_parquet(" + QuoteString(events_) + ")").ok());
}

}  // namespace
}  // namespace loom::engine
