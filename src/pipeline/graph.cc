// The dependency graph of every product's transform, derived from input ports.

#include <algorithm>
#include <functional>

#include "pipeline/pipeline.h"

namespace loom::pipeline {

std::string PortKey(const Address& port) {
  return Address{port.domain, port.product, port.port, std::nullopt}.ToString();
}

Result<Graph> Graph::Build(const std::vector<spec::DataProduct>& products) {
  std::vector<Node> all;
  for (const spec::DataProduct& p : products) {
    if (!p.transform) continue;
    Node n;
    n.output = Address{p.domain, p.name, p.transform->output, std::nullopt};
    n.mode = p.transform->mode;
    n.schedule = p.transform->schedule.empty() ? "on-input" : p.transform->schedule;
    n.inputs = p.input_ports;
    all.push_back(std::move(n));
  }
  std::sort(all.begin(), all.end(),
            [](const Node& a, const Node& b) { return PortKey(a.output) < PortKey(b.output); });
  // Node i depends on node j when one of i's inputs is j's output.
  std::map<std::string, size_t> by_output;
  for (size_t i = 0; i < all.size(); ++i) by_output[PortKey(all[i].output)] = i;
  std::vector<int> state(all.size(), 0);  // 0 new, 1 on the path, 2 done
  std::vector<std::string> path;
  Graph g;
  std::function<Status(size_t)> visit = [&](size_t i) -> Status {
    if (state[i] == 2) return Status::Ok();
    path.push_back(all[i].output.ProductKey());
    if (state[i] == 1) {
      std::string cycle;
      for (const std::string& p : path) cycle += (cycle.empty() ? "" : " -> ") + p;
      return InvalidArgument("pipelines form a cycle: " + cycle);
    }
    state[i] = 1;
    for (const spec::InputPort& in : all[i].inputs) {
      auto it = by_output.find(PortKey(in.address));
      if (it != by_output.end()) LOOM_RETURN_IF_ERROR(visit(it->second));
    }
    state[i] = 2;
    path.pop_back();
    g.nodes_.push_back(all[i]);
    return Status::Ok();
  };
  for (size_t i = 0; i < all.size(); ++i) LOOM_RETURN_IF_ERROR(visit(i));
  return g;
}

const Node* Graph::Find(const Address& address) const {
  for (const Node& n : nodes_) {
    if (n.output.domain != address.domain || n.output.product != address.product) continue;
    if (address.port.empty() || address.port == n.output.port) return &n;
  }
  return nullptr;
}

std::vector<const Node*> Graph::Downstream(const Address& port) const {
  std::set<std::string> reached = {PortKey(port)};
  std::vector<const Node*> out;
  // nodes_ is in dependency order, so one pass reaches every transitive consumer.
  for (const Node& n : nodes_) {
    bool hit = false;
    for (const spec::InputPort& in : n.inputs) hit = hit || reached.count(PortKey(in.address)) > 0;
    if (!hit) continue;
    reached.insert(PortKey(n.output));
    out.push_back(&n);
  }
  return out;
}

}  // namespace loom::pipeline
