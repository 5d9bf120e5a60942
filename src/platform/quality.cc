// Quality expectations run by the platform: on a staged table version before it becomes current,
// on closed windows of stream ports, and on demand; their results shown to readers through the
// readers' own query sessions. See docs/quality.md.

#include "core/metrics.h"
#include "platform/platform.h"

namespace loom::platform {
namespace {

using nlohmann::json;

// `cipher`: the table's, for an encrypted version (the session opens its files in memory).
engine::Relation SnapshotRelation(const std::string& sql_name, const table::Snapshot& snap,
                                  const BlockCipher* cipher) {
  engine::Relation r;
  r.sql_name = sql_name;
  r.files = snap.file_paths;
  r.file_aads = snap.file_aads;
  r.cipher = cipher;
  for (const table::Column& c : snap.manifest.schema) r.columns.push_back({c.name, c.sql_type, ""});
  return r;
}

// The input of a check run on `product`'s `port`. Failing sample rows are kept in quality.db in
// plaintext: none for a product encrypted at rest (docs/security.md).
quality::CheckInput InputFor(const spec::DataProduct& product, const std::string& port) {
  quality::CheckInput in;
  in.product = product;
  in.port = port;
  if (security::RequiresEncryption(product.classification)) in.max_samples = 0;
  return in;
}

void CountCheck(const Address& port, const quality::CheckReport& report) {
  metrics::Registry::Default()
      .GetCounter("loom_quality_checks_total", "Quality check runs by outcome.",
                  {{"product", port.domain + "/" + port.product},
                   {"port", port.port},
                   {"outcome", std::string(quality::ToString(report.outcome()))}})
      .Inc();
}

std::string WindowPredicate(const std::string& column, TimestampMicros start, TimestampMicros end) {
  return engine::QuoteIdent(column) + " >= " + engine::QuoteString(FormatRfc3339(start)) +
         "::TIMESTAMPTZ AND " + engine::QuoteIdent(column) + " < " +
         engine::QuoteString(FormatRfc3339(end)) + "::TIMESTAMPTZ";
}

// `sql` with every mention of the relation `name` as a whole word replaced by `with`.
std::string RenameRelation(const std::string& sql, const std::string& name,
                           const std::string& with) {
  auto word = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '"';
  };
  std::string out;
  size_t pos = 0;
  while (true) {
    size_t at = sql.find(name, pos);
    if (at == std::string::npos) break;
    const size_t after = at + name.size();
    const bool whole =
        (at == 0 || !word(sql[at - 1])) && (after >= sql.size() || !word(sql[after]));
    out += sql.substr(pos, at - pos) + (whole ? with : name);
    pos = after;
  }
  return out + sql.substr(pos);
}

}  // namespace

Result<std::vector<engine::Relation>> Platform::CheckReferences(const spec::DataProduct& product) {
  std::vector<Address> wanted;
  for (const spec::Expectation& e : product.expectations) {
    if (e.reference) wanted.push_back(*e.reference);
  }
  for (const spec::InputPort& in : product.input_ports) wanted.push_back(in.address);
  std::vector<engine::Relation> out;
  for (const Address& a : wanted) {
    Address port{a.domain, a.product, a.port, {}};
    Result<std::unique_ptr<PortRef>> ref = ResolvePort(port);
    if (!ref.ok()) continue;  // a referential check then reports the missing reference
    if ((*ref)->port->kind == spec::PortKind::kStream) {
      LOOM_ASSIGN_OR_RETURN(engine::Relation r, StreamRelation(**ref));
      out.push_back(std::move(r));
      continue;
    }
    const BlockCipher* cipher = nullptr;
    LOOM_ASSIGN_OR_RETURN(table::Table * t, GetTable(**ref, &cipher));
    Result<table::Snapshot> snap = t->Current();
    if (!snap.ok()) {
      if (snap.status().code() == StatusCode::kNotFound) continue;
      return snap.status();
    }
    out.push_back(SnapshotRelation(port.SqlName(), *snap, cipher));
  }
  return out;
}

std::function<Status(const table::Snapshot&, const table::Snapshot*)> Platform::QualityGate(
    const PortRef& ref, const std::shared_ptr<quality::CheckReport>& report) {
  const spec::DataProduct product = ref.product;
  const std::string port = ref.port->name;
  return [this, product, port, report](const table::Snapshot& staged,
                                       const table::Snapshot* current) -> Status {
    if (quality::ExpectationsFor(product, port).empty()) return Status::Ok();
    const Address a{product.domain, product.name, port, {}};
    PortRef self{product, nullptr};
    self.port = self.product.FindPort(port);
    const BlockCipher* cipher = nullptr;
    LOOM_RETURN_IF_ERROR(GetTable(self, &cipher).status());
    quality::CheckInput in = InputFor(product, port);
    in.relation = SnapshotRelation(a.SqlName(), staged, cipher);
    in.label = "version " + staged.manifest.version.ToString();
    if (current != nullptr) in.previous_rows = current->manifest.row_count;
    in.now = options_.clock->NowMicros();
    in.scratch_dir = JoinPath(options_.data_dir, "scratch");
    LOOM_ASSIGN_OR_RETURN(in.references, CheckReferences(product));
    LOOM_ASSIGN_OR_RETURN(*report, quality::RunChecks(in));
    if (report->outcome() != quality::Outcome::kBlocked) return Status::Ok();
    CountCheck(a, *report);
    quality::Store::RunKey key{a.ToString(), staged.manifest.version.number(), {}, {}};
    Status recorded = quality_->Record(key, *report, in.now, /*published=*/false);
    if (!recorded.ok()) {
      quality::LogJson("error", "quality result not recorded",
                       {{"address", a.ToString()}, {"error", recorded.ToString()}});
    }
    return FailedPrecondition(report->BlockMessage());
  };
}

void Platform::RecordPublished(const Address& port, const table::Manifest& m,
                               const std::shared_ptr<quality::CheckReport>& report) {
  if (report->address.empty()) return;  // the port has no expectations
  Address a{port.domain, port.product, port.port, {}};
  CountCheck(a, *report);
  quality::Store::RunKey key{a.ToString(), m.version.number(), {}, {}};
  Status recorded = quality_->Record(key, *report, options_.clock->NowMicros(), true);
  if (!recorded.ok()) {
    quality::LogJson("error", "quality result not recorded",
                     {{"address", a.ToString()}, {"error", recorded.ToString()}});
  }
}

Result<json> Platform::CheckStreamPort(const PortRef& ref, size_t max_windows) {
  const Address a{ref.product.domain, ref.product.name, ref.port->name, {}};
  json checks = json::array();
  if (quality::ExpectationsFor(ref.product, ref.port->name).empty()) {
    return json{{"address", a.ToString()}, {"checks", checks}};
  }
  const int64_t w = options_.stream_check_window_ms * 1000;
  const TimestampMicros now = options_.clock->NowMicros();
  const TimestampMicros current_start = now - ((now % w) + w) % w;
  // The windows after the last one checked, oldest first; the first time, the latest closed one.
  LOOM_ASSIGN_OR_RETURN(json last, quality_->Runs(a.ToString(), 1));
  TimestampMicros start = current_start - w;
  std::optional<uint64_t> previous_rows;
  if (!last["runs"].empty() && last["runs"][0].contains("windowEnd")) {
    LOOM_ASSIGN_OR_RETURN(TimestampMicros end,
                          ParseRfc3339(last["runs"][0]["windowEnd"].get<std::string>()));
    start = std::max(end, current_start - static_cast<int64_t>(max_windows) * w);
    previous_rows = last["runs"][0]["rows"].get<uint64_t>();
  }
  if (start >= current_start) return json{{"address", a.ToString()}, {"checks", checks}};
  LOOM_ASSIGN_OR_RETURN(engine::Relation stream, StreamRelation(ref));
  LOOM_ASSIGN_OR_RETURN(std::vector<engine::Relation> refs, CheckReferences(ref.product));
  const std::string time_col = ref.port->stream.event_time.value_or("ce_time");
  for (; start < current_start; start += w) {
    quality::CheckInput in = InputFor(ref.product, ref.port->name);
    in.relation = stream;
    in.relation.row_filter = WindowPredicate(time_col, start, start + w);
    in.label = "window [" + FormatRfc3339(start) + ", " + FormatRfc3339(start + w) + ")";
    in.previous_rows = previous_rows;
    in.now = now;
    in.references = refs;
    in.scratch_dir = JoinPath(options_.data_dir, "scratch");
    LOOM_ASSIGN_OR_RETURN(quality::CheckReport report, quality::RunChecks(in));
    quality::Store::RunKey key{a.ToString(), std::nullopt, start, start + w};
    LOOM_RETURN_IF_ERROR(quality_->Record(key, report, now, true));
    CountCheck(a, report);
    previous_rows = report.rows;
    checks.push_back(report.ToJson());
  }
  return json{{"address", a.ToString()}, {"checks", checks}};
}

Result<json> Platform::CheckQuality(const Caller& caller, const Address& address) {
  // Running checks records results for everyone: the port's writers (owners, producers) may.
  LOOM_RETURN_IF_ERROR(
      Require(caller, address, security::Operation::kWrite, "quality-check").status());
  LOOM_ASSIGN_OR_RETURN(std::unique_ptr<PortRef> ref, ResolvePort(address));
  const Address a{address.domain, address.product, address.port, {}};
  if (ref->port->kind == spec::PortKind::kStream) {
    LOOM_ASSIGN_OR_RETURN(json checked, CheckStreamPort(*ref, 24));
    LOOM_RETURN_IF_ERROR(Audited(caller, "quality-check", a, -1));
    return checked;
  }
  const BlockCipher* cipher = nullptr;
  LOOM_ASSIGN_OR_RETURN(table::Table * t, GetTable(*ref, &cipher));
  LOOM_ASSIGN_OR_RETURN(table::Snapshot snap, t->Current());
  quality::CheckInput in = InputFor(ref->product, ref->port->name);
  in.relation = SnapshotRelation(a.SqlName(), snap, cipher);
  in.label = "version " + snap.manifest.version.ToString();
  if (snap.manifest.version.number() > 1) {
    Result<table::Snapshot> prev = t->At(table::Version(snap.manifest.version.number() - 1));
    if (prev.ok()) in.previous_rows = prev->manifest.row_count;
  }
  in.now = options_.clock->NowMicros();
  in.scratch_dir = JoinPath(options_.data_dir, "scratch");
  LOOM_ASSIGN_OR_RETURN(in.references, CheckReferences(ref->product));
  LOOM_ASSIGN_OR_RETURN(quality::CheckReport report, quality::RunChecks(in));
  quality::Store::RunKey key{a.ToString(), snap.manifest.version.number(), {}, {}};
  LOOM_RETURN_IF_ERROR(quality_->Record(key, report, in.now, true));
  CountCheck(a, report);
  LOOM_RETURN_IF_ERROR(Audited(caller, "quality-check", a, static_cast<int64_t>(report.rows)));
  return json{{"address", a.ToString()}, {"checks", json::array({report.ToJson()})}};
}

Result<json> Platform::CheckDueStreamWindows() {
  LOOM_ASSIGN_OR_RETURN(std::vector<spec::DataProduct> products, LoadProducts());
  json out = json::array();
  for (const spec::DataProduct& product : products) {
    for (const spec::OutputPort& port : product.output_ports) {
      if (port.kind != spec::PortKind::kStream) continue;
      if (quality::ExpectationsFor(product, port.name).empty()) continue;
      PortRef ref{product, &port};
      LOOM_ASSIGN_OR_RETURN(json r, CheckStreamPort(ref, 24));
      if (!r["checks"].empty()) out.push_back(std::move(r));
    }
  }
  return json{{"streams", out}};
}

Result<json> Platform::QualityResults(const Caller& caller, const Address& address, size_t limit) {
  LOOM_RETURN_IF_ERROR(Require(caller, address, security::Operation::kRead, "quality").status());
  LOOM_ASSIGN_OR_RETURN(std::unique_ptr<PortRef> ref, ResolvePort(address));
  const Address a{address.domain, address.product, address.port, {}};
  LOOM_ASSIGN_OR_RETURN(json out, quality_->Runs(a.ToString(), limit == 0 ? 10 : limit));
  const bool stream = ref->port->kind == spec::PortKind::kStream;
  const std::string time_col = ref->port->stream.event_time.value_or("ce_time");
  for (json& run : out["runs"]) {
    for (json& r : run["results"]) {
      std::string sample_sql = r.value("sampleSql", "");
      r.erase("sampleSql");
      // Samples of a published version or a window are read again through the caller's own
      // session: what this reader may see, masked as this reader requires. A refused version
      // is gone; its redacted samples are kept for those who may write the port.
      if (!run.value("published", false) || r.value("passed", true) || sample_sql.empty()) {
        if (!run.value("published", false)) continue;
        r["samples"] = json::array();
        continue;
      }
      std::string rel = a.SqlName();
      std::string from;
      if (stream) {
        LOOM_ASSIGN_OR_RETURN(TimestampMicros start, ParseRfc3339(run.value("windowStart", "")));
        LOOM_ASSIGN_OR_RETURN(TimestampMicros end, ParseRfc3339(run.value("windowEnd", "")));
        from = "(SELECT * FROM " + rel + " WHERE " + WindowPredicate(time_col, start, end) + ")";
      } else {
        from = rel + "__v" + std::to_string(run.value("version", 0));
      }
      // The stored query names the port's relation: point it at the version or window.
      std::string sql = RenameRelation(sample_sql, rel, from);
      sql.insert(0, "SELECT * FROM (").append(") AS s LIMIT 5");
      Result<std::unique_ptr<engine::Session>> session =
          OpenQuerySession(caller, sql, std::nullopt);
      Result<engine::Rows> rows =
          session.ok() ? (*session)->QueryRows(sql, 5) : Result<engine::Rows>(session.status());
      if (rows.ok()) {
        r["samples"] = rows->ToJson();
      } else {
        r["samples"] = json::array();
        r["samplesError"] = rows.status().message();
      }
    }
  }
  LOOM_RETURN_IF_ERROR(Audited(caller, "quality", a, -1));
  return out;
}

}  // namespace loom::platform
