// ToJson: the canonical JSON of descriptors. Keys are those of the YAML, every member present
// with its default made explicit; nlohmann::json sorts keys, so dump() is canonical.

#include "spec/spec.h"

namespace loom::spec {
namespace {

using nlohmann::json;

template <typename T>
json Opt(const std::optional<T>& v) {
  return v ? json(*v) : json(nullptr);
}

json PermissionsJson(const std::vector<Permission>& ps) {
  json out = json::array();
  for (Permission p : ps) out.push_back(ToString(p));
  return out;
}

json ConstraintsJson(const Constraints& c) {
  return json{{"enum", c.enum_values},          {"pattern", Opt(c.pattern)},
              {"min", Opt(c.minimum)},          {"max", Opt(c.maximum)},
              {"minLength", Opt(c.min_length)}, {"maxLength", Opt(c.max_length)}};
}

json FieldsJson(const std::vector<Field>& fields);

json FieldJson(const Field& f) {
  json j{{"name", f.name},
         {"type", f.type.ToString()},
         {"sqlType", f.type.SqlType()},
         {"description", f.description},
         {"required", f.required},
         {"primaryKey", f.primary_key},
         {"pii", f.pii},
         {"mask", ToString(f.mask)},
         {"globalType", Opt(f.global_type)},
         {"constraints", ConstraintsJson(f.constraints)}};
  const FieldType* t = &f.type;
  while (t->kind == TypeKind::kList && !t->element.empty()) t = &t->element[0];
  if (t->kind == TypeKind::kStruct) j["fields"] = FieldsJson(t->fields);
  return j;
}

json FieldsJson(const std::vector<Field>& fields) {
  json out = json::array();
  for (const Field& f : fields) out.push_back(FieldJson(f));
  return out;
}

json StreamJson(const StreamSettings& s) {
  json retention = "forever";
  if (s.retention_ms || s.retention_bytes) {
    retention = json{{"time", s.retention_ms ? json(FormatDurationMs(*s.retention_ms)) : json()},
                     {"bytes", s.retention_bytes ? json(FormatBytes(*s.retention_bytes)) : json()}};
  }
  return json{{"partitions", s.partitions},
              {"partitionKey", s.partition_key},
              {"eventTime", Opt(s.event_time)},
              {"eventType", s.event_type},
              {"fsync", ToString(s.fsync)},
              {"fsyncInterval", FormatDurationMs(s.fsync_interval_ms)},
              {"compression", ToString(s.compression)},
              {"retention", retention},
              {"segmentBytes", FormatBytes(s.segment_bytes)},
              {"segmentTime", FormatDurationMs(s.segment_ms)},
              {"onInvalid", ToString(s.on_invalid)},
              {"dedupWindow", FormatDurationMs(s.dedup_window_ms)},
              {"maxEventBytes", FormatBytes(s.max_event_bytes)}};
}

json TableJson(const TableSettings& t) {
  json snapshot = nullptr;
  if (t.snapshot) {
    snapshot = json{{"from", t.snapshot->from_port}, {"interval", ToString(t.snapshot->interval)}};
  }
  return json{{"retainVersions", Opt(t.retain_versions)}, {"snapshot", snapshot}};
}

json PortJson(const DataProduct& p, const OutputPort& port) {
  Address a = p.address();
  a.port = port.name;
  json j{{"name", port.name},
         {"kind", ToString(port.kind)},
         {"description", port.description},
         {"address", a.ToString()}};
  if (port.kind == PortKind::kStream) {
    j["stream"] = StreamJson(port.stream);
  } else {
    j["table"] = TableJson(port.table);
  }
  return j;
}

json TransformJson(const Transform& t) {
  json steps = json::array();
  for (const TransformStep& s : t.steps)
    steps.push_back(json{{"kind", s.kind}, {"options", s.options}});
  return json{{"output", t.output},
              {"mode", ToString(t.mode)},
              {"sql", t.sql},
              {"steps", steps},
              {"schedule", t.schedule},
              {"window", t.window_ms ? json(FormatDurationMs(*t.window_ms)) : json()},
              {"allowedLateness", FormatDurationMs(t.allowed_lateness_ms)}};
}

json SloJson(const Slo& s) {
  json threshold = nullptr;
  if (s.threshold_ms) threshold = FormatDurationMs(*s.threshold_ms);
  if (s.threshold) threshold = *s.threshold;
  return json{{"kind", ToString(s.kind)},
              {"port", s.port},
              {"threshold", threshold},
              {"objective", s.objective},
              {"window", FormatDurationMs(s.window_ms)}};
}

json ExpectationJson(const Expectation& e) {
  return json{{"name", e.name},
              {"kind", e.kind},
              {"port", e.port},
              {"severity", ToString(e.severity)},
              {"fields", e.fields},
              {"values", e.values},
              {"min", Opt(e.min)},
              {"max", Opt(e.max)},
              {"maxChange", Opt(e.max_change)},
              {"pattern", Opt(e.pattern)},
              {"maxAge", e.max_age_ms ? json(FormatDurationMs(*e.max_age_ms)) : json()},
              {"reference", e.reference ? json(e.reference->ToString()) : json()},
              {"referenceField", e.reference_field},
              {"sql", e.sql}};
}

json AccessJson(const AccessRule& a) {
  return json{{"principal", a.principal},
              {"permissions", PermissionsJson(a.permissions)},
              {"port", a.port},
              {"rowFilter", Opt(a.row_filter)}};
}

template <typename T, typename F>
json Array(const std::vector<T>& items, F f) {
  json out = json::array();
  for (const T& item : items) out.push_back(f(item));
  return out;
}

}  // namespace

json ToJson(const DataProduct& p) {
  json inputs = json::array();
  for (const InputPort& in : p.input_ports) {
    inputs.push_back(json{{"alias", in.alias}, {"address", in.address.ToString()}});
  }
  json ports = json::array();
  for (const OutputPort& port : p.output_ports) ports.push_back(PortJson(p, port));
  return json{{"apiVersion", kApiVersion},
              {"kind", "DataProduct"},
              {"domain", p.domain},
              {"name", p.name},
              {"version", p.version.ToString()},
              {"address", p.address().ToString()},
              {"title", p.title},
              {"description", p.description},
              {"owner", p.owner},
              {"tags", p.tags},
              {"classification", ToString(p.classification)},
              {"alignment", ToString(p.alignment)},
              {"schema", json{{"fields", FieldsJson(p.schema.fields)}}},
              {"outputPorts", ports},
              {"inputPorts", inputs},
              {"transform", p.transform ? TransformJson(*p.transform) : json()},
              {"slos", Array(p.slos, SloJson)},
              {"quality", Array(p.expectations, ExpectationJson)},
              {"access", Array(p.access, AccessJson)},
              {"deprecated", Opt(p.deprecated)}};
}

json ToJson(const Domain& d) {
  return json{
      {"apiVersion", kApiVersion},    {"kind", "Domain"},   {"name", d.name}, {"title", d.title},
      {"description", d.description}, {"owners", d.owners}, {"tags", d.tags}};
}

json ToJson(const Policy& policy) {
  json types = json::array();
  for (const GlobalType& g : policy.global_types) {
    types.push_back(json{{"name", g.name},
                         {"type", g.type.ToString()},
                         {"sqlType", g.type.SqlType()},
                         {"description", g.description},
                         {"ownerDomain", g.owner_domain},
                         {"constraints", ConstraintsJson(g.constraints)}});
  }
  json rules = json::array();
  for (const PolicyRule& r : policy.rules) {
    json j = r.parameters.is_object() ? r.parameters : json::object();
    j["kind"] = r.kind;
    rules.push_back(j);
  }
  json grants = json::array();
  for (const Grant& g : policy.grants) {
    grants.push_back(json{{"principal", g.principal},
                          {"role", Opt(g.role)},
                          {"permissions", PermissionsJson(g.permissions)},
                          {"domain", g.domain},
                          {"product", g.product},
                          {"port", g.port},
                          {"rowFilter", Opt(g.row_filter)}});
  }
  return json{{"apiVersion", kApiVersion}, {"kind", "Policy"},
              {"name", policy.name},       {"description", policy.description},
              {"globalTypes", types},      {"rules", rules},
              {"grants", grants}};
}

json ToJson(const Document& doc) {
  return std::visit([](const auto& body) { return ToJson(body); }, doc.body);
}

}  // namespace loom::spec
