// The lineage graph around a product or port: edges from input ports to the ports their
// products write, with the exact inputs of the latest output and the column lineage.

#include <deque>

#include "platform/pipeline_runner.h"

namespace loom::platform {
namespace {

using nlohmann::json;

struct Edge {
  std::string from, to;
  bool pipeline = false;
};

}  // namespace

Result<json> Platform::Lineage(const Caller& caller, const Address& address,
                               const LineageRequest& request) {
  if (request.depth < 1 || request.depth > 100) {
    return InvalidArgument("lineage: depth must be between 1 and 100");
  }
  LOOM_RETURN_IF_ERROR(Require(caller, address, security::Operation::kRead, "lineage").status());
  // The graph stops at products the caller may not see: their edges are left out.
  std::shared_ptr<const security::Authorizer> authz = Authz();
  auto visible = [&](const Address& a) {
    return authz->CanSee(caller.identity, Address{a.domain, a.product, "", {}});
  };
  LOOM_ASSIGN_OR_RETURN(std::vector<spec::DataProduct> products, LoadProducts());
  LOOM_ASSIGN_OR_RETURN(pipeline::StateStore * state, PipelineState());
  std::vector<Edge> edges;
  std::map<std::string, std::string> kinds;  // port -> stream | table
  const spec::DataProduct* start_product = nullptr;
  for (const spec::DataProduct& p : products) {
    for (const spec::OutputPort& o : p.output_ports) {
      kinds[pipeline::PortKey(Address{p.domain, p.name, o.name, {}})] =
          std::string(spec::ToString(o.kind));
    }
    if (p.domain == address.domain && p.name == address.product) start_product = &p;
    std::vector<std::string> targets;
    if (p.transform) {
      targets.push_back(pipeline::PortKey(Address{p.domain, p.name, p.transform->output, {}}));
    } else {
      for (const spec::OutputPort& o : p.output_ports) {
        targets.push_back(pipeline::PortKey(Address{p.domain, p.name, o.name, {}}));
      }
    }
    for (const spec::InputPort& in : p.input_ports) {
      if (!visible(in.address) || !visible(p.address())) continue;
      for (const std::string& to : targets) {
        edges.push_back({pipeline::PortKey(in.address), to, p.transform.has_value()});
      }
    }
  }
  if (start_product == nullptr) {
    return NotFound("no product " + Address{address.domain, address.product, "", {}}.ToString());
  }
  std::vector<std::string> starts;
  if (address.has_port()) {
    if (start_product->FindPort(address.port) == nullptr) {
      return NotFound("product " + start_product->address().ToString() + " has no port '" +
                      address.port + "'");
    }
    starts.push_back(pipeline::PortKey(address));
  } else {
    for (const spec::OutputPort& o : start_product->output_ports) {
      starts.push_back(pipeline::PortKey(Address{address.domain, address.product, o.name, {}}));
    }
  }
  json out = {{"address", address.ToString()}, {"nodes", json::array()}, {"edges", json::array()}};
  std::set<std::string> nodes(starts.begin(), starts.end());
  std::set<std::pair<std::string, std::string>> emitted;
  std::map<std::string, json> columns_of;  // pipeline -> column lineage
  auto walk = [&](bool up) -> Status {
    std::deque<std::pair<std::string, int>> queue;
    std::set<std::string> seen;
    for (const std::string& s : starts) {
      queue.push_back({s, 0});
      seen.insert(s);
    }
    while (!queue.empty()) {
      auto [port, depth] = queue.front();
      queue.pop_front();
      if (depth >= request.depth) continue;
      for (const Edge& e : edges) {
        if ((up ? e.to : e.from) != port) continue;
        const std::string& next = up ? e.from : e.to;
        nodes.insert(next);
        if (seen.insert(next).second) queue.push_back({next, depth + 1});
        if (!emitted.insert({e.from, e.to}).second) continue;
        json j = {{"from", e.from},
                  {"to", e.to},
                  {"direction", up ? "upstream" : "downstream"},
                  {"depth", depth + 1},
                  {"pipeline", e.pipeline}};
        if (e.pipeline) {
          if (!columns_of.count(e.to)) {
            LOOM_ASSIGN_OR_RETURN(columns_of[e.to], state->GetColumnLineage(e.to));
          }
          json cols = json::object();
          for (const auto& [col, sources] : columns_of[e.to].items()) {
            for (const json& s : sources) {
              if (s.value("input", "") == e.from) cols[col].push_back(s.value("column", ""));
            }
          }
          j["columns"] = cols;
          LOOM_ASSIGN_OR_RETURN(std::vector<pipeline::LineageRecord> recs,
                                state->LineageOf(e.to, 200));
          json latest = nullptr;
          std::optional<int64_t> run_id;
          for (const pipeline::LineageRecord& r : recs) {
            if (r.input.address != e.from) continue;
            if (run_id && r.run_id != *run_id) break;
            run_id = r.run_id;
            if (latest.is_null()) {
              latest = {{"runId", r.run_id}, {"inputs", json::array()}};
              if (r.output_version) latest["outputVersion"] = *r.output_version;
            }
            latest["inputs"].push_back(pipeline::ToJson(r.input));
          }
          j["latest"] = latest;
        }
        out["edges"].push_back(std::move(j));
      }
    }
    return Status::Ok();
  };
  if (request.upstream) LOOM_RETURN_IF_ERROR(walk(true));
  if (request.downstream) LOOM_RETURN_IF_ERROR(walk(false));
  for (const std::string& n : nodes) {
    auto k = kinds.find(n);
    out["nodes"].push_back({{"address", n}, {"kind", k == kinds.end() ? "unknown" : k->second}});
  }
  LOOM_RETURN_IF_ERROR(Audited(caller, "lineage", address, -1));
  return out;
}

}  // namespace loom::platform
