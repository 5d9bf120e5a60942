#pragma once

// The composition root: opens a data folder, wires the services (catalog, and as they arrive the
// log, tables, engine and security) and owns their lifetimes. cli/ (embedded mode) and server/
// call the same methods, so both modes behave the same. Results are returned as the JSON the
// HTTP API serves (documented in docs/api.md and /v1/openapi.json), so that the CLI renders one
// shape whether it talks to a Platform or to `loom serve`.

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "catalog/catalog.h"
#include "core/core.h"
#include "core/sealed_file.h"  // engine::StreamSlice owns MemFiles (StepSession)
#include "engine/engine.h"
#include "governance/governance.h"
#include "ingest/ingest.h"
#include "pipeline/pipeline.h"
#include "quality/quality.h"
#include "security/security.h"
#include "spec/spec.h"
#include "table/table.h"

namespace loom::platform {

class WorkerPool;  // platform/worker_pool.h

struct Options {
  std::string data_dir = "loom-data";
  Clock* clock = Clock::Real();  // not owned; must outlive the Platform
  // Where pipeline runs send OpenLineage events: "" writes them as files under <data>/lineage/.
  std::string openlineage_url;
  // How often background jobs look for due pipelines and run streaming steps.
  std::chrono::milliseconds pipeline_tick{100};
  // The master key that wraps data keys: this file, else $LOOM_MASTER_KEY, else a development
  // key created in <data>/master.key (0600) on first need — for development only, and only for
  // a folder whose key store was not made with another key (then: kFailedPrecondition).
  std::string master_key_file;
  // Server mode: accept JWTs of this OIDC identity provider (Authenticate). None: tokens only.
  std::optional<security::JwtOptions> jwt;
  quality::AlertOptions alerts;  // SLO alerts: the log always, a webhook when given
  // Stream ports are checked on closed tumbling windows of this length (docs/quality.md).
  int64_t stream_check_window_ms = int64_t{3600} * 1000;
};

// Who is acting: an identity, authenticated (server) or local (embedded). `Caller{}` is the
// embedded-mode local administrator; Platform::As gives a principal with its groups
// (`loom --as`), Platform::Authenticate a credential's identity. Value type.
struct Caller {
  security::Identity identity = security::Identity::LocalAdministrator("local-admin");
  const std::string& principal() const { return identity.principal; }
  // The service principal of `domain` (service:<domain>), as the domain's pipelines run: a
  // producer of its own domain, nothing more.
  static Caller Service(std::string_view domain);
};

// A descriptor file handed to Apply: its path (for diagnostics) and its text.
struct SourceFile {
  std::string path;
  std::string text;
};

// Parses every document of every file; kInvalidArgument listing every diagnostic.
Result<std::vector<spec::Document>> ParseSources(const std::vector<SourceFile>& files);

// The answer of a publish into `port` as JSON text: the shape PublishEvents documents, with the
// keys in nlohmann::json's (sorted) order, so that the text equals PublishEvents(...)->dump().
std::string IngestAnswerText(const Address& port, const ingest::IngestResult& result);

struct SearchParams {
  std::string text;
  std::optional<std::string> domain, tag, owner, classification, alignment, port_kind;
  uint32_t limit = 20;
  uint32_t offset = 0;
};

// Thread-safe: every method may be called concurrently (the server does).
// Errors: kInvalidArgument (bad descriptors or parameters; the message lists every diagnostic),
// kNotFound, kFailedPrecondition (an applied version would change), kInternal.
class Platform {
 public:
  static Result<std::unique_ptr<Platform>> Open(const Options& options);
  ~Platform();
  Platform(const Platform&) = delete;
  Platform& operator=(const Platform&) = delete;

  const std::string& data_dir() const { return options_.data_dir; }

  // --- Identity and access (access.cc, security_admin.cc) ---------------------------------
  // The caller acting as `principal` (user: or service:) with its groups from security.db.
  Result<Caller> As(std::string_view principal);
  // Server mode: the identity of an `Authorization: Bearer` credential: an API token
  // ("loom_...") or a JWT of Options::jwt. kUnauthenticated (audited as a denied `authenticate`
  // by `anonymous`) for a missing, malformed, forged, expired or revoked credential.
  Result<Caller> Authenticate(std::string_view bearer);
  // The deployment's key store (keys.db), opened on first call with the master key (Options).
  // kFailedPrecondition / kPermissionDenied when the key is missing or wrong. Thread-safe;
  // the pointer lives as long as the Platform.
  Result<security::KeyStore*> Keys();
  // The product's cipher for data at rest (a data key wrapped in keys.db, created on first use).
  Result<security::Cipher> CipherFor(const Address& product);

  // --- Encryption at rest (encryption.cc; docs/security.md) --------------------------------
  // Stream segments, table versions and stream-tier Parquet files of confidential and
  // restricted products are sealed with the product's data key; reads open them in memory.
  // `loom keys generate`: writes a new random master key to the new file `path` (0600; never
  // overwrites: kAlreadyExists). {"path","fingerprint"}. Needs no data folder.
  static Result<nlohmann::json> GenerateMasterKey(const std::string& path);
  // `loom keys rotate`: re-wraps every data key under the master key in `new_key_file`, without
  // rewriting data; afterwards only the new key opens the data. The platform administrator
  // only (kPermissionDenied otherwise); audited as keys-rotate, allowed or denied.
  // {"rewrapped": n, "fingerprint": new, "previousFingerprint": old}.
  Result<nlohmann::json> RotateMasterKey(const Caller& caller, const std::string& new_key_file);

  // API tokens. Create: for oneself any authenticated caller (scopes within its own); for
  // another principal governance or the administrator. {"id","secret","principal",...}: the
  // secret is returned once.
  struct TokenRequest {
    std::string principal;  // "" = the caller
    std::vector<std::string> scopes = {"read"};
    std::optional<TimestampMicros> expires_at;
    std::string description;
  };
  Result<nlohmann::json> CreateToken(const Caller& caller, const TokenRequest& request);
  // {"tokens":[...]}: the caller's own, or (governance, administrator) `principal`'s or all.
  Result<nlohmann::json> ListTokens(const Caller& caller, const std::string& principal);
  Result<nlohmann::json> RevokeToken(const Caller& caller, const std::string& id);
  // `loom grant` / `loom revoke`: owners in their own domain, governance everywhere.
  struct GrantRequest {
    std::string principal;  // user:, group: or service:
    // A role on a domain (owner | producer | consumer), or permissions "read,write,unmask";
    // for Revoke, "" = every permission.
    std::string what;
    std::string address;  // loom://domain, loom://domain/product or loom://domain/product/port
    std::optional<std::string> row_filter;  // SQL predicate over the port's fields
  };
  Result<nlohmann::json> Grant(const Caller& caller, const GrantRequest& request);
  Result<nlohmann::json> Revoke(const Caller& caller, const GrantRequest& request);
  // {"grants":[...]} visible to the caller (its managed domains; all for governance).
  Result<nlohmann::json> ListGrants(const Caller& caller);
  // Group membership (governance and the administrator only).
  Result<nlohmann::json> AddMember(const Caller& caller, const std::string& group,
                                   const std::string& member);
  Result<nlohmann::json> RemoveMember(const Caller& caller, const std::string& group,
                                      const std::string& member);
  // {"entries":[...]}: governance and the administrator see all; others entries on their
  // managed domains and their own.
  Result<nlohmann::json> Audit(const Caller& caller, const security::AuditFilter& filter);
  // {"entries","headHash"} or kDataLoss naming the first bad entry (governance/administrator).
  Result<nlohmann::json> VerifyAudit(const Caller& caller);

  // Validates every document of every file, then registers them all atomically (or, with
  // dry_run, only says what would change). {"dryRun":bool,"changes":[{key,kind,change,from,to}]}
  Result<nlohmann::json> Apply(const Caller& caller, const std::vector<SourceFile>& files,
                               bool dry_run);
  // {"products":[summary...]}
  Result<nlohmann::json> ListProducts(const Caller& caller,
                                      const std::optional<std::string>& domain);
  // {"domains":[...]}
  Result<nlohmann::json> ListDomains(const Caller& caller);
  // The product (at address.version, or current) with its ports' addresses and its versions.
  Result<nlohmann::json> ShowProduct(const Caller& caller, const Address& address);
  // {"versions":[{version, appliedBy, appliedAt, digest}]}
  Result<nlohmann::json> Versions(const Caller& caller, const Address& address);
  // {"hits":[{product summary, score, snippet}], "total": n}
  Result<nlohmann::json> Search(const Caller& caller, const SearchParams& params);

  // Publishes a CSV, JSON Lines or Parquet file (validated against the product's schema) as the
  // next version of a table port. {"address", "version", "rows", "manifest"}.
  Result<nlohmann::json> PublishTableFile(const Caller& caller, const Address& port,
                                          const std::string& path, table::SourceKind kind);
  // Publishes the result of the caller's SQL as the next version of a table port: the query runs
  // in the caller's own closed session (what the caller may read, masked as for any query), its
  // rows validated against the product's schema; the ports the SQL names are recorded as inputs.
  Result<nlohmann::json> PublishTableQuery(const Caller& caller, const Address& port,
                                           const std::string& sql);

  // Publishes closed time windows of the product's stream port into a snapshot table port
  // (`table.snapshot` in the descriptor: from a stream port, hourly | daily | monthly). With
  // `window_start`, the one window that starts there (it must be closed); without, every closed
  // window after the last one published (the first: the latest closed window), at most 100.
  // {"address","published":[{version,window,rows}]}.
  Result<nlohmann::json> PublishSnapshots(const Caller& caller, const Address& table_port,
                                          std::optional<TimestampMicros> window_start);
  // PublishSnapshots for every snapshot table port of every product (the scheduler's tick).
  Result<nlohmann::json> PublishDueSnapshots(const Caller& caller);

  // Starts the platform's background work (`loom serve`): every `tick`, due snapshot windows are
  // published as the descriptors declare; every Options::pipeline_tick, due pipelines run
  // (RunDuePipelines). A failure is kept (BackgroundStatus) and retried on
  // the next tick, never lost. Stopped by the destructor.
  void StartBackgroundJobs(std::chrono::milliseconds tick);
  Status BackgroundStatus() const;

  // Every retained version of a table port with its manifest summary.
  Result<nlohmann::json> TableVersions(const Caller& caller, const Address& port);

  // Publishes events into a stream port: the body in the format its Content-Type names
  // (CloudEvents structured, batch, JSON Lines, or the binary binding with ce-* headers).
  // {"address","accepted","duplicates","rejected","quarantined","records":[{index,outcome,
  // partition,offset,reason}]} — an invalid record never fails the call (per-record answers).
  Result<nlohmann::json> PublishEvents(
      const Caller& caller, const Address& port, std::string_view content_type,
      std::string_view body, const std::vector<std::pair<std::string, std::string>>& headers);
  // PublishEvents with its answer as JSON text, the same as PublishEvents(...)->dump() but
  // written directly (the server's path: no JSON object per record).
  Result<std::string> PublishEventsText(
      const Caller& caller, const Address& port, std::string_view content_type,
      std::string_view body, const std::vector<std::pair<std::string, std::string>>& headers);

  // Where a read of a stream port starts, per partition: explicit offsets, else the group's
  // committed offsets, else `from` (earliest | latest | an RFC 3339 time).
  struct ReadRequest {
    std::optional<int32_t> partition;    // none: every partition, merged by time
    std::map<int32_t, int64_t> offsets;  // explicit next offsets
    std::optional<std::string> group;    // a consumer group
    std::string from = "earliest";
    size_t max_events = 1000;
    int64_t wait_ms = 0;      // long-poll when nothing is there yet
    bool quarantine = false;  // read the port's quarantine instead (owners)
  };
  // {"address","events":[{"partition","offset","event"}],"next":{"P":offset},"endOfStream"}
  // endOfStream: every partition was read up to its end offset at the time of the read.
  Result<nlohmann::json> ReadEvents(const Caller& caller, const Address& port,
                                    const ReadRequest& request);
  // The same page as ReadEvents, as its JSON text, with the same checks, masks, row filters
  // and audit. Where no mask or row filter applies to the caller, each event is the stored
  // record's text as it is (the log holds only events its ingest encoded, each a JSON object),
  // not parsed and written again: its attributes keep their stored order. Otherwise this is
  // ReadEvents's document, dumped.
  Result<std::string> ReadEventsText(const Caller& caller, const Address& port,
                                     const ReadRequest& request);
  // Commits a consumer group's next offsets for a stream port (kept in the catalog).
  Result<nlohmann::json> CommitOffsets(const Caller& caller, const Address& port,
                                       const std::string& group,
                                       const std::map<uint32_t, int64_t>& next_offsets);

  // A read-only SELECT over the products the caller may read, admitted and ready to run. Table
  // ports are read at their current version, at the version named `<port>__v<N>` in the SQL, or
  // as of `as_of` when given. Use from one thread at a time; Cancel() is thread-safe.
  struct QueryOptions {
    engine::Format format = engine::Format::kTable;
    std::optional<TimestampMicros> as_of;
    size_t max_width = 40;
  };
  class PreparedQuery {
   public:
    PreparedQuery(std::unique_ptr<engine::Session> session, std::string sql, QueryOptions options)
        : session_(std::move(session)), sql_(std::move(sql)), options_(options) {}
    // Runs the query and streams its result to `sink` in the chosen format.
    Result<engine::EncodeStats> Run(engine::Sink& sink);
    void Cancel() { session_->Cancel(); }
    // Warnings for the reader: "loom://d/p is deprecated: ..." for each deprecated product the
    // SQL reads.
    const std::vector<std::string>& warnings() const { return warnings_; }
    void set_warnings(std::vector<std::string> w) { warnings_ = std::move(w); }

   private:
    friend class Platform;
    std::unique_ptr<engine::Session> session_;
    // Audits the outcome of Run (set by PrepareQuery); its failure fails Run.
    std::function<Status(const Status& outcome, int64_t rows)> on_done_;
    std::string sql_;
    QueryOptions options_;
    std::vector<std::string> warnings_;
  };
  // Opens the caller's session and checks `sql` at the front door: kPermissionDenied for what
  // the surface refuses, kInvalidArgument for bad SQL.
  Result<std::unique_ptr<PreparedQuery>> PrepareQuery(const Caller& caller, const std::string& sql,
                                                      const QueryOptions& options);

  // A few rows of a port, as the API's JSON: {"address","columns":[...],"rows":[{...}]}.
  Result<nlohmann::json> Sample(const Caller& caller, const Address& port, size_t rows);

  // A SQL session for the caller over every port it may read, each under its SQL name
  // (media_player.play_events.events), with masks and row filters applied below the caller's
  // SQL (engine::Session). The session is the caller's own; use it from one thread at a time.
  Result<std::unique_ptr<engine::Session>> OpenQuerySession(const Caller& caller);
  // The same, with table ports as of `as_of` and the `<port>__v<N>` versions `sql` names.
  Result<std::unique_ptr<engine::Session>> OpenQuerySession(const Caller& caller,
                                                            const std::string& sql,
                                                            std::optional<TimestampMicros> as_of);
  // Audits a query run on a session of OpenQuerySession (the PostgreSQL port): one entry per
  // readable port the SQL names, with the rows returned; a refused or failed query as denied.
  // kUnavailable when the audit log cannot be written (the result must not be sent).
  Status AuditQuery(const Caller& caller, std::string_view sql, const Status& outcome,
                    int64_t rows);

  // --- Global governance (governance.cc; docs/governance.md) ------------------------------
  // The review `loom apply` runs, without applying: every policy violation of every product in
  // `files` (against the catalog's policies, overridden by Policy documents in `files`) and the
  // classified changes from each product's current version with the bump they need.
  // {"ok","products","violations":[{file,line,column,path,rule,message,text}],
  //  "versionProblems":[text],"diffs":[{address,from,to,impact,changes:[{impact,kind,path,detail}]}]}
  Result<nlohmann::json> PolicyCheck(const Caller& caller, const std::vector<SourceFile>& files);
  // The same review without a catalog: only the policies given in `files` (a domain's CI).
  static Result<nlohmann::json> PolicyCheckOffline(const std::vector<SourceFile>& files);
  // {"diffs","versionProblems"} of the products in `files` against their current versions.
  Result<nlohmann::json> Diff(const Caller& caller, const std::vector<SourceFile>& files);
  // The classified changes between two versions (a version or a major: @1.2.0, @1) of a product.
  Result<nlohmann::json> DiffVersions(const Caller& caller, const Address& from, const Address& to);
  // {"types":[{name,type,description,ownerDomain,constraints,policy,products:[{address,version,
  // deprecated,fields}]}]}: every global type (or `name`) and the products carrying it.
  Result<nlohmann::json> GlobalTypes(const Caller& caller, const std::optional<std::string>& name);
  // Quality (platform/quality.cc, docs/quality.md). The results of the latest checks of a port,
  // newest first, with failing sample rows read through the caller's own query session (masked
  // and filtered as for any read of the caller): {"address","runs":[...]}.
  Result<nlohmann::json> QualityResults(const Caller& caller, const Address& port, size_t limit);
  // Checks a port now: a table port's current version, or a stream port's closed windows not
  // checked yet (the latest one first time). Results are recorded. {"address","checks":[report]}.
  Result<nlohmann::json> CheckQuality(const Caller& caller, const Address& port);
  // Every SLO of a product (or of every product) with its status and error budget:
  // {"slos":[{product, slo, kind, port, objective, state, attainment, budgetLeft, ...}]}.
  Result<nlohmann::json> SloStatus(const Caller& caller, const std::optional<Address>& product);
  // Takes one sample of every SLO of every product, and alerts on a change of state (the
  // background job's tick; tests call it directly). {"slos":[...]} as SloStatus.
  Result<nlohmann::json> EvaluateSlos();
  // Checks the closed windows of every stream port that has expectations (the background job).
  Result<nlohmann::json> CheckDueStreamWindows();
  // The Prometheus exposition of the process registry, with the gauges computed from state
  // (versions' ages, consumer lag, SLO status) brought up to date first.
  // Administrators and governance only (it names every product); others kPermissionDenied.
  Result<std::string> MetricsText(const Caller& caller);
  quality::Alerter& alerter() { return *alerter_; }

  // --- Pipelines (pipelines.cc, pipeline_run.cc, pipeline_stream.cc, pipeline_lineage.cc) -----
  // A product's transform runs as its domain's service principal (service:<domain>), reading its
  // input ports like any reader; see docs/pipelines.md. State lives in <data>/pipelines.db.

  // {"pipelines":[{pipeline, product, mode, schedule, inputs, lastRun, failures, nextRetryAt}]}
  // in dependency order.
  Result<nlohmann::json> ListPipelines(const Caller& caller);
  // {"pipeline","runs":[...]} newest first.
  Result<nlohmann::json> PipelineRuns(const Caller& caller, const Address& address, size_t limit);
  // Runs the product's pipeline now: a batch run, or one streaming step. {"runs":[run]}.
  // kFailedPrecondition when the run failed (the run is recorded with its error).
  Result<nlohmann::json> RunPipeline(const Caller& caller, const Address& address);
  struct RebuildRequest {
    std::optional<uint64_t> from_version;      // the inputs output version N was made from
    std::optional<TimestampMicros> from_time;  // the inputs as they were at this time
    bool downstream = false;                   // then every pipeline downstream, in order
  };
  // Regenerates the product's output from its sources (streaming: from the start of its
  // inputs), then, with downstream, every consumer in dependency order. {"runs":[...]}.
  Result<nlohmann::json> Rebuild(const Caller& caller, const Address& address,
                                 const RebuildRequest& request);
  struct LineageRequest {
    bool upstream = true;
    bool downstream = true;
    int depth = 10;
  };
  // The lineage graph around a product or port: {"address","nodes":[...],"edges":[{from, to,
  // direction, depth, pipeline, columns, latest:{outputVersion, inputs}}]}.
  Result<nlohmann::json> Lineage(const Caller& caller, const Address& address,
                                 const LineageRequest& request);
  // Every due pipeline, in dependency order (the scheduler's tick): batch pipelines whose
  // schedule is due or, on-input, whose inputs changed; failed ones after their backoff;
  // streaming pipelines one step. {"runs":[...]}; a failed run does not stop the others.
  Result<nlohmann::json> RunDuePipelines();

  catalog::Catalog& catalog() { return *catalog_; }

 private:
  explicit Platform(Options options);

  // --- streams.cc ---
  // PublishEvents without the JSON answer: the checks, the ingest, its counts and audit entry.
  Result<ingest::IngestResult> IngestEvents(
      const Caller& caller, const Address& port, std::string_view content_type,
      std::string_view body, const std::vector<std::pair<std::string, std::string>>& headers);

  // --- governance.cc ---
  struct ProductDiff {
    std::string address, from, to;
    std::vector<governance::SchemaChange> changes;
  };
  struct Review {
    std::vector<std::string> products;  // keys reviewed
    std::vector<governance::Violation> violations;
    std::vector<std::string> version_problems;
    std::vector<ProductDiff> diffs;
  };
  // Resolves the products' global types in place and reviews them (catalog_ may be null).
  Result<Review> ReviewDocuments(std::vector<spec::Document>& docs);
  static nlohmann::json ReviewJson(const Review& review);
  // Apply's gate: kInvalidArgument listing every violation, kFailedPrecondition for versions.
  Status Govern(std::vector<spec::Document>& docs);
  // The catalog's policies, with the Policy documents of `overrides` replacing theirs by name.
  Result<std::shared_ptr<const governance::PolicySet>> PoliciesInForce(
      const std::vector<spec::Document>& overrides);
  // A stored product descriptor, its global types resolved with the policies in force.
  Result<spec::DataProduct> LoadProduct(const catalog::StoredDocument& doc);
  // The same, shared: one object per stored version and policy set (no copy per call).
  Result<std::shared_ptr<const spec::DataProduct>> LoadSharedProduct(
      const catalog::StoredDocument& doc);
  // A stored product version: exact, current (nullopt), or the latest of a major ("1").
  Result<catalog::StoredDocument> GetProductVersion(const std::string& key,
                                                    const std::optional<std::string>& version);
  // "loom://d/p is deprecated: MESSAGE" for each deprecated product whose SQL name `sql` mentions.
  Result<std::vector<std::string>> DeprecationWarnings(const Caller& caller,
                                                       const std::string& sql);
  // {type name: [{address,version,deprecated,fields}]} over every product's current version.
  // Only the carriers `caller` may see (all when null: the platform's own reviews).
  Result<nlohmann::json> GlobalTypeCarriers(const Caller* caller = nullptr);
  // `show` additions: joinable products per global type, and a superseded major's deprecation.
  Status AddGovernanceViews(const Caller& caller, const catalog::StoredDocument& doc,
                            nlohmann::json& product);

  std::mutex policies_mu_;
  std::string policies_key_;                               // guarded by policies_mu_
  std::shared_ptr<const governance::PolicySet> policies_;  // guarded by policies_mu_
  // The catalog's policy list policies_ was built from (compared by address; guarded too).
  std::shared_ptr<const std::vector<catalog::StoredDocument>> policies_docs_;
  // --- access.cc: the one place each path checks, masks and audits --------------------------
  // Opens security.db, audit.db and the JWT verifier, and builds the first Authorizer.
  Status OpenSecurity();
  // The Authorizer in force (a request keeps the one it started with).
  std::shared_ptr<const security::Authorizer> Authz() const;
  // Rebuilds the Authorizer from the catalog and the stored grants, and swaps it in.
  Status RebuildAuthorizer();
  // Decides `op` on `address` for `caller`, auditing a refusal (as `operation`) before
  // returning it: NotVisible for a product the caller may not see, kPermissionDenied otherwise,
  // kUnavailable when the audit append fails. On success the caller audits with Audited().
  Result<security::Decision> Require(const Caller& caller, const Address& address,
                                     security::Operation op, std::string_view operation,
                                     std::string_view query_text = "");
  // The ports of existing products that `sql` names (<domain>.<product>.<port>[__vN]).
  Result<std::vector<Address>> NamedPorts(const std::string& sql);
  // Require(kApply) for every document (Policy: global; Domain; DataProduct), before anything
  // reads the catalog; returns each document's address.
  Result<std::vector<Address>> RequireApply(const Caller& caller,
                                            const std::vector<spec::Document>& docs,
                                            std::string_view operation);
  // Appends one allowed entry; its failure fails the request (kUnavailable).
  Status Audited(const Caller& caller, std::string_view operation, const Address& address,
                 int64_t rows, std::string_view query_text = "", std::string_view detail = "");
  Status AuditRecord(const security::AuditRecord& record);
  // Applies the caller's masks and row filter (Decision `d`) to a relation of `schema`; a table
  // version's `manifest` (if any) tells which integer keys fit in 32 bits (a narrower mask).
  Status Protect(const security::Decision& d, const spec::Schema& schema, engine::Relation& r,
                 const table::Manifest* manifest = nullptr);
  // Whether ProtectEvents changes anything for this decision on a port of `schema`.
  static bool ProtectsEvents(const security::Decision& d, const spec::Schema& schema);
  // Masks and filters stream events (JSON records) for a reader without unmask or with a filter.
  Status ProtectEvents(const security::Decision& d, const spec::Schema& schema,
                       nlohmann::json& events);
  // Whether `caller` may manage security for everyone (administrator or governance).
  bool IsGovernance(const Caller& caller) const;

  std::unique_ptr<security::Store> store_;
  std::unique_ptr<security::AuditLog> audit_;
  std::unique_ptr<security::JwtVerifier> jwt_;
  mutable std::mutex authz_mu_;
  // Shared by every request that started while it was in force; guarded by authz_mu_.
  std::shared_ptr<const security::Authorizer> authz_;
  std::mutex keys_mu_;
  std::unique_ptr<security::KeyStore> keys_;  // guarded by keys_mu_; opened lazily
  // LoadProduct's results by key and digest, with the policy set their global types were
  // resolved against (null: none needed): parsing the YAML again for every request (one per
  // batch of events) was a fifth of the server's CPU on the event ingest path.
  struct LoadedProduct {
    std::shared_ptr<const governance::PolicySet> policies;
    std::shared_ptr<const spec::DataProduct> product;
  };
  std::mutex loaded_mu_;
  std::map<std::string, LoadedProduct> loaded_;  // guarded by loaded_mu_

  // The product descriptor (current version) and its output port, or kNotFound.
  // `product` is shared with LoadSharedProduct's cache (ResolvePort) or a copy of the given one.
  struct PortRef {
    PortRef(std::shared_ptr<const spec::DataProduct> p, const spec::OutputPort* o)
        : held(std::move(p)), product(*held), port(o) {}
    PortRef(const spec::DataProduct& p, const spec::OutputPort* o)
        : PortRef(std::make_shared<const spec::DataProduct>(p), o) {}
    std::shared_ptr<const spec::DataProduct> held;
    const spec::DataProduct& product;
    const spec::OutputPort* port = nullptr;  // into product (or into the one given)
  };
  Result<std::unique_ptr<PortRef>> ResolvePort(const Address& address);
  // The open table of a table port (opened on first use, reopened when the descriptor changes).
  // `cipher`, when given, is set to what the table seals with (null for a plaintext product).
  Result<table::Table*> GetTable(const PortRef& ref, const BlockCipher** cipher = nullptr);
  // What a product's ports seal their data with: null unless it is confidential or restricted,
  // else its data key. Fails closed (kFailedPrecondition, kPermissionDenied) without the right
  // master key, naming the product and the key.
  Result<std::unique_ptr<security::Cipher>> PortCipher(const spec::DataProduct& product);
  std::string TableDir(const Address& port) const;
  std::string StreamDir(const Address& port) const;
  // The open stream port (opened on first use, reopened when the descriptor changes), and its
  // SQL tier. Shared: in-flight ingests and reads keep the port alive across a reopen.
  struct OpenStream;
  Result<std::shared_ptr<OpenStream>> GetStream(const PortRef& ref);
  // Brings the stream's SQL tier up to date and returns its relation.
  Result<engine::Relation> StreamRelation(const PortRef& ref);
  // OpenQuerySession, where each stream port named in `slices` (by SQL name) is that slice of
  // its records (engine::SliceStream) instead of its tier: same access check, masks and row
  // filters. The slices' files must outlive the session.
  Result<std::unique_ptr<engine::Session>> OpenSession(
      const Caller& caller, const std::string& sql, std::optional<TimestampMicros> as_of,
      const std::map<std::string, const engine::Relation*>& slices);
  // What OpenSession opens: the relations the caller may read, protected.
  Result<engine::SessionOptions> SessionOptionsFor(
      const Caller& caller, const std::string& sql, std::optional<TimestampMicros> as_of,
      const std::map<std::string, const engine::Relation*>& slices);
  // Wakes the background pipelines: new events were appended to the stream port `address`. Only
  // when a streaming or on-input pipeline reads that port (as the last pipeline pass found the
  // pipelines); the others run on the tick anyway, so waking for them would be a pass for nothing.
  void WakePipelines(const Address& address);
  // The threads that publish a streaming step's output lanes (started on first use).
  WorkerPool& OutputWorkers();

  // Runs the port's expectations on a staged table version before it becomes current
  // (table::PublishOptions::before_commit); blocking failures refuse the publish with
  // kFailedPrecondition. The report of a version that passes is left in *report, for recording
  // once the commit is done.
  std::function<Status(const table::Snapshot&, const table::Snapshot*)> QualityGate(
      const PortRef& ref, const std::shared_ptr<quality::CheckReport>& report);
  // Records the report of a published version (after a successful commit).
  void RecordPublished(const Address& port, const table::Manifest& m,
                       const std::shared_ptr<quality::CheckReport>& report);
  // The relations a check of `product` may read besides the port itself: the current versions of
  // referenced ports and of the product's input ports.
  Result<std::vector<engine::Relation>> CheckReferences(const spec::DataProduct& product);
  Result<nlohmann::json> CheckStreamPort(const PortRef& ref, size_t max_windows);
  // SloStatus without the access check of one product: `caller` null lists every product.
  Result<nlohmann::json> SloList(const Caller* caller, const std::optional<Address>& only);
  // One sample of one SLO: whether it is met now, and the measured value (nullopt: no data).
  Result<std::optional<quality::SloSample>> MeasureSlo(const spec::DataProduct& product,
                                                       const spec::Slo& slo);
  void NoteGroup(const Address& port, const std::string& group);
  // A stream port's state for SLOs and metrics (streams.cc): [start, end) offsets per partition,
  // the newest record's time (nullopt when empty), and whether every partition is healthy.
  Result<std::vector<std::pair<int64_t, int64_t>>> StreamBounds(const PortRef& ref);
  Result<std::optional<TimestampMicros>> NewestEventTime(const PortRef& ref);
  Result<bool> StreamHealthy(const PortRef& ref);
  // A read of a stream port (streams.cc): the checks done and the start offsets placed by
  // StartRead; ReadPage then calls `on_record` for each record of one page (long-polling for
  // up to request.wait_ms when there is none yet), moving `from` past them.
  struct EventRead {
    security::Decision decision;
    std::unique_ptr<PortRef> ref;
    std::shared_ptr<OpenStream> stream;  // keeps the log alive during the read
    const log::Log* log = nullptr;       // the port's stream or quarantine
    Address port;                        // without a version
    std::vector<int32_t> parts;
    std::vector<log::Offset> from;  // by partition
    const char* operation = "tail";
  };
  Result<EventRead> StartRead(const Caller& caller, const Address& address,
                              const ReadRequest& request);
  Result<bool> ReadPage(EventRead& read, const ReadRequest& request,
                        const std::function<void(int32_t, const log::RecordView&)>& on_record);
  // The rest of ReadEvents once StartRead is done.
  Result<nlohmann::json> ReadEventsJson(const Caller& caller, EventRead& read,
                                        const ReadRequest& request);

  Options options_;
  std::unique_ptr<catalog::Catalog> catalog_;
  std::unique_ptr<quality::Store> quality_;
  std::unique_ptr<quality::Alerter> alerter_;
  std::mutex groups_mu_;
  std::set<std::pair<std::string, std::string>> groups_;  // guarded by groups_mu_: port, group
  std::unique_ptr<engine::Database> trusted_db_;          // the platform's own DuckDB work

  std::mutex tables_mu_;
  struct OpenTable {
    std::string descriptor_version;
    // Confidential and restricted products: what the table seals with (declared first, so
    // that it outlives the table).
    std::unique_ptr<security::Cipher> cipher;
    std::unique_ptr<table::Table> table;
  };
  std::map<std::string, OpenTable> tables_;  // guarded by tables_mu_; key: address text

  mutable std::mutex jobs_mu_;
  std::condition_variable jobs_cv_;
  bool jobs_stop_ = false;  // guarded by jobs_mu_
  Status jobs_status_;      // guarded by jobs_mu_
  std::thread jobs_thread_;

  std::mutex streams_mu_;
  std::map<std::string, std::shared_ptr<OpenStream>> streams_;  // guarded by streams_mu_

  // Every current product descriptor, parsed (pipelines, quality, SLOs, metrics); the pipeline
  // state store; one run at a time.
  Result<std::vector<spec::DataProduct>> LoadProducts();
  Result<pipeline::StateStore*> PipelineState();
  // The runs themselves (pipeline_run.cc, pipeline_stream.cc) reach the ports through it.
  struct PipelineRunner;
  friend struct PipelineRunner;
  std::mutex pipeline_state_mu_;
  std::unique_ptr<pipeline::StateStore> pipeline_state_;  // guarded by pipeline_state_mu_
  std::mutex pipeline_run_mu_;                            // held for the whole of a run
  // A streaming step's session, kept for the pipeline's next step while that would open the
  // same relations with the same grants and masks: only its slice files are rewritten
  // (pipeline_stream.cc). By pipeline; guarded by pipeline_run_mu_.
  struct StepSession {
    std::string opened_with;  // the session's options, as text
    std::string shape;        // the transform and its inputs' columns, and its result's columns
    std::vector<std::string> columns;
    engine::StreamSlice slice;
    std::unique_ptr<engine::Session> session;  // reads slice's files: declared after them
  };
  std::map<std::string, std::unique_ptr<StepSession>> step_sessions_;
  std::mutex output_workers_mu_;
  std::unique_ptr<WorkerPool> output_workers_;  // guarded by output_workers_mu_
  std::thread pipelines_thread_;                // background pipelines (StartBackgroundJobs)
  Status pipelines_status_;                     // guarded by jobs_mu_
  std::condition_variable pipelines_cv_;
  bool pipelines_woken_ = false;  // guarded by jobs_mu_: events appended since the last pass
  // The ports (SqlName) that streaming and on-input pipelines read, as the last pass found them;
  // null before the first pass (every append wakes the pipelines then). Guarded by jobs_mu_.
  std::shared_ptr<const std::set<std::string>> pipeline_feeds_;
};

struct DemoOptions {
  std::string data_dir = "loom-data";  // must not hold a catalog yet
  uint64_t scale = 10000;              // play events to generate
  uint64_t seed = 42;                  // the generator's seed: same seed, same data
  // When set, every generated input (tables, and the events exactly as sent, as JSON Lines) is
  // also written there, so that answers can be checked without Loom.
  std::string dump_raw_dir;
};

// `loom demo`: builds the reference media-streaming mesh (examples/media-streaming, compiled into
// the binary) in a fresh data folder through the real paths, and writes a short story with real
// numbers and the time each step took to `out`. Errors: kFailedPrecondition if the folder
// already holds a catalog; any error of the steps.
Status RunDemo(const DemoOptions& options, std::FILE* out);

}  // namespace loom::platform
