// bench_quality: every declared expectation of a product (all ten kinds, eleven checks) on one
// 10,000,000-row table version, against a plain scan of the same version, side by side.
//   bench_quality [--data DIR] [--rows N] [--rounds R]
// Prints the median of each and the ratio checks/scan (target < 2). Two scans are shown: one
// that reads every column (an aggregate per column, the strict baseline) and SELECT * drained.
// Two versions are checked: one that passes every expectation (the usual case: Parquet
// statistics and dictionaries answer many row-level checks), and one where one row in 10007
// fails six of them (every row group has failures; the exact unique count and the sample
// queries run).

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "quality/quality.h"

namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void Die(const std::string& what, const loom::Status& s) {
  std::fprintf(stderr, "bench_quality: %s: %s\n", what.c_str(), s.ToString().c_str());
  std::exit(1);
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

const char* kProduct = R"(apiVersion: loom/v1
kind: DataProduct
metadata: {domain: media-player, name: plays, version: 1.0.0, title: Plays, owner: "user:mo"}
spec:
  schema:
    fields:
      - {name: play_id, type: string}
      - {name: user_id, type: string}
      - {name: artist_id, type: string}
      - {name: country, type: string}
      - {name: code, type: string}
      - {name: duration_ms, type: int64}
      - {name: played_at, type: timestamp}
      - {name: email, type: string, pii: true}
  outputPorts:
    - {name: daily, kind: table}
  quality:
    - {name: ids-present, kind: not_null, fields: [play_id, user_id], severity: block}
    - {name: one-play-per-id, kind: unique, fields: [play_id], severity: block}
    - {name: one-per-user-and-time, kind: unique, fields: [user_id, played_at]}
    - {name: known-country, kind: accepted_values, fields: [country], values: [SE, NO, DK, FI, DE, FR, GB, US, BR, JP]}
    - {name: sane-duration, kind: range, fields: [duration_ms], min: 0, max: 86400000}
    - {name: code-shape, kind: pattern, fields: [code], pattern: '^[A-Z]{3}-[0-9]+$'}
    - {name: enough-rows, kind: row_count, min: 1000}
    - {name: steady, kind: row_count_change, maxChange: 0.5}
    - {name: recent, kind: freshness, fields: [played_at], maxAge: 3650d}
    - {name: artists-exist, kind: referential, fields: [artist_id], reference: loom://artists/profiles/current, referenceField: artist_id}
    - {name: no-long-swedish, kind: sql, sql: "SELECT play_id FROM media_player.plays.daily WHERE country = 'SE' AND duration_ms > 3600000"}
)";

void Generate(const std::string& dir, int64_t rows) {
  std::filesystem::create_directories(dir);
  auto db = loom::engine::Database::Open();
  if (!db.ok()) Die("open", db.status());
  auto con = (*db)->Connect();
  if (!con.ok()) Die("connect", con.status());
  auto run = [&](const std::string& sql) {
    loom::Status s = (*con)->Execute(sql);
    if (!s.ok()) Die("generate", s);
  };
  const std::string opts = " (FORMAT parquet, COMPRESSION zstd)";
  run("COPY (SELECT printf('art_%012d', range) AS artist_id, 'artist ' || range AS name "
      "FROM range(50000)) TO " +
      loom::engine::QuoteString(dir + "/profiles.parquet") + opts);
  const std::string plays =
      "SELECT 'play_' || range AS play_id, 'usr_' || (hash(range * 3) % 2000000) AS user_id, "
      "printf('art_%012d', hash(range) % 50000) AS artist_id, "
      "['SE','NO','DK','FI','DE','FR','GB','US','BR','JP'][(1 + hash(range * 7) % 10)::BIGINT] AS "
      "country, ['ABC','XYZ','QRS'][(1 + range % 3)::BIGINT] || '-' || (range % 1000) AS code, "
      "(30000 + hash(range * 17) % 270000)::BIGINT AS duration_ms, "
      "TIMESTAMPTZ '2026-09-01' + to_microseconds(range * 500) AS played_at, "
      "'user' || (range % 2000000) || '@mail.example' AS email FROM range(" +
      std::to_string(rows) + ")";
  run("COPY (" + plays + ") TO " + loom::engine::QuoteString(dir + "/plays.parquet") + opts);
  // One row in 10007 repeats the previous play_id and has no user_id, an unknown country, a
  // negative duration, a malformed code and an unknown artist.
  const std::string bad = "range % 10007 = 10006";
  run("COPY (SELECT CASE WHEN " + bad +
      " THEN 'play_' || (range - 1) ELSE play_id END AS play_id, " + "CASE WHEN " + bad +
      " THEN NULL ELSE user_id END AS user_id, CASE WHEN " + bad +
      " THEN 'art_unknown' ELSE artist_id END AS artist_id, CASE WHEN " + bad +
      " THEN 'XX' ELSE country END AS country, CASE WHEN " + bad +
      " THEN 'bad' ELSE code END AS code, CASE WHEN " + bad +
      " THEN -1 ELSE duration_ms END AS duration_ms, played_at, email FROM (SELECT *, "
      "row_number() OVER () - 1 AS range FROM (" +
      plays + ")) ORDER BY range) TO " + loom::engine::QuoteString(dir + "/plays-failing.parquet") +
      opts);
}

loom::engine::Relation PlaysRelation(const std::string& file) {
  loom::engine::Relation r;
  r.sql_name = "media_player.plays.daily";
  r.files = {file};
  r.columns = {{"play_id", "VARCHAR", ""},       {"user_id", "VARCHAR", ""},
               {"artist_id", "VARCHAR", ""},     {"country", "VARCHAR", ""},
               {"code", "VARCHAR", ""},          {"duration_ms", "BIGINT", ""},
               {"played_at", "TIMESTAMPTZ", ""}, {"email", "VARCHAR", ""}};
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir = "bench-quality-data";
  int64_t rows = 10000000;
  int rounds = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--data") dir = argv[i + 1];
    if (a == "--rows") rows = std::atoll(argv[i + 1]);
    if (a == "--rounds") rounds = std::atoi(argv[i + 1]);
  }
  const std::string marker = dir + "/rows-" + std::to_string(rows) + "-v2";
  if (!std::filesystem::exists(marker)) {
    std::printf("generating %lld rows in %s ...\n", static_cast<long long>(rows), dir.c_str());
    Generate(dir, rows);
    std::FILE* f = std::fopen(marker.c_str(), "w");
    if (f != nullptr) std::fclose(f);
  }
  auto docs = loom::spec::ParseDocuments(kProduct, "bench.yaml");
  if (!docs.ok()) Die("descriptor", docs.status());

  loom::quality::CheckInput in;
  in.product = *(*docs)[0].product();
  in.port = "daily";
  in.relation = PlaysRelation(dir + "/plays.parquet");
  in.label = "version 2";
  in.previous_rows = static_cast<uint64_t>(rows);
  in.now = loom::Clock::Real()->NowMicros();
  loom::engine::Relation profiles;
  profiles.sql_name = "artists.profiles.current";
  profiles.files = {dir + "/profiles.parquet"};
  profiles.columns = {{"artist_id", "VARCHAR", ""}, {"name", "VARCHAR", ""}};
  in.references = {profiles};

  loom::engine::SessionOptions so;
  so.relations = {in.relation};
  auto session = loom::engine::Session::Open(so);
  if (!session.ok()) Die("session", session.status());
  auto time_query = [&](const std::string& sql) {
    auto t0 = Clock::now();
    auto r = (*session)->Query(sql);
    if (!r.ok()) Die("scan", r.status());
    while (true) {
      auto c = (*r)->Next();
      if (!c.ok()) Die("scan", c.status());
      if (*c == nullptr) break;
    }
    return std::chrono::duration<double>(Clock::now() - t0).count();
  };
  std::string every_column = "SELECT count(*)";
  for (const auto& c : in.relation.columns) {
    every_column += ", max(" + loom::engine::QuoteIdent(c.name) + ")";
  }
  every_column += " FROM media_player.plays.daily";

  loom::quality::CheckInput failing = in;
  failing.relation = PlaysRelation(dir + "/plays-failing.parquet");

  std::vector<double> checks, checks_failing, scan_columns, scan_star;
  loom::quality::CheckReport last, last_failing;
  auto time_checks = [&](const loom::quality::CheckInput& input, loom::quality::CheckReport* out) {
    auto t0 = Clock::now();
    auto report = loom::quality::RunChecks(input);
    if (!report.ok()) Die("checks", report.status());
    *out = *report;
    return std::chrono::duration<double>(Clock::now() - t0).count();
  };
  for (int round = 0; round < rounds; ++round) {
    scan_columns.push_back(time_query(every_column));
    scan_star.push_back(time_query("SELECT * FROM media_player.plays.daily"));
    checks.push_back(time_checks(in, &last));
    checks_failing.push_back(time_checks(failing, &last_failing));
  }
  auto failed = [](const loom::quality::CheckReport& r) {
    std::string names;
    for (const auto& e : r.results) {
      if (!e.passed)
        names += (names.empty() ? "" : ", ") + e.name + " " + std::to_string(e.failing);
    }
    return names.empty() ? std::string("none") : names;
  };
  const double c = Median(checks), s = Median(scan_columns), star = Median(scan_star);
  const double cf = Median(checks_failing);
  std::printf("table version: %llu rows, %zu expectations, %d rounds\n",
              static_cast<unsigned long long>(last.rows), last.results.size(), rounds);
  std::printf("failed (passing version): %s\n", failed(last).c_str());
  std::printf("failed (failing version): %s\n", failed(last_failing).c_str());
  std::printf("%-52s %9.3f s\n", "plain scan, every column (median)", s);
  std::printf("%-52s %9.3f s\n", "plain scan, SELECT * drained (median)", star);
  std::printf("%-52s %9.3f s\n", "all checks, passing version (median)", c);
  std::printf("%-52s %9.3f s\n", "all checks, failing version, with samples (median)", cf);
  std::printf("ratio checks / every-column scan: %.2fx (target < 2.00x)\n", c / s);
  std::printf("ratio checks / SELECT * scan:     %.2fx\n", c / star);
  std::printf("ratio failing-version checks / every-column scan: %.2fx\n", cf / s);
  return 0;
}
