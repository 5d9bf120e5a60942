#pragma once

// The public header of pipeline/: what a product's transform needs besides the data paths of
// platform/ — the dependency graph of all products (from their input ports), the SQL that binds
// input aliases and built-in steps, schedules, column-level lineage from DuckDB's parse tree,
// the pipeline state store (runs, progress, lineage; DATA/pipelines.db) and OpenLineage events.
// platform/ runs pipelines with these pieces (platform/pipelines.cc); see docs/pipelines.md.
//
// Errors: kInvalidArgument for a transform that cannot run (an unknown alias, a bad step, SQL
// DuckDB cannot parse, a cycle), kNotFound, kInternal / kUnavailable from SQLite.

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/core.h"
#include "core/sqlite_db.h"
#include "spec/spec.h"

namespace loom::engine {
class Connection;
}

namespace loom::pipeline {

// ---------------------------------------------------------------------------------------------
// The graph (graph.cc): one node per product with a transform; an edge from every input port to
// the transform's output port. Products without a transform are sources.

struct Node {
  Address output;  // the transform's output port
  spec::TransformMode mode = spec::TransformMode::kBatch;
  std::string schedule;
  std::vector<spec::InputPort> inputs;
};

// Value type.
class Graph {
 public:
  // kInvalidArgument naming the products of a cycle.
  static Result<Graph> Build(const std::vector<spec::DataProduct>& products);

  // Nodes in dependency order: every node after the nodes producing its inputs.
  const std::vector<Node>& nodes() const { return nodes_; }
  // The node whose output is `port` (or, for a product address, the product's transform).
  const Node* Find(const Address& address) const;
  // Every node downstream of `port` (consumers of its output, transitively), in dependency order.
  std::vector<const Node*> Downstream(const Address& port) const;

 private:
  std::vector<Node> nodes_;
};

// "loom://d/p/port" without a version: the key that graph, state and lineage use.
std::string PortKey(const Address& port);

// ---------------------------------------------------------------------------------------------
// SQL (compose.cc).

// One input as the run sees it: its alias and a SELECT that reads exactly the pinned data
// ("SELECT * FROM d.p.port__v3", or a stream with an offset-range predicate).
struct BoundInput {
  std::string alias;
  std::string select_sql;
};

// The statement a run executes: the inputs as common table expressions, each built-in step as
// one more expression that rebinds its input alias, then the transform's SQL as a subquery.
// Steps (options as text):
//   dedupe:     input (alias, default the first input), key (comma-separated columns),
//               time (column, default ce_time when present) — keeps the first row per key by time.
//   sessionize: input, key (the actor column), time, gap (duration, e.g. 30m) — adds
//               session_id (key + '#' + the session's start time) and session_start.
//   enrich:     input, lookup (alias of another input), on (column; `a=b` when names differ),
//               columns (comma-separated lookup columns to add; default all but the key).
// `columns` gives each alias's column names (to validate step options).
Result<std::string> ComposeSql(const spec::Transform& transform,
                               const std::vector<BoundInput>& inputs,
                               const std::map<std::string, std::vector<std::string>>& columns);

// ---------------------------------------------------------------------------------------------
// Column-level lineage (column_lineage.cc), derived from DuckDB's parse tree of the transform's
// SQL (json_serialize_sql): for each output column, the input columns its expression reads.
// `*` expands to every column of the inputs it covers; columns through CTEs and subqueries of the
// SQL are followed by name. Best effort for what SQL says; never wrong about input aliases.

struct ColumnSource {
  std::string alias;
  std::string column;
  auto operator<=>(const ColumnSource&) const = default;
};
using ColumnLineage = std::map<std::string, std::set<ColumnSource>>;  // output column -> sources

// Columns the built-in steps add are traced to where they come from (enrich: the lookup's
// column; sessionize: the key and time columns).
// `conn`: a trusted connection (only json_serialize_sql runs on it). `columns`: each input
// alias's columns. kInvalidArgument when DuckDB cannot parse the SQL.
Result<ColumnLineage> DeriveColumnLineage(
    engine::Connection& conn, const spec::Transform& transform,
    const std::map<std::string, std::vector<std::string>>& columns);

// ---------------------------------------------------------------------------------------------
// Schedules (schedule.cc): on-input (default), hourly, daily, monthly, or 5-field cron (minute
// hour day-of-month month day-of-week; `*`, `*/n`, `a-b`, lists), all in UTC.

// kInvalidArgument for a schedule text that is none of these.
Status ValidateSchedule(const std::string& schedule);
// Whether a run is due at `now` when the last one started at `last` (none: never ran). on-input
// is never due by time.
Result<bool> ScheduleDue(const std::string& schedule, std::optional<TimestampMicros> last,
                         TimestampMicros now);

// ---------------------------------------------------------------------------------------------
// State (state_store.cc): DATA/pipelines.db.

// What one input of a run read: a table version, or a stream's offset range per partition.
struct InputRange {
  std::string address;  // PortKey
  std::optional<uint64_t> version;
  std::optional<int32_t> partition;
  std::optional<int64_t> offset_begin;  // inclusive
  std::optional<int64_t> offset_end;    // exclusive
  bool operator==(const InputRange&) const = default;
};
nlohmann::json ToJson(const InputRange& r);

enum class RunStatus : uint8_t { kRunning, kSucceeded, kFailed, kSkipped };
std::string_view ToString(RunStatus s);  // running | succeeded | failed | skipped

struct Run {
  int64_t id = 0;
  std::string run_uuid;  // the OpenLineage runId
  std::string pipeline;  // PortKey of the output
  std::string trigger;   // schedule | on-input | manual | rebuild | retry | stream
  std::string principal;
  RunStatus status = RunStatus::kRunning;
  int32_t attempt = 1;
  TimestampMicros started_at = 0;
  TimestampMicros finished_at = 0;
  std::optional<uint64_t> output_version;  // table outputs
  int64_t rows = 0;
  std::string error;
  std::vector<InputRange> inputs;
  nlohmann::json detail = nlohmann::json::object();  // mode-specific (windows, late events...)
};

// A lineage edge of one output version (or stream range) to one input range.
struct LineageRecord {
  std::string output;  // PortKey
  std::optional<uint64_t> output_version;
  std::optional<int32_t> output_partition;
  std::optional<int64_t> output_offset_begin, output_offset_end;
  int64_t run_id = 0;
  InputRange input;
};

// Streaming progress of one pipeline: next offsets per input partition, the versions of table
// inputs, and mode-specific state (watermarks, the windows closed).
struct Progress {
  std::map<int32_t, int64_t> next_offsets;
  nlohmann::json state = nlohmann::json::object();
  std::optional<uint64_t> output_version;  // the output version this progress belongs to
};

// Thread-safe (one mutex around one SQLite connection).
class StateStore {
 public:
  // Opens (creating) the store. Runs left `running` by a process that ended are marked failed
  // ("interrupted"), so that they are retried.
  static Result<std::unique_ptr<StateStore>> Open(const std::string& path, Clock* clock);

  // Inserts a running run; fills run.id.
  Status BeginRun(Run& run);
  // Records the end of a run (status, finished_at, output, rows, error, inputs, detail) and its
  // lineage records, in one transaction.
  Status FinishRun(const Run& run, const std::vector<LineageRecord>& lineage);
  // The same, and the pipeline's progress, in one transaction (streaming).
  Status FinishRunWithProgress(const Run& run, const std::vector<LineageRecord>& lineage,
                               const Progress& progress);
  // Newest first, at most `limit`; every pipeline when `pipeline` is empty.
  Result<std::vector<Run>> Runs(const std::string& pipeline, size_t limit);
  // The last finished (succeeded or failed) run, and the last succeeded one.
  Result<std::optional<Run>> LastFinished(const std::string& pipeline);
  Result<std::optional<Run>> LastSucceeded(const std::string& pipeline);
  // How many runs failed in a row since the last success.
  Result<int32_t> ConsecutiveFailures(const std::string& pipeline);
  // Lineage records whose output is `output` (newest first), or whose input is `input`.
  Result<std::vector<LineageRecord>> LineageOf(const std::string& output, size_t limit);
  Result<std::vector<LineageRecord>> LineageFor(const std::string& output, uint64_t version);

  Result<std::optional<Progress>> GetProgress(const std::string& pipeline);
  Status ResetProgress(const std::string& pipeline);

  // Column lineage of a pipeline as last derived.
  Status PutColumnLineage(const std::string& pipeline, const nlohmann::json& lineage);
  Result<nlohmann::json> GetColumnLineage(const std::string& pipeline);

 private:
  StateStore(sqlite::Db db, Clock* clock) : db_(std::move(db)), clock_(clock) {}
  Status WriteFinish(const Run& run, const std::vector<LineageRecord>& lineage);
  Result<std::vector<Run>> QueryRuns(const std::string& where, const std::string& pipeline,
                                     size_t limit);
  std::mutex mu_;
  sqlite::Db db_;  // guarded by mu_
  Clock* clock_;
};

nlohmann::json ToJson(const Run& run);
nlohmann::json ToJson(const LineageRecord& r);

// ---------------------------------------------------------------------------------------------
// OpenLineage (openlineage.cc): run events (spec 2-0-2) for START, COMPLETE and FAIL, with the
// inputs, the output, and the columnLineage facet.

struct LineageEventInput {
  Address port;
  nlohmann::json facets = nlohmann::json::object();
};

// One RunEvent. `event_type`: START | COMPLETE | FAIL.
nlohmann::json OpenLineageEvent(const std::string& event_type, const Run& run,
                                const std::vector<InputRange>& inputs, const Address& output,
                                const ColumnLineage& columns,
                                const std::map<std::string, std::string>& alias_to_input);

// A named fault point on the real path, for crash tests: when $LOOM_FAULT equals `name`, the
// process kills itself with SIGKILL there (as `kill -9` would). Otherwise a no-op.
void FaultPoint(std::string_view name);

// Where events go: POSTed to `endpoint` (http://host:port/path) when set, else written as
// <dir>/<runId>-<eventType>.json (atomically). Thread-safe.
Status EmitOpenLineage(const nlohmann::json& event, const std::string& dir,
                       const std::string& endpoint);

}  // namespace loom::pipeline
