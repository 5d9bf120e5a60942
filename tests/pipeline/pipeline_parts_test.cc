// The pipeline module's parts on their own: graph, schedules, SQL composition, column lineage.

#include <gtest/gtest.h>

#include "engine/engine.h"
#include "pipeline/pipeline.h"

namespace loom::pipeline {
namespace {

spec::DataProduct Product(const std::string& domain, const std::string& name,
                          std::vector<std::string> inputs) {
  spec::DataProduct p;
  p.domain = domain;
  p.name = name;
  spec::OutputPort out;
  out.name = "out";
  out.kind = spec::PortKind::kTable;
  p.output_ports.push_back(out);
  int i = 0;
  for (const std::string& in : inputs) {
    spec::InputPort ip;
    ip.alias = "in" + std::to_string(i++);
    ip.address = *Address::Parse(in);
    p.input_ports.push_back(ip);
  }
  p.transform = spec::Transform{};
  p.transform->output = "out";
  p.transform->sql = "SELECT 1";
  return p;
}

TEST(GraphTest, OrdersNodesAfterTheirInputsAcrossDomains) {
  std::vector<spec::DataProduct> products = {
      Product("c", "top", {"loom://b/mid/out", "loom://src/raw/events"}),
      Product("b", "mid", {"loom://a/low/out"}),
      Product("a", "low", {"loom://src/raw/events"}),
  };
  Result<Graph> g = Graph::Build(products);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  ASSERT_EQ(g->nodes().size(), 3u);
  EXPECT_EQ(g->nodes()[0].output.product, "low");
  EXPECT_EQ(g->nodes()[1].output.product, "mid");
  EXPECT_EQ(g->nodes()[2].output.product, "top");
  std::vector<const Node*> down = g->Downstream(*Address::Parse("loom://a/low/out"));
  ASSERT_EQ(down.size(), 2u);
  EXPECT_EQ(down[0]->output.product, "mid");
  EXPECT_EQ(down[1]->output.product, "top");
}

TEST(GraphTest, RefusesACycleNamingItsProducts) {
  std::vector<spec::DataProduct> products = {
      Product("a", "x", {"loom://b/y/out"}),
      Product("b", "y", {"loom://a/x/out"}),
  };
  Result<Graph> g = Graph::Build(products);
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(g.status().message().find("cycle: a/x -> b/y -> a/x"), std::string::npos)
      << g.status().message();
}

TimestampMicros At(const std::string& rfc3339) { return *ParseRfc3339(rfc3339); }

TEST(ScheduleTest, NamedSchedulesAreDueOncePerPeriod) {
  EXPECT_TRUE(*ScheduleDue("hourly", std::nullopt, At("2026-01-01T10:00:00Z")));
  EXPECT_FALSE(*ScheduleDue("hourly", At("2026-01-01T10:00:00Z"), At("2026-01-01T10:59:59Z")));
  EXPECT_TRUE(*ScheduleDue("hourly", At("2026-01-01T10:59:00Z"), At("2026-01-01T11:00:00Z")));
  EXPECT_FALSE(*ScheduleDue("daily", At("2026-01-01T00:10:00Z"), At("2026-01-01T23:59:00Z")));
  EXPECT_TRUE(*ScheduleDue("daily", At("2026-01-01T23:59:00Z"), At("2026-01-02T00:00:00Z")));
  EXPECT_TRUE(*ScheduleDue("monthly", At("2026-01-31T23:00:00Z"), At("2026-02-01T00:00:00Z")));
  EXPECT_FALSE(*ScheduleDue("on-input", std::nullopt, At("2026-01-01T10:00:00Z")));
}

TEST(ScheduleTest, CronIsDueWhenAMatchingMinutePassed) {
  // 15 past every second hour, on weekdays.
  const std::string cron = "15 */2 * * 1-5";
  EXPECT_TRUE(ValidateSchedule(cron).ok());
  // 2026-01-05 is a Monday.
  EXPECT_TRUE(*ScheduleDue(cron, At("2026-01-05T10:00:00Z"), At("2026-01-05T10:15:00Z")));
  EXPECT_FALSE(*ScheduleDue(cron, At("2026-01-05T10:15:00Z"), At("2026-01-05T11:59:00Z")));
  EXPECT_FALSE(*ScheduleDue(cron, At("2026-01-05T11:00:00Z"), At("2026-01-05T11:30:00Z")));
  // Saturday: no match all day.
  EXPECT_FALSE(*ScheduleDue(cron, At("2026-01-10T00:00:00Z"), At("2026-01-10T23:59:00Z")));
}

TEST(ScheduleTest, RefusesABadCronNamingTheField) {
  Status s = ValidateSchedule("61 * * * *");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("cron minute '61'"), std::string::npos) << s.message();
  EXPECT_FALSE(ValidateSchedule("every day").ok());
}

class ComposeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = *engine::Database::Open();
    conn_ = *db_->Connect();
    ASSERT_TRUE(conn_
                    ->Execute(R"(
      CREATE TABLE ev AS SELECT * FROM (VALUES
        ('p1', 'u1', 't1', TIMESTAMPTZ '2026-01-01 10:00:00+00'),
        ('p2', 'u1', 't2', TIMESTAMPTZ '2026-01-01 10:10:00+00'),
        ('p1', 'u1', 't9', TIMESTAMPTZ '2026-01-01 10:20:00+00'),
        ('p3', 'u1', 't1', TIMESTAMPTZ '2026-01-01 11:30:00+00'),
        ('p4', 'u2', 't3', TIMESTAMPTZ '2026-01-01 10:05:00+00'))
        AS t(play_id, user_id, track_id, played_at);
      CREATE TABLE tr AS SELECT * FROM (VALUES ('t1', 'a1'), ('t2', 'a1'), ('t3', 'a2'))
        AS t(track_id, artist_id);)")
                    .ok());
  }
  std::string Run(const spec::Transform& t) {
    Result<std::string> sql =
        ComposeSql(t, {{"plays", "SELECT * FROM ev"}, {"tracks", "SELECT * FROM tr"}}, columns_);
    EXPECT_TRUE(sql.ok()) << sql.status().ToString();
    if (!sql.ok()) return "";
    Result<engine::Rows> rows = conn_->QueryRows("SELECT * FROM (" + *sql + ") ORDER BY ALL");
    EXPECT_TRUE(rows.ok()) << rows.status().ToString() << "\n" << *sql;
    if (!rows.ok()) return "";
    std::string out;
    for (size_t r = 0; r < rows->size(); ++r) {
      for (size_t c = 0; c < rows->columns.size(); ++c) out += (c ? "," : "") + rows->Get(r, c);
      out += "\n";
    }
    return out;
  }
  std::map<std::string, std::vector<std::string>> columns_ = {
      {"plays", {"play_id", "user_id", "track_id", "played_at"}},
      {"tracks", {"track_id", "artist_id"}}};
  std::unique_ptr<engine::Database> db_;
  std::unique_ptr<engine::Connection> conn_;
};

TEST_F(ComposeTest, DedupeKeepsTheFirstRowByTime) {
  spec::Transform t;
  t.sql = "SELECT play_id, track_id FROM plays";
  t.steps.push_back({"dedupe", {{"key", "play_id"}, {"time", "played_at"}}});
  EXPECT_EQ(Run(t), "p1,t1\np2,t2\np3,t1\np4,t3\n");
}

TEST_F(ComposeTest, SessionizeStartsASessionAfterTheGap) {
  spec::Transform t;
  t.sql =
      "SELECT user_id, count(*) AS plays, min(played_at) = session_start AS ok "
      "FROM plays GROUP BY user_id, session_id, session_start";
  t.steps.push_back({"sessionize", {{"key", "user_id"}, {"time", "played_at"}, {"gap", "30m"}}});
  // u1: 10:00, 10:10, 10:20 in one session, 11:30 in the next; u2 alone.
  EXPECT_EQ(Run(t), "u1,1,true\nu1,3,true\nu2,1,true\n");
}

TEST_F(ComposeTest, EnrichAddsLookupColumnsWithoutMultiplyingRows) {
  spec::Transform t;
  t.sql = "SELECT artist_id, count(*) AS plays FROM plays GROUP BY ALL";
  t.steps.push_back({"enrich", {{"lookup", "tracks"}, {"on", "track_id"}}});
  // t9 is not in the catalog: its play keeps a NULL artist.
  EXPECT_EQ(Run(t), "a1,3\na2,1\nNULL,1\n");
}

TEST_F(ComposeTest, BadStepOptionsNameTheStepAndTheOption) {
  spec::Transform t;
  t.sql = "SELECT 1";
  t.steps.push_back({"dedupe", {{"key", "nope"}}});
  Result<std::string> sql = ComposeSql(t, {{"plays", "SELECT * FROM ev"}}, columns_);
  ASSERT_FALSE(sql.ok());
  EXPECT_EQ(sql.status().message(),
            "transform.steps[0] (dedupe): key 'nope' is not a column of 'plays'");
  t.steps[0] = {"explode", {}};
  sql = ComposeSql(t, {{"plays", "SELECT * FROM ev"}}, columns_);
  ASSERT_FALSE(sql.ok());
  EXPECT_NE(sql.status().message().find("unknown step kind"), std::string::npos);
}

TEST_F(ComposeTest, ColumnLineageFollowsAliasesJoinsAndEnrichment) {
  spec::Transform t;
  t.sql = R"(WITH x AS (SELECT p.track_id, p.user_id FROM plays p)
             SELECT x.user_id AS listener, artist_id, count(*) AS n FROM x JOIN tracks USING (track_id)
             GROUP BY ALL)";
  Result<ColumnLineage> cl = DeriveColumnLineage(*conn_, t, columns_);
  ASSERT_TRUE(cl.ok()) << cl.status().ToString();
  EXPECT_EQ((*cl)["listener"], (std::set<ColumnSource>{{"plays", "user_id"}}));
  EXPECT_EQ((*cl)["artist_id"], (std::set<ColumnSource>{{"tracks", "artist_id"}}));
  EXPECT_TRUE((*cl)["n"].empty());

  spec::Transform e;
  e.sql = "SELECT artist_id, play_id FROM plays";
  e.steps.push_back({"enrich", {{"lookup", "tracks"}, {"on", "track_id"}}});
  cl = DeriveColumnLineage(*conn_, e, columns_);
  ASSERT_TRUE(cl.ok()) << cl.status().ToString();
  EXPECT_EQ((*cl)["artist_id"], (std::set<ColumnSource>{{"tracks", "artist_id"}}));
  EXPECT_EQ((*cl)["play_id"], (std::set<ColumnSource>{{"plays", "play_id"}}));
}

}  // namespace
}  // namespace loom::pipeline
