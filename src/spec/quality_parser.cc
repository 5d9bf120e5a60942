// Parsing and validation of a product's SLOs and quality expectations.

#include <map>
#include <regex>

#include "spec/parsers.h"

namespace loom::spec::internal {
namespace {

std::string Item(const std::string& path, size_t i) { return path + "[" + std::to_string(i) + "]"; }

std::vector<std::string_view> PortNames(const DataProduct& p) {
  std::vector<std::string_view> names;
  for (const OutputPort& op : p.output_ports) names.push_back(op.name);
  return names;
}

bool CheckPort(MapReader& m, const DataProduct& p, std::string* out) {
  if (!m.String("port", out)) return false;
  if (p.FindPort(*out) != nullptr) return true;
  m.Error("port", "no output port '" + *out + "' in this product" + DidYouMean(*out, PortNames(p)));
  return false;
}

struct KindSpec {
  std::string_view kind;
  std::vector<std::string_view> required;
  std::vector<std::string_view> optional;
};

// The members each expectation kind takes; name, kind, port and severity are common to all.
const std::vector<KindSpec>& ExpectationKinds() {
  static const std::vector<KindSpec> kinds = {
      {"not_null", {"fields"}, {}},
      {"unique", {"fields"}, {}},
      {"accepted_values", {"fields", "values"}, {}},
      {"range", {"fields"}, {"min", "max"}},
      {"pattern", {"fields", "pattern"}, {}},
      {"row_count", {}, {"min", "max"}},
      {"row_count_change", {"maxChange"}, {}},
      {"freshness", {"fields", "maxAge"}, {}},
      {"referential", {"fields", "reference", "referenceField"}, {}},
      {"sql", {"sql"}, {}},
  };
  return kinds;
}

bool SingleFieldKind(std::string_view kind) { return kind != "not_null" && kind != "unique"; }

void CheckFields(MapReader& m, const DataProduct& p, const Expectation& e) {
  const YAML::Node list = m.Get("fields");
  if (e.fields.empty()) {
    m.Error("fields", "needs at least one field");
    return;
  }
  if (SingleFieldKind(e.kind) && e.fields.size() != 1) {
    m.Error("fields", "a " + e.kind + " expectation takes exactly one field");
    return;
  }
  std::vector<std::string_view> names;
  for (const Field& f : p.schema.fields) names.push_back(f.name);
  for (size_t i = 0; i < e.fields.size(); ++i) {
    const Field* f = FindField(p.schema.fields, e.fields[i]);
    const std::string item = Item(m.PathOf("fields"), i);
    if (f == nullptr && !m.ctx().schema_complete) continue;
    if (f == nullptr) {
      m.ctx().Error(
          list[i], item,
          "no field '" + e.fields[i] + "' in the schema" + DidYouMean(e.fields[i], names));
      continue;
    }
    const TypeKind k = f->type.kind;
    const bool numeric = k == TypeKind::kInt32 || k == TypeKind::kInt64 || k == TypeKind::kDouble ||
                         k == TypeKind::kDecimal;
    if (e.kind == "range" && !numeric && k != TypeKind::kDate && k != TypeKind::kTimestamp) {
      m.ctx().Error(list[i], item,
                    "a range expectation needs a numeric field ('" + f->name + "' is " +
                        f->type.ToString() + ")");
    } else if (e.kind == "pattern" && k != TypeKind::kString) {
      m.ctx().Error(list[i], item,
                    "a pattern expectation needs a string field ('" + f->name + "' is " +
                        f->type.ToString() + ")");
    } else if (e.kind == "freshness" && k != TypeKind::kTimestamp && k != TypeKind::kDate) {
      m.ctx().Error(list[i], item,
                    "a freshness expectation needs a timestamp field ('" + f->name + "' is " +
                        f->type.ToString() + ")");
    }
  }
}

}  // namespace

void ParseSlos(MapReader& spec, DataProduct* p) {
  Context& ctx = spec.ctx();
  if (!spec.Has("slos")) return;
  const YAML::Node list = spec.Get("slos");
  if (!IsList(ctx, list, "spec.slos")) return;
  for (size_t i = 0; i < list.size(); ++i) {
    MapReader m(ctx, list[i], Item("spec.slos", i),
                {"kind", "port", "threshold", "objective", "window"});
    if (!m.ok()) continue;
    Slo slo;
    slo.pos = ctx.Pos(list[i]);
    size_t idx = 0;
    const bool kind_ok =
        m.Require("kind") &&
        m.Enum("kind", {"freshness", "completeness", "validity", "availability", "timeliness"},
               &idx);
    slo.kind = static_cast<SloKind>(idx);
    CheckPort(m, *p, &slo.port);
    double objective = 0;
    if (m.Number("objective", &objective)) {
      if (objective <= 0 || objective > 1) {
        m.Error("objective", "must be greater than 0 and at most 1 (a share, e.g. 0.99)");
      } else {
        slo.objective = objective;
      }
    }
    m.DurationMs("window", &slo.window_ms);
    if (kind_ok) {
      const std::string kind(ToString(slo.kind));
      if (slo.kind == SloKind::kFreshness || slo.kind == SloKind::kTimeliness) {
        int64_t ms = 0;
        if (m.Require("threshold") && m.DurationMs("threshold", &ms)) slo.threshold_ms = ms;
      } else if (slo.kind == SloKind::kAvailability) {
        if (m.Has("threshold")) {
          m.Error("threshold", "an availability SLO takes no threshold; set its objective");
        }
      } else {
        double share = 0;
        if (m.Require("threshold") && m.Number("threshold", &share)) {
          if (share <= 0 || share > 1) {
            m.Error("threshold", "a " + kind +
                                     " threshold is a share greater than 0 and at "
                                     "most 1, got " +
                                     m.Get("threshold").Scalar());
          } else {
            slo.threshold = share;
          }
        }
      }
    }
    p->slos.push_back(std::move(slo));
  }
}

void ParseQuality(MapReader& spec, DataProduct* p) {
  Context& ctx = spec.ctx();
  if (!spec.Has("quality")) return;
  const YAML::Node list = spec.Get("quality");
  if (!IsList(ctx, list, "spec.quality")) return;
  std::map<std::string, int> first_line;
  std::vector<std::string_view> kind_names;
  for (const KindSpec& k : ExpectationKinds()) kind_names.push_back(k.kind);
  for (size_t i = 0; i < list.size(); ++i) {
    MapReader m(ctx, list[i], Item("spec.quality", i),
                {"name", "kind", "port", "severity", "fields", "values", "min", "max", "maxChange",
                 "pattern", "maxAge", "reference", "referenceField", "sql"});
    if (!m.ok()) continue;
    Expectation e;
    e.pos = ctx.Pos(list[i]);
    if (m.Name("name", &e.name, true)) {
      if (auto [it, fresh] = first_line.emplace(e.name, e.pos.line); !fresh) {
        m.Error("name", "duplicate expectation name '" + e.name + "' (first at line " +
                            std::to_string(it->second) + ")");
      }
    }
    size_t idx = 0;
    if (m.Enum("severity", {"block", "warn"}, &idx)) e.severity = static_cast<Severity>(idx);
    CheckPort(m, *p, &e.port);
    if (!m.Require("kind") || !m.Enum("kind", kind_names, &idx)) {
      p->expectations.push_back(std::move(e));
      continue;
    }
    const KindSpec& ks = ExpectationKinds()[idx];
    e.kind = std::string(ks.kind);
    static const std::vector<std::string_view> kMembers = {
        "fields",    "values",         "min", "max", "maxChange", "pattern", "maxAge",
        "reference", "referenceField", "sql"};
    for (std::string_view member : kMembers) {
      bool used = std::find(ks.required.begin(), ks.required.end(), member) != ks.required.end() ||
                  std::find(ks.optional.begin(), ks.optional.end(), member) != ks.optional.end();
      if (!used && m.Has(member)) {
        m.Error(member,
                "'" + std::string(member) + "' does not apply to a " + e.kind + " expectation");
      }
    }
    bool complete = true;
    for (std::string_view member : ks.required) complete = m.Require(member) && complete;
    if (!ks.optional.empty() && !m.Has("min") && !m.Has("max")) {
      m.ctx().Error(m.node(), m.path(), "a " + e.kind + " expectation needs min, max or both");
      complete = false;
    }
    if (m.StringList("fields", &e.fields)) CheckFields(m, *p, e);
    if (m.StringList("values", &e.values) && e.values.empty()) {
      m.Error("values", "needs at least one value");
    }
    double v = 0;
    if (m.Number("min", &v)) e.min = v;
    if (m.Number("max", &v)) e.max = v;
    if (e.min && e.max && *e.min > *e.max) m.Error("max", "max must not be less than min");
    if (e.kind == "row_count" && e.min && *e.min < 0) m.Error("min", "must not be negative");
    if (m.Number("maxChange", &v)) {
      if (v <= 0) {
        m.Error("maxChange", "must be greater than 0 (a share of the previous count, e.g. 0.5)");
      } else {
        e.max_change = v;
      }
    }
    std::string text;
    if (m.String("pattern", &text)) {
      try {
        std::regex re(text, std::regex::ECMAScript);
        e.pattern = text;
      } catch (const std::regex_error&) {
        m.Error("pattern", "'" + text + "' is not a valid ECMAScript regular expression");
      }
    }
    int64_t ms = 0;
    if (m.DurationMs("maxAge", &ms)) e.max_age_ms = ms;
    if (m.String("reference", &text)) {
      Result<Address> a = Address::Parse(text);
      if (!a.ok()) {
        m.Error("reference", a.status().message());
      } else if (!a->has_port()) {
        m.Error("reference", "address '" + text +
                                 "' names a product, not a port (expected "
                                 "loom://<domain>/<product>/<port>)");
      } else {
        e.reference = *a;
      }
    }
    m.String("referenceField", &e.reference_field);
    m.String("sql", &e.sql);
    (void)complete;
    p->expectations.push_back(std::move(e));
  }
}

}  // namespace loom::spec::internal
