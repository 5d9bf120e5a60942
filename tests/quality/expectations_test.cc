// Every expectation kind, passing and failing, as a blocking check on the real publish path: a
// failing version is refused with the expectation's name, count and samples, and the previous
// version stays current.

#include "quality/quality_test_util.h"

namespace loom::quality_test {
namespace {

using nlohmann::json;

struct KindCase {
  const char* name;
  const char* expectation;  // one quality list item
  const char* good_rows;
  const char* bad_rows;
  const char* detail;  // in the refusal message
};

// Played at 2026-11-17 (a day before the fake clock's now).
#define ROW(id, user, artist, country, code, ms) \
  id "," user "," artist "," country "," code "," ms ",2026-11-17T10:00:00Z,x@y.se\n"

const KindCase kCases[] = {
    {"not_null", "{name: e, kind: not_null, fields: [play_id, user_id], severity: block}",
     ROW("p1", "u1", "a1", "SE", "ABC-1", "1") ROW("p2", "u2", "a1", "SE", "ABC-1", "1"),
     ROW("p1", "u1", "a1", "SE", "ABC-1", "1") ROW("p2", "", "a1", "SE", "ABC-1", "1")
         ROW("", "u3", "a1", "SE", "ABC-1", "1"),
     "2 row(s) with a null in (play_id, user_id)"},
    {"unique", "{name: e, kind: unique, fields: [play_id], severity: block}",
     ROW("p1", "u1", "a1", "SE", "ABC-1", "1") ROW("p2", "u1", "a1", "SE", "ABC-1", "1"),
     ROW("p1", "u1", "a1", "SE", "ABC-1", "1") ROW("p1", "u2", "a1", "SE", "ABC-1", "1")
         ROW("p1", "u3", "a1", "SE", "ABC-1", "1"),
     "2 duplicate row(s) of play_id"},
    {"unique_combination", "{name: e, kind: unique, fields: [play_id, user_id], severity: block}",
     ROW("p1", "u1", "a1", "SE", "ABC-1", "1") ROW("p1", "u2", "a1", "SE", "ABC-1", "1"),
     ROW("p1", "u1", "a1", "SE", "ABC-1", "1") ROW("p1", "u1", "a2", "SE", "ABC-1", "1"),
     "1 duplicate row(s) of (play_id, user_id)"},
    {"accepted_values",
     "{name: e, kind: accepted_values, fields: [country], values: [SE, US], severity: block}",
     ROW("p1", "u1", "a1", "SE", "ABC-1", "1") ROW("p2", "u1", "a1", "US", "ABC-1", "1"),
     ROW("p1", "u1", "a1", "SE", "ABC-1", "1") ROW("p2", "u1", "a1", "FR", "ABC-1", "1"),
     "1 row(s) with a value of country not accepted"},
    {"range", "{name: e, kind: range, fields: [duration_ms], min: 0, max: 1000, severity: block}",
     ROW("p1", "u1", "a1", "SE", "ABC-1", "0") ROW("p2", "u1", "a1", "SE", "ABC-1", "1000"),
     ROW("p1", "u1", "a1", "SE", "ABC-1", "-5") ROW("p2", "u1", "a1", "SE", "ABC-1", "1001"),
     "2 row(s) with duration_ms outside [0, 1000]"},
    {"pattern",
     "{name: e, kind: pattern, fields: [code], pattern: '^[A-Z]{3}-[0-9]+$', severity: block}",
     ROW("p1", "u1", "a1", "SE", "ABC-1", "1") ROW("p2", "u1", "a1", "SE", "XYZ-22", "1"),
     ROW("p1", "u1", "a1", "SE", "abc-1", "1") ROW("p2", "u1", "a1", "SE", "XYZ-22", "1"),
     "1 row(s) with code not matching ^[A-Z]{3}-[0-9]+$"},
    {"row_count", "{name: e, kind: row_count, min: 2, max: 3, severity: block}",
     ROW("p1", "u1", "a1", "SE", "ABC-1", "1") ROW("p2", "u1", "a1", "SE", "ABC-1", "1"),
     ROW("p1", "u1", "a1", "SE", "ABC-1", "1"), "row count 1 is below the minimum 2"},
    {"freshness", "{name: e, kind: freshness, fields: [played_at], maxAge: 2d, severity: block}",
     ROW("p1", "u1", "a1", "SE", "ABC-1", "1"), "p1,u1,a1,SE,ABC-1,1,2026-11-01T10:00:00Z,x@y.se\n",
     "newest played_at 2026-11-01T10:00:00"},
    {"referential",
     "{name: e, kind: referential, fields: [artist_id], reference: "
     "loom://artists/profiles/current, referenceField: artist_id, severity: block}",
     ROW("p1", "u1", "a1", "SE", "ABC-1", "1") ROW("p2", "u1", "", "SE", "ABC-1", "1"),
     ROW("p1", "u1", "a1", "SE", "ABC-1", "1") ROW("p2", "u1", "a9", "SE", "ABC-1", "1"),
     "1 row(s) whose artist_id is not in loom://artists/profiles/current (artist_id)"},
    {"sql",
     "{name: e, kind: sql, severity: block, sql: \"SELECT play_id FROM media_player.plays.daily "
     "WHERE country = 'SE' AND duration_ms > 100\"}",
     ROW("p1", "u1", "a1", "SE", "ABC-1", "100") ROW("p2", "u1", "a1", "US", "ABC-1", "500"),
     ROW("p1", "u1", "a1", "SE", "ABC-1", "101") ROW("p2", "u1", "a1", "US", "ABC-1", "500"),
     "1 row(s) returned by the query"},
};

class ExpectationKindTest : public QualityFixture,
                            public ::testing::WithParamInterface<KindCase> {};

TEST_P(ExpectationKindTest, PassesGoodDataAndBlocksBadData) {
  const KindCase& c = GetParam();
  ASSERT_TRUE(Apply(std::string(kDomains) + "---\n" +
                    PlaysProduct(std::string("    - ") + c.expectation + "\n"))
                  .ok());
  ASSERT_TRUE(PublishProfiles("a1,Abba\na2,Robyn\n").ok());

  Result<json> good = PublishPlays(c.good_rows);
  ASSERT_TRUE(good.ok()) << good.status().ToString();
  EXPECT_EQ(CurrentPlaysVersion(), 1u);

  Result<json> bad = PublishPlays(c.bad_rows);
  ASSERT_FALSE(bad.ok()) << "a failing " << c.name << " expectation must block the publish";
  EXPECT_EQ(bad.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(bad.status().message().find("block e ("), std::string::npos) << bad.status().message();
  EXPECT_NE(bad.status().message().find(c.detail), std::string::npos) << bad.status().message();
  EXPECT_NE(bad.status().message().find("the previous version stays current"), std::string::npos);
  EXPECT_EQ(CurrentPlaysVersion(), 1u) << "the previous version stays current";

  // Both runs are recorded: the refused one first (newest first).
  Result<json> runs =
      platform_->QualityResults(admin_, *Address::Parse("loom://media-player/plays/daily"), 5);
  ASSERT_TRUE(runs.ok()) << runs.status().ToString();
  ASSERT_EQ((*runs)["runs"].size(), 2u) << runs->dump();
  const json& refused = (*runs)["runs"][0];
  EXPECT_EQ(refused["outcome"], "blocked");
  EXPECT_EQ(refused["published"], false);
  EXPECT_EQ(refused["results"][0]["passed"], false);
  EXPECT_GE(refused["results"][0]["failing"].get<int>(), 1);
  const json& passed = (*runs)["runs"][1];
  EXPECT_EQ(passed["outcome"], "passed");
  EXPECT_EQ(passed["version"], 1);
  EXPECT_EQ(passed["results"][0]["passed"], true) << passed.dump();
}

INSTANTIATE_TEST_SUITE_P(EveryKind, ExpectationKindTest, ::testing::ValuesIn(kCases),
                         [](const auto& info) { return std::string(info.param.name); });

class ExpectationTest : public QualityFixture {};

TEST_F(ExpectationTest, RowCountChangeComparesWithThePreviousVersion) {
  ASSERT_TRUE(Apply(std::string(kDomains) + "---\n" +
                    PlaysProduct("    - {name: steady, kind: row_count_change, maxChange: 0.5, "
                                 "severity: block}\n"))
                  .ok());
  std::string four = ROW("p1", "u1", "a1", "SE", "A", "1") ROW("p2", "u1", "a1", "SE", "A", "1")
      ROW("p3", "u1", "a1", "SE", "A", "1") ROW("p4", "u1", "a1", "SE", "A", "1");
  ASSERT_TRUE(PublishPlays(four).ok());
  ASSERT_TRUE(PublishPlays(four + ROW("p5", "u1", "a1", "SE", "A", "1")).ok()) << "+25% passes";
  Result<json> jump = PublishPlays(four + four + four);
  ASSERT_FALSE(jump.ok());
  EXPECT_NE(jump.status().message().find("row count 5 -> 12"), std::string::npos)
      << jump.status().message();
  EXPECT_EQ(CurrentPlaysVersion(), 2u);
}

TEST_F(ExpectationTest, WarningsPublishAndAreRecordedWithRedactedSamples) {
  ASSERT_TRUE(Apply(std::string(kDomains) + "---\n" +
                    PlaysProduct("    - {name: ids, kind: not_null, fields: [play_id]}\n"))
                  .ok());
  Result<json> r = PublishPlays(ROW("", "u1", "a1", "SE", "A", "1"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(CurrentPlaysVersion(), 1u);
  Result<json> runs =
      platform_->QualityResults(admin_, *Address::Parse("loom://media-player/plays/daily"), 1);
  ASSERT_TRUE(runs.ok());
  const json& run = (*runs)["runs"][0];
  EXPECT_EQ(run["outcome"], "warned");
  EXPECT_EQ(run["published"], true);
  ASSERT_EQ(run["results"][0]["samples"].size(), 1u) << run.dump();
  EXPECT_EQ(run["results"][0]["samples"][0]["user_id"], "u1");
}

TEST_F(ExpectationTest, BlockedSamplesRedactPiiInTheMessage) {
  ASSERT_TRUE(Apply(std::string(kDomains) + "---\n" +
                    PlaysProduct("    - {name: ids, kind: not_null, fields: [play_id], severity: "
                                 "block}\n"))
                  .ok());
  Result<json> r = PublishPlays(",u1,a1,SE,A,1,2026-11-17T10:00:00Z,secret@mail.se\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message().find("secret@mail.se"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("\"email\":\"***\""), std::string::npos)
      << r.status().message();
}

TEST_F(ExpectationTest, CheckNowRechecksTheCurrentVersion) {
  ASSERT_TRUE(Apply(std::string(kDomains) + "---\n" +
                    PlaysProduct("    - {name: fresh, kind: freshness, fields: [played_at], "
                                 "maxAge: 2d}\n"))
                  .ok());
  ASSERT_TRUE(PublishPlays(ROW("p1", "u1", "a1", "SE", "A", "1")).ok());
  clock_.Advance(int64_t{5} * 24 * 3600 * 1000000);  // the data ages
  Result<json> r =
      platform_->CheckQuality(admin_, *Address::Parse("loom://media-player/plays/daily"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const json& check = (*r)["checks"][0];
  EXPECT_EQ(check["outcome"], "warned") << check.dump();
  EXPECT_EQ(check["results"][0]["passed"], false);
}

TEST_F(ExpectationTest, ABadCustomQueryFailsItsExpectationWithTheReason) {
  ASSERT_TRUE(Apply(std::string(kDomains) + "---\n" +
                    PlaysProduct("    - {name: bad, kind: sql, severity: block, sql: \"SELECT * "
                                 "FROM read_csv('/etc/passwd')\"}\n"))
                  .ok());
  Result<json> r = PublishPlays(ROW("p1", "u1", "a1", "SE", "A", "1"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("block bad (sql): the query failed"), std::string::npos)
      << r.status().message();
  EXPECT_EQ(r.status().message().find("root:"), std::string::npos);
}

}  // namespace
}  // namespace loom::quality_test
