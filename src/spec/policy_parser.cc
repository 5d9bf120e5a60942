// Parsing and validation of Policy descriptors: global types, rules and central grants.

#include <map>

#include "spec/parsers.h"

namespace loom::spec::internal {
namespace {

std::string Item(const std::string& path, size_t i) { return path + "[" + std::to_string(i) + "]"; }

void ParseGlobalTypes(MapReader& spec, Policy* policy) {
  Context& ctx = spec.ctx();
  if (!spec.Has("globalTypes")) return;
  const YAML::Node list = spec.Get("globalTypes");
  if (!IsList(ctx, list, "spec.globalTypes")) return;
  std::map<std::string, int> first_line;
  for (size_t i = 0; i < list.size(); ++i) {
    MapReader m(ctx, list[i], Item("spec.globalTypes", i),
                {"name", "type", "description", "ownerDomain", "constraints"});
    if (!m.ok()) continue;
    GlobalType g;
    g.pos = ctx.Pos(list[i]);
    if (m.String("name", &g.name, true)) {
      if (std::string problem = FieldNameProblem(g.name); !problem.empty()) {
        m.Error("name", "'" + g.name + "' is not a valid global type name: " + problem);
      } else if (auto [it, fresh] = first_line.emplace(g.name, g.pos.line); !fresh) {
        m.Error("name", "duplicate global type '" + g.name + "' (first at line " +
                            std::to_string(it->second) + ")");
      }
    }
    const bool type_ok = ParseTypeKey(m, &g.type);
    if (type_ok && g.type.kind == TypeKind::kStruct) {
      m.Error("type", "a global type must be a scalar or list type, not struct");
    }
    m.String("description", &g.description);
    m.Name("ownerDomain", &g.owner_domain);
    if (m.Has("constraints")) {
      ParseConstraints(ctx, m.Get("constraints"), m.PathOf("constraints"), g.type, type_ok,
                       &g.constraints);
    }
    policy->global_types.push_back(std::move(g));
  }
}

void ParseRules(MapReader& spec, Policy* policy) {
  Context& ctx = spec.ctx();
  if (!spec.Has("rules")) return;
  const YAML::Node list = spec.Get("rules");
  if (!IsList(ctx, list, "spec.rules")) return;
  static const std::vector<std::string_view> kKinds = {"required_metadata", "naming",
                                                       "classification_controls", "envelope"};
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string path = Item("spec.rules", i);
    const YAML::Node node = list[i];
    if (!node.IsMap()) {
      ctx.Error(node, path, "expected a map, got " + std::string(NodeTypeName(node)));
      continue;
    }
    PolicyRule rule;
    rule.pos = ctx.Pos(node);
    rule.parameters = nlohmann::json::object();
    bool has_kind = false;
    std::map<std::string, int> seen;
    for (auto it = node.begin(); it != node.end(); ++it) {
      if (!it->first.IsScalar()) {
        ctx.Error(it->first, path, "map keys must be plain names");
        continue;
      }
      const std::string& key = it->first.Scalar();
      if (!seen.emplace(key, 0).second) {
        ctx.Error(it->first, path + "." + key, "duplicate key '" + key + "'");
        continue;
      }
      if (key == "kind") {
        has_kind = true;
        size_t idx = 0;
        if (ReadEnum(ctx, it->second, path + ".kind", kKinds, &idx)) {
          rule.kind = std::string(kKinds[idx]);
        }
      } else {
        rule.parameters[key] = YamlToJson(it->second);
      }
    }
    if (!has_kind) ctx.Error(node, path, "missing required key 'kind'");
    policy->rules.push_back(std::move(rule));
  }
}

void ParseGrants(MapReader& spec, Policy* policy) {
  Context& ctx = spec.ctx();
  if (!spec.Has("grants")) return;
  const YAML::Node list = spec.Get("grants");
  if (!IsList(ctx, list, "spec.grants")) return;
  for (size_t i = 0; i < list.size(); ++i) {
    MapReader m(ctx, list[i], Item("spec.grants", i),
                {"principal", "role", "permissions", "domain", "product", "port", "rowFilter"});
    if (!m.ok()) continue;
    Grant g;
    g.pos = ctx.Pos(list[i]);
    ParsePrincipal(m, "principal", &g.principal, true);
    size_t idx = 0;
    static const std::vector<std::string_view> kRoles = {"owner", "producer", "consumer"};
    if (m.Enum("role", kRoles, &idx)) g.role = std::string(kRoles[idx]);
    ParsePermissions(m, "permissions", &g.permissions);
    if (!m.Has("role") && !m.Has("permissions")) {
      ctx.Error(m.node(), m.path(), "a grant needs a role, permissions or both");
    }
    m.Name("domain", &g.domain, true);
    m.Name("product", &g.product);
    m.Name("port", &g.port);
    m.OptString("rowFilter", &g.row_filter);
    if (m.Has("port") && !m.Has("product")) {
      m.Error("port", "a grant on a port needs the product too");
    }
    if (m.Has("rowFilter") && !m.Has("product")) {
      m.Error("rowFilter", "a row filter needs a product (it is a predicate over its fields)");
    }
    policy->grants.push_back(std::move(g));
  }
}

}  // namespace

Policy ParsePolicy(MapReader& root) {
  Context& ctx = root.ctx();
  Policy policy;
  if (root.Require("metadata")) {
    MapReader md(ctx, root.Get("metadata"), "metadata", {"name", "description"});
    if (md.ok()) {
      md.Name("name", &policy.name, true);
      md.String("description", &policy.description);
    }
  }
  if (!root.Require("spec")) return policy;
  MapReader spec(ctx, root.Get("spec"), "spec", {"globalTypes", "rules", "grants"});
  if (!spec.ok()) return policy;
  ParseGlobalTypes(spec, &policy);
  ParseRules(spec, &policy);
  ParseGrants(spec, &policy);
  return policy;
}

}  // namespace loom::spec::internal
