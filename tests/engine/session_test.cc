#include <thread>

#include "engine/engine.h"
#include "session_fixture.h"

namespace loom::engine {
namespace {

TEST_F(SessionTest, ExposesRelationsBySqlName) {
  auto s = Open(Options());
  ASSERT_TRUE(s);
  Rows r = Must(*s, "SELECT count(*) FROM media_player.play_events.events");
  EXPECT_EQ(r.Get(0, 0), "3");
  r = Must(*s, "select NAME from ARTISTS.Catalog.artists order by 1");
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r.Get(0, 0), "Solo");
}

TEST_F(SessionTest, JoinsAcrossThreeRelations) {
  auto s = Open(Options());
  ASSERT_TRUE(s);
  Rows r = Must(*s,
                "WITH p AS (SELECT * FROM media_player.play_events.events) "
                "SELECT a.name, count(*) AS plays FROM p "
                "JOIN media_player.catalog.tracks t USING (track_id) "
                "JOIN artists.catalog.artists a ON a.artist_id = t.artist_id "
                "GROUP BY ALL ORDER BY plays DESC");
  ASSERT_EQ(r.size(), 1u);  // Solo's only play is outside the row filter
  EXPECT_EQ(r.Get(0, 0), "The Band");
  EXPECT_EQ(r.Get(0, 1), "3");
}

TEST_F(SessionTest, MaskAppliesBelowEveryUseOfTheColumn) {
  auto s = Open(Options());
  ASSERT_TRUE(s);
  const std::string ev = "media_player.play_events.events";
  EXPECT_EQ(Must(*s, "SELECT count(*) FROM " + ev + " WHERE email = 'alice@example.com'").Get(0, 0),
            "0");
  EXPECT_EQ(Must(*s, "SELECT count(*) FROM " + ev + " WHERE email = sha256('alice@example.com')")
                .Get(0, 0),
            "2");
  EXPECT_EQ(Must(*s, "SELECT count(*) FROM " + ev + " WHERE email LIKE '%@%'").Get(0, 0), "0");
  EXPECT_EQ(
      Must(*s, "SELECT count(*) FROM " + ev + " WHERE regexp_matches(email, 'alice')").Get(0, 0),
      "0");
  Rows r = Must(*s, "SELECT min(email), max(email), min(length(email)) FROM " + ev);
  EXPECT_EQ(r.Get(0, 0).size(), 64u);
  EXPECT_EQ(r.Get(0, 2), "64");
  r = Must(*s, "SELECT email FROM " + ev + " GROUP BY email ORDER BY email");
  ASSERT_EQ(r.size(), 2u);
  for (size_t i = 0; i < r.size(); ++i) EXPECT_EQ(r.Get(i, 0).find('@'), std::string::npos);
  r = Must(*s, "SELECT count(*) FROM " + ev +
                   " e JOIN (VALUES ('alice@example.com')) v(m) ON e.email = v.m");
  EXPECT_EQ(r.Get(0, 0), "0");
  auto bad = s->QueryRows("SELECT CAST(email AS INTEGER) FROM " + ev);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message().find("example.com"), std::string::npos)
      << bad.status().message();
}

TEST_F(SessionTest, RowFilterHidesRowsFromPredicatesThatWouldFail) {
  auto s = Open(Options());
  ASSERT_TRUE(s);
  const std::string ev = "media_player.play_events.events";
  EXPECT_EQ(Must(*s, "SELECT count(*) FROM " + ev + " WHERE country = 'XX'").Get(0, 0), "0");
  // The hidden row's note is not an integer: a cast evaluated on it would fail and name it.
  auto r = s->QueryRows("SELECT count(*) FROM " + ev + " WHERE CAST(note AS INTEGER) = 1");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->Get(0, 0), "3");
  EXPECT_EQ(Must(*s, "SELECT max(user_id), count(DISTINCT note) FROM " + ev).Get(0, 0), "2");
}

TEST_F(SessionTest, ExportsParquetThatReadsBack) {
  auto s = Open(Options());
  ASSERT_TRUE(s);
  StringSink sink;
  auto st = s->Export("SELECT user_id, email FROM media_player.play_events.events ORDER BY 1 -- x",
                      Format::kParquet, sink);
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_EQ(st->rows, 3u);
  EXPECT_EQ(sink.str().substr(0, 4), "PAR1");
  std::string file = dir_.Sub("out.parquet");
  testing::WriteFile(file, sink.str());
  auto db = Database::Open();
  ASSERT_TRUE(db.ok());
  auto con = (*db)->Connect();
  ASSERT_TRUE(con.ok());
  auto rows = (*con)->QueryRows("SELECT count(*), min(length(email)) FROM read_parquet(" +
                                QuoteString(file) + ")");
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(rows->Get(0, 0), "3");
  EXPECT_EQ(rows->Get(0, 1), "64");
}

TEST_F(SessionTest, ExportsTextFormatsThroughTheFrontDoor) {
  auto s = Open(Options());
  ASSERT_TRUE(s);
  StringSink sink;
  auto st = s->Export("SELECT name FROM artists.catalog.artists ORDER BY 1", Format::kCsv, sink);
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_EQ(sink.str(), "name\r\nSolo\r\nThe Band\r\n");
  EXPECT_EQ(s->Export("SELECT * FROM read_csv('/etc/passwd')", Format::kCsv, sink).status().code(),
            StatusCode::kPermissionDenied);
}

TEST_F(SessionTest, CancelStopsARunningQueryFromAnotherThread) {
  auto s = Open(Options());
  ASSERT_TRUE(s);
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    s->Cancel();
  });
  auto r = s->QueryRows("SELECT count(*) FROM range(100000000000) a WHERE a.range % 7 = 3");
  canceller.join();
  EXPECT_EQ(r.status().code(), StatusCode::kCancelled) << r.status().ToString();
  EXPECT_EQ(Must(*s, "SELECT 1").Get(0, 0), "1");  // the session is usable afterwards
}

TEST_F(SessionTest, TimeoutStopsALongQuery) {
  SessionOptions o = Options();
  o.timeout = std::chrono::milliseconds(200);
  auto s = Open(o);
  ASSERT_TRUE(s);
  auto start = std::chrono::steady_clock::now();
  auto r = s->QueryRows("SELECT count(*) FROM range(100000000000) a WHERE a.range % 7 = 3");
  EXPECT_EQ(r.status().code(), StatusCode::kDeadlineExceeded) << r.status().ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  EXPECT_EQ(Must(*s, "SELECT 2").Get(0, 0), "2");
}

TEST_F(SessionTest, RejectsBadRelationDefinitions) {
  SessionOptions o = Options();
  o.relations[0].sql_name = "media-player.play_events.events";
  EXPECT_EQ(Session::Open(o).status().code(), StatusCode::kInvalidArgument);
  o = Options();
  o.relations[1].sql_name = o.relations[0].sql_name;
  EXPECT_EQ(Session::Open(o).status().code(), StatusCode::kInvalidArgument);
  o = Options();
  o.relations[0].columns[3].mask = "no_such_function(email)";
  auto s = Session::Open(o);
  EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.status().message().find(dir_.path()), std::string::npos) << s.status().message();
}

TEST_F(SessionTest, EmptyRelationHasItsDeclaredColumns) {
  SessionOptions o = Options();
  o.relations[2].files.clear();
  auto s = Open(o);
  ASSERT_TRUE(s);
  auto r = s->QueryRows("SELECT * FROM artists.catalog.artists");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->size(), 0u);
  ASSERT_EQ(r->columns.size(), 2u);
  EXPECT_EQ(r->columns[1].type, "VARCHAR");
}

}  // namespace
}  // namespace loom::engine
