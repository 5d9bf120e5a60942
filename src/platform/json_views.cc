#include "platform/json_views.h"

#include "core/core.h"

namespace loom::platform {

nlohmann::json ChangeJson(const catalog::Change& c) {
  return {{"key", c.key},
          {"kind", std::string(spec::KindName(c.kind))},
          {"change", std::string(catalog::ToString(c.change))},
          {"from", c.from_version},
          {"to", c.to_version}};
}

nlohmann::json SummaryJson(const catalog::ProductSummary& p) {
  return {{"address", Address{p.domain, p.name, "", {}}.ToString()},
          {"domain", p.domain},
          {"name", p.name},
          {"version", p.version},
          {"title", p.title},
          {"description", p.description},
          {"owner", p.owner},
          {"tags", p.tags},
          {"classification", p.classification},
          {"alignment", p.alignment},
          {"portKinds", p.port_kinds},
          {"deprecated", p.deprecated},
          {"updatedAt", FormatRfc3339(p.updated_at)}};
}

nlohmann::json VersionJson(const catalog::StoredDocument& v) {
  return {{"version", v.version},
          {"revision", v.revision},
          {"appliedBy", v.applied_by},
          {"appliedAt", FormatRfc3339(v.applied_at)},
          {"digest", v.digest}};
}

nlohmann::json ProductJson(const catalog::StoredDocument& doc,
                           const std::vector<catalog::StoredDocument>& versions) {
  nlohmann::json out = doc.body;
  const std::string domain = out.value("domain", "");
  const std::string name = out.value("name", "");
  out["address"] = Address{domain, name, "", {}}.ToString();
  if (out.contains("outputPorts")) {
    for (nlohmann::json& port : out["outputPorts"]) {
      Address a{domain, name, port.value("name", ""), {}};
      port["address"] = a.ToString();
      port["sqlName"] = a.SqlName();
      port["httpPath"] = a.HttpPath();
    }
  }
  out["appliedBy"] = doc.applied_by;
  out["appliedAt"] = FormatRfc3339(doc.applied_at);
  out["versions"] = nlohmann::json::array();
  for (const catalog::StoredDocument& v : versions) out["versions"].push_back(v.version);
  return out;
}

}  // namespace loom::platform
