// bench_quality: every declared expectation of a product (all ten kinds, eleven checks) on one
// 10,000,000-row table version, against a plain scan of the same version, side by side.
//   bench_quality [--data DIR] [--rows N] [--rounds R]
// Prints the median of each and the ratio checks/scan (target < 2). Two scans are shown: one
// that reads every column (an aggregate per column, the strict baseline) and SELECT * drained.

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
  run("COPY (SELECT 'play_' || range AS play_id, 'usr_' || (hash(range * 3) % 2000000) AS user_id, "
      "printf('art_%012d', hash(range) % 50000) AS artist_id, "
      "['SE','NO','DK','FI','DE','FR','GB','US','BR','JP'][(1 + hash(range * 7) % 10)::BIGINT] AS "
      "country, ['ABC','XYZ','QRS'][(1 + range % 3)::BIGINT] || '-' || (range % 1000) AS code, "
      "(30000 + hash(range * 17) % 270000)::BIGINT AS duration_ms, "
      "TIMESTAMPTZ '2026-09-01' + to_microseconds(range * 500) AS played_at, "
      "'user' || (range % 2000000) || '@mail.example' AS email FROM range(" +
      std::to_string(rows) + ")) TO " + loom::engine::QuoteString(dir + "/plays.parquet") + opts);
}

loom::engine::Relation PlaysRelation(const std::string& dir) {
  loom::engine::Relation r;
  r.sql_name = "media_player.plays.daily";
  r.files = {dir + "/plays.parquet"};
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
  const std::string marker = dir + "/rows-" + std::to_string(rows);
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
  in.relation = PlaysRelation(dir);
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

  std::vector<double> checks, scan_columns, scan_star;
  loom::quality::CheckReport last;
  for (int round = 0; round < rounds; ++round) {
    scan_columns.push_back(time_query(every_column));
    scan_star.push_back(time_query("SELECT * FROM media_player.plays.daily"));
    auto t0 = Clock::now();
    auto report = loom::quality::RunChecks(in);
    if (!report.ok()) Die("checks", report.status());
    checks.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
    last = *report;
  }
  size_t failed = 0;
  for (const auto& r : last.results) failed += r.passed ? 0 : 1;
  const double c = Median(checks), s = Median(scan_columns), star = Median(scan_star);
  std::printf("table version: %llu rows, %zu expectations (%zu failed)\n",
              static_cast<unsigned long long>(last.rows), last.results.size(), failed);
  std::printf("%-44s %9.3f s\n", "plain scan, every column (median)", s);
  std::printf("%-44s %9.3f s\n", "plain scan, SELECT * drained (median)", star);
  std::printf("%-44s %9.3f s\n", "all checks, one query + custom SQL (median)", c);
  std::printf("ratio checks / every-column scan: %.2fx (target < 2.00x)\n", c / s);
  std::printf("ratio checks / SELECT * scan:     %.2fx\n", c / star);
  return 0;
}
