// Parsing and validation of a product's ports and its transform.

#include <map>
#include <set>

#include "spec/parsers.h"

namespace loom::spec::internal {
namespace {

std::string Item(const std::string& path, size_t i) { return path + "[" + std::to_string(i) + "]"; }

void ParseStream(MapReader& port, const DataProduct& p, StreamSettings* s) {
  Context& ctx = port.ctx();
  MapReader m(ctx, port.Get("stream"), port.PathOf("stream"),
              {"partitions", "partitionKey", "eventTime", "eventType", "fsync", "fsyncInterval",
               "compression", "retention", "segmentBytes", "segmentTime", "onInvalid",
               "dedupWindow", "maxEventBytes"});
  if (!m.ok()) return;
  int64_t n = 0;
  if (m.Int("partitions", &n, 1, 256)) s->partitions = static_cast<uint32_t>(n);
  if (m.StringList("partitionKey", &s->partition_key)) {
    const YAML::Node list = m.Get("partitionKey");
    for (size_t i = 0; i < s->partition_key.size(); ++i) {
      const std::string& name = s->partition_key[i];
      const Field* f = p.schema.Find(name);
      if (f == nullptr && !ctx.schema_complete) continue;
      if (f == nullptr) {
        ctx.Error(list[i], Item(m.PathOf("partitionKey"), i),
                  "no field '" + name + "' in the schema" + DidYouMean(name, [&] {
                    std::vector<std::string_view> names;
                    for (const Field& x : p.schema.fields) names.push_back(x.name);
                    return names;
                  }()));
      } else if (f->type.kind == TypeKind::kList || f->type.kind == TypeKind::kStruct) {
        ctx.Error(
            list[i], Item(m.PathOf("partitionKey"), i),
            "field '" + name + "' is a " + f->type.ToString() + " and cannot be a partition key");
      }
    }
  }
  std::string text;
  if (m.String("eventTime", &text)) {
    const Field* f = p.schema.Find(text);
    if (f == nullptr && !ctx.schema_complete) {
      s->event_time = text;
    } else if (f == nullptr) {
      std::vector<std::string_view> names;
      for (const Field& x : p.schema.fields) names.push_back(x.name);
      m.Error("eventTime", "no field '" + text + "' in the schema" + DidYouMean(text, names));
    } else if (f->type.kind != TypeKind::kTimestamp) {
      m.Error("eventTime", "field '" + text + "' must be a timestamp to hold event time (it is " +
                               f->type.ToString() + ")");
    } else {
      s->event_time = text;
    }
  }
  m.String("eventType", &s->event_type);
  size_t idx = 0;
  if (m.Enum("fsync", {"always", "interval", "never"}, &idx)) {
    s->fsync = static_cast<FsyncPolicy>(idx);
  }
  m.DurationMs("fsyncInterval", &s->fsync_interval_ms);
  if (m.Enum("compression", {"none", "zstd"}, &idx)) s->compression = static_cast<Compression>(idx);
  if (m.Has("retention")) {
    const YAML::Node r = m.Get("retention");
    if (r.IsScalar()) {
      if (r.Scalar() != "forever") {
        m.Error("retention",
                "expected 'forever' or a map {time: 30d, bytes: 10GiB}, got '" + r.Scalar() + "'");
      }
    } else {
      MapReader rm(ctx, r, m.PathOf("retention"), {"time", "bytes"});
      if (rm.ok()) {
        int64_t v = 0;
        if (rm.DurationMs("time", &v)) s->retention_ms = v;
        if (rm.Bytes("bytes", &v)) s->retention_bytes = v;
        if (!rm.Has("time") && !rm.Has("bytes")) {
          m.Error("retention", "needs time, bytes or both (or write 'forever')");
        }
      }
    }
  }
  int64_t bytes = 0;
  if (m.Bytes("segmentBytes", &bytes)) {
    if (bytes < 1024 || bytes > (int64_t{16} << 30)) {
      m.Error("segmentBytes", "must be between 1KiB and 16GiB");
    } else {
      s->segment_bytes = bytes;
    }
  }
  m.DurationMs("segmentTime", &s->segment_ms);
  if (m.Enum("onInvalid", {"reject", "quarantine"}, &idx))
    s->on_invalid = static_cast<OnInvalid>(idx);
  m.DurationMs("dedupWindow", &s->dedup_window_ms, /*allow_zero=*/true);
  if (m.Bytes("maxEventBytes", &bytes)) {
    if (bytes < 1) {
      m.Error("maxEventBytes", "must be at least 1B");
    } else if (bytes > s->segment_bytes) {
      m.Error("maxEventBytes",
              "must not exceed segmentBytes (" + FormatBytes(s->segment_bytes) + ")");
    } else {
      s->max_event_bytes = bytes;
    }
  }
}

// Reads `table:`; sets *from to the snapshot's `from:` node, checked once all ports are known.
void ParseTable(MapReader& port, TableSettings* t, std::optional<YAML::Node>* from) {
  Context& ctx = port.ctx();
  MapReader m(ctx, port.Get("table"), port.PathOf("table"), {"retainVersions", "snapshot"});
  if (!m.ok()) return;
  int64_t n = 0;
  if (m.Int("retainVersions", &n, 1, 1000000)) t->retain_versions = static_cast<uint32_t>(n);
  if (!m.Has("snapshot")) return;
  MapReader s(ctx, m.Get("snapshot"), m.PathOf("snapshot"), {"from", "interval"});
  if (!s.ok()) return;
  SnapshotSettings snap;
  size_t idx = 0;
  if (s.Enum("interval", {"hourly", "daily", "monthly"}, &idx)) {
    snap.interval = static_cast<SnapshotInterval>(idx);
  }
  if (s.String("from", &snap.from_port, true)) from->emplace(s.Get("from"));
  t->snapshot = snap;
}

}  // namespace

void ParseOutputPorts(MapReader& spec, DataProduct* p) {
  Context& ctx = spec.ctx();
  if (!spec.Require("outputPorts")) return;
  const YAML::Node list = spec.Get("outputPorts");
  const std::string path = "spec.outputPorts";
  if (!IsList(ctx, list, path)) return;
  if (list.size() == 0) {
    ctx.Error(list, path, "needs at least one output port");
    return;
  }
  std::map<std::string, int> first_line;
  std::vector<YAML::Node> from_nodes;  // snapshot.from of each port, checked once all are known
  std::vector<std::string> from_paths;
  for (size_t i = 0; i < list.size(); ++i) {
    OutputPort port;
    MapReader m(ctx, list[i], Item(path, i), {"name", "kind", "description", "stream", "table"});
    if (!m.ok()) continue;
    port.pos = ctx.Pos(list[i]);
    if (m.Name("name", &port.name, true)) {
      auto [it, fresh] = first_line.emplace(port.name, port.pos.line);
      if (!fresh) {
        m.Error("name", "duplicate port name '" + port.name + "' (first at line " +
                            std::to_string(it->second) + ")");
      }
    }
    size_t idx = 0;
    bool kind_ok = m.Require("kind") && m.Enum("kind", {"stream", "table"}, &idx);
    port.kind = static_cast<PortKind>(idx);
    m.String("description", &port.description);
    if (kind_ok && port.kind == PortKind::kTable && m.Has("stream")) {
      m.Error("stream", "'stream' settings apply only to ports of kind stream");
    } else if (kind_ok && port.kind == PortKind::kStream && m.Has("table")) {
      m.Error("table", "'table' settings apply only to ports of kind table");
    } else {
      if (m.Has("stream")) ParseStream(m, *p, &port.stream);
      if (m.Has("table")) {
        std::optional<YAML::Node> from;
        ParseTable(m, &port.table, &from);
        if (from) {
          from_nodes.push_back(*from);
          from_paths.push_back(m.PathOf("table") + ".snapshot.from");
        }
      }
    }
    p->output_ports.push_back(std::move(port));
  }
  for (size_t i = 0; i < from_nodes.size(); ++i) {
    const std::string from = from_nodes[i].Scalar();
    const OutputPort* src = p->FindPort(from);
    std::vector<std::string_view> streams;
    for (const OutputPort& op : p->output_ports) {
      if (op.kind == PortKind::kStream) streams.push_back(op.name);
    }
    if (src == nullptr) {
      ctx.Error(from_nodes[i], from_paths[i],
                "no output port '" + from + "' in this product" + DidYouMean(from, streams));
    } else if (src->kind != PortKind::kStream) {
      ctx.Error(from_nodes[i], from_paths[i],
                "port '" + from + "' is a table; a snapshot is taken from a stream port");
    }
  }
}

void ParseInputPorts(MapReader& spec, DataProduct* p) {
  Context& ctx = spec.ctx();
  if (!spec.Has("inputPorts")) return;
  const YAML::Node list = spec.Get("inputPorts");
  const std::string path = "spec.inputPorts";
  if (!IsList(ctx, list, path)) return;
  std::map<std::string, int> first_line;
  for (size_t i = 0; i < list.size(); ++i) {
    InputPort in;
    MapReader m(ctx, list[i], Item(path, i), {"alias", "address"});
    if (!m.ok()) continue;
    in.pos = ctx.Pos(list[i]);
    if (m.String("alias", &in.alias, true)) {
      if (std::string problem = FieldNameProblem(in.alias); !problem.empty()) {
        m.Error("alias", "'" + in.alias + "' is not a valid alias (a SQL name): " + problem);
      } else if (auto [it, fresh] = first_line.emplace(in.alias, in.pos.line); !fresh) {
        m.Error("alias", "duplicate alias '" + in.alias + "' (first at line " +
                             std::to_string(it->second) + ")");
      }
    }
    std::string text;
    if (m.String("address", &text, true)) {
      Result<Address> a = Address::Parse(text);
      if (!a.ok()) {
        m.Error("address", a.status().message());
      } else if (!a->has_port()) {
        m.Error("address", "address '" + text +
                               "' names a product, not a port (expected "
                               "loom://<domain>/<product>/<port>)");
      } else {
        in.address = *a;
      }
    }
    p->input_ports.push_back(std::move(in));
  }
}

void ParseTransform(MapReader& spec, DataProduct* p) {
  Context& ctx = spec.ctx();
  if (!spec.Has("transform")) return;
  MapReader m(ctx, spec.Get("transform"), "spec.transform",
              {"output", "mode", "sql", "steps", "schedule", "window", "allowedLateness"});
  if (!m.ok()) return;
  Transform t;
  t.pos = ctx.Pos(m.node());
  if (m.String("output", &t.output, true) && p->FindPort(t.output) == nullptr) {
    std::vector<std::string_view> names;
    for (const OutputPort& op : p->output_ports) names.push_back(op.name);
    m.Error("output",
            "no output port '" + t.output + "' in this product" + DidYouMean(t.output, names));
  }
  size_t idx = 0;
  if (m.Enum("mode", {"batch", "streaming"}, &idx)) t.mode = static_cast<TransformMode>(idx);
  m.String("sql", &t.sql, true);
  t.schedule = "on-input";
  std::string schedule;
  if (m.String("schedule", &schedule)) {
    static const std::vector<std::string_view> kKeywords = {"on-input", "hourly", "daily",
                                                            "monthly"};
    bool keyword = std::find(kKeywords.begin(), kKeywords.end(), schedule) != kKeywords.end();
    size_t fields = 0;
    bool cron_chars = !schedule.empty();
    bool in_field = false;
    for (char c : schedule) {
      if (c == ' ') {
        in_field = false;
        continue;
      }
      if (!in_field) ++fields;
      in_field = true;
      if (!((c >= '0' && c <= '9') || c == '*' || c == '/' || c == ',' || c == '-')) {
        cron_chars = false;
      }
    }
    if (keyword || (cron_chars && fields == 5)) {
      t.schedule = schedule;
    } else {
      m.Error("schedule", "unknown schedule '" + schedule + "'" +
                              (internal::NearestName(schedule, kKeywords).empty()
                                   ? " (expected on-input, hourly, daily, monthly or a cron "
                                     "expression of 5 fields)"
                                   : DidYouMean(schedule, kKeywords)));
    }
  }
  int64_t ms = 0;
  if (m.DurationMs("window", &ms)) t.window_ms = ms;
  m.DurationMs("allowedLateness", &t.allowed_lateness_ms, /*allow_zero=*/true);
  if (m.Has("steps")) {
    const YAML::Node list = m.Get("steps");
    if (IsList(ctx, list, m.PathOf("steps"))) {
      for (size_t i = 0; i < list.size(); ++i) {
        MapReader s(ctx, list[i], Item(m.PathOf("steps"), i), {"kind", "options"});
        if (!s.ok()) continue;
        TransformStep step;
        if (s.Require("kind") && s.Enum("kind", {"dedupe", "sessionize", "enrich"}, &idx)) {
          static const std::string_view kSteps[] = {"dedupe", "sessionize", "enrich"};
          step.kind = std::string(kSteps[idx]);
        }
        if (s.Has("options")) {
          const YAML::Node opts = s.Get("options");
          if (!opts.IsMap()) {
            s.Error("options", "expected a map, got " + std::string(NodeTypeName(opts)));
          } else {
            for (auto it = opts.begin(); it != opts.end(); ++it) {
              std::string key = it->first.IsScalar() ? it->first.Scalar() : "";
              std::string value;
              if (ReadString(ctx, it->second, s.PathOf("options") + "." + key, &value)) {
                step.options[key] = value;
              }
            }
          }
        }
        t.steps.push_back(std::move(step));
      }
    }
  }
  p->transform = std::move(t);
}

void ParseAccess(MapReader& spec, DataProduct* p) {
  Context& ctx = spec.ctx();
  if (!spec.Has("access")) return;
  const YAML::Node list = spec.Get("access");
  if (!IsList(ctx, list, "spec.access")) return;
  for (size_t i = 0; i < list.size(); ++i) {
    MapReader m(ctx, list[i], Item("spec.access", i),
                {"principal", "permissions", "port", "rowFilter"});
    if (!m.ok()) continue;
    AccessRule rule;
    rule.pos = ctx.Pos(list[i]);
    ParsePrincipal(m, "principal", &rule.principal, true);
    if (m.Require("permissions")) ParsePermissions(m, "permissions", &rule.permissions);
    if (m.String("port", &rule.port) && p->FindPort(rule.port) == nullptr) {
      std::vector<std::string_view> names;
      for (const OutputPort& op : p->output_ports) names.push_back(op.name);
      m.Error("port",
              "no output port '" + rule.port + "' in this product" + DidYouMean(rule.port, names));
    }
    m.OptString("rowFilter", &rule.row_filter);
    p->access.push_back(std::move(rule));
  }
}

}  // namespace loom::spec::internal
