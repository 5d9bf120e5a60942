// Data in and out, end to end, in both modes: events into a stream port (validation, quarantine,
// duplicates), tail and consumer groups, table versions from files, time travel, SQL across
// products in every result format, sample, and the closed query surface.

#include <gtest/gtest.h>

#include <filesystem>

#include "e2e/e2e_util.h"

namespace loom::e2e {
namespace {

using nlohmann::json;

std::string Event(int id, const std::string& user, const std::string& track, int64_t duration,
                  const std::string& played_at = "2026-11-01T10:00:00Z") {
  json e = {
      {"specversion", "1.0"},
      {"id", std::to_string(id)},
      {"source", "/player/ios"},
      {"type", "com.loom.play"},
      {"time", played_at},
      {"data",
       {{"event_id", "00000000-0000-4000-8000-" + std::string(12 - std::to_string(id).size(), '0') +
                         std::to_string(id)},
        {"user_id", user},
        {"track_id", track},
        {"artist_id", "art_aaaaaaaa"},
        {"played_at", played_at},
        {"duration_ms", duration},
        {"device", "ios"},
        {"country", "SE"}}}};
  return e.dump();
}

class DataCliTest : public ::testing::TestWithParam<Mode> {
 protected:
  void SetUp() override {
    loom_ = std::make_unique<Loom>(GetParam(), dir_.Sub("data"));
    testing::CommandResult r =
        loom_->Run({"apply", testing::SourceDir() + "/examples/media-streaming"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  testing::TempDir dir_;
  std::unique_ptr<Loom> loom_;
};

TEST_P(DataCliTest, PublishValidatesQuarantinesAndDeduplicates) {
  std::string body = Event(1, "usr_aaaaaaaaaa", "trk_aaaaaaaaaa", 1000) + "\n" +
                     Event(2, "usr_bbbbbbbbbb", "trk_aaaaaaaaaa", 2000) + "\n" +
                     Event(1, "usr_aaaaaaaaaa", "trk_aaaaaaaaaa", 1000) + "\n";
  json bad = json::parse(Event(3, "usr_cccccccccc", "trk_aaaaaaaaaa", 5));
  bad["data"]["duration_ms"] = "12s";
  body += bad.dump() + "\n";
  testing::WriteFile(dir_.Sub("plays.jsonl"), body);
  testing::CommandResult r =
      loom_->Run({"--json", "publish", "media-player/play-events/events", dir_.Sub("plays.jsonl")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json result = json::parse(r.out);
  EXPECT_EQ(result["accepted"], 2);
  EXPECT_EQ(result["duplicates"], 1);
  EXPECT_EQ(result["quarantined"], 1);  // play-events says on_invalid: quarantine
  EXPECT_EQ(result["records"][3]["outcome"], "quarantined");
  EXPECT_EQ(result["records"][3]["reason"], "data.duration_ms: expected int64, got string \"12s\"");

  testing::CommandResult tail = loom_->Run({"tail", "media-player/play-events/events"});
  ASSERT_EQ(tail.exit_code, 0) << tail.err;
  EXPECT_EQ(std::count(tail.out.begin(), tail.out.end(), '\n'), 2) << tail.out;
  EXPECT_EQ(tail.out.find("12s"), std::string::npos) << "an invalid event reached the stream";
  testing::CommandResult q =
      loom_->Run({"tail", "--quarantine", "media-player/play-events/events"});
  ASSERT_EQ(q.exit_code, 0) << q.err;
  EXPECT_NE(q.out.find("12s"), std::string::npos) << q.out;

  // The same event again in another request is still a duplicate; stdin works.
  testing::CommandResult again =
      loom_->Run({"--json", "publish", "media-player/play-events/events", "-"},
                 Event(2, "usr_bbbbbbbbbb", "trk_aaaaaaaaaa", 2000) + "\n");
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(json::parse(again.out)["duplicates"], 1);
}

TEST_P(DataCliTest, ConsumerGroupsResumeWhereTheyCommitted) {
  std::string body;
  for (int i = 1; i <= 5; ++i)
    body += Event(i, "usr_aaaaaaaaa" + std::to_string(i), "trk_aaaaaaaaaa", i) + "\n";
  testing::WriteFile(dir_.Sub("a.jsonl"), body);
  ASSERT_EQ(
      loom_->Run({"publish", "media-player/play-events/events", dir_.Sub("a.jsonl")}).exit_code, 0);
  testing::CommandResult first =
      loom_->Run({"tail", "--group", "payments", "media-player/play-events/events"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_EQ(std::count(first.out.begin(), first.out.end(), '\n'), 5);
  testing::CommandResult second =
      loom_->Run({"tail", "--group", "payments", "media-player/play-events/events"});
  EXPECT_EQ(second.out, "");
  body.clear();
  for (int i = 6; i <= 7; ++i)
    body += Event(i, "usr_aaaaaaaaa" + std::to_string(i), "trk_aaaaaaaaaa", i) + "\n";
  testing::WriteFile(dir_.Sub("b.jsonl"), body);
  ASSERT_EQ(
      loom_->Run({"publish", "media-player/play-events/events", dir_.Sub("b.jsonl")}).exit_code, 0);
  testing::CommandResult third =
      loom_->Run({"tail", "--group", "payments", "media-player/play-events/events"});
  EXPECT_EQ(std::count(third.out.begin(), third.out.end(), '\n'), 2) << third.out;
  // Another group starts from the beginning; --from latest starts at the end.
  testing::CommandResult other =
      loom_->Run({"tail", "--group", "other", "media-player/play-events/events"});
  EXPECT_EQ(std::count(other.out.begin(), other.out.end(), '\n'), 7);
  EXPECT_EQ(loom_->Run({"tail", "--from", "latest", "media-player/play-events/events"}).out, "");
  testing::CommandResult bad =
      loom_->Run({"tail", "--from", "yesterday", "media-player/play-events/events"});
  EXPECT_EQ(bad.exit_code, 3);
}

TEST_P(DataCliTest, TablesVersionsTimeTravelAndSqlAcrossDomains) {
  testing::WriteFile(dir_.Sub("tracks1.csv"),
                     "track_id,title,artist_id,album,royalty_per_play\n"
                     "trk_aaaaaaaaaa,Waterloo,art_aaaaaaaa,Waterloo,0.004000\n");
  testing::WriteFile(dir_.Sub("tracks2.csv"),
                     "track_id,title,artist_id,album,royalty_per_play\n"
                     "trk_aaaaaaaaaa,Waterloo,art_aaaaaaaa,Waterloo,0.005000\n");
  testing::WriteFile(
      dir_.Sub("artists.jsonl"),
      "{\"artist_id\":\"art_aaaaaaaa\",\"name\":\"ABBA\",\"label_id\":\"lbl_000001\","
      "\"country\":\"SE\"}\n");
  ASSERT_EQ(loom_->Run({"publish", "catalog/tracks/current", dir_.Sub("tracks1.csv")}).exit_code,
            0);
  ASSERT_EQ(loom_->Run({"publish", "catalog/tracks/current", dir_.Sub("tracks2.csv")}).exit_code,
            0);
  ASSERT_EQ(
      loom_->Run({"publish", "artists/profiles/current", dir_.Sub("artists.jsonl")}).exit_code, 0);
  std::string plays;
  for (int i = 1; i <= 3; ++i) plays += Event(i, "usr_aaaaaaaaaa", "trk_aaaaaaaaaa", 1000) + "\n";
  testing::WriteFile(dir_.Sub("plays.jsonl"), plays);
  ASSERT_EQ(
      loom_->Run({"publish", "media-player/play-events/events", dir_.Sub("plays.jsonl")}).exit_code,
      0);

  json versions = loom_->Json({"versions", "catalog/tracks/current"});
  ASSERT_TRUE(versions.is_object());
  EXPECT_EQ(versions["current"], 2);
  EXPECT_EQ(versions["versions"].size(), 2u);

  // A three-product join across three domains: plays (stream) x tracks (table) x artists (table).
  const std::string sql =
      "SELECT a.name, count(*) AS plays, sum(t.royalty_per_play) AS royalties "
      "FROM media_player.play_events.events p JOIN catalog.tracks.current t USING (track_id) "
      "JOIN artists.profiles.current a ON a.artist_id = t.artist_id GROUP BY a.name";
  json rows = loom_->Json({"query", sql});
  ASSERT_TRUE(rows.is_array()) << loom_->Run({"query", sql}).err;
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0]["name"], "ABBA");
  EXPECT_EQ(rows[0]["plays"], 3);
  EXPECT_DOUBLE_EQ(rows[0]["royalties"].get<double>(), 0.015);

  // Time travel: version 1 by name.
  json v1 = loom_->Json({"query", "SELECT royalty_per_play FROM catalog.tracks.current__v1"});
  ASSERT_TRUE(v1.is_array());
  EXPECT_DOUBLE_EQ(v1[0]["royalty_per_play"].get<double>(), 0.004);

  // Every format.
  testing::CommandResult csv = loom_->Run(
      {"query", "--format", "csv", "SELECT name, country FROM artists.profiles.current"});
  EXPECT_EQ(csv.out, "name,country\r\nABBA,SE\r\n");
  testing::CommandResult nd =
      loom_->Run({"query", "--format", "ndjson", "SELECT name FROM artists.profiles.current"});
  EXPECT_EQ(nd.out, "{\"name\":\"ABBA\"}\n");
  testing::CommandResult table = loom_->Run({"query", "SELECT name FROM artists.profiles.current"});
  EXPECT_NE(table.out.find("ABBA"), std::string::npos);
  EXPECT_NE(table.out.find("(1 row)"), std::string::npos) << table.out;
  std::string pq = dir_.Sub("out.parquet");
  ASSERT_EQ(
      loom_->Run({"query", "--format", "parquet", "-o", pq, "SELECT * FROM catalog.tracks.current"})
          .exit_code,
      0);
  std::string magic = testing::ReadFile(pq).substr(0, 4);
  EXPECT_EQ(magic, "PAR1");

  // A consumer-aligned product published from a query over other domains' products, with the
  // ports it read recorded as inputs; the query runs in the caller's closed session.
  const std::string royalties =
      "SELECT date_trunc('month', p.played_at)::DATE AS month, p.artist_id, count(*) AS plays, "
      "sum(t.royalty_per_play)::DECIMAL(18,6) AS royalties_eur FROM "
      "media_player.play_events.events "
      "p JOIN catalog.tracks.current t USING (track_id) GROUP BY ALL";
  testing::CommandResult from_sql = loom_->Run(
      {"--json", "publish", "artist-payments/monthly-royalties/monthly", "--sql", royalties});
  ASSERT_EQ(from_sql.exit_code, 0) << from_sql.err;
  json published = json::parse(from_sql.out);
  EXPECT_EQ(published["rows"], 1);
  std::string inputs = published["inputs"].dump();
  EXPECT_NE(inputs.find("loom://media-player/play-events/events"), std::string::npos) << inputs;
  EXPECT_NE(inputs.find("loom://catalog/tracks/current"), std::string::npos) << inputs;
  EXPECT_NE(loom_
                ->Run({"publish", "artist-payments/monthly-royalties/monthly", "--sql",
                       "SELECT * FROM read_csv('/etc/passwd')"})
                .exit_code,
            0);

  testing::CommandResult sample = loom_->Run({"sample", "catalog/tracks/current@1"});
  EXPECT_EQ(sample.exit_code, 0) << sample.err;
  EXPECT_NE(sample.out.find("0.004"), std::string::npos) << sample.out;
}

TEST_P(DataCliTest, InvalidTableFilesAreRefusedPerRowAndChangeNothing) {
  testing::WriteFile(dir_.Sub("bad.csv"),
                     "track_id,title,artist_id,album,royalty_per_play\n"
                     "trk_aaaaaaaaaa,,art_aaaaaaaa,Waterloo,0.004\n"
                     "trk_bbbbbbbbbb,SOS,art_aaaaaaaa,ABBA,cheap\n");
  testing::CommandResult r = loom_->Run({"publish", "catalog/tracks/current", dir_.Sub("bad.csv")});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("line 2: column title"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("line 3: column royalty_per_play"), std::string::npos) << r.err;
  testing::CommandResult versions = loom_->Run({"--json", "versions", "catalog/tracks/current"});
  EXPECT_EQ(json::parse(versions.out)["versions"].size(), 0u);
}

TEST_P(DataCliTest, TheQuerySurfaceIsClosed) {
  for (const char* sql :
       {"SELECT * FROM read_csv('/etc/passwd')", "SELECT * FROM '/etc/passwd'",
        "COPY (SELECT 1) TO '/tmp/x.csv'", "ATTACH '/tmp/x.db' AS x", "INSTALL httpfs",
        "LOAD httpfs", "SET enable_external_access = true", "PRAGMA version",
        "SELECT * FROM duckdb_views()", "SELECT * FROM glob('*')",
        "DROP TABLE catalog.tracks.current", "SELECT current_setting('allowed_paths')"}) {
    testing::CommandResult r = loom_->Run({"query", sql});
    EXPECT_NE(r.exit_code, 0) << sql << "\n" << r.out;
    EXPECT_EQ(r.err.find(dir_.path()), std::string::npos) << "a path leaked: " << r.err;
  }
}

INSTANTIATE_TEST_SUITE_P(BothModes, DataCliTest, ::testing::Values(Mode::kEmbedded, Mode::kServer),
                         [](const auto& info) {
                           return info.param == Mode::kEmbedded ? "Embedded" : "Server";
                         });

}  // namespace
}  // namespace loom::e2e
