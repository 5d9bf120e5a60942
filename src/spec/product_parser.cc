// Parsing and validation of DataProduct, Domain and Policy descriptors (the top levels).

#include <map>
#include <set>

#include "spec/parsers.h"

namespace loom::spec::internal {
namespace {

void ParseTags(MapReader& m, std::vector<std::string>* out) {
  if (!m.StringList("tags", out)) return;
  std::set<std::string> seen;
  const YAML::Node list = m.Get("tags");
  for (size_t i = 0; i < out->size(); ++i) {
    const std::string item = m.PathOf("tags") + "[" + std::to_string(i) + "]";
    const std::string& tag = (*out)[i];
    if (std::string problem = NameProblem(tag); !problem.empty()) {
      m.ctx().Error(list[i], item, "'" + tag + "' is not a valid tag: " + problem);
    } else if (!seen.insert(tag).second) {
      m.ctx().Error(list[i], item, "duplicate tag '" + tag + "'");
    }
  }
}

}  // namespace

bool ParsePrincipal(MapReader& m, std::string_view key, std::string* out, bool required) {
  std::string value;
  if (!m.String(key, &value, required)) return false;
  if (std::string problem = PrincipalProblemText(value); !problem.empty()) {
    m.Error(key, problem);
    return false;
  }
  *out = std::move(value);
  return true;
}

bool ParsePermissions(MapReader& m, std::string_view key, std::vector<Permission>* out) {
  if (!m.Has(key)) return false;
  const YAML::Node list = m.Get(key);
  if (!IsList(m.ctx(), list, m.PathOf(key))) return false;
  if (list.size() == 0) {
    m.Error(key, "needs at least one permission (read, write or unmask)");
    return false;
  }
  bool ok = true;
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string item = m.PathOf(key) + "[" + std::to_string(i) + "]";
    size_t idx = 0;
    if (!ReadEnum(m.ctx(), list[i], item, {"read", "write", "unmask"}, &idx)) {
      ok = false;
      continue;
    }
    Permission p = static_cast<Permission>(idx);
    if (std::find(out->begin(), out->end(), p) != out->end()) {
      m.ctx().Error(list[i], item, "duplicate permission '" + std::string(ToString(p)) + "'");
      ok = false;
      continue;
    }
    out->push_back(p);
  }
  return ok;
}

DataProduct ParseDataProduct(MapReader& root) {
  Context& ctx = root.ctx();
  DataProduct p;
  if (root.Require("metadata")) {
    MapReader md(ctx, root.Get("metadata"), "metadata",
                 {"domain", "name", "version", "title", "description", "owner", "tags"});
    if (md.ok()) {
      md.Name("domain", &p.domain, true);
      md.Name("name", &p.name, true);
      std::string version;
      if (md.String("version", &version, true)) {
        Result<SemVer> v = SemVer::Parse(version);
        if (v.ok()) {
          p.version = *v;
        } else {
          md.Error("version", v.status().message());
        }
      }
      md.String("title", &p.title);
      md.String("description", &p.description);
      ParsePrincipal(md, "owner", &p.owner, true);
      ParseTags(md, &p.tags);
    }
  }
  if (!root.Require("spec")) return p;
  MapReader spec(ctx, root.Get("spec"), "spec",
                 {"classification", "alignment", "schema", "outputPorts", "inputPorts", "transform",
                  "slos", "quality", "access", "deprecated"});
  if (!spec.ok()) return p;
  size_t idx = 0;
  if (spec.Enum("classification", {"public", "internal", "confidential", "restricted"}, &idx)) {
    p.classification = static_cast<Classification>(idx);
  }
  if (spec.Enum("alignment", {"source", "consumer", "shared"}, &idx)) {
    p.alignment = static_cast<Alignment>(idx);
  }
  const size_t errors_before_schema = ctx.errors();
  if (spec.Require("schema")) {
    MapReader schema(ctx, spec.Get("schema"), "spec.schema", {"fields"});
    if (schema.ok() && schema.Require("fields")) {
      ParseFields(ctx, schema.Get("fields"), "spec.schema.fields", &p.schema.fields);
    }
  }
  ctx.schema_complete = ctx.errors() == errors_before_schema;
  ParseOutputPorts(spec, &p);
  ParseInputPorts(spec, &p);
  ParseTransform(spec, &p);
  ParseSlos(spec, &p);
  ParseQuality(spec, &p);
  ParseAccess(spec, &p);
  spec.OptString("deprecated", &p.deprecated);
  return p;
}

Domain ParseDomain(MapReader& root) {
  Context& ctx = root.ctx();
  Domain d;
  if (root.Has("spec")) {
    root.Error("spec",
               "a Domain has no spec; put name, title, description, owners and tags "
               "under metadata");
  }
  if (!root.Require("metadata")) return d;
  MapReader md(ctx, root.Get("metadata"), "metadata",
               {"name", "title", "description", "owners", "tags"});
  if (!md.ok()) return d;
  md.Name("name", &d.name, true);
  md.String("title", &d.title);
  md.String("description", &d.description);
  if (md.Require("owners") && md.StringList("owners", &d.owners)) {
    const YAML::Node list = md.Get("owners");
    if (d.owners.empty()) md.Error("owners", "needs at least one owner");
    std::set<std::string> seen;
    for (size_t i = 0; i < d.owners.size(); ++i) {
      const std::string item = "metadata.owners[" + std::to_string(i) + "]";
      if (std::string problem = PrincipalProblemText(d.owners[i]); !problem.empty()) {
        ctx.Error(list[i], item, problem);
      } else if (!seen.insert(d.owners[i]).second) {
        ctx.Error(list[i], item, "duplicate owner '" + d.owners[i] + "'");
      }
    }
  }
  ParseTags(md, &d.tags);
  return d;
}

}  // namespace loom::spec::internal
