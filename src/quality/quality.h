#pragma once

// The public header of quality/: a product's quality expectations compiled to SQL and run on one
// table version or one stream window (all of a version's checks in one scan where the kinds
// allow), the results kept per version/window in DATA/quality.db, SLO error budgets, and alerts
// to a webhook and the log. platform/ decides what to check and when; see docs/quality.md.
//
// Errors: kInvalidArgument (an expectation that cannot run: a bad custom SQL, a reference that is
// missing), the engine's errors for queries, kInternal/kUnavailable for SQLite.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/core.h"
#include "core/sqlite_db.h"
#include "engine/engine.h"
#include "spec/spec.h"

namespace loom::quality {

// What one check run reads. The relation of the checked rows is named like the port
// (`domain.product.port`, engine::Relation): custom `sql` expectations name it so. A stream
// window is the stream's relation with the window as its row filter.
struct CheckInput {
  spec::DataProduct product;
  std::string port;                       // the port checked
  engine::Relation relation;              // the rows checked, without masks
  std::string label;                      // "version 3" or "window [start, end)", for messages
  std::optional<uint64_t> previous_rows;  // the row count of the previous version, if any
  TimestampMicros now = 0;
  // The current versions of the ports `referential` expectations name, and any other relation
  // custom SQL may read (the product's input ports), each under its SQL name.
  std::vector<engine::Relation> references;
  // Whether sample rows are collected for failures (they are redacted: pii fields read "***").
  size_t max_samples = 5;
  std::string scratch_dir;  // the session's spill directory
};

// The result of one expectation on one version or window.
struct ExpectationResult {
  std::string name;
  std::string kind;
  spec::Severity severity = spec::Severity::kWarn;
  bool passed = true;
  uint64_t failing = 0;  // failing rows (row-level kinds), else 1 when failed
  std::string detail;    // "2 null value(s) in artist_id", "row count 3 is below the minimum 10"
  // A SELECT returning the failing rows, over the checked relation by its SQL name (the same
  // relation with a reader's masks and filters gives what that reader may see). Empty for the
  // aggregate kinds (row_count, row_count_change, freshness).
  std::string sample_sql;
  nlohmann::json samples = nlohmann::json::array();  // up to max_samples rows, pii redacted
};

enum class Outcome : uint8_t { kPassed, kWarned, kBlocked };
std::string_view ToString(Outcome o);  // passed | warned | blocked

struct CheckReport {
  std::string address;  // the port
  std::string label;
  uint64_t rows = 0;
  // The share of non-null cells over the schema's top-level fields, in [0, 1] (1 for no rows);
  // measured in the same scan, for completeness SLOs.
  double completeness = 1;
  double seconds = 0;
  std::vector<ExpectationResult> results;
  Outcome outcome() const;
  // The message of a refused publish: each failed blocking expectation with its count and
  // samples, then the failed warnings.
  std::string BlockMessage() const;
  nlohmann::json ToJson() const;
};

// The expectations of `product` that apply to `port` (an expectation without a port applies to
// the first table port, else the first port).
std::vector<const spec::Expectation*> ExpectationsFor(const spec::DataProduct& product,
                                                      const std::string& port);

// Runs every expectation of the port on `input` in a closed engine::Session over the relation
// and the references: the row-level kinds and the aggregates share one scan; samples and custom
// SQL run only when needed. An expectation that cannot run (bad custom SQL) fails with its error
// as the detail rather than failing the run.
Result<CheckReport> RunChecks(const CheckInput& input);

// ---------------------------------------------------------------------------------------------
// SLOs and error budgets.

// One SLO of one product, identified by its kind and port ("freshness:events").
std::string SloKey(const spec::Slo& slo);

// A measurement of an SLI at one time: whether it met the threshold.
struct SloSample {
  TimestampMicros at = 0;
  bool good = true;
  double value = 0;  // seconds for freshness/timeliness, a share for the others
};

enum class SloState : uint8_t { kOk, kBreached, kNoData };
std::string_view ToString(SloState s);  // ok | breached | no-data

struct SloStatus {
  SloState state = SloState::kNoData;
  uint64_t samples = 0;
  uint64_t bad = 0;
  double attainment = 1;   // good / samples
  double budget_left = 1;  // 1 - bad / allowed bad, where allowed = (1 - objective) * samples
  std::optional<SloSample> last;
};

// The status of an SLO from its samples inside its window (samples outside are ignored). The
// budget is exhausted (kBreached) once the bad samples exceed what the objective allows.
SloStatus EvaluateSlo(const spec::Slo& slo, const std::vector<SloSample>& samples,
                      TimestampMicros now);

// ---------------------------------------------------------------------------------------------
// The results store: DATA/quality.db (docs/quality.md "Storage").
//
// Thread-safe (one connection behind a mutex).
class Store {
 public:
  static Result<std::unique_ptr<Store>> Open(const std::string& path);
  ~Store();

  struct RunKey {
    std::string address;                                      // the port
    std::optional<uint64_t> version;                          // a table version
    std::optional<TimestampMicros> window_start, window_end;  // a stream window
  };
  // Records a check run; `published` says whether the version became current.
  Status Record(const RunKey& key, const CheckReport& report, TimestampMicros at, bool published);
  // The latest runs of a port, newest first: {"runs":[{version|window, checkedAt, rows, outcome,
  // published, results:[...]}]}.
  Result<nlohmann::json> Runs(const std::string& address, size_t limit);
  // Whether a window of a stream port was checked already.
  Result<bool> HasWindow(const std::string& address, TimestampMicros start);

  Status AddSample(const std::string& product, const std::string& slo_key, const SloSample& s);
  Result<std::vector<SloSample>> Samples(const std::string& product, const std::string& slo_key,
                                         TimestampMicros since);
  // The last state an alert was raised for ("" when none), and setting it.
  Result<std::string> AlertState(const std::string& product, const std::string& slo_key);
  Status SetAlertState(const std::string& product, const std::string& slo_key,
                       const std::string& state, TimestampMicros at);
  // Ingest outcomes per port and minute (for validity SLOs). Counted in memory and written
  // together at most every kIngestFlushInterval (one transaction for every port and minute that
  // changed), by the next AddIngest, IngestSince, FlushIngest or the destructor: a publish does
  // not wait for a synced write of its counts. Another process reading quality.db sees them that
  // much later; a crash loses at most that interval's counts (they are metrics, not data).
  Status AddIngest(const std::string& address, TimestampMicros at, uint64_t accepted,
                   uint64_t rejected);
  struct IngestTotals {
    uint64_t accepted = 0;
    uint64_t rejected = 0;
  };
  // Includes the counts not yet written (it writes them first).
  Result<IngestTotals> IngestSince(const std::string& address, TimestampMicros since);
  // Writes the ingest counts held in memory. On failure they stay held for the next attempt.
  Status FlushIngest();

  static constexpr std::chrono::milliseconds kIngestFlushInterval{250};

 private:
  explicit Store(sqlite::Db db) : db_(std::move(db)) {}
  Status FlushIngestLocked();
  std::mutex mu_;
  sqlite::Db db_;  // guarded by mu_
  // (address, minute) -> (accepted, rejected) not yet written; guarded by mu_.
  std::map<std::pair<std::string, int64_t>, std::pair<uint64_t, uint64_t>> pending_ingest_;
  std::chrono::steady_clock::time_point last_ingest_flush_{};  // guarded by mu_
};

// ---------------------------------------------------------------------------------------------
// Alerts.

struct AlertOptions {
  std::string webhook;  // http://HOST[:PORT]/PATH; "" = log only
  int max_attempts = 5;
  std::chrono::milliseconds first_backoff{200};  // doubled after each failed attempt
  std::chrono::milliseconds timeout{5000};       // per attempt
};

// Sends alerts: each is written to the log (a JSON line on stderr) at once and POSTed as JSON to
// the webhook from a background thread, retried with exponential backoff on a connection error,
// a 5xx or a 429 up to max_attempts. Thread-safe; the destructor delivers what is queued (each
// alert still gets its attempts) and stops.
class Alerter {
 public:
  // kInvalidArgument for a webhook that is not an http:// URL.
  static Result<std::unique_ptr<Alerter>> Start(const AlertOptions& options);
  ~Alerter();
  Alerter(const Alerter&) = delete;
  Alerter& operator=(const Alerter&) = delete;

  void Send(const nlohmann::json& alert);
  // Delivered, failed after every attempt, and attempts in all (for tests and /metrics).
  uint64_t delivered() const;
  uint64_t failed() const;
  uint64_t attempts() const;
  // Waits until the queue is empty (tests). False on timeout.
  bool Flush(std::chrono::milliseconds timeout);

 private:
  struct Impl;
  explicit Alerter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Writes one structured log line to stderr: {"ts":RFC 3339,"level":...,"msg":...,...fields}.
// Thread-safe (lines never interleave).
void LogJson(std::string_view level, std::string_view msg, nlohmann::json fields = {});

}  // namespace loom::quality
