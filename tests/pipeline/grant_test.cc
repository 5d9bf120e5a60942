// A pipeline runs as its domain's service principal: a missing read grant on one input is a
// clear error before anything runs (nothing published, no progress), the refusal is audited,
// and after the grant the same run succeeds.

#include "pipeline_fixture.h"

namespace loom::pipeline {
namespace {

using nlohmann::json;

class GrantTest : public PipelineFixture {
 protected:
  void SetUp() override {
    PipelineFixture::SetUp();
    ApplyMesh();
    ApplyMesh("no-grant.yaml");
    PublishTracks("track_id,artist_id,royalty_per_play\nt1,a1,0.01\nt2,a1,0.02\n");
    PublishPlays({{"e1", "p1", "u1", "t1", "2026-01-01T10:00:00Z"},
                  {"e2", "p2", "u1", "t2", "2026-01-01T10:05:00Z"},
                  {"e3", "p3", "u2", "t1", "2026-01-01T10:10:00Z"}});
    // The table input is readable: only the stream input lacks a grant.
    Grant("loom://catalog/tracks");
  }
  void Grant(const std::string& address) {
    Result<json> r = platform_->Grant(admin_, {"service:charts", "read", address, std::nullopt});
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  void Revoke(const std::string& address) {
    Result<json> r = platform_->Revoke(admin_, {"service:charts", "read", address, std::nullopt});
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  Result<json> RunNow(const std::string& product) {
    return platform_->RunPipeline(admin_, *Address::Parse(product));
  }
  // The refusal names who, the permission and which input, and how to fix it. As for any
  // caller, a product the service principal may not see reads as missing (kNotFound).
  static void ExpectClearRefusal(const Status& st) {
    EXPECT_EQ(st.code(), StatusCode::kNotFound) << st.ToString();
    for (const char* part :
         {"service:charts may not read it",
          "input 'plays' (loom://media-player/play-events/events)", "needs the read permission",
          "loom grant service:charts read loom://media-player/play-events)"}) {
      EXPECT_NE(st.message().find(part), std::string::npos) << part << " in " << st.message();
    }
  }
  // Refusals of service:charts reading the play events, from the audit log.
  size_t DeniedReads() {
    security::AuditFilter f;
    f.principal = "service:charts";
    f.allowed = false;
    Result<json> a = platform_->Audit(admin_, f);
    EXPECT_TRUE(a.ok()) << a.status().ToString();
    size_t n = 0;
    for (const json& e : a.ok() ? (*a)["entries"] : json::array()) {
      if (e.value("address", "") == "loom://media-player/play-events/events") ++n;
    }
    return n;
  }
};

TEST_F(GrantTest, ABatchRunWithoutAReadGrantOnAnInputFailsBeforeAnythingRuns) {
  Result<json> ran = RunNow("loom://charts/top-tracks");
  ASSERT_FALSE(ran.ok());
  ExpectClearRefusal(ran.status());
  EXPECT_EQ(DeniedReads(), 1u);
  // The failed run is recorded (for backoff), with nothing read and nothing published.
  json runs = Runs("loom://charts/top-tracks");
  ASSERT_EQ(runs.size(), 1u) << runs.dump();
  EXPECT_EQ(runs[0]["status"], "failed");
  EXPECT_EQ(runs[0]["outputVersion"], nullptr);
  EXPECT_TRUE(runs[0]["inputs"].empty()) << runs.dump();
  // A caller outside the domain may not run it at all.
  Result<json> other = platform_->RunPipeline(platform::Caller::Service("media-player"),
                                              *Address::Parse("loom://charts/top-tracks"));
  EXPECT_EQ(other.status().code(), StatusCode::kNotFound) << other.status().ToString();

  Grant("loom://media-player/play-events");
  ran = RunNow("loom://charts/top-tracks");
  ASSERT_TRUE(ran.ok()) << ran.status().ToString();
  EXPECT_EQ((*ran)["runs"][0]["outputVersion"], 1) << ran->dump();
  EXPECT_EQ(Query("SELECT * FROM charts.top_tracks.top"), "t1,2\nt2,1\n");

  // Revoked again: the next run is refused and the published version stays the only one.
  Revoke("loom://media-player/play-events");
  PublishPlays({{"e4", "p4", "u3", "t2", "2026-01-01T10:20:00Z"}});
  ran = RunNow("loom://charts/top-tracks");
  ASSERT_FALSE(ran.ok());
  ExpectClearRefusal(ran.status());
  EXPECT_EQ(Query("SELECT * FROM charts.top_tracks.top"), "t1,2\nt2,1\n");
}

TEST_F(GrantTest, AStreamingStepWithoutAReadGrantCommitsNoProgressAndNoEvents) {
  Result<json> ran = RunNow("loom://charts/live-plays");
  ASSERT_FALSE(ran.ok());
  ExpectClearRefusal(ran.status());
  EXPECT_EQ(DeniedReads(), 1u);
  // The scheduler's steps are refused the same way, and back off.
  Result<json> due = platform_->RunDuePipelines();
  ASSERT_TRUE(due.ok()) << due.status().ToString();
  json runs = Runs("loom://charts/live-plays");
  ASSERT_FALSE(runs.empty());
  for (const json& r : runs) {
    EXPECT_EQ(r["status"], "failed") << r.dump();
    EXPECT_TRUE(r["inputs"].empty()) << r.dump();
  }
  EXPECT_EQ(Query("SELECT count(*) FROM charts.live_plays.plays"), "0\n");

  // Granted: the step starts from the first event (no progress was committed before).
  Grant("loom://media-player/play-events");
  ran = RunNow("loom://charts/live-plays");
  ASSERT_TRUE(ran.ok()) << ran.status().ToString();
  EXPECT_EQ((*ran)["runs"][0]["detail"]["accepted"], 3) << ran->dump();
  EXPECT_EQ(Query("SELECT play_id FROM charts.live_plays.plays"), "p1\np2\np3\n");
}

TEST_F(GrantTest, AStreamingStepReadsOnlyTheRowsItsGrantFilters) {
  Result<json> g = platform_->Grant(
      admin_, {"service:charts", "read", "loom://media-player/play-events", "track_id = 't1'"});
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  Result<json> ran = RunNow("loom://charts/live-plays");
  ASSERT_TRUE(ran.ok()) << ran.status().ToString();
  EXPECT_EQ((*ran)["runs"][0]["detail"]["accepted"], 2) << ran->dump();
  PublishPlays({{"e4", "p4", "u3", "t2", "2026-01-01T10:20:00Z"},
                {"e5", "p5", "u3", "t1", "2026-01-01T10:25:00Z"}});
  ran = RunNow("loom://charts/live-plays");
  ASSERT_TRUE(ran.ok()) << ran.status().ToString();
  EXPECT_EQ(Query("SELECT play_id, track_id FROM charts.live_plays.plays"),
            "p1,t1\np3,t1\np5,t1\n");
}

}  // namespace
}  // namespace loom::pipeline
