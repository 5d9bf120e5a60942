// The platform's use of governance on a real data folder: apply refuses violations and version
// bumps that are too small, stored products keep their inherited global types (events are
// validated against them), majors are served side by side, carriers of a global type are listed.

#include <gtest/gtest.h>

#include "platform/platform.h"
#include "testing/testing.h"

namespace loom::platform {
namespace {

using nlohmann::json;

std::string Fixture(const std::string& rel) {
  return testing::ReadFile(testing::SourceDir() + "/tests/governance/fixtures/" + rel);
}

// The good fixture with one text replaced (each pair: from, to).
std::string Plays(const std::vector<std::pair<std::string, std::string>>& edits = {}) {
  std::string text = Fixture("good/plays.yaml");
  for (const auto& [from, to] : edits) {
    size_t at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) text.replace(at, from.size(), to);
  }
  return text;
}

class PlatformGovernanceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Options options;
    options.data_dir = dir_.Sub("data");
    Result<std::unique_ptr<Platform>> p = Platform::Open(options);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    platform_ = std::move(*p);
    ASSERT_TRUE(Apply("policies/standards.yaml", Fixture("policies/standards.yaml")).ok());
  }

  Result<json> Apply(const std::string& path, const std::string& text) {
    return platform_->Apply(admin_, {{path, text}}, false);
  }

  testing::TempDir dir_;
  std::unique_ptr<Platform> platform_;
  Caller admin_;
};

TEST_F(PlatformGovernanceTest, ApplyRefusesEveryViolationWithItsPlaceAndRule) {
  Result<json> r = Apply("bad/plays.yaml", Fixture("bad/plays.yaml"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  const std::string m = r.status().message();
  EXPECT_TRUE(m.starts_with("8 policy violations:\n")) << m;
  for (const char* line :
       {"bad/plays.yaml:2:1: metadata.description: product media-player/plays: has no "
        "description [policy 'standards' rules[0] (required_metadata)]",
        "bad/plays.yaml:2:1: spec.classification: product media-player/plays: holds pii fields, "
        "so it must be classified at least confidential (it is internal) [policy 'standards' "
        "rules[2] (classification_controls)]",
        "bad/plays.yaml:14:9: spec.schema.fields[1].type: field 'artist_id' declares type int64 "
        "but global type artist_id is string",
        "bad/plays.yaml:15:9: spec.schema.fields[2].mask: pii field 'listener' declares no mask "
        "method",
        "bad/plays.yaml:17:7: spec.outputPorts[0].stream.eventTime: stream port 'events' declares "
        "no event time field (stream.eventTime) [policy 'standards' rules[3] (envelope)]"}) {
    EXPECT_NE(m.find(line), std::string::npos) << line << "\nin:\n" << m;
  }
  // Nothing was registered, not even the product's domain.
  Result<json> list = platform_->ListProducts(admin_, std::nullopt);
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE((*list)["products"].empty());
}

TEST_F(PlatformGovernanceTest, AStoredProductKeepsItsInheritedGlobalType) {
  ASSERT_TRUE(Apply("plays.yaml", Plays()).ok());
  Result<json> shown = platform_->ShowProduct(admin_, *Address::Parse("media-player/plays"));
  ASSERT_TRUE(shown.ok()) << shown.status().ToString();
  const json& field = (*shown)["schema"]["fields"][1];
  EXPECT_EQ(field["name"], "artist_id");
  EXPECT_EQ(field["type"], "string");
  EXPECT_EQ(field["constraints"]["pattern"], "^art_[0-9a-z]{12}$");
  EXPECT_EQ(field["description"], "An artist, as onboarded by the artists domain.");

  // Events are validated against the inherited pattern.
  const std::string good_artist = "art_0123456789ab";
  auto event = [](const std::string& id, const std::string& artist) {
    return json{{"specversion", "1.0"},
                {"id", id},
                {"source", "/test"},
                {"type", "media.play"},
                {"data",
                 {{"play_id", "3f2c1a9e-8c4b-4d2a-9b1e-0a1b2c3d4e5f"},
                  {"artist_id", artist},
                  {"listener", "ann"},
                  {"played_at", "2026-11-01T10:00:00Z"}}}}
        .dump();
  };
  Result<json> published = platform_->PublishEvents(
      admin_, *Address::Parse("media-player/plays/events"), "application/x-ndjson",
      event("1", good_artist) + "\n" + event("2", "artist-7") + "\n", {});
  ASSERT_TRUE(published.ok()) << published.status().ToString();
  EXPECT_EQ((*published)["accepted"], 1);
  EXPECT_EQ((*published)["rejected"], 1);
  EXPECT_NE((*published)["records"][1]["reason"].get<std::string>().find("^art_[0-9a-z]{12}$"),
            std::string::npos)
      << published->dump();
}

TEST_F(PlatformGovernanceTest, ABreakingChangeNeedsANewMajorAndBothMajorsAreServed) {
  ASSERT_TRUE(Apply("plays.yaml", Plays()).ok());
  const std::pair<std::string, std::string> drop_listener = {
      "      - {name: listener, type: string, pii: true, mask: hash, description: Who.}\n", ""};
  Result<json> minor = Apply("plays.yaml", Plays({drop_listener, {"1.0.0", "1.1.0"}}));
  ASSERT_FALSE(minor.ok());
  EXPECT_EQ(minor.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(minor.status().message(),
            "plays.yaml:2: loom://media-player/plays: version 1.1.0 after 1.0.0 holds breaking "
            "changes, which need a new major version (2.0.0):\n  breaking: field removed "
            "spec.schema.fields.listener (consumers reading 'listener' break)");

  ASSERT_TRUE(Apply("plays.yaml", Plays({drop_listener, {"1.0.0", "2.0.0"}})).ok());
  // The current version is 2.0.0; major 1 is still readable, and flagged deprecated.
  Result<json> v1 = platform_->ShowProduct(admin_, *Address::Parse("media-player/plays@1"));
  ASSERT_TRUE(v1.ok()) << v1.status().ToString();
  EXPECT_EQ((*v1)["version"], "1.0.0");
  EXPECT_EQ((*v1)["schema"]["fields"].size(), 4u);
  EXPECT_EQ((*v1)["deprecated"],
            "major 1 is superseded by 2.0.0; move to loom://media-player/plays@2");
  Result<json> v2 = platform_->ShowProduct(admin_, *Address::Parse("media-player/plays"));
  ASSERT_TRUE(v2.ok());
  EXPECT_EQ((*v2)["version"], "2.0.0");
  EXPECT_TRUE((*v2)["deprecated"].is_null());
  EXPECT_EQ(platform_->ShowProduct(admin_, *Address::Parse("media-player/plays@3")).status().code(),
            StatusCode::kNotFound);

  Result<json> diff = platform_->DiffVersions(admin_, *Address::Parse("media-player/plays@1"),
                                              *Address::Parse("media-player/plays@2"));
  ASSERT_TRUE(diff.ok()) << diff.status().ToString();
  EXPECT_EQ((*diff)["diffs"][0]["impact"], "breaking");
  EXPECT_EQ((*diff)["diffs"][0]["changes"][0]["kind"], "field removed");
}

TEST_F(PlatformGovernanceTest, ACompatibleChangeNeedsAMinor) {
  ASSERT_TRUE(Apply("plays.yaml", Plays()).ok());
  const std::pair<std::string, std::string> add_country = {
      "  outputPorts:",
      "      - {name: country, type: string, description: Where.}\n  outputPorts:"};
  Result<json> patch = Apply("plays.yaml", Plays({add_country, {"1.0.0", "1.0.1"}}));
  ASSERT_FALSE(patch.ok());
  EXPECT_NE(patch.status().message().find(
                "holds compatible changes, which need at least a new minor version (1.1.0):\n  "
                "compatible: optional field added spec.schema.fields.country (string)"),
            std::string::npos)
      << patch.status().message();
  Result<json> diff =
      platform_->Diff(admin_, {{"plays.yaml", Plays({add_country, {"1.0.0", "1.1.0"}})}});
  ASSERT_TRUE(diff.ok());
  EXPECT_EQ((*diff)["diffs"][0]["impact"], "compatible");
  EXPECT_TRUE((*diff)["versionProblems"].empty());
  EXPECT_TRUE(Apply("plays.yaml", Plays({add_country, {"1.0.0", "1.1.0"}})).ok());
}

TEST_F(PlatformGovernanceTest, TheCatalogListsTheCarriersOfAGlobalType) {
  ASSERT_TRUE(Apply("plays.yaml", Plays()).ok());
  ASSERT_TRUE(Apply("charts.yaml", Plays({{"name: plays", "name: charts"},
                                          {"domain: media-player", "domain: charts"}}))
                  .ok());
  Result<json> types = platform_->GlobalTypes(admin_, std::string("artist_id"));
  ASSERT_TRUE(types.ok()) << types.status().ToString();
  const json& carriers = (*types)["types"][0]["products"];
  ASSERT_EQ(carriers.size(), 2u) << types->dump();
  EXPECT_EQ(carriers[0]["address"], "loom://charts/charts");
  EXPECT_EQ(carriers[1]["address"], "loom://media-player/plays");
  EXPECT_EQ(carriers[1]["fields"], json::array({"artist_id"}));
  EXPECT_EQ(platform_->GlobalTypes(admin_, std::string("album_id")).status().message(),
            "no global type 'album_id' (known: artist_id, listen_count)");
  // `show` lists the products a field joins with.
  Result<json> shown = platform_->ShowProduct(admin_, *Address::Parse("media-player/plays"));
  ASSERT_TRUE(shown.ok());
  EXPECT_EQ((*shown)["joinable"]["artist_id"][0]["address"], "loom://charts/charts");
}

TEST_F(PlatformGovernanceTest, APolicyMayNotChangeTheMeaningOfACarriedGlobalType) {
  ASSERT_TRUE(Apply("plays.yaml", Plays()).ok());
  std::string policy = Fixture("policies/standards.yaml");
  policy.replace(policy.find("{12}"), 4, "{16}");
  Result<json> r = Apply("standards.yaml", policy);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(r.status().message(),
            "global type artist_id: pattern '^art_[0-9a-z]{12}$' -> '^art_[0-9a-z]{16}$' changes "
            "the meaning of fields that products carry (loom://media-player/plays); define a new "
            "global type instead and let the products move to it in a new major version");
  // A global type nobody carries may still change.
  policy = Fixture("policies/standards.yaml");
  policy.replace(policy.find("min: 0"), 6, "min: 1");
  EXPECT_TRUE(Apply("standards.yaml", policy).ok());
}

TEST_F(PlatformGovernanceTest, AQueryReadingADeprecatedProductWarns) {
  ASSERT_TRUE(
      Apply("plays.yaml", Plays({{"  access:", "  deprecated: use charts\n  access:"}})).ok());
  Result<std::unique_ptr<Platform::PreparedQuery>> q =
      platform_->PrepareQuery(admin_, "SELECT count(*) FROM media_player.plays.events", {});
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_EQ((*q)->warnings(),
            std::vector<std::string>{"loom://media-player/plays is deprecated: use charts"});
  SearchParams search;
  search.text = "plays";
  Result<json> hits = platform_->Search(admin_, search);
  ASSERT_TRUE(hits.ok());
  EXPECT_EQ((*hits)["hits"][0]["deprecated"], true);
}

TEST_F(PlatformGovernanceTest, OnlyTheGovernanceGroupAppliesPolicies) {
  std::string policy = Fixture("policies/standards.yaml");
  policy.replace(policy.find("min: 0"), 6, "min: 1");
  // A domain's producer may not set global rules: refused, nothing changes.
  Result<Caller> mallory = platform_->As("user:mallory");
  ASSERT_TRUE(mallory.ok()) << mallory.status().ToString();
  Result<json> refused = platform_->Apply(*mallory, {{"standards.yaml", policy}}, false);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kPermissionDenied) << refused.status().ToString();
  Result<json> types = platform_->GlobalTypes(admin_, std::string("listen_count"));
  ASSERT_TRUE(types.ok());
  EXPECT_EQ((*types)["types"][0]["constraints"]["min"], 0.0);
  // A member of the governance group may.
  ASSERT_TRUE(platform_->AddMember(admin_, "group:governance", "user:gina").ok());
  Result<Caller> gina = platform_->As("user:gina");
  ASSERT_TRUE(gina.ok());
  Result<json> applied = platform_->Apply(*gina, {{"standards.yaml", policy}}, false);
  EXPECT_TRUE(applied.ok()) << applied.status().ToString();
  types = platform_->GlobalTypes(admin_, std::string("listen_count"));
  ASSERT_TRUE(types.ok());
  EXPECT_EQ((*types)["types"][0]["constraints"]["min"], 1.0);
}

TEST_F(PlatformGovernanceTest, PolicyCheckReviewsWithoutApplying) {
  Result<json> r = platform_->PolicyCheck(admin_, {{"bad/plays.yaml", Fixture("bad/plays.yaml")}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE((*r)["ok"]);
  EXPECT_EQ((*r)["violations"].size(), 8u);
  EXPECT_EQ((*r)["violations"][0]["rule"], "policy 'standards' rules[0] (required_metadata)");
  r = platform_->PolicyCheck(admin_, {{"good/plays.yaml", Plays()}});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE((*r)["ok"]) << r->dump();
  Result<json> list = platform_->ListProducts(admin_, std::nullopt);
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE((*list)["products"].empty());
}

}  // namespace
}  // namespace loom::platform
