// Quality through the binary: a blocked publish and `loom quality`, embedded and against
// `loom serve`; the server's /metrics checked by promtool; request ids in responses.

#include <gtest/gtest.h>
#include <httplib.h>

#include <cstdlib>
#include <set>

#include "e2e/e2e_util.h"

namespace loom::e2e {
namespace {

using nlohmann::json;

std::string Fixture(const std::string& name) {
  return testing::SourceDir() + "/tests/quality/fixtures/" + name;
}

class QualityE2eTest : public ::testing::TestWithParam<Mode> {};

TEST_P(QualityE2eTest, BlockedPublishKeepsThePreviousVersionAndIsShown) {
  testing::TempDir dir;
  Loom loom(GetParam(), dir.Sub("data"));
  ASSERT_EQ(loom.Run({"apply", Fixture("mesh.yaml")}).exit_code, 0);
  ASSERT_EQ(
      loom.Run({"publish", "loom://artists/profiles/current", Fixture("profiles.csv")}).exit_code,
      0);
  ASSERT_EQ(
      loom.Run({"publish", "loom://media-player/plays/daily", Fixture("plays-good.csv")}).exit_code,
      0);
  testing::CommandResult bad =
      loom.Run({"publish", "loom://media-player/plays/daily", Fixture("plays-null-id.csv")});
  EXPECT_EQ(bad.exit_code, 6) << bad.out << bad.err;
  EXPECT_NE(bad.err.find("block ids-present (not_null): 1 row(s) with a null in (play_id, "
                         "user_id)"),
            std::string::npos)
      << bad.err;
  EXPECT_EQ(bad.err.find("secret@x.se"), std::string::npos) << "pii in a sample: " << bad.err;

  json versions = loom.Json({"versions", "loom://media-player/plays/daily"});
  EXPECT_EQ(versions["current"], 1) << versions.dump();

  json q = loom.Json({"quality", "loom://media-player/plays/daily"});
  ASSERT_EQ(q["runs"].size(), 2u) << q.dump();
  EXPECT_EQ(q["runs"][0]["outcome"], "blocked");
  EXPECT_EQ(q["runs"][1]["outcome"], "passed");
  testing::CommandResult text = loom.Run({"quality", "loom://media-player/plays/daily"});
  EXPECT_EQ(text.exit_code, 0);
  EXPECT_NE(text.out.find("blocked (not published)"), std::string::npos) << text.out;

  testing::CommandResult check = loom.Run({"quality", "check", "loom://media-player/plays/daily"});
  EXPECT_EQ(check.exit_code, 0) << check.err;
  EXPECT_NE(check.out.find("passed"), std::string::npos) << check.out;

  json slos = loom.Json({"slo", "loom://media-player/plays"});
  ASSERT_EQ(slos["slos"].size(), 2u) << slos.dump();
  EXPECT_EQ(slos["slos"][0]["slo"], "freshness:daily");
}

// A restricted product's versions are encrypted at rest: its checks read them through the key.
TEST(QualityEncryptedE2eTest, ChecksReadSealedVersions) {
  testing::TempDir dir;
  std::string mesh = testing::ReadFile(Fixture("mesh.yaml"));
  const std::string plays = "title: Plays\n  owner: user:mo\nspec:\n";
  ASSERT_NE(mesh.find(plays), std::string::npos);
  mesh.replace(mesh.find(plays), plays.size(), plays + "  classification: restricted\n");
  testing::WriteFile(dir.Sub("mesh.yaml"), mesh);
  Loom loom(Mode::kEmbedded, dir.Sub("data"));
  ASSERT_EQ(loom.Run({"apply", dir.Sub("mesh.yaml")}).exit_code, 0);
  ASSERT_EQ(
      loom.Run({"publish", "loom://artists/profiles/current", Fixture("profiles.csv")}).exit_code,
      0);
  const std::string port = "loom://media-player/plays/daily";
  testing::CommandResult good = loom.Run({"publish", port, Fixture("plays-good.csv")});
  ASSERT_EQ(good.exit_code, 0) << good.err;
  testing::CommandResult bad = loom.Run({"publish", port, Fixture("plays-null-id.csv")});
  EXPECT_EQ(bad.exit_code, 6) << bad.out << bad.err;
  EXPECT_NE(bad.err.find("block ids-present (not_null)"), std::string::npos) << bad.err;
  testing::CommandResult check = loom.Run({"quality", "check", port});
  EXPECT_EQ(check.exit_code, 0) << check.err;
  json q = loom.Json({"quality", port});
  ASSERT_EQ(q["runs"].size(), 3u) << q.dump();
  EXPECT_EQ(q["runs"][1]["outcome"], "blocked");
  EXPECT_EQ(q["runs"][2]["outcome"], "passed");
}

// Quality results, checks and SLOs go through the access checks like any read or write.
TEST(QualityAccessE2eTest, RefusedCallersAreAudited) {
  testing::TempDir dir;
  const std::string data = dir.Sub("data");
  Loom loom(Mode::kEmbedded, data);
  ASSERT_EQ(loom.Run({"apply", Fixture("mesh.yaml")}).exit_code, 0);
  ASSERT_EQ(
      loom.Run({"publish", "loom://artists/profiles/current", Fixture("profiles.csv")}).exit_code,
      0);
  ASSERT_EQ(
      loom.Run({"publish", "loom://media-player/plays/daily", Fixture("plays-good.csv")}).exit_code,
      0);
  const std::string port = "loom://media-player/plays/daily";
  // user:ana owns artists and holds no grant on plays: it does not exist for her.
  testing::CommandResult hidden = loom.Run({"--as", "user:ana", "quality", port});
  EXPECT_EQ(hidden.exit_code, 4) << hidden.err;
  EXPECT_NE(hidden.err.find("no product"), std::string::npos) << hidden.err;
  EXPECT_EQ(loom.Run({"--as", "user:ana", "quality", "check", port}).exit_code, 4);
  EXPECT_EQ(loom.Run({"--as", "user:ana", "slo", "loom://media-player/plays"}).exit_code, 4);
  json listed = loom.Json({"--as", "user:ana", "slo"});
  EXPECT_TRUE(listed["slos"].empty()) << listed.dump();
  // A reader sees the results, but may not run the checks (they are recorded for everyone).
  ASSERT_EQ(loom.Run({"grant", "user:ana", "read", "loom://media-player/plays"}).exit_code, 0);
  EXPECT_EQ(loom.Run({"--as", "user:ana", "quality", port}).exit_code, 0);
  testing::CommandResult refused = loom.Run({"--as", "user:ana", "quality", "check", port});
  EXPECT_EQ(refused.exit_code, 5) << refused.err;
  // The owner may.
  EXPECT_EQ(loom.Run({"--as", "user:mo", "quality", "check", port}).exit_code, 0);

  testing::CommandResult audit =
      loom.Run({"--json", "audit", "--principal", "user:ana", "--denied"});
  ASSERT_EQ(audit.exit_code, 0) << audit.err;
  std::set<std::string> denied;
  const json entries = json::parse(audit.out)["entries"];
  for (const json& e : entries) denied.insert(e.value("operation", ""));
  EXPECT_TRUE(denied.contains("quality")) << audit.out;
  EXPECT_TRUE(denied.contains("quality-check")) << audit.out;
  EXPECT_TRUE(denied.contains("slo")) << audit.out;
}

INSTANTIATE_TEST_SUITE_P(Modes, QualityE2eTest, ::testing::Values(Mode::kEmbedded, Mode::kServer),
                         [](const auto& info) {
                           return info.param == Mode::kEmbedded ? "Embedded" : "Server";
                         });

TEST(MonitoringE2eTest, MetricsPassPromtoolAndRequestsCarryIds) {
  testing::TempDir dir;
  ServeProcess server(dir.Sub("data"));
  ASSERT_TRUE(server.ok());
  httplib::Client client("127.0.0.1", server.port());
  client.set_bearer_token_auth(server.token());
  json apply = {
      {"files", {{{"path", "mesh.yaml"}, {"text", testing::ReadFile(Fixture("mesh.yaml"))}}}}};
  ASSERT_EQ(client.Post("/v1/apply", apply.dump(), "application/json")->status, 200);
  auto published = client.Post("/v1/products/artists/profiles/ports/current/versions",
                               testing::ReadFile(Fixture("profiles.csv")), "text/csv");
  ASSERT_EQ(published->status, 200) << published->body;

  auto mine = client.Get("/healthz", {{"X-Request-Id", "req-42"}});
  ASSERT_TRUE(mine);
  EXPECT_EQ(mine->get_header_value("X-Request-Id"), "req-42");
  auto generated = client.Get("/healthz");
  EXPECT_EQ(generated->get_header_value("X-Request-Id").size(), 36u) << "a UUID";

  auto metrics = client.Get("/metrics");
  ASSERT_TRUE(metrics);
  ASSERT_EQ(metrics->status, 200);
  EXPECT_EQ(metrics->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(metrics->body.find("loom_http_requests_total{method=\"GET\",status=\"200\"}"),
            std::string::npos)
      << metrics->body;
  EXPECT_NE(metrics->body.find("loom_table_rows{port=\"current\",product=\"artists/profiles\"} 2"),
            std::string::npos)
      << metrics->body;
  // /metrics names every product: a caller who is not an administrator is refused.
  const std::string reader = CreateToken(dir.Sub("data"), "user:ana", "read");
  ASSERT_FALSE(reader.empty());
  EXPECT_EQ(HttpGet(server.port(), "/metrics", reader).status, 403);
  EXPECT_EQ(HttpGet(server.port(), "/metrics").status, 401);
  if (std::system("command -v promtool >/dev/null 2>&1") != 0) {
    FAIL() << "promtool missing: run scripts/install-deps.sh";
  }
  testing::CommandResult check =
      testing::RunCommand({"promtool", "check", "metrics"}, metrics->body);
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err << metrics->body;
}

}  // namespace
}  // namespace loom::e2e
