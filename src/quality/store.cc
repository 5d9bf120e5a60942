// DATA/quality.db: check runs and their results, SLO samples, alert states and ingest counts.
// The quality module's own SQLite file (not the catalog's schema): results are many, written by
// the background checker, and may be dropped without touching what products are.

#include "quality/quality.h"

namespace loom::quality {
namespace {

using nlohmann::json;

constexpr std::string_view kSchema = R"sql(
CREATE TABLE IF NOT EXISTS check_runs (
  id INTEGER PRIMARY KEY,
  address TEXT NOT NULL,
  version INTEGER,
  window_start INTEGER,
  window_end INTEGER,
  label TEXT NOT NULL,
  checked_at INTEGER NOT NULL,
  rows INTEGER NOT NULL,
  completeness REAL NOT NULL,
  seconds REAL NOT NULL,
  outcome TEXT NOT NULL,
  published INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS check_runs_by_address ON check_runs(address, id);
CREATE TABLE IF NOT EXISTS check_results (
  run_id INTEGER NOT NULL REFERENCES check_runs(id),
  position INTEGER NOT NULL,
  name TEXT NOT NULL,
  kind TEXT NOT NULL,
  severity TEXT NOT NULL,
  passed INTEGER NOT NULL,
  failing INTEGER NOT NULL,
  detail TEXT NOT NULL,
  sample_sql TEXT NOT NULL,
  samples TEXT NOT NULL,
  PRIMARY KEY (run_id, position)
);
CREATE TABLE IF NOT EXISTS slo_samples (
  product TEXT NOT NULL,
  slo TEXT NOT NULL,
  at INTEGER NOT NULL,
  good INTEGER NOT NULL,
  value REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS slo_samples_by_slo ON slo_samples(product, slo, at);
CREATE TABLE IF NOT EXISTS slo_alerts (
  product TEXT NOT NULL,
  slo TEXT NOT NULL,
  state TEXT NOT NULL,
  since INTEGER NOT NULL,
  PRIMARY KEY (product, slo)
);
CREATE TABLE IF NOT EXISTS ingest_counts (
  address TEXT NOT NULL,
  minute INTEGER NOT NULL,
  accepted INTEGER NOT NULL,
  rejected INTEGER NOT NULL,
  PRIMARY KEY (address, minute)
);
)sql";

std::optional<int64_t> OptInt(const sqlite::Stmt& s, int col) {
  if (s.IsNull(col)) return std::nullopt;
  return s.Int(col);
}

}  // namespace

Store::~Store() {
  std::lock_guard<std::mutex> lock(mu_);
  Status st = FlushIngestLocked();
  if (!st.ok()) {
    LogJson("error", "ingest counts not recorded at close", {{"error", st.ToString()}});
  }
}

Result<std::unique_ptr<Store>> Store::Open(const std::string& path) {
  LOOM_ASSIGN_OR_RETURN(sqlite::Db db, sqlite::Db::OpenDurable(path));
  LOOM_RETURN_IF_ERROR(db.Exec(kSchema).WithPrefix("quality.db"));
  return std::unique_ptr<Store>(new Store(std::move(db)));
}

Status Store::Record(const RunKey& key, const CheckReport& report, TimestampMicros at,
                     bool published) {
  std::lock_guard<std::mutex> lock(mu_);
  LOOM_ASSIGN_OR_RETURN(sqlite::Transaction tx, sqlite::Transaction::Begin(db_, true));
  LOOM_ASSIGN_OR_RETURN(
      sqlite::Stmt run,
      db_.Prepare("INSERT INTO check_runs (address, version, window_start, window_end, label, "
                  "checked_at, rows, completeness, seconds, outcome, published) "
                  "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  run.Bind(1, key.address);
  if (key.version) {
    run.Bind(2, static_cast<int64_t>(*key.version));
  } else {
    run.BindNull(2);
  }
  if (key.window_start) {
    run.Bind(3, *key.window_start);
  } else {
    run.BindNull(3);
  }
  if (key.window_end) {
    run.Bind(4, *key.window_end);
  } else {
    run.BindNull(4);
  }
  run.Bind(5, report.label).Bind(6, at).Bind(7, static_cast<int64_t>(report.rows));
  run.BindDouble(8, report.completeness).BindDouble(9, report.seconds);
  run.Bind(10, ToString(report.outcome())).Bind(11, static_cast<int64_t>(published ? 1 : 0));
  LOOM_RETURN_IF_ERROR(run.Run());
  const int64_t id = db_.LastInsertRowid();
  LOOM_ASSIGN_OR_RETURN(
      sqlite::Stmt res,
      db_.Prepare("INSERT INTO check_results (run_id, position, name, kind, severity, passed, "
                  "failing, detail, sample_sql, samples) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  for (size_t i = 0; i < report.results.size(); ++i) {
    const ExpectationResult& r = report.results[i];
    res.Reset();
    res.Bind(1, id)
        .Bind(2, static_cast<int64_t>(i))
        .Bind(3, r.name)
        .Bind(4, r.kind)
        .Bind(5, spec::ToString(r.severity))
        .Bind(6, static_cast<int64_t>(r.passed ? 1 : 0))
        .Bind(7, static_cast<int64_t>(r.failing))
        .Bind(8, r.detail)
        .Bind(9, r.sample_sql)
        .Bind(10, r.samples.dump());
    LOOM_RETURN_IF_ERROR(res.Run());
  }
  return tx.Commit();
}

Result<json> Store::Runs(const std::string& address, size_t limit) {
  std::lock_guard<std::mutex> lock(mu_);
  LOOM_ASSIGN_OR_RETURN(
      sqlite::Stmt runs,
      db_.Prepare("SELECT id, version, window_start, window_end, label, checked_at, rows, "
                  "completeness, seconds, outcome, published FROM check_runs WHERE address = ? "
                  "ORDER BY id DESC LIMIT ?"));
  runs.Bind(1, address).Bind(2, static_cast<int64_t>(limit));
  LOOM_ASSIGN_OR_RETURN(sqlite::Stmt results,
                        db_.Prepare("SELECT name, kind, severity, passed, failing, detail, "
                                    "sample_sql, samples FROM check_results WHERE run_id = ? "
                                    "ORDER BY position"));
  json out = json::array();
  while (true) {
    LOOM_ASSIGN_OR_RETURN(bool row, runs.Step());
    if (!row) break;
    json run = {{"label", runs.Text(4)},
                {"checkedAt", FormatRfc3339(runs.Int(5))},
                {"rows", runs.Int(6)},
                {"completeness", runs.Double(7)},
                {"seconds", runs.Double(8)},
                {"outcome", runs.Text(9)},
                {"published", runs.Int(10) != 0},
                {"results", json::array()}};
    if (auto v = OptInt(runs, 1)) run["version"] = *v;
    if (auto s = OptInt(runs, 2)) run["windowStart"] = FormatRfc3339(*s);
    if (auto e = OptInt(runs, 3)) run["windowEnd"] = FormatRfc3339(*e);
    results.Reset();
    results.Bind(1, runs.Int(0));
    while (true) {
      LOOM_ASSIGN_OR_RETURN(bool r, results.Step());
      if (!r) break;
      json samples = json::parse(results.Text(7), nullptr, false);
      run["results"].push_back({{"name", results.Text(0)},
                                {"kind", results.Text(1)},
                                {"severity", results.Text(2)},
                                {"passed", results.Int(3) != 0},
                                {"failing", results.Int(4)},
                                {"detail", results.Text(5)},
                                {"sampleSql", results.Text(6)},
                                {"samples", samples.is_discarded() ? json::array() : samples}});
    }
    out.push_back(std::move(run));
  }
  return json{{"address", address}, {"runs", std::move(out)}};
}

Result<bool> Store::HasWindow(const std::string& address, TimestampMicros start) {
  std::lock_guard<std::mutex> lock(mu_);
  LOOM_ASSIGN_OR_RETURN(
      sqlite::Stmt s,
      db_.Prepare("SELECT 1 FROM check_runs WHERE address = ? AND window_start = ? LIMIT 1"));
  s.Bind(1, address).Bind(2, start);
  return s.Step();
}

Status Store::AddSample(const std::string& product, const std::string& slo_key,
                        const SloSample& sample) {
  std::lock_guard<std::mutex> lock(mu_);
  LOOM_ASSIGN_OR_RETURN(
      sqlite::Stmt s,
      db_.Prepare(
          "INSERT INTO slo_samples (product, slo, at, good, value) VALUES (?, ?, ?, ?, ?)"));
  s.Bind(1, product).Bind(2, slo_key).Bind(3, sample.at).Bind(4, int64_t{sample.good ? 1 : 0});
  s.BindDouble(5, sample.value);
  return s.Run();
}

Result<std::vector<SloSample>> Store::Samples(const std::string& product,
                                              const std::string& slo_key, TimestampMicros since) {
  std::lock_guard<std::mutex> lock(mu_);
  LOOM_ASSIGN_OR_RETURN(sqlite::Stmt s,
                        db_.Prepare("SELECT at, good, value FROM slo_samples WHERE product = ? "
                                    "AND slo = ? AND at >= ? ORDER BY at"));
  s.Bind(1, product).Bind(2, slo_key).Bind(3, since);
  std::vector<SloSample> out;
  while (true) {
    LOOM_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    out.push_back({s.Int(0), s.Int(1) != 0, s.Double(2)});
  }
  return out;
}

Result<std::string> Store::AlertState(const std::string& product, const std::string& slo_key) {
  std::lock_guard<std::mutex> lock(mu_);
  LOOM_ASSIGN_OR_RETURN(sqlite::Stmt s,
                        db_.Prepare("SELECT state FROM slo_alerts WHERE product = ? AND slo = ?"));
  s.Bind(1, product).Bind(2, slo_key);
  LOOM_ASSIGN_OR_RETURN(bool row, s.Step());
  return row ? s.Text(0) : std::string();
}

Status Store::SetAlertState(const std::string& product, const std::string& slo_key,
                            const std::string& state, TimestampMicros at) {
  std::lock_guard<std::mutex> lock(mu_);
  LOOM_ASSIGN_OR_RETURN(
      sqlite::Stmt s,
      db_.Prepare("INSERT INTO slo_alerts (product, slo, state, since) VALUES (?, ?, ?, ?) "
                  "ON CONFLICT (product, slo) DO UPDATE SET state = excluded.state, "
                  "since = excluded.since"));
  s.Bind(1, product).Bind(2, slo_key).Bind(3, state).Bind(4, at);
  return s.Run();
}

Status Store::AddIngest(const std::string& address, TimestampMicros at, uint64_t accepted,
                        uint64_t rejected) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& counts = pending_ingest_[{address, at / 60000000}];
  counts.first += accepted;
  counts.second += rejected;
  if (std::chrono::steady_clock::now() - last_ingest_flush_ < kIngestFlushInterval)
    return Status::Ok();
  return FlushIngestLocked();
}

Status Store::FlushIngest() {
  std::lock_guard<std::mutex> lock(mu_);
  return FlushIngestLocked();
}

Status Store::FlushIngestLocked() {
  last_ingest_flush_ = std::chrono::steady_clock::now();
  if (pending_ingest_.empty()) return Status::Ok();
  LOOM_ASSIGN_OR_RETURN(sqlite::Transaction tx, sqlite::Transaction::Begin(db_, true));
  LOOM_ASSIGN_OR_RETURN(
      sqlite::Stmt s,
      db_.Prepare(
          "INSERT INTO ingest_counts (address, minute, accepted, rejected) "
          "VALUES (?, ?, ?, ?) ON CONFLICT (address, minute) DO UPDATE SET "
          "accepted = accepted + excluded.accepted, rejected = rejected + excluded.rejected"));
  for (const auto& [key, counts] : pending_ingest_) {
    s.Reset();
    s.Bind(1, key.first)
        .Bind(2, key.second)
        .Bind(3, static_cast<int64_t>(counts.first))
        .Bind(4, static_cast<int64_t>(counts.second));
    LOOM_RETURN_IF_ERROR(s.Run());
  }
  LOOM_RETURN_IF_ERROR(tx.Commit());
  pending_ingest_.clear();  // only once written: a failed flush keeps them for the next
  return Status::Ok();
}

Result<Store::IngestTotals> Store::IngestSince(const std::string& address, TimestampMicros since) {
  std::lock_guard<std::mutex> lock(mu_);
  LOOM_RETURN_IF_ERROR(FlushIngestLocked());
  LOOM_ASSIGN_OR_RETURN(
      sqlite::Stmt s,
      db_.Prepare("SELECT coalesce(sum(accepted), 0), coalesce(sum(rejected), 0) FROM "
                  "ingest_counts WHERE address = ? AND minute >= ?"));
  s.Bind(1, address).Bind(2, since / 60000000);
  LOOM_ASSIGN_OR_RETURN(bool row, s.Step());
  IngestTotals t;
  if (row) {
    t.accepted = static_cast<uint64_t>(s.Int(0));
    t.rejected = static_cast<uint64_t>(s.Int(1));
  }
  return t;
}

}  // namespace loom::quality
