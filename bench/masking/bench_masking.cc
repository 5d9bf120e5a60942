// bench_masking: the cost of de-identification. Five queries over N play events with pii
// columns, run side by side on the same Parquet file through raw DuckDB, a Loom session without
// masks (a reader holding unmask) and a Loom session with the masks security::MaskColumn makes
// (hash, redact, truncate), as a reader without unmask gets them.
//   bench_masking [--data DIR] [--rows N] [--rounds R] [--threads T]
// Prints per query the median wall-clock time of each side and the median CPU time the process
// spent (all threads: less sensitive to other work on a shared machine), and the ratios
// masked/unmasked (the cost of masks; target: under 1.10x) and unmasked/raw (the cost of the
// session's view, for reference); then their medians and the worst query.

#include <sys/resource.h>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "bench_common.h"
#include "engine/engine.h"
#include "security/security.h"
#include "spec/spec.h"

namespace {

using loom::bench::Die;
using loom::bench::Drain;
using loom::bench::Median;
using loom::engine::Database;
using loom::engine::QuoteString;
using Clock = std::chrono::steady_clock;

// CPU time of the whole process so far (user + system, every thread), in ms.
double CpuMs() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return (u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1e3 +
         (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e3;
}

constexpr const char* kRelation = "media_player.listeners.plays";

struct Col {
  const char* name;
  loom::spec::TypeKind kind;
  bool pii;
  loom::spec::MaskMethod mask;
};

const std::vector<Col>& Columns() {
  using K = loom::spec::TypeKind;
  using M = loom::spec::MaskMethod;
  static const std::vector<Col> cols = {
      {"user_id", K::kInt64, true, M::kHash},        {"email", K::kString, true, M::kHash},
      {"ip", K::kString, true, M::kRedact},          {"birth_date", K::kDate, true, M::kTruncate},
      {"country", K::kString, false, M::kNone},      {"device", K::kString, false, M::kNone},
      {"played_at", K::kTimestamp, false, M::kNone}, {"duration_ms", K::kInt32, false, M::kNone},
  };
  return cols;
}

void Generate(const std::string& file, int64_t rows, int threads) {
  loom::engine::DatabaseOptions o;
  o.threads = threads;
  auto db = Database::Open(o);
  if (!db.ok()) Die("open", db.status());
  auto con = (*db)->Connect();
  if (!con.ok()) Die("connect", con.status());
  loom::Status s = (*con)->Execute(
      "COPY (SELECT u AS user_id, 'user' || u || '@example.com' AS email, "
      "(u % 256) || '.' || (hash(u) % 256) || '.' || (hash(u * 3) % 256) || '.' || (u % 199) AS "
      "ip, "
      "DATE '1950-01-01' + (hash(u * 5) % 20000)::INTEGER AS birth_date, "
      "['SE','NO','DK','FI','DE','FR','GB','US','BR','JP'][(1 + hash(range * 7) % 10)::BIGINT] "
      "AS country, ['ios','android','web','desktop'][(1 + hash(range * 11) % 4)::BIGINT] AS "
      "device, TIMESTAMP '2024-03-01' + to_microseconds((hash(range * 13) % (60 * "
      "86400000000))::BIGINT) AS played_at, (30000 + hash(range * 17) % 270000)::INTEGER AS "
      "duration_ms FROM (SELECT range, (hash(range * 3) % 2000000)::BIGINT AS u FROM range(" +
      std::to_string(rows) + ")) ORDER BY played_at) TO " + QuoteString(file) +
      " (FORMAT parquet, COMPRESSION zstd)");
  if (!s.ok()) Die("generate", s);
}

// Whether every user_id of the file lies in int32 range: what a published table version's
// manifest records (table::ColumnStats::fits_int32), and Platform::Protect gives MaskColumn.
loom::security::ValueRange UserIdRange(const std::string& file) {
  auto db = Database::Open();
  if (!db.ok()) Die("open", db.status());
  auto con = (*db)->Connect();
  if (!con.ok()) Die("connect", con.status());
  auto rows = (*con)->QueryRows(
      "SELECT coalesce(min(user_id) >= -2147483648 AND max(user_id) <= 2147483647, true) FROM "
      "read_parquet(" +
      QuoteString(file) + ")");
  if (!rows.ok()) Die("range", rows.status());
  return rows->Get(0, 0) == "true" ? loom::security::ValueRange::kInt32
                                   : loom::security::ValueRange::kDeclared;
}

loom::engine::Relation MakeRelation(const std::string& file, const loom::security::MaskKey* key) {
  const loom::security::ValueRange user_ids = UserIdRange(file);
  loom::engine::Relation r;
  r.sql_name = kRelation;
  r.files = {file};
  for (const Col& c : Columns()) {
    loom::spec::Field f;
    f.name = c.name;
    f.type.kind = c.kind;
    f.pii = c.pii;
    f.mask = c.mask;
    loom::engine::RelationColumn rc{c.name, f.type.SqlType(), ""};
    if (key != nullptr) {
      auto m = loom::security::MaskColumn(f, *key,
                                          c.kind == loom::spec::TypeKind::kInt64
                                              ? user_ids
                                              : loom::security::ValueRange::kDeclared);
      if (!m.ok()) Die("mask", m.status());
      rc.mask = m->expression;
      if (!m->expression.empty()) rc.type = m->sql_type;
    }
    r.columns.push_back(rc);
  }
  return r;
}

std::unique_ptr<loom::engine::Session> OpenSession(const loom::engine::Relation& r, int threads) {
  loom::engine::SessionOptions so;
  so.threads = threads;
  so.relations = {r};
  auto s = loom::engine::Session::Open(so);
  if (!s.ok()) Die("session", s.status());
  return std::move(*s);
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  std::string dir = "bench-masking-data";
  int64_t rows = 5'000'000;
  int rounds = 5;
  int threads = 2;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--data") dir = argv[i + 1];
    if (a == "--rows") rows = std::stoll(argv[i + 1]);
    if (a == "--rounds") rounds = std::stoi(argv[i + 1]);
    if (a == "--threads") threads = std::stoi(argv[i + 1]);
  }
  dir = std::filesystem::absolute(dir).string();
  std::filesystem::create_directories(dir);
  const std::string file = dir + "/plays-" + std::to_string(rows) + ".parquet";
  if (!std::filesystem::exists(file)) {
    auto t0 = Clock::now();
    Generate(file, rows, threads);
    std::printf("generated %lld events in %.1f s\n", static_cast<long long>(rows),
                std::chrono::duration<double>(Clock::now() - t0).count());
  }

  const loom::security::MaskKey key{loom::security::MasterKey::Generate().Hex()};
  auto unmasked = OpenSession(MakeRelation(file, nullptr), threads);
  auto masked = OpenSession(MakeRelation(file, &key), threads);
  loom::engine::DatabaseOptions ro;
  ro.threads = threads;
  auto raw_db = Database::Open(ro);
  if (!raw_db.ok()) Die("raw open", raw_db.status());

  const std::vector<loom::bench::Query> queries = {
      {"plays per country per day (no pii)",
       "SELECT country, date_trunc('day', played_at) AS day, count(*) FROM {t} GROUP BY ALL"},
      {"listeners per country (hash)",
       "SELECT country, count(DISTINCT user_id) FROM {t} GROUP BY 1"},
      {"top listeners (hash)",
       "SELECT user_id, count(*) AS plays FROM {t} GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 100"},
      {"plays per birth month (truncate)",
       "SELECT date_trunc('month', birth_date) AS m, count(*) FROM {t} GROUP BY 1"},
      {"long plays, contact (hash, redact)",
       "SELECT email, ip, country, duration_ms FROM {t} WHERE duration_ms > 295000"},
  };
  std::printf(
      "wall: median ms of wall-clock; cpu: median ms of process CPU time (all threads)\n"
      "masked/unmasked = Loom session with masks / Loom session without masks (unmask)\n"
      "unmasked/raw    = Loom session without masks / raw DuckDB on read_parquet\n");
  std::printf("%-36s %8s %8s %8s %8s %8s | %8s %8s %8s %8s | %7s\n", "query", "raw", "unmasked",
              "masked", "masked/", "unmasked", "cpu", "cpu", "masked/", "unmasked", "rows");
  std::printf("%-36s %8s %8s %8s %8s %8s | %8s %8s %8s %8s | %7s\n", "", "wall ms", "wall ms",
              "wall ms", "unmasked", "/raw", "unmasked", "masked", "unmasked", "/raw", "");
  double sum_unmasked = 0, sum_masked = 0, worst = 0, worst_cpu = 0;
  std::vector<double> ratios, cpu_ratios;
  for (const loom::bench::Query& q : queries) {
    std::string loom_sql = q.sql;
    loom_sql.replace(loom_sql.find("{t}"), 3, kRelation);
    std::string raw_sql = q.sql;
    raw_sql.replace(raw_sql.find("{t}"), 3, "read_parquet(" + QuoteString(file) + ")");
    std::vector<double> raw_ms, loom_ms, masked_ms, raw_cpu, loom_cpu, masked_cpu;
    uint64_t n_raw = 0, n_loom = 0, n_masked = 0;
    auto time = [](auto&& run, std::vector<double>& out, std::vector<double>& cpu, uint64_t& n) {
      const double c = CpuMs();
      auto s = Clock::now();
      n = run();
      out.push_back(std::chrono::duration<double, std::milli>(Clock::now() - s).count());
      cpu.push_back(CpuMs() - c);
    };
    auto run_raw = [&] {
      auto con = (*raw_db)->Connect();
      if (!con.ok()) Die("raw connect", con.status());
      auto r = (*con)->Query(raw_sql);
      if (!r.ok()) Die(q.name, r.status());
      return Drain(**r);
    };
    auto run_in = [&](loom::engine::Session& s) {
      auto r = s.Query(loom_sql);
      if (!r.ok()) Die(q.name, r.status());
      return Drain(**r);
    };
    for (int round = 0; round < rounds; ++round) {
      // Rotate the order, so that no side always runs with the warmest caches.
      for (int k = 0; k < 3; ++k) {
        switch ((round + k) % 3) {
          case 0:
            time(run_raw, raw_ms, raw_cpu, n_raw);
            break;
          case 1:
            time([&] { return run_in(*unmasked); }, loom_ms, loom_cpu, n_loom);
            break;
          default:
            time([&] { return run_in(*masked); }, masked_ms, masked_cpu, n_masked);
        }
      }
    }
    if (n_raw != n_loom || n_loom != n_masked) {
      std::fprintf(stderr, "%s: row counts differ (%llu, %llu, %llu)\n", q.name,
                   static_cast<unsigned long long>(n_raw), static_cast<unsigned long long>(n_loom),
                   static_cast<unsigned long long>(n_masked));
      return 1;
    }
    const double raw = Median(raw_ms), lm = Median(loom_ms), mk = Median(masked_ms);
    const double raw_c = Median(raw_cpu), lm_c = Median(loom_cpu), mk_c = Median(masked_cpu);
    sum_unmasked += lm;
    sum_masked += mk;
    worst = std::max(worst, mk / lm);
    worst_cpu = std::max(worst_cpu, mk_c / lm_c);
    ratios.push_back(mk / lm);
    cpu_ratios.push_back(mk_c / lm_c);
    std::printf("%-36s %8.1f %8.1f %8.1f %7.3fx %7.3fx | %8.1f %8.1f %7.3fx %7.3fx | %7llu\n",
                q.name, raw, lm, mk, mk / lm, lm / raw, lm_c, mk_c, mk_c / lm_c, lm_c / raw_c,
                static_cast<unsigned long long>(n_raw));
  }
  std::printf(
      "masked/unmasked (target < 1.10x): wall: median of the per-query ratios %.3fx, over the sum "
      "of medians %.3fx, worst query %.3fx; cpu: median %.3fx, worst query %.3fx\n"
      "%lld rows, %d rounds, %d threads\n",
      Median(ratios), sum_masked / sum_unmasked, worst, Median(cpu_ratios), worst_cpu,
      static_cast<long long>(rows), rounds, threads);
  return 0;
}
