// Batch pipelines through the platform: a three-level DAG across three domains, lineage,
// rebuilds, retries, and clear errors.

#include <filesystem>

#include "pipeline_fixture.h"

namespace loom::pipeline {
namespace {

using nlohmann::json;

constexpr const char* kTracks =
    "track_id,artist_id,royalty_per_play\nt1,a1,0.0100\nt2,a1,0.0200\nt3,a2,0.0050\n";

class BatchTest : public PipelineFixture {
 protected:
  void SetUp() override {
    PipelineFixture::SetUp();
    ApplyMesh();
    PublishTracks(kTracks);
    // p1 twice (a retried play): the second copy, later and on another track, is dropped.
    PublishPlays({{"e1", "p1", "u1", "t1", "2026-01-01T10:00:00Z"},
                  {"e2", "p2", "u1", "t2", "2026-01-01T10:05:00Z"},
                  {"e3", "p3", "u2", "t1", "2026-01-01T10:10:00Z"},
                  {"e4", "p1", "u1", "t3", "2026-01-01T10:20:00Z"},
                  {"e5", "p4", "u2", "t3", "2026-01-01T11:00:00Z"}});
  }
};

TEST_F(BatchTest, ThreeLevelDagAcrossThreeDomainsGivesTheExactResult) {
  Result<json> ran = platform_->RunDuePipelines();
  ASSERT_TRUE(ran.ok()) << ran.status().ToString();
  // Dependency order: track plays before the royalties made from them.
  std::vector<std::string> order;
  for (const json& r : (*ran)["runs"]) {
    ASSERT_EQ(r["status"], "succeeded") << r.dump();
    EXPECT_EQ(r["principal"],
              "service:" + Address::Parse(r["pipeline"].get<std::string>())->domain);
    order.push_back(r["pipeline"]);
  }
  EXPECT_EQ(order, (std::vector<std::string>{"loom://artist-payments/track-plays/counts",
                                             "loom://artist-payments/artist-royalties/owed",
                                             "loom://media-player/listening-sessions/sessions"}));
  EXPECT_EQ(Query("SELECT * FROM artist_payments.track_plays.counts"), "t1,2\nt2,1\nt3,1\n");
  EXPECT_EQ(Query("SELECT * FROM artist_payments.artist_royalties.owed"),
            "a1,3,0.0400\na2,1,0.0050\n");
  // u2's plays are 50 minutes apart: two sessions.
  EXPECT_EQ(Query("SELECT user_id, plays FROM media_player.listening_sessions.sessions"),
            "u1,3\nu2,1\nu2,1\n");

  // Nothing changed: nothing is due (on-input unchanged, hourly already ran).
  ran = platform_->RunDuePipelines();
  ASSERT_TRUE(ran.ok());
  EXPECT_TRUE((*ran)["runs"].empty()) << ran->dump();

  // A new play: both on-input levels run again, in order, and see it.
  PublishPlays({{"e6", "p5", "u3", "t2", "2026-01-01T12:00:00Z"}});
  ran = platform_->RunDuePipelines();
  ASSERT_TRUE(ran.ok());
  ASSERT_EQ((*ran)["runs"].size(), 2u) << ran->dump();
  EXPECT_EQ((*ran)["runs"][1]["outputVersion"], 2);
  EXPECT_EQ(Query("SELECT * FROM artist_payments.artist_royalties.owed"),
            "a1,4,0.0600\na2,1,0.0050\n");
}

TEST_F(BatchTest, EveryOutputVersionRecordsItsExactInputs) {
  ASSERT_TRUE(platform_->RunDuePipelines().ok());
  json runs = Runs("loom://artist-payments/artist-royalties");
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0]["inputs"], json::parse(R"([
    {"address":"loom://artist-payments/track-plays/counts","version":1},
    {"address":"loom://catalog/tracks/current","version":1}])"));
  runs = Runs("loom://artist-payments/track-plays");
  EXPECT_EQ(runs[0]["inputs"], json::parse(R"([
    {"address":"loom://media-player/play-events/events","partition":0,"offsetBegin":0,"offsetEnd":5}])"));
  // The table's own manifest says the same.
  Result<json> versions = platform_->TableVersions(
      admin_, *Address::Parse("loom://artist-payments/artist-royalties/owed"));
  ASSERT_TRUE(versions.ok());
  EXPECT_EQ((*versions)["versions"][0]["inputs"].size(), 2u);
  EXPECT_EQ((*versions)["versions"][0]["publishedBy"], "service:artist-payments");

  // The graph, upstream two levels, with column lineage through the enrichment.
  platform::Platform::LineageRequest up;
  up.downstream = false;
  Result<json> g =
      platform_->Lineage(admin_, *Address::Parse("loom://artist-payments/artist-royalties"), up);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  std::set<std::pair<std::string, std::string>> edges;
  for (const json& e : (*g)["edges"]) {
    edges.insert({e["from"].get<std::string>(), e["to"].get<std::string>()});
  }
  EXPECT_EQ(edges,
            (std::set<std::pair<std::string, std::string>>{
                {"loom://artist-payments/track-plays/counts",
                 "loom://artist-payments/artist-royalties/owed"},
                {"loom://catalog/tracks/current", "loom://artist-payments/artist-royalties/owed"},
                {"loom://media-player/play-events/events",
                 "loom://artist-payments/track-plays/counts"}}));
  for (const json& e : (*g)["edges"]) {
    if (e["from"] == "loom://catalog/tracks/current") {
      EXPECT_EQ(e["columns"], json::parse(R"({"artist_id":["artist_id"],
                                              "royalties_eur":["royalty_per_play"]})"));
      EXPECT_EQ(e["latest"]["outputVersion"], 1);
    }
  }
  up.depth = 1;
  g = platform_->Lineage(admin_, *Address::Parse("loom://artist-payments/artist-royalties"), up);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ((*g)["edges"].size(), 2u);

  // OpenLineage: START and COMPLETE of each run, with the column lineage facet.
  std::vector<json> completes;
  for (const auto& f : std::filesystem::directory_iterator(dir_.Sub("lineage"))) {
    json ev = json::parse(testing::ReadFile(f.path().string()));
    if (ev["eventType"] == "COMPLETE" && ev["job"]["name"] == "artist-royalties") {
      completes.push_back(ev);
    }
  }
  ASSERT_EQ(completes.size(), 1u);
  const json& out = completes[0]["outputs"][0];
  EXPECT_EQ(out["namespace"], "loom://artist-payments");
  EXPECT_EQ(out["name"], "artist-royalties/owed");
  json fields = out["facets"]["columnLineage"]["fields"]["royalties_eur"]["inputFields"];
  std::set<std::string> sources;
  for (const json& f : fields)
    sources.insert(f["name"].get<std::string>() + "." + f["field"].get<std::string>());
  EXPECT_EQ(sources,
            (std::set<std::string>{"track-plays/counts.plays", "tracks/current.royalty_per_play"}));
}

TEST_F(BatchTest, RebuildDownstreamRegeneratesEveryConsumerInOrder) {
  ASSERT_TRUE(platform_->RunDuePipelines().ok());
  // New rates: only a rebuild from the sources shows them downstream.
  PublishTracks("track_id,artist_id,royalty_per_play\nt1,a1,1.0000\nt2,a1,2.0000\nt3,a2,3.0000\n");
  platform::Platform::RebuildRequest r;
  r.downstream = true;
  Result<json> rebuilt =
      platform_->Rebuild(admin_, *Address::Parse("loom://artist-payments/track-plays"), r);
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.status().ToString();
  ASSERT_EQ((*rebuilt)["runs"].size(), 2u);
  EXPECT_EQ((*rebuilt)["runs"][0]["pipeline"], "loom://artist-payments/track-plays/counts");
  EXPECT_EQ((*rebuilt)["runs"][1]["pipeline"], "loom://artist-payments/artist-royalties/owed");
  EXPECT_EQ((*rebuilt)["runs"][1]["trigger"], "rebuild");
  EXPECT_EQ(Query("SELECT * FROM artist_payments.artist_royalties.owed"),
            "a1,3,4.0000\na2,1,3.0000\n");

  // From version 1: exactly the inputs version 1 was made from (the old rates).
  platform::Platform::RebuildRequest from;
  from.from_version = 1;
  rebuilt =
      platform_->Rebuild(admin_, *Address::Parse("loom://artist-payments/artist-royalties"), from);
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.status().ToString();
  EXPECT_EQ((*rebuilt)["runs"][0]["outputVersion"], 3);
  EXPECT_EQ(Query("SELECT * FROM artist_payments.artist_royalties.owed"),
            "a1,3,0.0400\na2,1,0.0050\n");
  from.from_version = 9;
  rebuilt =
      platform_->Rebuild(admin_, *Address::Parse("loom://artist-payments/artist-royalties"), from);
  ASSERT_FALSE(rebuilt.ok());
  EXPECT_EQ(rebuilt.status().code(), StatusCode::kNotFound);
}

TEST_F(BatchTest, AFailedRunIsRecordedAndRetriedAfterItsBackoff) {
  ApplyMesh("broken.yaml");
  Result<json> ran =
      platform_->RunPipeline(admin_, *Address::Parse("loom://artist-payments/track-plays"));
  ASSERT_FALSE(ran.ok());
  EXPECT_EQ(ran.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(ran.status().message().find("pipeline loom://artist-payments/track-plays/counts"),
            std::string::npos)
      << ran.status().message();
  json runs = Runs("loom://artist-payments/track-plays");
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0]["status"], "failed");
  EXPECT_NE(runs[0]["error"].get<std::string>().find("no_such_column"), std::string::npos);
  Result<json> list = platform_->ListPipelines(admin_);
  ASSERT_TRUE(list.ok());
  for (const json& p : (*list)["pipelines"]) {
    if (p["pipeline"] == "loom://artist-payments/track-plays/counts") {
      EXPECT_EQ(p["failures"], 1);
      EXPECT_TRUE(p.contains("nextRetryAt"));
    }
  }
  // The fix is applied; after the backoff the scheduler retries and succeeds.
  ApplyMesh("mesh-v2.yaml");
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  ran = platform_->RunDuePipelines();
  ASSERT_TRUE(ran.ok());
  bool retried = false;
  for (const json& r : (*ran)["runs"]) {
    if (r["pipeline"] == "loom://artist-payments/track-plays/counts") {
      EXPECT_EQ(r["trigger"], "retry");
      EXPECT_EQ(r["attempt"], 2);
      EXPECT_EQ(r["status"], "succeeded");
      retried = true;
    }
  }
  EXPECT_TRUE(retried) << ran->dump();
}

TEST_F(BatchTest, AnInputWithoutDataIsAClearErrorAndNothingIsPublished) {
  ApplyMesh("missing-input.yaml");
  Result<json> ran = platform_->RunPipeline(admin_, *Address::Parse("loom://finance/ledger"));
  ASSERT_FALSE(ran.ok());
  EXPECT_EQ(ran.status().code(), StatusCode::kNotFound);
  EXPECT_NE(ran.status().message().find("input 'x' (loom://nowhere/nothing/port)"),
            std::string::npos)
      << ran.status().message();
}

}  // namespace
}  // namespace loom::pipeline
