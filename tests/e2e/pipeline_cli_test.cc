// Pipelines end to end with the loom binary: runs, state, lineage and rebuilds from the CLI;
// kill -9 in the middle of a run (batch, windows into a table, events into a stream) then a
// restart gives exactly the expected output; `loom serve` runs due pipelines by itself.

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "e2e/e2e_util.h"

namespace loom::e2e {
namespace {

using nlohmann::json;

std::string Testdata(const std::string& name) {
  return testing::SourceDir() + "/tests/pipeline/testdata/" + name;
}

std::string Play(const std::string& id, const std::string& play, const std::string& user,
                 const std::string& track, const std::string& at) {
  return json{{"specversion", "1.0"},
              {"id", id},
              {"source", "e2e"},
              {"type", "play"},
              {"time", at},
              {"data",
               {{"play_id", play}, {"user_id", user}, {"track_id", track}, {"played_at", at}}}}
             .dump() +
         "\n";
}

class PipelineCliTest : public ::testing::Test {
 protected:
  void SetUp() override { Setup(Mode::kEmbedded); }
  void Setup(Mode mode) {
    loom_ = std::make_unique<Loom>(mode, dir_.Sub("data"));
    Must({"apply", Testdata("mesh.yaml"), Testdata("streaming.yaml")});
    Must({"publish", "loom://catalog/tracks/current", Testdata("tracks.csv")});
    testing::WriteFile(dir_.Sub("plays.jsonl"),
                       Play("e1", "p1", "u1", "t1", "2026-01-01T10:00:00Z") +
                           Play("e2", "p2", "u1", "t2", "2026-01-01T10:05:00Z") +
                           Play("e3", "p3", "u2", "t1", "2026-01-01T10:10:00Z") +
                           Play("e4", "p1", "u1", "t3", "2026-01-01T10:20:00Z") +
                           Play("e5", "p4", "u2", "t3", "2026-01-01T11:00:00Z") +
                           Play("e6", "p5", "u3", "t2", "2026-01-01T12:30:00Z"));
    Must({"publish", "loom://media-player/play-events/events", dir_.Sub("plays.jsonl")});
  }
  testing::CommandResult Must(const std::vector<std::string>& args) {
    testing::CommandResult r = loom_->Run(args);
    EXPECT_EQ(r.exit_code, 0) << "loom " << args[0] << ": " << r.err << r.out;
    return r;
  }
  // `loom pipeline run ADDRESS` killed by SIGKILL at the named fault point.
  void RunKilled(const std::string& address) {
    testing::CommandResult r =
        testing::RunCommand({"env", "LOOM_FAULT=pipeline-after-publish", testing::LoomBinary(),
                             "--data", dir_.Sub("data"), "pipeline", "run", address});
    ASSERT_EQ(r.exit_code, 128 + 9) << r.err << r.out;
  }
  std::string Csv(const std::string& sql) { return Must({"query", "--format", "csv", sql}).out; }
  testing::TempDir dir_;
  std::unique_ptr<Loom> loom_;
};

TEST_F(PipelineCliTest, RunsShowStateLineageAndRebuildDownstream) {
  testing::CommandResult r = Must({"pipeline", "run", "loom://artist-payments/track-plays"});
  EXPECT_NE(r.out.find("loom://artist-payments/track-plays/counts: succeeded (manual), version 1"),
            std::string::npos)
      << r.out;
  Must({"pipeline", "run", "loom://artist-payments/artist-royalties"});
  EXPECT_EQ(Csv("SELECT * FROM artist_payments.artist_royalties.owed ORDER BY 1"),
            "artist_id,plays,royalties_eur\r\na1,4,0.0600\r\na2,1,0.0050\r\n");

  r = Must({"pipelines"});
  EXPECT_NE(r.out.find("loom://artist-payments/artist-royalties/owed"), std::string::npos);
  EXPECT_NE(r.out.find("never run"), std::string::npos) << r.out;  // listening sessions
  r = Must({"runs", "loom://artist-payments/artist-royalties"});
  EXPECT_NE(r.out.find("loom://artist-payments/track-plays/counts@1 "
                       "loom://catalog/tracks/current@1"),
            std::string::npos)
      << r.out;

  r = Must({"lineage", "loom://artist-payments/artist-royalties", "--upstream", "--format", "dot"});
  EXPECT_NE(r.out.find("\"loom://catalog/tracks/current\" -> "
                       "\"loom://artist-payments/artist-royalties/owed\" [label=\"@1\"];"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("\"loom://media-player/play-events/events\" -> "
                       "\"loom://artist-payments/track-plays/counts\""),
            std::string::npos);
  r = Must({"lineage", "loom://media-player/play-events/events", "--downstream", "--depth", "1"});
  EXPECT_NE(r.out.find("downstream:\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\n  loom://media-player/play-events/events -> "
                       "loom://artist-payments/hourly-plays/hours\n"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(r.out.find("artist-royalties"), std::string::npos) << r.out;  // two steps away
  json graph = loom_->Json({"lineage", "loom://artist-payments/artist-royalties/owed"});
  EXPECT_EQ(graph["nodes"].size(), 4u) << graph.dump();

  // New rates, then a rebuild of the track plays and everything downstream.
  testing::WriteFile(dir_.Sub("rates.csv"),
                     "track_id,artist_id,royalty_per_play\nt1,a1,1\nt2,a1,1\nt3,a2,1\n");
  Must({"publish", "loom://catalog/tracks/current", dir_.Sub("rates.csv")});
  r = Must({"rebuild", "loom://artist-payments/track-plays", "--downstream"});
  EXPECT_NE(r.out.find("loom://artist-payments/artist-royalties/owed: succeeded (rebuild), "
                       "version 2"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(Csv("SELECT * FROM artist_payments.artist_royalties.owed ORDER BY 1"),
            "artist_id,plays,royalties_eur\r\na1,4,4.0000\r\na2,1,1.0000\r\n");
  Must({"rebuild", "loom://artist-payments/artist-royalties", "--from", "1"});
  EXPECT_EQ(Csv("SELECT * FROM artist_payments.artist_royalties.owed ORDER BY 1"),
            "artist_id,plays,royalties_eur\r\na1,4,0.0600\r\na2,1,0.0050\r\n");

  r = loom_->Run({"lineage", "loom://artist-payments/artist-royalties", "--format", "yaml"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("--format 'yaml': expected text, dot or json"), std::string::npos);
  r = loom_->Run({"pipeline", "run", "loom://catalog/tracks"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("loom://catalog/tracks has no pipeline"), std::string::npos) << r.err;
}

TEST_F(PipelineCliTest, KillDashNineMidBatchRunThenRestartGivesExactlyTheExpectedOutput) {
  RunKilled("loom://artist-payments/track-plays");
  Must({"pipeline", "run", "loom://artist-payments/track-plays"});
  EXPECT_EQ(Csv("SELECT * FROM artist_payments.track_plays.counts ORDER BY 1"),
            "track_id,plays\r\nt1,2\r\nt2,2\r\nt3,1\r\n");
  json runs = loom_->Json({"runs", "loom://artist-payments/track-plays"})["runs"];
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0]["status"], "succeeded");
  EXPECT_EQ(runs[1]["status"], "failed");
  EXPECT_NE(runs[1]["error"].get<std::string>().find("interrupted"), std::string::npos);
}

TEST_F(PipelineCliTest, KillDashNineMidWindowThenRestartGivesEachWindowOnce) {
  RunKilled("loom://artist-payments/hourly-plays");
  Must({"pipeline", "run", "loom://artist-payments/hourly-plays"});
  // Watermark 12:20: hours 10:00 and 11:00 are closed, each exactly once.
  EXPECT_EQ(Csv("SELECT strftime(timezone('UTC', hour), '%H:%M') AS h, track_id, plays "
                "FROM artist_payments.hourly_plays.hours ORDER BY ALL"),
            "h,track_id,plays\r\n10:00,t1,2\r\n10:00,t2,1\r\n10:00,t3,1\r\n11:00,t3,1\r\n");
  json runs = loom_->Json({"runs", "loom://artist-payments/hourly-plays"})["runs"];
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0]["detail"]["recovered"], true) << runs[0].dump();
  json versions = loom_->Json({"versions", "loom://artist-payments/hourly-plays/hours"});
  EXPECT_EQ(versions["versions"].size(), 1u) << versions.dump();
}

TEST_F(PipelineCliTest, KillDashNineMidStreamStepThenRestartNeitherLosesNorDuplicates) {
  RunKilled("loom://media-player/artist-plays");
  Must({"pipeline", "run", "loom://media-player/artist-plays"});
  EXPECT_EQ(Csv("SELECT count(*) AS n, count(DISTINCT ce_id) AS ids, count(DISTINCT play_id) AS "
                "plays FROM media_player.artist_plays.plays"),
            "n,ids,plays\r\n6,6,5\r\n");
}

TEST_F(PipelineCliTest, AMissingReadGrantIsAClearErrorBeforeAnythingRunsUntilGranted) {
  Must({"apply", Testdata("no-grant.yaml")});
  Must({"grant", "service:charts", "read", "loom://catalog/tracks"});
  for (const char* product : {"loom://charts/top-tracks", "loom://charts/live-plays"}) {
    testing::CommandResult r = loom_->Run({"pipeline", "run", product});
    EXPECT_NE(r.exit_code, 0) << product << ": " << r.out;
    for (const char* part : {"service:charts may not read it", "needs the read permission",
                             "input 'plays' (loom://media-player/play-events/events)"}) {
      EXPECT_NE(r.err.find(part), std::string::npos) << part << " in " << r.err;
    }
  }
  // Nothing published: no version of the table, no event on the stream.
  json runs = loom_->Json({"runs", "loom://charts/top-tracks"});
  ASSERT_EQ(runs["runs"].size(), 1u) << runs.dump();
  EXPECT_EQ(runs["runs"][0]["status"], "failed");
  EXPECT_EQ(runs["runs"][0]["outputVersion"], nullptr);
  EXPECT_EQ(Csv("SELECT count(*) AS n FROM charts.live_plays.plays"), "n\r\n0\r\n");
  // Both refusals are in the audit log, as the service principal's.
  json denied = loom_->Json({"audit", "--denied", "--principal", "service:charts"});
  size_t refused = 0;
  for (const json& e : denied["entries"]) {
    if (e.value("address", "") == "loom://media-player/play-events/events") ++refused;
  }
  EXPECT_EQ(refused, 2u) << denied.dump();
  // A caller of another domain may not even run it.
  testing::CommandResult other =
      loom_->Run({"--as", "user:mallory", "pipeline", "run", "loom://charts/top-tracks"});
  EXPECT_NE(other.exit_code, 0) << other.out;

  Must({"grant", "service:charts", "read", "loom://media-player/play-events"});
  Must({"pipeline", "run", "loom://charts/top-tracks"});
  Must({"pipeline", "run", "loom://charts/live-plays"});
  EXPECT_EQ(Csv("SELECT track_id, plays FROM charts.top_tracks.top ORDER BY 1"),
            "track_id,plays\r\nt1,2\r\nt2,2\r\nt3,2\r\n");
  // The stream step began at the first event: no progress was committed while refused.
  EXPECT_EQ(Csv("SELECT count(*) AS n FROM charts.live_plays.plays"), "n\r\n6\r\n");
}

TEST(PipelineServeTest, TheServerRunsDuePipelinesByItself) {
  testing::TempDir dir;
  Loom loom(Mode::kServer, dir.Sub("data"));
  ASSERT_EQ(loom.Run({"apply", Testdata("mesh.yaml")}).exit_code, 0);
  ASSERT_EQ(
      loom.Run({"publish", "loom://catalog/tracks/current", Testdata("tracks.csv")}).exit_code, 0);
  testing::WriteFile(dir.Sub("plays.jsonl"), Play("e1", "p1", "u1", "t1", "2026-01-01T10:00:00Z"));
  ASSERT_EQ(loom.Run({"publish", "loom://media-player/play-events/events", dir.Sub("plays.jsonl")})
                .exit_code,
            0);
  std::string out;
  for (int i = 0; i < 100 && out != "artist_id,plays\r\na1,1\r\n"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    out = loom.Run({"query", "--format", "csv",
                    "SELECT artist_id, plays FROM artist_payments.artist_royalties.owed"})
              .out;
  }
  EXPECT_EQ(out, "artist_id,plays\r\na1,1\r\n");
  json list = loom.Json({"pipelines"});
  ASSERT_EQ(list["pipelines"].size(), 3u) << list.dump();
  json runs = loom.Json({"runs", "loom://artist-payments/artist-royalties"});
  EXPECT_EQ(runs["runs"][0]["trigger"], "on-input") << runs.dump();
}

}  // namespace
}  // namespace loom::e2e
