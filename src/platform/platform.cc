#include "platform/platform.h"

#include <algorithm>
#include <set>

#include "platform/json_views.h"
#include "platform/worker_pool.h"

namespace loom::platform {
namespace {

// The least time from the start of one background pipeline pass to the start of the next.
constexpr std::chrono::milliseconds kMinPipelinePass{20};
constexpr int kOutputWorkers = 3;  // with the step's own thread: up to 4 output lanes at once

}  // namespace

Platform::Platform(Options options) : options_(std::move(options)) {}
Platform::~Platform() {
  {
    std::lock_guard<std::mutex> lock(jobs_mu_);
    jobs_stop_ = true;
  }
  jobs_cv_.notify_all();
  pipelines_cv_.notify_all();
  if (jobs_thread_.joinable()) jobs_thread_.join();
  if (pipelines_thread_.joinable()) pipelines_thread_.join();
}

void Platform::StartBackgroundJobs(std::chrono::milliseconds tick) {
  if (jobs_thread_.joinable()) return;
  jobs_thread_ = std::thread([this, tick] {
    // The scheduler publishes every domain's due snapshots, as the platform itself.
    Caller scheduler;
    scheduler.identity.principal = "service:loom-scheduler";
    std::unique_lock<std::mutex> lock(jobs_mu_);
    while (!jobs_stop_) {
      lock.unlock();
      // Each job runs every tick; the first failure is kept and every job still runs.
      Status status = PublishDueSnapshots(scheduler).status();
      Status checked = CheckDueStreamWindows().status();
      Status slos = EvaluateSlos().status();
      if (status.ok()) status = checked;
      if (status.ok()) status = slos;
      if (!status.ok()) {
        quality::LogJson("error", "background job failed", {{"error", status.ToString()}});
      }
      lock.lock();
      jobs_status_ = status;
      jobs_cv_.wait_for(lock, tick, [this] { return jobs_stop_; });
    }
  });
  // Pipelines on their own, shorter tick: streaming steps decide the freshness of outputs.
  pipelines_thread_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(jobs_mu_);
    while (!jobs_stop_) {
      const auto started = std::chrono::steady_clock::now();
      lock.unlock();
      Result<nlohmann::json> r = RunDuePipelines();
      lock.lock();
      pipelines_status_ = r.status();
      // Again as soon as events arrive (streaming steps decide freshness), else every tick; but
      // passes start at least kMinPipelinePass apart, so that a stream of small appends (one
      // wake each) does not spend a core on passes that each find a few events.
      pipelines_cv_.wait_for(lock, options_.pipeline_tick,
                             [this] { return jobs_stop_ || pipelines_woken_; });
      pipelines_cv_.wait_until(lock, started + kMinPipelinePass, [this] { return jobs_stop_; });
      pipelines_woken_ = false;
    }
  });
}

WorkerPool& Platform::OutputWorkers() {
  std::lock_guard<std::mutex> lock(output_workers_mu_);
  if (output_workers_ == nullptr) output_workers_ = std::make_unique<WorkerPool>(kOutputWorkers);
  return *output_workers_;
}

void Platform::WakePipelines(const Address& address) {
  {
    std::lock_guard<std::mutex> lock(jobs_mu_);
    if (pipeline_feeds_ != nullptr && !pipeline_feeds_->contains(address.SqlName())) return;
    pipelines_woken_ = true;
  }
  pipelines_cv_.notify_one();
}

Status Platform::BackgroundStatus() const {
  std::lock_guard<std::mutex> lock(jobs_mu_);
  return jobs_status_.ok() ? pipelines_status_ : jobs_status_;
}

Result<std::unique_ptr<Platform>> Platform::Open(const Options& options) {
  if (options.data_dir.empty()) return InvalidArgument("data folder: empty path");
  FileSystem& fs = *FileSystem::Default();
  LOOM_RETURN_IF_ERROR(fs.CreateDirs(options.data_dir).WithPrefix("data folder"));
  std::unique_ptr<Platform> p(new Platform(options));
  LOOM_ASSIGN_OR_RETURN(p->catalog_, catalog::OpenSqliteCatalog(
                                         JoinPath(options.data_dir, "catalog.db"), options.clock));
  LOOM_ASSIGN_OR_RETURN(p->trusted_db_, engine::Database::Open());
  LOOM_RETURN_IF_ERROR(p->OpenSecurity());
  LOOM_ASSIGN_OR_RETURN(p->quality_,
                        quality::Store::Open(JoinPath(options.data_dir, "quality.db")));
  LOOM_ASSIGN_OR_RETURN(p->alerter_, quality::Alerter::Start(options.alerts));
  return p;
}

Result<nlohmann::json> Platform::Apply(const Caller& caller, const std::vector<SourceFile>& files,
                                       bool dry_run) {
  if (files.empty()) return InvalidArgument("apply: no descriptor files given");
  LOOM_ASSIGN_OR_RETURN(std::vector<spec::Document> docs, ParseSources(files));
  // The same document twice in one apply is ambiguous.
  for (size_t i = 0; i < docs.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (docs[i].Key() == docs[j].Key()) {
        return InvalidArgument(docs[i].pos.file + ":" + std::to_string(docs[i].pos.line) + ":" +
                               std::to_string(docs[i].pos.column) + ": " + docs[i].Key() +
                               " is also declared at " + docs[j].pos.file + ":" +
                               std::to_string(docs[j].pos.line));
      }
    }
  }
  // Every document must be the caller's to apply, before the catalog is read.
  LOOM_ASSIGN_OR_RETURN(std::vector<Address> addresses, RequireApply(caller, docs, "apply"));
  // Every policy on every product, and each new version's compatibility with the current one.
  LOOM_RETURN_IF_ERROR(Govern(docs));
  std::vector<catalog::Change> changes;
  if (dry_run) {
    LOOM_ASSIGN_OR_RETURN(changes, catalog_->Plan(docs));
  } else {
    LOOM_ASSIGN_OR_RETURN(changes, catalog_->Apply(docs, caller.principal()));
    LOOM_RETURN_IF_ERROR(RebuildAuthorizer());
  }
  for (size_t i = 0; i < addresses.size(); ++i) {
    LOOM_RETURN_IF_ERROR(
        Audited(caller, "apply", addresses[i], -1, "", dry_run ? "dry run" : docs[i].Key()));
  }
  nlohmann::json out = {{"dryRun", dry_run}, {"changes", nlohmann::json::array()}};
  for (const catalog::Change& c : changes) out["changes"].push_back(ChangeJson(c));
  return out;
}

Result<nlohmann::json> Platform::ListProducts(const Caller& caller,
                                              const std::optional<std::string>& domain) {
  if (domain && !IsValidName(*domain)) {
    return InvalidArgument("domain '" + *domain + "' " + NameProblem(*domain));
  }
  LOOM_ASSIGN_OR_RETURN(std::vector<catalog::ProductSummary> products,
                        catalog_->ListProducts(domain));
  std::shared_ptr<const security::Authorizer> authz = Authz();
  nlohmann::json out = {{"products", nlohmann::json::array()}};
  for (const catalog::ProductSummary& p : products) {
    if (!authz->CanSee(caller.identity, Address{p.domain, p.name, "", {}})) continue;
    out["products"].push_back(SummaryJson(p));
  }
  return out;
}

Result<nlohmann::json> Platform::ListDomains(const Caller& caller) {
  LOOM_ASSIGN_OR_RETURN(std::vector<catalog::StoredDocument> domains, catalog_->ListDomains());
  // A domain is listed to those who manage it or may see one of its products.
  std::shared_ptr<const security::Authorizer> authz = Authz();
  std::vector<std::string> managed = authz->ManagedDomains(caller.identity);
  std::set<std::string> visible(managed.begin(), managed.end());
  LOOM_ASSIGN_OR_RETURN(std::vector<catalog::ProductSummary> products,
                        catalog_->ListProducts(std::nullopt));
  for (const catalog::ProductSummary& p : products) {
    if (authz->CanSee(caller.identity, Address{p.domain, p.name, "", {}})) visible.insert(p.domain);
  }
  nlohmann::json out = {{"domains", nlohmann::json::array()}};
  for (const catalog::StoredDocument& d : domains) {
    if (!IsGovernance(caller) && !visible.contains(d.body.value("name", ""))) continue;
    nlohmann::json j = d.body;
    j["revision"] = d.version;
    out["domains"].push_back(std::move(j));
  }
  return out;
}

Result<nlohmann::json> Platform::ShowProduct(const Caller& caller, const Address& address) {
  Address product{address.domain, address.product, "", {}};
  LOOM_RETURN_IF_ERROR(Require(caller, product, security::Operation::kRead, "show").status());
  const std::string key = catalog::ProductKey(address.domain, address.product);
  // A port's @version names a table version, not a descriptor version.
  std::optional<std::string> version = address.has_port() ? std::nullopt : address.version;
  LOOM_ASSIGN_OR_RETURN(catalog::StoredDocument doc, GetProductVersion(key, version));
  LOOM_ASSIGN_OR_RETURN(std::vector<catalog::StoredDocument> versions, catalog_->Versions(key));
  nlohmann::json out = ProductJson(doc, versions);
  LOOM_RETURN_IF_ERROR(AddGovernanceViews(caller, doc, out));
  // The article's "sample datasets as exemplars": a few rows of each table port that has a
  // version (stream ports would need their SQL tier brought up to date; `loom sample` does that).
  if (!version && out.contains("outputPorts")) {
    for (nlohmann::json& port : out["outputPorts"]) {
      if (port.value("kind", "") != "table") continue;
      Address pa{address.domain, address.product, port.value("name", ""), {}};
      if (!Authz()->Check(caller.identity, pa, security::Operation::kRead).allowed) continue;
      Result<nlohmann::json> sample = Sample(caller, pa, 5);
      if (sample.ok() && !(*sample)["rows"].empty()) port["sample"] = (*sample)["rows"];
    }
  }
  if (address.has_port()) {
    bool found = false;
    for (const nlohmann::json& port : out["outputPorts"]) {
      if (port.value("name", "") == address.port) found = true;
    }
    if (!found) {
      return NotFound("product " + Address{address.domain, address.product, "", {}}.ToString() +
                      " has no port '" + address.port + "'");
    }
  }
  LOOM_RETURN_IF_ERROR(Audited(caller, "show", product, -1));
  return out;
}

Result<nlohmann::json> Platform::Versions(const Caller& caller, const Address& address) {
  Address product{address.domain, address.product, "", {}};
  LOOM_RETURN_IF_ERROR(Require(caller, product, security::Operation::kRead, "show").status());
  LOOM_ASSIGN_OR_RETURN(std::vector<catalog::StoredDocument> versions,
                        catalog_->Versions(catalog::ProductKey(address.domain, address.product)));
  nlohmann::json out = {{"address", Address{address.domain, address.product, "", {}}.ToString()},
                        {"versions", nlohmann::json::array()}};
  for (const catalog::StoredDocument& v : versions) out["versions"].push_back(VersionJson(v));
  LOOM_RETURN_IF_ERROR(Audited(caller, "show", product, -1, "", "versions"));
  return out;
}

Result<nlohmann::json> Platform::Search(const Caller& caller, const SearchParams& params) {
  if (params.limit == 0 || params.limit > 1000) {
    return InvalidArgument("search: limit must be between 1 and 1000");
  }
  catalog::SearchQuery q;
  q.text = params.text;
  q.domain = params.domain;
  q.tag = params.tag;
  q.owner = params.owner;
  q.classification = params.classification;
  q.alignment = params.alignment;
  q.port_kind = params.port_kind;
  if (params.offset > 10000) return InvalidArgument("search: offset must be at most 10000");
  // Hits the caller may not see are left out by the catalog before paging, so pages stay full,
  // a count never reveals them, and only the page's hits get a snippet.
  q.limit = params.limit;
  q.offset = params.offset;
  std::shared_ptr<const security::Authorizer> authz = Authz();
  q.visible = [&](const catalog::ProductSummary& p) {
    return authz->CanSee(caller.identity, Address{p.domain, p.name, "", {}});
  };
  LOOM_ASSIGN_OR_RETURN(std::vector<catalog::SearchHit> hits, catalog_->Search(q));
  LOOM_RETURN_IF_ERROR(AuditRecord({caller.principal(), "search", "", true,
                                    static_cast<int64_t>(hits.size()), params.text, ""}));
  nlohmann::json out = {{"query", params.text}, {"hits", nlohmann::json::array()}};
  for (const catalog::SearchHit& h : hits) {
    nlohmann::json j = SummaryJson(h.product);
    j["score"] = h.score;
    j["snippet"] = h.snippet;
    out["hits"].push_back(std::move(j));
  }
  return out;
}

}  // namespace loom::platform
