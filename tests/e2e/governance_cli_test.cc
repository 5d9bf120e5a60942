// Governance from the command line, embedded and against `loom serve`: `loom policy check` exit
// codes (in a domain's CI without a catalog, and against the catalog's policies), apply refusing
// violations, `loom diff` of a file and of two versions, `loom types`, and `show` of a major.

#include <gtest/gtest.h>

#include "e2e/e2e_util.h"

namespace loom::e2e {
namespace {

using nlohmann::json;

std::string Fixtures() { return testing::SourceDir() + "/tests/governance/fixtures"; }

class GovernanceCliTest : public ::testing::TestWithParam<Mode> {
 protected:
  void SetUp() override {
    loom_ = std::make_unique<Loom>(GetParam(), dir_.Sub("data"));
    ASSERT_EQ(loom_->Run({"apply", Fixtures() + "/policies"}).exit_code, 0);
  }
  // The good fixture with one text replaced, written to `name`.
  std::string Edited(const std::string& name, const std::string& from, const std::string& to) {
    std::string text = testing::ReadFile(Fixtures() + "/good/plays.yaml");
    text.replace(text.find(from), from.size(), to);
    testing::WriteFile(dir_.Sub(name), text);
    return dir_.Sub(name);
  }
  testing::TempDir dir_;
  std::unique_ptr<Loom> loom_;
};

TEST(PolicyCheckOfflineTest, ExitCodesTellCiWhatHappened) {
  testing::CommandResult ok =
      testing::RunCommand({testing::LoomBinary(), "policy", "check", "--policies",
                           Fixtures() + "/policies", Fixtures() + "/good"});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(ok.out, "ok: 1 product follows every policy\n");

  testing::CommandResult bad =
      testing::RunCommand({testing::LoomBinary(), "policy", "check", "--policies",
                           Fixtures() + "/policies", Fixtures() + "/bad"});
  EXPECT_EQ(bad.exit_code, 3) << bad.err;
  EXPECT_NE(bad.out.find("/bad/plays.yaml:15:9: spec.schema.fields[2].mask: pii field 'listener' "
                         "declares no mask method"),
            std::string::npos)
      << bad.out;
  EXPECT_NE(bad.out.find("8 policy violations, 0 version problems in 1 product\n"),
            std::string::npos)
      << bad.out;

  testing::CommandResult missing = testing::RunCommand(
      {testing::LoomBinary(), "policy", "check", "--offline", Fixtures() + "/none"});
  EXPECT_EQ(missing.exit_code, 4) << missing.err;
}

TEST(GovernanceAccessTest, ACallerOutsideGovernanceMayNotApplyAPolicy) {
  testing::TempDir dir;
  testing::CommandResult r =
      testing::RunCommand({testing::LoomBinary(), "--data", dir.Sub("data"), "--as", "user:mallory",
                           "apply", Fixtures() + "/policies"});
  EXPECT_EQ(r.exit_code, 5) << r.out << r.err;
  EXPECT_NE(r.err.find("user:mallory"), std::string::npos) << r.err;
  testing::CommandResult types =
      testing::RunCommand({testing::LoomBinary(), "--data", dir.Sub("data"), "--json", "types"});
  EXPECT_EQ(types.exit_code, 0) << types.err;
  EXPECT_EQ(json::parse(types.out)["types"].size(), 0u) << types.out;
}

TEST_P(GovernanceCliTest, ApplyRefusesAViolatingDescriptorListingEveryViolation) {
  testing::CommandResult r = loom_->Run({"apply", Fixtures() + "/bad/plays.yaml"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("8 policy violations:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("spec.outputPorts[0].stream.eventType: stream port 'events' declares no "
                       "event type (stream.eventType) [policy 'standards' rules[3] (envelope)]"),
            std::string::npos)
      << r.err;
}

TEST_P(GovernanceCliTest, PolicyCheckAgainstTheCatalogAndDiffs) {
  EXPECT_EQ(loom_->Run({"policy", "check", Fixtures() + "/good"}).exit_code, 0);
  ASSERT_EQ(loom_->Run({"apply", Fixtures() + "/good"}).exit_code, 0);
  const std::string field =
      "      - {name: listener, type: string, pii: true, mask: hash, description: Who.}\n";
  std::string v11 = Edited("v11.yaml", "version: 1.0.0", "version: 1.1.0");
  std::string text = testing::ReadFile(v11);
  text.replace(text.find(field), field.size(), "");
  testing::WriteFile(v11, text);

  testing::CommandResult check = loom_->Run({"policy", "check", v11});
  EXPECT_EQ(check.exit_code, 6) << check.out << check.err;
  EXPECT_NE(check.out.find("version 1.1.0 after 1.0.0 holds breaking changes, which need a new "
                           "major version (2.0.0)"),
            std::string::npos)
      << check.out;

  testing::CommandResult diff = loom_->Run({"diff", v11});
  EXPECT_EQ(diff.exit_code, 6);
  EXPECT_NE(diff.out.find("loom://media-player/plays  1.0.0 -> 1.1.0  breaking\n  breaking  field "
                          "removed  spec.schema.fields.listener"),
            std::string::npos)
      << diff.out;

  text.replace(text.find("version: 1.1.0"), 14, "version: 2.0.0");
  testing::WriteFile(v11, text);
  ASSERT_EQ(loom_->Run({"apply", v11}).exit_code, 0);
  json two = loom_->Json({"diff", "loom://media-player/plays@1", "loom://media-player/plays@2"});
  ASSERT_TRUE(two.is_object());
  EXPECT_EQ(two["diffs"][0]["from"], "1.0.0");
  EXPECT_EQ(two["diffs"][0]["to"], "2.0.0");
  EXPECT_EQ(two["diffs"][0]["impact"], "breaking");

  testing::CommandResult show = loom_->Run({"show", "loom://media-player/plays@1"});
  EXPECT_EQ(show.exit_code, 0) << show.err;
  EXPECT_NE(show.out.find("DEPRECATED: major 1 is superseded by 2.0.0"), std::string::npos)
      << show.out;
}

TEST_P(GovernanceCliTest, TypesListsTheProductsCarryingAGlobalType) {
  ASSERT_EQ(loom_->Run({"apply", Fixtures() + "/good"}).exit_code, 0);
  testing::CommandResult one = loom_->Run({"types", "artist_id"});
  EXPECT_EQ(one.exit_code, 0) << one.err;
  EXPECT_NE(one.out.find("artist_id: string, pattern ^art_[0-9a-z]{12}$ (owner domain artists, "
                         "policy standards)"),
            std::string::npos)
      << one.out;
  EXPECT_NE(one.out.find("loom://media-player/plays"), std::string::npos) << one.out;
  json all = loom_->Json({"types"});
  ASSERT_TRUE(all.is_object());
  EXPECT_EQ(all["types"].size(), 2u);
  testing::CommandResult unknown = loom_->Run({"types", "album_id"});
  EXPECT_EQ(unknown.exit_code, 4);
  EXPECT_NE(unknown.err.find("no global type 'album_id'"), std::string::npos) << unknown.err;
  ASSERT_EQ(loom_->Run({"apply", Edited("charts.yaml", "domain: media-player", "domain: charts")})
                .exit_code,
            0);
  testing::CommandResult show = loom_->Run({"show", "loom://media-player/plays"});
  EXPECT_NE(show.out.find("Joins through global types\n"), std::string::npos) << show.out;
  EXPECT_NE(show.out.find("artist_id    loom://charts/plays  artist_id\n"), std::string::npos)
      << show.out;
}

TEST_P(GovernanceCliTest, QueriesOfADeprecatedProductWarnItsReaders) {
  ASSERT_EQ(
      loom_
          ->Run({"apply", Edited("plays.yaml", "  access:", "  deprecated: use charts\n  access:")})
          .exit_code,
      0);
  testing::CommandResult q =
      loom_->Run({"query", "SELECT count(*) AS n FROM media_player.plays.events"});
  EXPECT_EQ(q.exit_code, 0) << q.err;
  EXPECT_NE(q.err.find("loom: warning: loom://media-player/plays is deprecated: use charts\n"),
            std::string::npos)
      << q.err;
  testing::CommandResult search = loom_->Run({"search", "plays"});
  EXPECT_NE(search.out.find("(deprecated)"), std::string::npos) << search.out;
}

INSTANTIATE_TEST_SUITE_P(BothModes, GovernanceCliTest,
                         ::testing::Values(Mode::kEmbedded, Mode::kServer));

}  // namespace
}  // namespace loom::e2e
