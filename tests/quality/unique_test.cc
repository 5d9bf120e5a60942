// Unique keys are checked on 64-bit hashes first (loom_distinct_count over hash(key...)); the
// exact count(DISTINCT) runs only when hashes repeat. Both paths must give the exact duplicate
// count: with NULLs in the key, with combinations, and past the size where the distinct count
// partitions its values.

#include "engine/engine.h"
#include "quality/quality_test_util.h"

namespace loom::quality_test {
namespace {

using nlohmann::json;

class DistinctCountTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = engine::Database::Open();
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(*db);
    auto con = db_->Connect();
    ASSERT_TRUE(con.ok()) << con.status().ToString();
    con_ = std::move(*con);
  }
  std::string One(const std::string& sql) {
    auto rows = con_->QueryRows(sql, 1);
    EXPECT_TRUE(rows.ok()) << sql << ": " << rows.status().ToString();
    return rows.ok() ? rows->Get(0, 0) : "";
  }
  std::unique_ptr<engine::Database> db_;
  std::unique_ptr<engine::Connection> con_;
};

TEST_F(DistinctCountTest, CountsDistinctNonNullValuesExactly) {
  EXPECT_EQ(One("SELECT loom_distinct_count(x) FROM (VALUES (1::UBIGINT), (1), (NULL), (0), (0), "
                "(18446744073709551615), (2)) v(x)"),
            "4");
  EXPECT_EQ(One("SELECT loom_distinct_count(NULL::UBIGINT) FROM range(5)"), "0");
  EXPECT_EQ(One("SELECT loom_distinct_count(range::UBIGINT) FROM range(0)"), "0");
  // Small integers (not spread like hashes) and hashes, past the partitioned size (32768).
  EXPECT_EQ(One("SELECT loom_distinct_count((range % 70001)::UBIGINT) FROM range(300000)"),
            "70001");
  EXPECT_EQ(One("SELECT loom_distinct_count(hash(range % 123457)) = count(DISTINCT range % "
                "123457) FROM range(400000)"),
            "true");
}

TEST_F(DistinctCountTest, RepeatedValuesAreListedUpToTheLimit) {
  EXPECT_EQ(One("SELECT loom_repeated_values(x) FROM (VALUES (7::UBIGINT), (1), (NULL), (0), (0), "
                "(18446744073709551615), (7), (7), (18446744073709551615), (2)) v(x)"),
            "[0,7,18446744073709551615]");
  EXPECT_EQ(One("SELECT loom_repeated_values(x) FROM (VALUES (1::UBIGINT), (2)) v(x)"), "[]");
  // Past the partitioned size: each 1000th value of 300000 repeats.
  EXPECT_EQ(One("SELECT len(loom_repeated_values(hash(CASE WHEN range % 1000 = 0 THEN 1 ELSE "
                "range END))) FROM range(300000)"),
            "1");
  EXPECT_EQ(One("SELECT len(loom_repeated_values((range % 4096)::UBIGINT)) FROM range(8192)"),
            "4096");
  EXPECT_EQ(One("SELECT loom_repeated_values((range % 4097)::UBIGINT) IS NULL FROM range(8194)"),
            "true")
      << "more repeated values than the limit give NULL";
}

TEST_F(DistinctCountTest, WorksPerGroupAndPerWindowFrame) {
  EXPECT_EQ(One("SELECT bool_and(d = e) FROM (SELECT g, loom_distinct_count(hash(x)) AS d, "
                "count(DISTINCT x) AS e FROM (SELECT range % 7 AS g, range % (1000 + range % 7) "
                "AS x FROM range(100000)) GROUP BY g)"),
            "true");
  // A frame's state is combined from shared tree nodes: they must stay intact.
  EXPECT_EQ(One("SELECT list(d ORDER BY i) FROM (SELECT i, loom_distinct_count(x) OVER (ORDER "
                "BY i ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) AS d FROM (VALUES (1, "
                "5::UBIGINT), (2, 5), (3, 6), (4, 6), (5, 6), (6, 7)) v(i, x))"),
            "[1,1,2,2,1,2]");
}

// RunChecks on a Parquet version of `rows` rows built by `select` (columns play_id, user_id,
// played_at), with the given quality items.
class UniqueCheckTest : public ::testing::Test {
 protected:
  quality::CheckReport Check(const std::string& select, const std::string& quality) {
    auto db = engine::Database::Open();
    EXPECT_TRUE(db.ok());
    auto con = (*db)->Connect();
    EXPECT_TRUE(con.ok());
    const std::string file = dir_.Sub("plays-" + std::to_string(files_++) + ".parquet");
    Status s = (*con)->Execute("COPY (" + select + ") TO " + engine::QuoteString(file) +
                               " (FORMAT parquet)");
    EXPECT_TRUE(s.ok()) << s.ToString();
    auto docs = spec::ParseDocuments(PlaysProduct(quality), "plays.yaml");
    EXPECT_TRUE(docs.ok()) << docs.status().ToString();
    quality::CheckInput in;
    in.product = *(*docs)[0].product();
    in.port = "daily";
    in.relation.sql_name = "media_player.plays.daily";
    in.relation.files = {file};
    in.relation.columns = {
        {"play_id", "VARCHAR", ""}, {"user_id", "VARCHAR", ""}, {"played_at", "TIMESTAMPTZ", ""}};
    in.label = "version 1";
    auto report = quality::RunChecks(in);
    EXPECT_TRUE(report.ok()) << report.status().ToString();
    return report.ok() ? *report : quality::CheckReport{};
  }
  testing::TempDir dir_;
  int files_ = 0;
};

constexpr const char* kBothKeys =
    "    - {name: id, kind: unique, fields: [play_id]}\n"
    "    - {name: pair, kind: unique, fields: [user_id, played_at]}\n";

TEST_F(UniqueCheckTest, ALargeUniqueKeyPassesOnHashes) {
  quality::CheckReport r = Check(
      "SELECT 'p' || range AS play_id, 'u' || (range % 1000) AS user_id, TIMESTAMPTZ "
      "'2026-11-01' + to_seconds(range) AS played_at FROM range(200000)",
      kBothKeys);
  ASSERT_EQ(r.results.size(), 2u);
  for (const quality::ExpectationResult& e : r.results) {
    EXPECT_TRUE(e.passed) << e.name << ": " << e.detail;
    EXPECT_EQ(e.failing, 0u) << e.name;
  }
  EXPECT_EQ(r.rows, 200000u);
}

TEST_F(UniqueCheckTest, DuplicatesAreCountedExactlyAndNullKeysAreNotDuplicates) {
  // 200000 rows: play_id repeats every 190000 (10000 duplicates), and each 1000th row has no
  // play_id (200 NULLs, never duplicates; 10 of them fall on duplicated ids, so 9990 remain).
  // The pair (user_id, played_at): played_at repeats every 150000 rows with the same user_id
  // (50000 duplicates); rows with a NULL user_id (each 100th: 2000) are not duplicates, and the
  // 500 of them among the repeats take 500 duplicates away: 49500.
  quality::CheckReport r = Check(
      "SELECT CASE WHEN range % 1000 = 7 THEN NULL ELSE 'p' || (range % 190000) END AS play_id, "
      "CASE WHEN range % 100 = 3 THEN NULL ELSE 'u' || (range % 150000 % 10) END AS user_id, "
      "TIMESTAMPTZ '2026-11-01' + to_seconds(range % 150000) AS played_at FROM range(200000)",
      kBothKeys);
  ASSERT_EQ(r.results.size(), 2u);
  EXPECT_FALSE(r.results[0].passed);
  EXPECT_EQ(r.results[0].failing, 9990u) << r.results[0].detail;
  EXPECT_EQ(r.results[0].detail, "9990 duplicate row(s) of play_id");
  EXPECT_FALSE(r.results[1].passed);
  EXPECT_EQ(r.results[1].failing, 49500u) << r.results[1].detail;
  EXPECT_EQ(r.results[1].detail, "49500 duplicate row(s) of (user_id, played_at)");
}

TEST_F(UniqueCheckTest, FewRepeatedHashesAreCountedAndSampledAmongThoseRowsOnly) {
  // 120000 rows: each 50th repeats the previous play_id (2400 duplicates, under the 4096
  // repeated hashes of the narrowed path); each 1000th has no play_id, and is one of those
  // repeats (120): 2280. The pair repeats on each 60th row (2000), a NULL played_at on each
  // 300th (400 rows, every one of them a repeat) takes 400 away: 1600.
  quality::CheckReport r = Check(
      "SELECT CASE WHEN range % 1000 = 999 THEN NULL ELSE 'p' || (range - CASE WHEN range % 50 = "
      "49 THEN 1 ELSE 0 END) END AS play_id, 'u' || (range % 7) AS user_id, CASE WHEN range % "
      "300 = 299 THEN NULL ELSE TIMESTAMPTZ '2026-11-01' + to_seconds(range - CASE WHEN range % "
      "60 = 59 THEN 7 ELSE 0 END) END AS played_at FROM range(120000)",
      kBothKeys);
  ASSERT_EQ(r.results.size(), 2u);
  EXPECT_EQ(r.results[0].failing, 2280u) << r.results[0].detail;
  EXPECT_EQ(r.results[1].failing, 1600u) << r.results[1].detail;
  ASSERT_EQ(r.results[0].samples.size(), 5u);
  EXPECT_EQ(r.results[0].samples[0]["play_id"], r.results[0].samples[1]["play_id"])
      << "samples are the rows of a duplicated key, in key order: " << r.results[0].samples;
  EXPECT_NE(r.results[0].sample_sql.find("QUALIFY"), std::string::npos);
}

TEST_F(UniqueCheckTest, OneDuplicateAmongManyIsFound) {
  quality::CheckReport r = Check(
      "SELECT 'p' || CASE WHEN range = 99999 THEN 5 ELSE range END AS play_id, 'u' AS user_id, "
      "CASE WHEN range = 99999 THEN NULL ELSE TIMESTAMPTZ '2026-11-01' + to_seconds(range) END "
      "AS played_at FROM range(100000)",
      kBothKeys);
  ASSERT_EQ(r.results.size(), 2u);
  EXPECT_EQ(r.results[0].failing, 1u) << r.results[0].detail;
  EXPECT_TRUE(r.results[1].passed) << "a NULL in the pair is not a duplicate";
}

// On the publish path: a combination with NULLs, and a caller who may not publish.
class UniquePublishTest : public QualityFixture {};

TEST_F(UniquePublishTest, CombinationWithNullsBlocksWithTheExactCount) {
  ASSERT_TRUE(Apply(std::string(kDomains) + "---\n" +
                    PlaysProduct("    - {name: pair, kind: unique, fields: [user_id, country], "
                                 "severity: block}\n"))
                  .ok());
  const std::string rows =
      "p1,u1,a1,SE,A,1,2026-11-17T10:00:00Z,x@y.se\n"
      "p2,u1,a1,SE,A,1,2026-11-17T10:00:00Z,x@y.se\n"  // duplicate of p1
      "p3,u1,a1,SE,A,1,2026-11-17T10:00:00Z,x@y.se\n"  // duplicate of p1
      "p4,,a1,SE,A,1,2026-11-17T10:00:00Z,x@y.se\n"    // NULL user_id: not a duplicate
      "p5,,a1,SE,A,1,2026-11-17T10:00:00Z,x@y.se\n"
      "p6,u1,a1,,A,1,2026-11-17T10:00:00Z,x@y.se\n"  // NULL country: not a duplicate
      "p7,u1,a1,,A,1,2026-11-17T10:00:00Z,x@y.se\n"
      "p8,u2,a1,SE,A,1,2026-11-17T10:00:00Z,x@y.se\n";
  Result<json> stranger = platform_->PublishTableFile(
      platform::Caller::Service("artists"), *Address::Parse("loom://media-player/plays/daily"),
      [&] {
        std::string path = dir_.Sub("stranger.csv");
        testing::WriteFile(path, std::string(kHeader) + rows);
        return path;
      }(),
      table::SourceKind::kCsv);
  ASSERT_FALSE(stranger.ok()) << "another domain's service may not publish plays";
  // Refused without learning that the product exists, or refused outright.
  EXPECT_TRUE(stranger.status().code() == StatusCode::kNotFound ||
              stranger.status().code() == StatusCode::kPermissionDenied)
      << stranger.status().ToString();

  Result<json> r = PublishPlays(rows);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("2 duplicate row(s) of (user_id, country)"),
            std::string::npos)
      << r.status().message();
  ASSERT_TRUE(PublishPlays("p1,u1,a1,SE,A,1,2026-11-17T10:00:00Z,x@y.se\n"
                           "p4,,a1,SE,A,1,2026-11-17T10:00:00Z,x@y.se\n"
                           "p5,,a1,SE,A,1,2026-11-17T10:00:00Z,x@y.se\n")
                  .ok());
  EXPECT_EQ(CurrentPlaysVersion(), 1u);
}

TEST_F(UniquePublishTest, ReferentialSamplesAreTheRowsWithMissingValues) {
  ASSERT_TRUE(Apply(std::string(kDomains) + "---\n" +
                    PlaysProduct("    - {name: known, kind: referential, fields: [artist_id], "
                                 "reference: loom://artists/profiles/current, referenceField: "
                                 "artist_id}\n"))
                  .ok());
  ASSERT_TRUE(PublishProfiles("a1,Abba\n").ok());
  ASSERT_TRUE(PublishPlays("p1,u1,a1,SE,A,1,2026-11-17T10:00:00Z,x@y.se\n"
                           "p2,u1,a9,SE,A,1,2026-11-17T10:00:00Z,x@y.se\n"
                           "p3,u1,,SE,A,1,2026-11-17T10:00:00Z,x@y.se\n"
                           "p4,u1,a9,SE,A,1,2026-11-17T10:00:00Z,x@y.se\n")
                  .ok());
  Result<json> runs =
      platform_->QualityResults(admin_, *Address::Parse("loom://media-player/plays/daily"), 1);
  ASSERT_TRUE(runs.ok()) << runs.status().ToString();
  const json& result = (*runs)["runs"][0]["results"][0];
  EXPECT_EQ(result["failing"], 2) << result.dump();
  ASSERT_EQ(result["samples"].size(), 2u) << result.dump();
  for (const json& row : result["samples"]) EXPECT_EQ(row["artist_id"], "a9") << result.dump();
  EXPECT_NE(result["detail"].get<std::string>().find("2 row(s) whose artist_id"),
            std::string::npos);
}

}  // namespace
}  // namespace loom::quality_test
