// bench_query_stream: the bench_query analytic queries over a STREAM port (play events as
// CloudEvents JSON records in a log::Log, tiered to Parquet by engine::StreamTier), through a
// Loom session, against raw DuckDB on an equivalent Parquet file of the same events.
//   bench_query_stream [--data DIR] [--events N] [--partitions P] [--rounds R] [--threads T]
//                      [--increment K]
// Prints the full Sync time of N events, the Sync time of K-event increments, the medians per
// query and the ratio stream/raw (target <= 2).

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "bench_common.h"
#include "engine/engine.h"
#include "log/log.h"
#include "spec/spec.h"

namespace {

using loom::bench::Die;
using loom::bench::Drain;
using loom::bench::Fill;
using loom::bench::Median;
using loom::engine::QuoteString;
using Clock = std::chrono::steady_clock;

double MsSince(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

// Event i, deterministic: the JSON record and the Parquet row come from the same columns.
const char* kGenerator =
    "CREATE OR REPLACE TEMP VIEW gen AS SELECT i, "
    "(hash(i * 3) % 2000000)::BIGINT AS user_id, t AS track_id, "
    "(hash(t) % 50000)::BIGINT AS artist_id, "
    "['SE','NO','DK','FI','DE','FR','GB','US','BR','JP'][(1 + hash(i * 7) % 10)::BIGINT] AS "
    "country, ['ios','android','web','desktop'][(1 + hash(i * 11) % 4)::BIGINT] AS device, "
    "TIMESTAMPTZ '2024-03-01 00:00:00+00' + to_microseconds((hash(i * 13) % (60 * "
    "86400000000))::BIGINT) AS played_at, (30000 + hash(i * 17) % 270000)::INTEGER AS "
    "duration_ms FROM (SELECT range AS i, (hash(range) % 500000)::BIGINT AS t FROM "
    "range({from}, {to}))";

const char* kJson =
    "SELECT (user_id % {parts})::INTEGER AS p, epoch_us(played_at) AS ts, format("
    "'{{\"specversion\":\"1.0\",\"id\":\"{}\",\"source\":\"/media-player/play-events\","
    "\"type\":\"media.play.v1\",\"time\":\"{}\",\"datacontenttype\":\"application/json\","
    "\"data\":{{\"user_id\":{},\"track_id\":{},\"artist_id\":{},\"country\":\"{}\","
    "\"device\":\"{}\",\"played_at\":\"{}\",\"duration_ms\":{}}}}}', md5(i::VARCHAR), "
    "strftime(played_at, '%Y-%m-%dT%H:%M:%S.%fZ'), user_id, track_id, artist_id, country, "
    "device, strftime(played_at, '%Y-%m-%dT%H:%M:%S.%fZ'), duration_ms) AS v FROM gen";

std::string Sub(std::string s, const std::string& k, const std::string& v) {
  for (size_t p = s.find(k); p != std::string::npos; p = s.find(k, p + v.size())) {
    s.replace(p, k.size(), v);
  }
  return s;
}

// Appends events [from, to) to the log, each to partition user_id % P. Returns JSON bytes.
uint64_t AppendEvents(loom::engine::Connection& con, loom::log::Log& log, int64_t from,
                      int64_t to) {
  loom::Status s =
      con.Execute(Sub(Sub(kGenerator, "{from}", std::to_string(from)), "{to}", std::to_string(to)));
  if (!s.ok()) Die("generator", s);
  auto r = con.Query(Sub(kJson, "{parts}", std::to_string(log.partitions())));
  if (!r.ok()) Die("json", r.status());
  std::vector<std::vector<std::string>> values(log.partitions());
  std::vector<std::vector<int64_t>> times(log.partitions());
  uint64_t bytes = 0;
  auto flush = [&](int32_t p) {
    std::vector<loom::log::Record> recs;
    for (size_t k = 0; k < values[p].size(); ++k) recs.push_back({times[p][k], "", values[p][k]});
    if (!recs.empty()) {
      auto a = log.Append(p, recs);
      if (!a.ok()) Die("append", a.status());
    }
    values[p].clear();
    times[p].clear();
  };
  while (true) {
    auto c = (*r)->Next();
    if (!c.ok()) Die("fetch", c.status());
    if (*c == nullptr) break;
    const loom::engine::Chunk& ch = **c;
    for (size_t row = 0; row < ch.num_rows(); ++row) {
      int32_t p = std::stoi(ch.Text(0, row));
      times[p].push_back(std::stoll(ch.Text(1, row)));
      values[p].push_back(ch.Text(2, row));
      bytes += values[p].back().size();
      if (values[p].size() >= 4096) flush(p);
    }
  }
  for (int32_t p = 0; p < log.partitions(); ++p) flush(p);
  return bytes;
}

loom::spec::Schema PlaySchema() {
  loom::spec::Schema s;
  auto add = [&s](const char* name, const char* type) {
    loom::spec::Field f;
    f.name = name;
    f.type = *loom::spec::ParseFieldType(type);
    s.fields.push_back(f);
  };
  add("user_id", "int64");
  add("track_id", "int64");
  add("artist_id", "int64");
  add("country", "string");
  add("device", "string");
  add("played_at", "timestamp");
  add("duration_ms", "int32");
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  std::string dir = "bench-stream-data";
  int64_t events = 1'000'000;
  int partitions = 4;
  int rounds = 5;
  int threads = 2;
  int64_t increment = 1000;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--data") dir = argv[i + 1];
    if (a == "--events") events = std::stoll(argv[i + 1]);
    if (a == "--partitions") partitions = std::stoi(argv[i + 1]);
    if (a == "--rounds") rounds = std::stoi(argv[i + 1]);
    if (a == "--threads") threads = std::stoi(argv[i + 1]);
    if (a == "--increment") increment = std::stoll(argv[i + 1]);
  }
  dir = std::filesystem::absolute(dir).string();
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);

  loom::engine::DatabaseOptions dbo;
  dbo.threads = threads;
  auto db = loom::engine::Database::Open(dbo);
  if (!db.ok()) Die("open", db.status());
  auto con = (*db)->Connect();
  if (!con.ok()) Die("connect", con.status());

  loom::log::LogOptions lo;
  lo.partitions = partitions;
  lo.fsync = loom::log::FsyncPolicy::kNever;  // generation speed; Sync reads acknowledged data
  auto log = loom::log::Log::Open(dir + "/log", lo);
  if (!log.ok()) Die("log", log.status());

  auto t0 = Clock::now();
  uint64_t bytes = AppendEvents(**con, **log, 0, events);
  std::printf("generated %lld events (%.0f bytes each) into %d partitions in %.1f s\n",
              static_cast<long long>(events), static_cast<double>(bytes) / events, partitions,
              MsSince(t0) / 1000);
  // The equivalent Parquet file of the same events (the raw side), and the tracks table.
  const std::string raw = dir + "/events.parquet";
  const std::string tracks = dir + "/tracks.parquet";
  loom::Status s = (*con)->Execute(
      Sub(Sub(kGenerator, "{from}", "0"), "{to}", std::to_string(events)) + ";\n" +
      "COPY (SELECT user_id, track_id, artist_id, country, device, played_at, duration_ms FROM "
      "gen) TO " +
      QuoteString(raw) +
      " (FORMAT parquet, COMPRESSION zstd);\n"
      "COPY (SELECT range AS track_id, (hash(range) % 50000)::BIGINT AS artist_id, "
      "((hash(range) % 50000) % 2000)::BIGINT AS label_id, 'track ' || range AS title "
      "FROM range(500000)) TO " +
      QuoteString(tracks) + " (FORMAT parquet, COMPRESSION zstd)");
  if (!s.ok()) Die("raw parquet", s);

  // Full Sync: every event of the log into tier files.
  loom::engine::StreamTierOptions to;
  to.database = db->get();
  auto tier = loom::engine::StreamTier::Open(dir + "/tier", to);
  if (!tier.ok()) Die("tier", tier.status());
  const loom::spec::Schema schema = PlaySchema();
  auto st = (*tier)->Sync(**log, schema);
  if (!st.ok()) Die("sync", st.status());
  std::printf("full sync: %lld events in %.2f s (%.0f k events/s, %.1f MB/s of JSON), %d files\n",
              static_cast<long long>(st->records), st->seconds, st->records / st->seconds / 1000,
              bytes / st->seconds / 1e6, st->files_written);
  auto idle = (*tier)->Sync(**log, schema);
  if (!idle.ok()) Die("sync", idle.status());
  std::printf("idle sync (nothing new): %.2f ms\n", idle->seconds * 1000);

  // Queries: stream relation in a session vs raw DuckDB on the equivalent Parquet file.
  auto rel = (*tier)->ToRelation("media_player.play_events.events", schema);
  if (!rel.ok()) Die("relation", rel.status());
  loom::engine::SessionOptions so;
  so.threads = threads;
  so.relations = {*rel,
                  {"media_player.catalog.tracks",
                   {tracks},
                   {{"track_id", "BIGINT", ""},
                    {"artist_id", "BIGINT", ""},
                    {"label_id", "BIGINT", ""},
                    {"title", "VARCHAR", ""}},
                   ""}};
  auto session = loom::engine::Session::Open(so);
  if (!session.ok()) Die("session", session.status());
  std::printf("%-26s %10s %10s %7s %9s\n", "query", "raw ms", "stream ms", "ratio", "rows");
  double worst = 0;
  for (const loom::bench::Query& q : loom::bench::PlayQueries()) {
    const std::string loom_sql =
        Fill(q.sql, "media_player.play_events.events", "media_player.catalog.tracks", "unused");
    const std::string raw_sql = Fill(q.sql, "read_parquet(" + QuoteString(raw) + ")",
                                     "read_parquet(" + QuoteString(tracks) + ")", "unused");
    std::vector<double> raw_ms, loom_ms;
    uint64_t n_raw = 0, n_loom = 0;
    auto run_raw = [&] {
      auto c = (*db)->Connect();
      if (!c.ok()) Die("raw connect", c.status());
      auto t = Clock::now();
      auto r = (*c)->Query(raw_sql);
      if (!r.ok()) Die(q.name, r.status());
      n_raw = Drain(**r);
      raw_ms.push_back(MsSince(t));
    };
    auto run_loom = [&] {
      auto t = Clock::now();
      auto r = (*session)->Query(loom_sql);
      if (!r.ok()) Die(q.name, r.status());
      n_loom = Drain(**r);
      loom_ms.push_back(MsSince(t));
    };
    for (int round = 0; round < rounds; ++round) {
      if (round % 2 == 0) {
        run_raw();
        run_loom();
      } else {
        run_loom();
        run_raw();
      }
    }
    if (n_raw != n_loom) {
      std::fprintf(stderr, "%s: row counts differ (%llu vs %llu)\n", q.name,
                   static_cast<unsigned long long>(n_raw), static_cast<unsigned long long>(n_loom));
      return 1;
    }
    const double a = Median(raw_ms), b = Median(loom_ms);
    worst = std::max(worst, b / a);
    std::printf("%-26s %10.1f %10.1f %6.3fx %9llu\n", q.name, a, b, b / a,
                static_cast<unsigned long long>(n_raw));
  }
  std::printf("worst ratio stream/raw: %.3fx (target <= 2x), %d rounds, %d threads\n", worst,
              rounds, threads);

  // Freshness cost: K new events, then the Sync a session open would do.
  std::vector<double> inc_ms;
  double inc_max = 0;
  int merges = 0;
  const int inc_rounds = std::max(rounds * 4, 20);
  for (int round = 0; round < inc_rounds; ++round) {
    AppendEvents(**con, **log, events + round * increment, events + (round + 1) * increment);
    auto r = (*tier)->Sync(**log, schema);
    if (!r.ok()) Die("sync", r.status());
    inc_ms.push_back(r->seconds * 1000);
    inc_max = std::max(inc_max, r->seconds * 1000);
    merges += r->files_merged > 0;
  }
  std::printf(
      "increment sync: %lld events over %d partitions: median %.1f ms, max %.1f ms "
      "(%d of %d syncs merged files), %zu tier files now\n",
      static_cast<long long>(increment), partitions, Median(inc_ms), inc_max, merges, inc_rounds,
      (*tier)->Files().size());
  return 0;
}
