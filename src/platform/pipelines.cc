// Pipelines: the graph of every product's transform, running them (now, when due, or as a
// rebuild), and their state. The runs themselves are in pipeline_run.cc and pipeline_stream.cc.

#include <algorithm>

#include "platform/pipeline_runner.h"

namespace loom::platform {
namespace {

using nlohmann::json;

constexpr int64_t kSecond = 1'000'000;
constexpr int64_t kMaxBackoff = 300 * kSecond;

// Waiting time before retry number `failures` (1, 2, 4 ... seconds, at most 5 minutes).
int64_t Backoff(int32_t failures) {
  int64_t b = kSecond;
  for (int32_t i = 1; i < failures && b < kMaxBackoff; ++i) b *= 2;
  return std::min(b, kMaxBackoff);
}

}  // namespace

Result<pipeline::StateStore*> Platform::PipelineState() {
  std::lock_guard<std::mutex> lock(pipeline_state_mu_);
  if (pipeline_state_ == nullptr) {
    LOOM_ASSIGN_OR_RETURN(
        pipeline_state_,
        pipeline::StateStore::Open(JoinPath(options_.data_dir, "pipelines.db"), options_.clock));
  }
  return pipeline_state_.get();
}

Result<std::vector<spec::DataProduct>> Platform::LoadProducts() {
  LOOM_ASSIGN_OR_RETURN(std::vector<catalog::ProductSummary> products,
                        catalog_->ListProducts(std::nullopt));
  std::vector<spec::DataProduct> out;
  for (const catalog::ProductSummary& summary : products) {
    LOOM_ASSIGN_OR_RETURN(std::shared_ptr<const catalog::StoredDocument> doc,
                          catalog_->Current(catalog::ProductKey(summary.domain, summary.name)));
    // Parsed once per stored version (LoadProduct keeps them): every ingest wakes this loop.
    LOOM_ASSIGN_OR_RETURN(std::shared_ptr<const spec::DataProduct> product,
                          LoadSharedProduct(*doc));
    out.push_back(*product);
  }
  return out;
}

namespace {

Result<const spec::DataProduct*> FindTransform(const std::vector<spec::DataProduct>& products,
                                               const Address& address) {
  for (const spec::DataProduct& p : products) {
    if (p.domain != address.domain || p.name != address.product) continue;
    if (!p.transform) {
      return InvalidArgument("product " + p.address().ToString() +
                             " has no pipeline (it declares no transform)");
    }
    if (address.has_port() && address.port != p.transform->output) {
      return InvalidArgument("port " + address.ToString() + " is not written by a pipeline (" +
                             p.address().ToString() + " writes '" + p.transform->output + "')");
    }
    return &p;
  }
  return NotFound("no product " + Address{address.domain, address.product, "", {}}.ToString());
}

}  // namespace

Result<json> Platform::ListPipelines(const Caller& caller) {
  LOOM_ASSIGN_OR_RETURN(std::vector<spec::DataProduct> products, LoadProducts());
  std::shared_ptr<const security::Authorizer> authz = Authz();
  LOOM_ASSIGN_OR_RETURN(pipeline::Graph graph, pipeline::Graph::Build(products));
  LOOM_ASSIGN_OR_RETURN(pipeline::StateStore * state, PipelineState());
  json out = {{"pipelines", json::array()}};
  for (const pipeline::Node& n : graph.nodes()) {
    // Only pipelines of products the caller may see (as in listings and search).
    if (!authz->CanSee(caller.identity, Address{n.output.domain, n.output.product, "", {}})) {
      continue;
    }
    std::string key = pipeline::PortKey(n.output);
    json inputs = json::array();
    for (const spec::InputPort& in : n.inputs) {
      inputs.push_back({{"alias", in.alias}, {"address", in.address.ToString()}});
    }
    json j = {{"pipeline", key},
              {"product", Address{n.output.domain, n.output.product, "", {}}.ToString()},
              {"mode", std::string(spec::ToString(n.mode))},
              {"schedule", n.mode == spec::TransformMode::kBatch ? n.schedule : "continuous"},
              {"principal", Platform::PipelineRunner::ServiceCaller(n.output.domain).principal()},
              {"inputs", inputs},
              {"lastRun", nullptr}};
    LOOM_ASSIGN_OR_RETURN(std::vector<pipeline::Run> last, state->Runs(key, 1));
    if (!last.empty()) j["lastRun"] = pipeline::ToJson(last[0]);
    LOOM_ASSIGN_OR_RETURN(int32_t failures, state->ConsecutiveFailures(key));
    j["failures"] = failures;
    if (failures > 0 && !last.empty()) {
      j["nextRetryAt"] = FormatRfc3339(last[0].finished_at + Backoff(failures));
    }
    out["pipelines"].push_back(std::move(j));
  }
  return out;
}

Result<json> Platform::PipelineRuns(const Caller& caller, const Address& address, size_t limit) {
  if (limit == 0 || limit > 1000) return InvalidArgument("limit must be between 1 and 1000");
  LOOM_RETURN_IF_ERROR(Require(caller, address, security::Operation::kRead, "runs").status());
  LOOM_ASSIGN_OR_RETURN(std::vector<spec::DataProduct> products, LoadProducts());
  LOOM_ASSIGN_OR_RETURN(const spec::DataProduct* product, FindTransform(products, address));
  LOOM_ASSIGN_OR_RETURN(pipeline::StateStore * state, PipelineState());
  std::string key = pipeline::PortKey(
      Address{product->domain, product->name, product->transform->output, std::nullopt});
  LOOM_ASSIGN_OR_RETURN(std::vector<pipeline::Run> runs, state->Runs(key, limit));
  json out = {{"pipeline", key}, {"runs", json::array()}};
  for (const pipeline::Run& r : runs) out["runs"].push_back(pipeline::ToJson(r));
  LOOM_RETURN_IF_ERROR(Audited(caller, "runs", address, static_cast<int64_t>(runs.size())));
  return out;
}

Result<json> Platform::RunPipeline(const Caller& caller, const Address& address) {
  // Running a pipeline writes its output: the domain's owners and producers may.
  LOOM_RETURN_IF_ERROR(
      Require(caller, address, security::Operation::kWrite, "pipeline-run").status());
  LOOM_ASSIGN_OR_RETURN(std::vector<spec::DataProduct> products, LoadProducts());
  LOOM_ASSIGN_OR_RETURN(const spec::DataProduct* product, FindTransform(products, address));
  std::lock_guard<std::mutex> lock(pipeline_run_mu_);
  pipeline::Run run;
  if (product->transform->mode == spec::TransformMode::kBatch) {
    LOOM_ASSIGN_OR_RETURN(run, Platform::PipelineRunner::Batch(*this, *product, "manual", nullptr));
  } else {
    LOOM_ASSIGN_OR_RETURN(run, Platform::PipelineRunner::StreamingStep(*this, *product, "manual"));
  }
  LOOM_RETURN_IF_ERROR(Audited(caller, "pipeline-run", address, -1, "", run.run_uuid));
  return json{{"runs", json::array({pipeline::ToJson(run)})}};
}

Result<json> Platform::Rebuild(const Caller& caller, const Address& address,
                               const RebuildRequest& request) {
  LOOM_RETURN_IF_ERROR(Require(caller, address, security::Operation::kWrite, "rebuild").status());
  if (request.from_version && request.from_time) {
    return InvalidArgument("rebuild: give --from a version or a time, not both");
  }
  LOOM_ASSIGN_OR_RETURN(std::vector<spec::DataProduct> products, LoadProducts());
  LOOM_ASSIGN_OR_RETURN(const spec::DataProduct* product, FindTransform(products, address));
  LOOM_ASSIGN_OR_RETURN(pipeline::Graph graph, pipeline::Graph::Build(products));
  LOOM_ASSIGN_OR_RETURN(pipeline::StateStore * state, PipelineState());
  Address output{product->domain, product->name, product->transform->output, std::nullopt};
  std::string key = pipeline::PortKey(output);
  std::lock_guard<std::mutex> lock(pipeline_run_mu_);
  json runs = json::array();
  if (product->transform->mode == spec::TransformMode::kBatch) {
    Platform::PipelineRunner::Pins pins;
    if (request.from_version) {
      LOOM_ASSIGN_OR_RETURN(std::vector<pipeline::LineageRecord> lineage,
                            state->LineageFor(key, *request.from_version));
      if (lineage.empty()) {
        return NotFound("rebuild: version " + std::to_string(*request.from_version) + " of " + key +
                        " has no recorded inputs (was it made by its pipeline?)");
      }
      for (const pipeline::LineageRecord& r : lineage) pins.ranges.push_back(r.input);
    }
    pins.as_of = request.from_time;
    LOOM_ASSIGN_OR_RETURN(pipeline::Run run,
                          Platform::PipelineRunner::Batch(*this, *product, "rebuild", &pins));
    runs.push_back(pipeline::ToJson(run));
  } else {
    if (request.from_version || request.from_time) {
      return InvalidArgument(
          "rebuild: --from applies to batch pipelines; a streaming pipeline "
          "is rebuilt from the start of its inputs");
    }
    LOOM_RETURN_IF_ERROR(state->ResetProgress(key));
    LOOM_ASSIGN_OR_RETURN(pipeline::Run run,
                          Platform::PipelineRunner::StreamingStep(*this, *product, "rebuild"));
    runs.push_back(pipeline::ToJson(run));
  }
  if (request.downstream) {
    for (const pipeline::Node* n : graph.Downstream(output)) {
      LOOM_ASSIGN_OR_RETURN(const spec::DataProduct* next, FindTransform(products, n->output));
      // Every product rebuilt downstream needs the same right as the first.
      LOOM_RETURN_IF_ERROR(
          Require(caller, next->address(), security::Operation::kWrite, "rebuild").status());
      pipeline::Run run;
      if (n->mode == spec::TransformMode::kBatch) {
        LOOM_ASSIGN_OR_RETURN(run,
                              Platform::PipelineRunner::Batch(*this, *next, "rebuild", nullptr));
      } else {
        LOOM_ASSIGN_OR_RETURN(run,
                              Platform::PipelineRunner::StreamingStep(*this, *next, "rebuild"));
      }
      runs.push_back(pipeline::ToJson(run));
    }
  }
  LOOM_RETURN_IF_ERROR(Audited(caller, "rebuild", address, -1));
  return json{{"runs", runs}};
}

Result<json> Platform::RunDuePipelines() {
  LOOM_ASSIGN_OR_RETURN(std::vector<spec::DataProduct> products, LoadProducts());
  LOOM_ASSIGN_OR_RETURN(pipeline::Graph graph, pipeline::Graph::Build(products));
  LOOM_ASSIGN_OR_RETURN(pipeline::StateStore * state, PipelineState());
  auto feeds = std::make_shared<std::set<std::string>>();
  for (const pipeline::Node& n : graph.nodes()) {
    if (n.mode != spec::TransformMode::kStreaming && n.schedule != "on-input") continue;
    for (const spec::InputPort& in : n.inputs) feeds->insert(in.address.SqlName());
  }
  {
    std::lock_guard<std::mutex> feeds_lock(jobs_mu_);
    pipeline_feeds_ = std::move(feeds);
  }
  std::lock_guard<std::mutex> lock(pipeline_run_mu_);
  json runs = json::array();
  const TimestampMicros now = options_.clock->NowMicros();
  for (const pipeline::Node& n : graph.nodes()) {
    LOOM_ASSIGN_OR_RETURN(const spec::DataProduct* product, FindTransform(products, n.output));
    std::string key = pipeline::PortKey(n.output);
    Result<pipeline::Run> run = Status::Ok();
    LOOM_ASSIGN_OR_RETURN(int32_t failures, state->ConsecutiveFailures(key));
    LOOM_ASSIGN_OR_RETURN(std::optional<pipeline::Run> last, state->LastFinished(key));
    if (n.mode == spec::TransformMode::kStreaming) {
      if (failures > 0 && last && now < last->finished_at + Backoff(failures)) continue;
      run = Platform::PipelineRunner::StreamingStep(*this, *product,
                                                    failures > 0 ? "retry" : "stream");
    } else {
      LOOM_ASSIGN_OR_RETURN(std::optional<pipeline::Run> last_ok, state->LastSucceeded(key));
      std::string trigger;
      if (failures > 0 && last) {
        if (now >= last->finished_at + Backoff(failures)) trigger = "retry";
      } else {
        LOOM_ASSIGN_OR_RETURN(
            bool due,
            pipeline::ScheduleDue(
                n.schedule,
                last_ok ? std::optional<TimestampMicros>(last_ok->started_at) : std::nullopt, now));
        if (due) trigger = "schedule";
        if (n.schedule == "on-input") {
          LOOM_ASSIGN_OR_RETURN(bool changed,
                                Platform::PipelineRunner::InputsChanged(
                                    *this, *product, last_ok ? *last_ok : pipeline::Run{}));
          if (changed) trigger = "on-input";
        }
      }
      if (trigger.empty()) continue;
      // Never run before its inputs are there (a table input without a version).
      LOOM_ASSIGN_OR_RETURN(
          bool ready, Platform::PipelineRunner::InputsChanged(*this, *product, pipeline::Run{}));
      if (!ready) continue;
      run = Platform::PipelineRunner::Batch(*this, *product, trigger, nullptr);
    }
    if (run.ok()) {
      if (run->status != pipeline::RunStatus::kSkipped) runs.push_back(pipeline::ToJson(*run));
    } else {
      runs.push_back({{"pipeline", key}, {"status", "failed"}, {"error", run.status().message()}});
    }
  }
  return json{{"runs", runs}};
}

}  // namespace loom::platform
