// The foundation, end to end: init, apply, list, show, versions, search, errors and exit codes,
// in embedded mode and against `loom serve` (the same tests, both modes).

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "e2e/e2e_util.h"

namespace loom::e2e {
namespace {

using nlohmann::json;

class CatalogCliTest : public ::testing::TestWithParam<Mode> {
 protected:
  void SetUp() override {
    loom_ = std::make_unique<Loom>(GetParam(), dir_.Sub("data"));
    if (GetParam() == Mode::kServer) {
      // The server must be up before anything else runs.
      ASSERT_EQ(loom_->Run({"list"}).exit_code, 0);
    }
  }
  testing::TempDir dir_;
  std::unique_ptr<Loom> loom_;
};

TEST_P(CatalogCliTest, InitApplyThenSearchFindsTheProduct) {
  testing::CommandResult init =
      loom_->Run({"init", "media-player/play-events", "--dir", dir_.Sub("products")});
  ASSERT_EQ(init.exit_code, 0) << init.err;
  std::string file = dir_.Sub("products/play-events.yaml");
  ASSERT_TRUE(std::filesystem::exists(file));

  testing::CommandResult apply = loom_->Run({"apply", file});
  ASSERT_EQ(apply.exit_code, 0) << apply.err;
  EXPECT_NE(apply.out.find("create"), std::string::npos) << apply.out;
  EXPECT_NE(apply.out.find("product:media-player/play-events"), std::string::npos) << apply.out;

  testing::CommandResult search = loom_->Run({"search", "play"});
  ASSERT_EQ(search.exit_code, 0) << search.err;
  EXPECT_NE(search.out.find("loom://media-player/play-events"), std::string::npos) << search.out;

  json hits = loom_->Json({"search", "play"});
  ASSERT_TRUE(hits.is_object());
  ASSERT_EQ(hits["hits"].size(), 1u);
  EXPECT_EQ(hits["hits"][0]["address"], "loom://media-player/play-events");

  // Applying the same file again changes nothing.
  testing::CommandResult again = loom_->Run({"apply", file});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.out.find("unchanged"), std::string::npos) << again.out;
}

TEST_P(CatalogCliTest, ShowPrintsSchemaAndPortAddresses) {
  ASSERT_EQ(loom_->Run({"init", "media-player/play-events", "--dir", dir_.path()}).exit_code, 0);
  ASSERT_EQ(loom_->Run({"apply", dir_.Sub("play-events.yaml")}).exit_code, 0);
  testing::CommandResult show = loom_->Run({"show", "loom://media-player/play-events"});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  EXPECT_NE(show.out.find("Schema"), std::string::npos) << show.out;
  EXPECT_NE(show.out.find("loom://media-player/play-events/"), std::string::npos) << show.out;
  EXPECT_NE(show.out.find("media_player.play_events."), std::string::npos) << show.out;

  json product = loom_->Json({"show", "media-player/play-events"});
  ASSERT_TRUE(product.is_object());
  EXPECT_EQ(product["version"], "0.1.0");
  ASSERT_FALSE(product["outputPorts"].empty());
  EXPECT_TRUE(product["outputPorts"][0]["address"].get<std::string>().starts_with(
      "loom://media-player/play-events/"));
}

TEST_P(CatalogCliTest, VersionsAreKeptAndImmutable) {
  ASSERT_EQ(loom_->Run({"init", "artists/profiles", "--dir", dir_.path()}).exit_code, 0);
  std::string file = dir_.Sub("profiles.yaml");
  std::string v1 = testing::ReadFile(file);
  ASSERT_EQ(loom_->Run({"apply", file}).exit_code, 0);

  // Changing the content without bumping the version is refused: versions are immutable.
  std::string changed = v1;
  size_t at = changed.find("title:");
  ASSERT_NE(at, std::string::npos);
  changed.insert(at + 6, " Changed");
  testing::WriteFile(file, changed);
  testing::CommandResult refused = loom_->Run({"apply", file});
  EXPECT_EQ(refused.exit_code, 6) << refused.out << refused.err;
  EXPECT_NE(refused.err.find("version"), std::string::npos) << refused.err;

  // A new version is accepted and both are listed.
  std::string v2 = changed;
  at = v2.find("version: 0.1.0");
  ASSERT_NE(at, std::string::npos);
  v2.replace(at, 14, "version: 0.2.0");
  testing::WriteFile(file, v2);
  testing::CommandResult applied = loom_->Run({"apply", file});
  ASSERT_EQ(applied.exit_code, 0) << applied.err;
  EXPECT_NE(applied.out.find("new version"), std::string::npos) << applied.out;

  json versions = loom_->Json({"versions", "loom://artists/profiles"});
  ASSERT_TRUE(versions.is_object());
  ASSERT_EQ(versions["versions"].size(), 2u);
  EXPECT_EQ(versions["versions"][0]["version"], "0.1.0");
  EXPECT_EQ(versions["versions"][1]["version"], "0.2.0");
  // The old version is still readable as it was.
  json old = loom_->Json({"show", "loom://artists/profiles@0.1.0"});
  ASSERT_TRUE(old.is_object());
  EXPECT_EQ(old["version"], "0.1.0");
  EXPECT_EQ(old["title"].get<std::string>().find("Changed"), std::string::npos);
}

TEST_P(CatalogCliTest, MalformedDescriptorsEachGetTheirErrorAndChangeNothing) {
  // Something valid first, so "unchanged" is visible.
  ASSERT_EQ(loom_->Run({"init", "media-player/play-events", "--dir", dir_.path()}).exit_code, 0);
  ASSERT_EQ(loom_->Run({"apply", dir_.Sub("play-events.yaml")}).exit_code, 0);
  json before = loom_->Json({"list"});
  ASSERT_TRUE(before.is_object());

  const std::string dir = "tests/spec/malformed";
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(testing::SourceDir() + "/" + dir)) {
    if (e.path().extension() == ".yaml") files.push_back(e.path().filename().string());
  }
  std::sort(files.begin(), files.end());
  ASSERT_GE(files.size(), 20u);
  for (const std::string& name : files) {
    std::string rel = dir + "/" + name;
    std::string text = testing::ReadFile(testing::SourceDir() + "/" + rel);
    ASSERT_TRUE(text.starts_with("# expect: ")) << rel;
    std::string expected = text.substr(10, text.find('\n') - 10);
    // Apply from the repository root, so the file name in the message is the relative path.
    std::vector<std::string> argv = {"bash",
                                     "-c",
                                     "cd \"$1\" && shift && exec \"$@\"",
                                     "bash",
                                     testing::SourceDir(),
                                     testing::LoomBinary()};
    if (loom_->mode() == Mode::kServer) {
      argv.insert(argv.end(), {"--server", loom_->server_url(), "--token", loom_->server_token()});
    } else {
      argv.insert(argv.end(), {"--data", dir_.Sub("data")});
    }
    argv.insert(argv.end(), {"apply", rel});
    testing::CommandResult r = testing::RunCommand(argv);
    EXPECT_EQ(r.exit_code, 3) << rel << "\n" << r.err;
    EXPECT_NE(r.err.find(expected), std::string::npos)
        << rel << "\nexpected: " << expected << "\ngot: " << r.err;
  }
  // All of them at once: refused as a whole, every file named.
  testing::CommandResult all =
      loom_->Run({"apply", testing::SourceDir() + "/" + dir, dir_.Sub("play-events.yaml")});
  EXPECT_EQ(all.exit_code, 3);
  json after = loom_->Json({"list"});
  EXPECT_EQ(before, after) << "the catalog changed";
}

TEST_P(CatalogCliTest, ExitCodesDistinguishUsageValidationAndNotFound) {
  EXPECT_EQ(loom_->Run({"show"}).exit_code, 2);                           // usage
  EXPECT_EQ(loom_->Run({"no-such-command"}).exit_code, 2);                // usage
  EXPECT_EQ(loom_->Run({"show", "loom://Bad/x"}).exit_code, 3);           // invalid address
  EXPECT_EQ(loom_->Run({"show", "loom://nobody/nothing"}).exit_code, 4);  // not found
  EXPECT_EQ(loom_->Run({"apply", dir_.Sub("missing.yaml")}).exit_code, 4);
  testing::CommandResult r = loom_->Run({"show", "loom://../etc/passwd"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("domain name '..'"), std::string::npos) << r.err;
}

TEST_P(CatalogCliTest, SearchFiltersAndListAcrossSeveralDomains) {
  for (const char* name : {"media-player/play-events", "media-player/errors", "artists/profiles"}) {
    ASSERT_EQ(
        loom_->Run({"init", name, "--dir", dir_.Sub(std::string(name).substr(0, 6))}).exit_code, 0);
  }
  ASSERT_EQ(loom_->Run({"apply", dir_.Sub("media-"), dir_.Sub("artist")}).exit_code, 0);
  json all = loom_->Json({"list"});
  ASSERT_TRUE(all.is_object());
  EXPECT_EQ(all["products"].size(), 3u);
  json media = loom_->Json({"list", "--domain", "media-player"});
  EXPECT_EQ(media["products"].size(), 2u);
  json filtered = loom_->Json({"search", "--domain", "artists"});
  ASSERT_EQ(filtered["hits"].size(), 1u);
  EXPECT_EQ(filtered["hits"][0]["domain"], "artists");
  json none = loom_->Json({"search", "zzzqqq"});
  EXPECT_TRUE(none["hits"].empty());
  // Hostile search text is just text.
  EXPECT_EQ(loom_->Run({"search", "\"NEAR(play*", "OR", "-"}).exit_code, 0);
}

INSTANTIATE_TEST_SUITE_P(BothModes, CatalogCliTest,
                         ::testing::Values(Mode::kEmbedded, Mode::kServer), [](const auto& info) {
                           return info.param == Mode::kEmbedded ? "Embedded" : "Server";
                         });

}  // namespace
}  // namespace loom::e2e
