// Streaming pipelines: windows into a table (same result as batch, late events), and events
// into a stream (exactly once across a replay).

#include <cstdio>

#include "pipeline_fixture.h"

namespace loom::pipeline {
namespace {

using nlohmann::json;

class StreamingTest : public PipelineFixture {
 protected:
  void SetUp() override {
    PipelineFixture::SetUp();
    ApplyMesh();
    ApplyMesh("streaming.yaml");
    PublishTracks("track_id,artist_id,royalty_per_play\nt1,a1,0.01\nt2,a1,0.02\n");
  }
  Result<json> Step(const std::string& product) {
    return platform_->RunPipeline(admin_, *Address::Parse(product));
  }
  // The streaming output of the hourly plays, and the batch twin's closed hours.
  std::string Hours() {
    return Query(
        "SELECT strftime(timezone('UTC', hour), '%H:%M'), track_id, plays "
        "FROM artist_payments.hourly_plays.hours");
  }
  std::string BatchHoursBefore(const std::string& end) {
    return Query(
        "SELECT strftime(timezone('UTC', hour), '%H:%M'), track_id, plays "
        "FROM artist_payments.hourly_plays_batch.hours WHERE hour < TIMESTAMPTZ '" +
        end + "'");
  }
};

TEST_F(StreamingTest, WindowsGiveTheSameResultAsBatchOnTheSameInput) {
  PublishPlays({{"e1", "p1", "u1", "t1", "2026-01-01T10:00:00Z"},
                {"e2", "p2", "u1", "t2", "2026-01-01T10:59:00Z"},
                {"e3", "p3", "u2", "t1", "2026-01-01T10:30:00Z"}});
  Result<json> step = Step("loom://artist-payments/hourly-plays");
  ASSERT_TRUE(step.ok()) << step.status().ToString();
  // Watermark 10:49 (10:59 less 10 minutes): no hour is closed yet.
  EXPECT_EQ((*step)["runs"][0]["outputVersion"], nullptr) << step->dump();
  PublishPlays({{"e4", "p4", "u2", "t1", "2026-01-01T11:05:00Z"},
                {"e5", "p5", "u3", "t2", "2026-01-01T11:40:00Z"},
                {"e6", "p6", "u3", "t1", "2026-01-01T12:15:00Z"}});
  step = Step("loom://artist-payments/hourly-plays");
  ASSERT_TRUE(step.ok()) << step.status().ToString();
  // Watermark 12:05: 10:00 and 11:00 closed, in one new version.
  EXPECT_EQ((*step)["runs"][0]["outputVersion"], 1) << step->dump();
  EXPECT_EQ(Hours(), "10:00,t1,2\n10:00,t2,1\n11:00,t1,1\n11:00,t2,1\n");
  ASSERT_TRUE(Step("loom://artist-payments/hourly-plays-batch").ok());
  EXPECT_EQ(Hours(), BatchHoursBefore("2026-01-01 12:00:00+00"));
  // Nothing new: the step is skipped and nothing is recorded.
  step = Step("loom://artist-payments/hourly-plays");
  ASSERT_TRUE(step.ok());
  EXPECT_EQ((*step)["runs"][0]["status"], "skipped");
  EXPECT_EQ(Runs("loom://artist-payments/hourly-plays").size(), 2u);
}

TEST_F(StreamingTest, ALateEventIsCountedKeptOutAndReported) {
  PublishPlays({{"e1", "p1", "u1", "t1", "2026-01-01T10:10:00Z"},
                {"e2", "p2", "u1", "t1", "2026-01-01T11:20:00Z"}});
  ASSERT_TRUE(Step("loom://artist-payments/hourly-plays").ok());
  EXPECT_EQ(Hours(), "10:00,t1,1\n");
  // 10:50 arrives after the 10:00 hour closed (watermark 11:10): late. 11:05 is on time.
  PublishPlays({{"e3", "p3", "u2", "t2", "2026-01-01T10:50:00Z"},
                {"e4", "p4", "u2", "t2", "2026-01-01T11:05:00Z"},
                {"e5", "p5", "u2", "t2", "2026-01-01T12:30:00Z"}});
  Result<json> step = Step("loom://artist-payments/hourly-plays");
  ASSERT_TRUE(step.ok()) << step.status().ToString();
  const json& run = (*step)["runs"][0];
  EXPECT_EQ(run["detail"]["late"], 1) << run.dump();
  EXPECT_EQ(run["detail"]["lateEvents"][0]["offset"], 2);
  EXPECT_EQ(run["detail"]["lateEvents"][0]["window"], "2026-01-01T10:00:00.000000Z");
  EXPECT_EQ(Hours(), "10:00,t1,1\n11:00,t1,1\n11:00,t2,1\n");
}

TEST_F(StreamingTest, AStreamOutputIsExactlyOnceAcrossAReplay) {
  PublishPlays({{"e1", "p1", "u1", "t1", "2026-01-01T10:00:00Z"},
                {"e2", "p2", "u2", "t2", "2026-01-01T10:01:00Z"},
                {"e3", "p3", "u3", "t9", "2026-01-01T10:02:00Z"}});
  Result<json> step = Step("loom://media-player/artist-plays");
  ASSERT_TRUE(step.ok()) << step.status().ToString();
  EXPECT_EQ((*step)["runs"][0]["detail"]["accepted"], 3) << step->dump();
  // Crash between publishing and committing, replayed: the same ids, all duplicates.
  platform::Platform::RebuildRequest again;
  Result<json> replay =
      platform_->Rebuild(admin_, *Address::Parse("loom://media-player/artist-plays"), again);
  ASSERT_TRUE(replay.ok()) << replay.status().ToString();
  EXPECT_EQ((*replay)["runs"][0]["detail"]["duplicates"], 3) << replay->dump();
  EXPECT_EQ((*replay)["runs"][0]["detail"]["accepted"], 0);
  PublishPlays({{"e4", "p4", "u1", "t2", "2026-01-01T10:03:00Z"}});
  ASSERT_TRUE(Step("loom://media-player/artist-plays").ok());
  EXPECT_EQ(
      Query("SELECT play_id, user_id, coalesce(artist_id, '-'), "
            "strftime(timezone('UTC', played_at), '%H:%M') FROM media_player.artist_plays.plays"),
      "p1,u1,a1,10:00\np2,u2,a1,10:01\np3,u3,-,10:02\np4,u1,a1,10:03\n");
  EXPECT_EQ(Query("SELECT count(DISTINCT ce_id), count(*) FROM media_player.artist_plays.plays"),
            "4,4\n");
}

TEST_F(StreamingTest, ALargeStepPublishesInLanesKeepingEachKeysOrderExactlyOnce) {
  // 12,000 events in one step: its output goes out in several lanes side by side; each user's
  // events stay in one lane, in input order.
  for (int batch = 0; batch < 2; ++batch) {
    std::vector<std::vector<std::string>> plays;
    for (int i = batch * 6000; i < (batch + 1) * 6000; ++i) {
      char at[32];
      std::snprintf(at, sizeof at, "2026-01-01T%02d:%02d:%02dZ", 10 + i / 3600, i / 60 % 60,
                    i % 60);
      plays.push_back({"e" + std::to_string(i), "p" + std::to_string(i),
                       "u" + std::to_string(i % 7), i % 2 ? "t1" : "t2", at});
    }
    PublishPlays(plays);
  }
  Result<json> step = Step("loom://media-player/artist-plays");
  ASSERT_TRUE(step.ok()) << step.status().ToString();
  EXPECT_EQ((*step)["runs"][0]["detail"]["accepted"], 12000) << step->dump();
  EXPECT_EQ(Query("SELECT count(DISTINCT ce_id), count(DISTINCT play_id), count(*) FROM "
                  "media_player.artist_plays.plays"),
            "12000,12000,12000\n");
  // Within each user (one output partition each), the output offsets follow the input's order.
  EXPECT_EQ(Query("SELECT count(*) FROM (SELECT played_at < lag(played_at) OVER (PARTITION BY "
                  "user_id ORDER BY ce_offset) AS back FROM media_player.artist_plays.plays) "
                  "WHERE back"),
            "0\n");
  // Replayed after a crash between publishing and committing: all duplicates.
  platform::Platform::RebuildRequest again;
  Result<json> replay =
      platform_->Rebuild(admin_, *Address::Parse("loom://media-player/artist-plays"), again);
  ASSERT_TRUE(replay.ok()) << replay.status().ToString();
  EXPECT_EQ((*replay)["runs"][0]["detail"]["duplicates"], 12000) << replay->dump();
  EXPECT_EQ((*replay)["runs"][0]["detail"]["accepted"], 0);
  EXPECT_EQ(Query("SELECT count(*) FROM media_player.artist_plays.plays"), "12000\n");
}

TEST_F(StreamingTest, SeveralRowsOfOneEventGetNumberedIdsThatAReplayRecognises) {
  ApplyMesh("fanout.yaml");
  PublishPlays({{"e1", "p1", "u1", "t1", "2026-01-01T10:00:00Z"},
                {"e2", "p2", "u2", "t2", "2026-01-01T10:01:00Z"}});
  Result<json> step = Step("loom://media-player/play-tags");
  ASSERT_TRUE(step.ok()) << step.status().ToString();
  EXPECT_EQ((*step)["runs"][0]["detail"]["accepted"], 4) << step->dump();
  // In the input's order; each event's rows in the order of their values, #1 for the second.
  EXPECT_EQ(Query("SELECT play_id, artist_id, regexp_replace(ce_id, '^.*/events/[0-9]+/[0-9]+', "
                  "'#0') "
                  "FROM media_player.play_tags.tags ORDER BY ce_offset"),
            "p1,tag-a,#0\np1,tag-b,#0#1\np2,tag-a,#0\np2,tag-b,#0#1\n");
  platform::Platform::RebuildRequest again;
  Result<json> replay =
      platform_->Rebuild(admin_, *Address::Parse("loom://media-player/play-tags"), again);
  ASSERT_TRUE(replay.ok()) << replay.status().ToString();
  EXPECT_EQ((*replay)["runs"][0]["detail"]["duplicates"], 4) << replay->dump();
  EXPECT_EQ(Query("SELECT count(*) FROM media_player.play_tags.tags"), "4\n");
  // An outsider cannot run it, nor learn that it exists.
  platform::Caller outsider;
  outsider.identity.principal = "user:mallory";
  outsider.identity.administrator = false;
  EXPECT_EQ(platform_->RunPipeline(outsider, *Address::Parse("loom://media-player/play-tags"))
                .status()
                .code(),
            StatusCode::kNotFound);
}

}  // namespace
}  // namespace loom::pipeline
