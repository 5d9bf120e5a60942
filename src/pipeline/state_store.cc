// DATA/pipelines.db: runs, lineage records, streaming progress and column lineage.

#include "pipeline/pipeline.h"

namespace loom::pipeline {
namespace {

using nlohmann::json;

constexpr const char* kSchema = R"(
CREATE TABLE IF NOT EXISTS runs(
  id INTEGER PRIMARY KEY AUTOINCREMENT, run_uuid TEXT NOT NULL, pipeline TEXT NOT NULL,
  trigger TEXT NOT NULL, principal TEXT NOT NULL, status TEXT NOT NULL, attempt INTEGER NOT NULL,
  started_at INTEGER NOT NULL, finished_at INTEGER NOT NULL DEFAULT 0, output_version INTEGER,
  rows INTEGER NOT NULL DEFAULT 0, error TEXT NOT NULL DEFAULT '',
  inputs TEXT NOT NULL DEFAULT '[]', detail TEXT NOT NULL DEFAULT '{}');
CREATE INDEX IF NOT EXISTS runs_by_pipeline ON runs(pipeline, id);
CREATE TABLE IF NOT EXISTS lineage(
  output TEXT NOT NULL, output_version INTEGER, output_partition INTEGER,
  output_offset_begin INTEGER, output_offset_end INTEGER, run_id INTEGER NOT NULL,
  input TEXT NOT NULL, input_version INTEGER, input_partition INTEGER,
  input_offset_begin INTEGER, input_offset_end INTEGER);
CREATE INDEX IF NOT EXISTS lineage_by_output ON lineage(output, output_version);
CREATE TABLE IF NOT EXISTS progress(
  pipeline TEXT PRIMARY KEY, next_offsets TEXT NOT NULL, state TEXT NOT NULL,
  output_version INTEGER);
CREATE TABLE IF NOT EXISTS column_lineage(pipeline TEXT PRIMARY KEY, lineage TEXT NOT NULL);
)";

constexpr const char* kRunColumns =
    "id, run_uuid, pipeline, trigger, principal, status, attempt, started_at, finished_at, "
    "output_version, rows, error, inputs, detail";

template <typename T>
void BindOpt(sqlite::Stmt& s, int i, const std::optional<T>& v) {
  if (v) {
    s.Bind(i, static_cast<int64_t>(*v));
  } else {
    s.BindNull(i);
  }
}

template <typename T>
std::optional<T> ColOpt(const sqlite::Stmt& s, int i) {
  if (s.IsNull(i)) return std::nullopt;
  return static_cast<T>(s.Int(i));
}

RunStatus ParseStatus(const std::string& s) {
  if (s == "succeeded") return RunStatus::kSucceeded;
  if (s == "failed") return RunStatus::kFailed;
  if (s == "skipped") return RunStatus::kSkipped;
  return RunStatus::kRunning;
}

InputRange InputFromJson(const json& j) {
  InputRange r;
  r.address = j.value("address", "");
  if (j.contains("version")) r.version = j["version"].get<uint64_t>();
  if (j.contains("partition")) r.partition = j["partition"].get<int32_t>();
  if (j.contains("offsetBegin")) r.offset_begin = j["offsetBegin"].get<int64_t>();
  if (j.contains("offsetEnd")) r.offset_end = j["offsetEnd"].get<int64_t>();
  return r;
}

Run RunFromRow(const sqlite::Stmt& s) {
  Run r;
  r.id = s.Int(0);
  r.run_uuid = s.Text(1);
  r.pipeline = s.Text(2);
  r.trigger = s.Text(3);
  r.principal = s.Text(4);
  r.status = ParseStatus(s.Text(5));
  r.attempt = static_cast<int32_t>(s.Int(6));
  r.started_at = s.Int(7);
  r.finished_at = s.Int(8);
  r.output_version = ColOpt<uint64_t>(s, 9);
  r.rows = s.Int(10);
  r.error = s.Text(11);
  json inputs = json::parse(s.Text(12), nullptr, false);
  if (inputs.is_array()) {
    for (const json& j : inputs) r.inputs.push_back(InputFromJson(j));
  }
  json detail = json::parse(s.Text(13), nullptr, false);
  if (detail.is_object()) r.detail = detail;
  return r;
}

LineageRecord LineageFromRow(const sqlite::Stmt& s) {
  LineageRecord r;
  r.output = s.Text(0);
  r.output_version = ColOpt<uint64_t>(s, 1);
  r.output_partition = ColOpt<int32_t>(s, 2);
  r.output_offset_begin = ColOpt<int64_t>(s, 3);
  r.output_offset_end = ColOpt<int64_t>(s, 4);
  r.run_id = s.Int(5);
  r.input.address = s.Text(6);
  r.input.version = ColOpt<uint64_t>(s, 7);
  r.input.partition = ColOpt<int32_t>(s, 8);
  r.input.offset_begin = ColOpt<int64_t>(s, 9);
  r.input.offset_end = ColOpt<int64_t>(s, 10);
  return r;
}

constexpr const char* kLineageColumns =
    "output, output_version, output_partition, output_offset_begin, output_offset_end, run_id, "
    "input, input_version, input_partition, input_offset_begin, input_offset_end";

}  // namespace

json ToJson(const InputRange& r) {
  json j = {{"address", r.address}};
  if (r.version) j["version"] = *r.version;
  if (r.partition) j["partition"] = *r.partition;
  if (r.offset_begin) j["offsetBegin"] = *r.offset_begin;
  if (r.offset_end) j["offsetEnd"] = *r.offset_end;
  return j;
}

std::string_view ToString(RunStatus s) {
  switch (s) {
    case RunStatus::kRunning:
      return "running";
    case RunStatus::kSucceeded:
      return "succeeded";
    case RunStatus::kFailed:
      return "failed";
    case RunStatus::kSkipped:
      return "skipped";
  }
  return "running";
}

json ToJson(const Run& r) {
  json inputs = json::array();
  for (const InputRange& in : r.inputs) inputs.push_back(ToJson(in));
  json j = {{"id", r.id},
            {"runId", r.run_uuid},
            {"pipeline", r.pipeline},
            {"trigger", r.trigger},
            {"principal", r.principal},
            {"status", std::string(ToString(r.status))},
            {"attempt", r.attempt},
            {"startedAt", FormatRfc3339(r.started_at)},
            {"rows", r.rows},
            {"inputs", inputs},
            {"detail", r.detail}};
  if (r.finished_at) j["finishedAt"] = FormatRfc3339(r.finished_at);
  j["outputVersion"] = r.output_version ? json(*r.output_version) : json(nullptr);
  if (!r.error.empty()) j["error"] = r.error;
  return j;
}

json ToJson(const LineageRecord& r) {
  json j = {{"output", r.output}, {"runId", r.run_id}, {"input", ToJson(r.input)}};
  if (r.output_version) j["outputVersion"] = *r.output_version;
  if (r.output_partition) j["outputPartition"] = *r.output_partition;
  if (r.output_offset_begin) j["outputOffsetBegin"] = *r.output_offset_begin;
  if (r.output_offset_end) j["outputOffsetEnd"] = *r.output_offset_end;
  return j;
}

Result<std::unique_ptr<StateStore>> StateStore::Open(const std::string& path, Clock* clock) {
  LOOM_ASSIGN_OR_RETURN(sqlite::Db db, sqlite::Db::OpenDurable(path));
  LOOM_RETURN_IF_ERROR(db.Exec(kSchema).WithPrefix("pipelines.db"));
  LOOM_RETURN_IF_ERROR(db.Exec("UPDATE runs SET status = 'failed', finished_at = started_at, "
                               "error = 'interrupted: the process ended during the run' "
                               "WHERE status = 'running'")
                           .WithPrefix("pipelines.db"));
  return std::unique_ptr<StateStore>(new StateStore(std::move(db), clock));
}

Status StateStore::BeginRun(Run& run) {
  std::lock_guard<std::mutex> lock(mu_);
  LOOM_ASSIGN_OR_RETURN(
      sqlite::Stmt s,
      db_.Prepare("INSERT INTO runs(run_uuid, pipeline, trigger, principal, status, attempt, "
                  "started_at, detail) VALUES(?,?,?,?,?,?,?,?)"));
  if (run.started_at == 0) run.started_at = clock_->NowMicros();
  s.Bind(1, run.run_uuid).Bind(2, run.pipeline).Bind(3, run.trigger).Bind(4, run.principal);
  s.Bind(5, ToString(run.status)).Bind(6, int64_t{run.attempt}).Bind(7, run.started_at);
  s.Bind(8, run.detail.dump());
  LOOM_RETURN_IF_ERROR(s.Run());
  run.id = db_.LastInsertRowid();
  return Status::Ok();
}

Status StateStore::WriteFinish(const Run& run, const std::vector<LineageRecord>& lineage) {
  json inputs = json::array();
  for (const InputRange& in : run.inputs) inputs.push_back(ToJson(in));
  LOOM_ASSIGN_OR_RETURN(sqlite::Stmt s,
                        db_.Prepare("UPDATE runs SET status=?, finished_at=?, output_version=?, "
                                    "rows=?, error=?, inputs=?, detail=? WHERE id=?"));
  s.Bind(1, ToString(run.status)).Bind(2, run.finished_at ? run.finished_at : clock_->NowMicros());
  BindOpt(s, 3, run.output_version);
  s.Bind(4, run.rows).Bind(5, run.error).Bind(6, inputs.dump()).Bind(7, run.detail.dump());
  s.Bind(8, run.id);
  LOOM_RETURN_IF_ERROR(s.Run());
  LOOM_ASSIGN_OR_RETURN(sqlite::Stmt ins,
                        db_.Prepare(std::string("INSERT INTO lineage(") + kLineageColumns +
                                    ") VALUES(?,?,?,?,?,?,?,?,?,?,?)"));
  for (const LineageRecord& r : lineage) {
    ins.Reset();
    ins.Bind(1, r.output);
    BindOpt(ins, 2, r.output_version);
    BindOpt(ins, 3, r.output_partition);
    BindOpt(ins, 4, r.output_offset_begin);
    BindOpt(ins, 5, r.output_offset_end);
    ins.Bind(6, r.run_id ? r.run_id : run.id).Bind(7, r.input.address);
    BindOpt(ins, 8, r.input.version);
    BindOpt(ins, 9, r.input.partition);
    BindOpt(ins, 10, r.input.offset_begin);
    BindOpt(ins, 11, r.input.offset_end);
    LOOM_RETURN_IF_ERROR(ins.Run());
  }
  return Status::Ok();
}

Status StateStore::FinishRun(const Run& run, const std::vector<LineageRecord>& lineage) {
  std::lock_guard<std::mutex> lock(mu_);
  LOOM_ASSIGN_OR_RETURN(sqlite::Transaction tx, sqlite::Transaction::Begin(db_, true));
  LOOM_RETURN_IF_ERROR(WriteFinish(run, lineage));
  return tx.Commit();
}

Status StateStore::FinishRunWithProgress(const Run& run, const std::vector<LineageRecord>& lineage,
                                         const Progress& progress) {
  std::lock_guard<std::mutex> lock(mu_);
  LOOM_ASSIGN_OR_RETURN(sqlite::Transaction tx, sqlite::Transaction::Begin(db_, true));
  LOOM_RETURN_IF_ERROR(WriteFinish(run, lineage));
  json offsets = json::object();
  for (const auto& [p, o] : progress.next_offsets) offsets[std::to_string(p)] = o;
  LOOM_ASSIGN_OR_RETURN(
      sqlite::Stmt s,
      db_.Prepare("INSERT INTO progress(pipeline, next_offsets, state, output_version) "
                  "VALUES(?,?,?,?) ON CONFLICT(pipeline) DO UPDATE SET "
                  "next_offsets=excluded.next_offsets, state=excluded.state, "
                  "output_version=excluded.output_version"));
  s.Bind(1, run.pipeline).Bind(2, offsets.dump()).Bind(3, progress.state.dump());
  BindOpt(s, 4, progress.output_version);
  LOOM_RETURN_IF_ERROR(s.Run());
  return tx.Commit();
}

Result<std::vector<Run>> StateStore::QueryRuns(const std::string& where,
                                               const std::string& pipeline, size_t limit) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string sql = std::string("SELECT ") + kRunColumns + " FROM runs WHERE " +
                    (pipeline.empty() ? "1" : "pipeline = ?1") + where +
                    " ORDER BY id DESC LIMIT " + std::to_string(limit);
  LOOM_ASSIGN_OR_RETURN(sqlite::Stmt s, db_.Prepare(sql));
  if (!pipeline.empty()) s.Bind(1, pipeline);
  std::vector<Run> out;
  while (true) {
    LOOM_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    out.push_back(RunFromRow(s));
  }
  return out;
}

Result<std::vector<Run>> StateStore::Runs(const std::string& pipeline, size_t limit) {
  return QueryRuns("", pipeline, limit);
}

Result<std::optional<Run>> StateStore::LastFinished(const std::string& pipeline) {
  LOOM_ASSIGN_OR_RETURN(std::vector<Run> runs,
                        QueryRuns(" AND status IN ('succeeded','failed')", pipeline, 1));
  if (runs.empty()) return std::optional<Run>();
  return std::optional<Run>(std::move(runs[0]));
}

Result<std::optional<Run>> StateStore::LastSucceeded(const std::string& pipeline) {
  LOOM_ASSIGN_OR_RETURN(std::vector<Run> runs, QueryRuns(" AND status = 'succeeded'", pipeline, 1));
  if (runs.empty()) return std::optional<Run>();
  return std::optional<Run>(std::move(runs[0]));
}

Result<int32_t> StateStore::ConsecutiveFailures(const std::string& pipeline) {
  LOOM_ASSIGN_OR_RETURN(std::vector<Run> runs,
                        QueryRuns(" AND status IN ('succeeded','failed')", pipeline, 50));
  int32_t n = 0;
  for (const Run& r : runs) {
    if (r.status != RunStatus::kFailed) break;
    ++n;
  }
  return n;
}

Result<std::vector<LineageRecord>> StateStore::LineageOf(const std::string& output, size_t limit) {
  std::lock_guard<std::mutex> lock(mu_);
  LOOM_ASSIGN_OR_RETURN(sqlite::Stmt s,
                        db_.Prepare(std::string("SELECT ") + kLineageColumns +
                                    " FROM lineage WHERE output = ? ORDER BY rowid DESC LIMIT " +
                                    std::to_string(limit)));
  s.Bind(1, output);
  std::vector<LineageRecord> out;
  while (true) {
    LOOM_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    out.push_back(LineageFromRow(s));
  }
  return out;
}

Result<std::vector<LineageRecord>> StateStore::LineageFor(const std::string& output,
                                                          uint64_t version) {
  std::lock_guard<std::mutex> lock(mu_);
  LOOM_ASSIGN_OR_RETURN(sqlite::Stmt s,
                        db_.Prepare(std::string("SELECT ") + kLineageColumns +
                                    " FROM lineage WHERE output = ? AND output_version = ? "
                                    "ORDER BY rowid"));
  s.Bind(1, output).Bind(2, static_cast<int64_t>(version));
  std::vector<LineageRecord> out;
  while (true) {
    LOOM_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    out.push_back(LineageFromRow(s));
  }
  return out;
}

Result<std::optional<Progress>> StateStore::GetProgress(const std::string& pipeline) {
  std::lock_guard<std::mutex> lock(mu_);
  LOOM_ASSIGN_OR_RETURN(
      sqlite::Stmt s,
      db_.Prepare("SELECT next_offsets, state, output_version FROM progress WHERE pipeline = ?"));
  s.Bind(1, pipeline);
  LOOM_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return std::optional<Progress>();
  Progress p;
  json offsets = json::parse(s.Text(0), nullptr, false);
  if (offsets.is_object()) {
    for (const auto& [k, v] : offsets.items()) p.next_offsets[std::stoi(k)] = v.get<int64_t>();
  }
  json state = json::parse(s.Text(1), nullptr, false);
  if (state.is_object()) p.state = state;
  p.output_version = ColOpt<uint64_t>(s, 2);
  return std::optional<Progress>(std::move(p));
}

Status StateStore::ResetProgress(const std::string& pipeline) {
  std::lock_guard<std::mutex> lock(mu_);
  LOOM_ASSIGN_OR_RETURN(sqlite::Stmt s, db_.Prepare("DELETE FROM progress WHERE pipeline = ?"));
  s.Bind(1, pipeline);
  return s.Run();
}

Status StateStore::PutColumnLineage(const std::string& pipeline, const json& lineage) {
  std::lock_guard<std::mutex> lock(mu_);
  LOOM_ASSIGN_OR_RETURN(
      sqlite::Stmt s, db_.Prepare("INSERT INTO column_lineage(pipeline, lineage) VALUES(?,?) "
                                  "ON CONFLICT(pipeline) DO UPDATE SET lineage=excluded.lineage"));
  s.Bind(1, pipeline).Bind(2, lineage.dump());
  return s.Run();
}

Result<json> StateStore::GetColumnLineage(const std::string& pipeline) {
  std::lock_guard<std::mutex> lock(mu_);
  LOOM_ASSIGN_OR_RETURN(sqlite::Stmt s,
                        db_.Prepare("SELECT lineage FROM column_lineage WHERE pipeline = ?"));
  s.Bind(1, pipeline);
  LOOM_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return json::object();
  json j = json::parse(s.Text(0), nullptr, false);
  return j.is_discarded() ? json::object() : j;
}

}  // namespace loom::pipeline
