// Table ports and SQL: publishing versions, listing them, queries and samples.

#include <regex>
#include <set>

#include "core/metrics.h"
#include "platform/platform.h"
#include "platform/scratch_query.h"

namespace loom::platform {
namespace {

using nlohmann::json;

json ManifestSummary(const table::Manifest& m) {
  json inputs = json::array();
  for (const table::InputRef& in : m.inputs) {
    json j = {{"address", in.address}};
    if (in.version) j["version"] = *in.version;
    if (in.partition) j["partition"] = *in.partition;
    if (in.offset_begin) j["offsetBegin"] = *in.offset_begin;
    if (in.offset_end) j["offsetEnd"] = *in.offset_end;
    inputs.push_back(std::move(j));
  }
  return {{"version", m.version.number()},
          {"publishedAt", FormatRfc3339(m.published_at)},
          {"publishedBy", m.published_by},
          {"source", std::string(table::ToString(m.source_kind))},
          {"sourceDescription", m.source_description},
          {"rows", m.row_count},
          {"files", m.files.size()},
          {"inputs", inputs}};
}

// `<port>__v<N>` names in SQL text: the explicit versions a query asks for.
std::set<std::pair<std::string, uint64_t>> VersionedNames(const std::string& sql) {
  static const std::regex kVersioned(
      R"(([a-z][a-z0-9_]*)\.([a-z][a-z0-9_]*)\.([a-z][a-z0-9_]*)__v([0-9]{1,12})\b)",
      std::regex::icase);
  std::set<std::pair<std::string, uint64_t>> out;
  for (auto it = std::sregex_iterator(sql.begin(), sql.end(), kVersioned);
       it != std::sregex_iterator(); ++it) {
    std::string name = (*it)[1].str() + "." + (*it)[2].str() + "." + (*it)[3].str();
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.insert({name, std::stoull((*it)[4].str())});
  }
  return out;
}

// Whether `sql` holds each of the domain, product and port words of `sql_name`, in any case
// (a loose test, for what is costly to open: a port it misses would be unknown to the query).
bool MentionsEveryPart(const std::string& sql, const std::string& sql_name) {
  std::string lower = sql;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (size_t at = 0;;) {
    size_t dot = sql_name.find('.', at);
    if (lower.find(sql_name.substr(at, dot == std::string::npos ? dot : dot - at)) ==
        std::string::npos) {
      return false;
    }
    if (dot == std::string::npos) return true;
    at = dot + 1;
  }
}

engine::Relation RelationOf(const std::string& sql_name, const table::Snapshot* snapshot,
                            const spec::Schema& schema, const BlockCipher* cipher) {
  engine::Relation r;
  r.sql_name = sql_name;
  if (snapshot != nullptr) {
    r.files = snapshot->file_paths;
    r.file_aads = snapshot->file_aads;  // an encrypted version: the session opens it in memory
    r.cipher = cipher;
    for (const table::Column& c : snapshot->manifest.schema) {
      r.columns.push_back({c.name, c.sql_type, ""});
    }
  } else {
    for (const spec::Field& f : schema.fields) r.columns.push_back({f.name, f.type.SqlType(), ""});
  }
  return r;
}

}  // namespace

std::string Platform::TableDir(const Address& port) const {
  return JoinPath(
      JoinPath(JoinPath(JoinPath(options_.data_dir, "tables"), port.domain), port.product),
      port.port);
}

Result<std::unique_ptr<Platform::PortRef>> Platform::ResolvePort(const Address& address) {
  if (!address.has_port()) {
    return InvalidArgument("address " + address.ToString() + " names no port (expected " +
                           address.ToString() + "/<port>)");
  }
  LOOM_ASSIGN_OR_RETURN(std::shared_ptr<const catalog::StoredDocument> doc,
                        catalog_->Current(catalog::ProductKey(address.domain, address.product)));
  LOOM_ASSIGN_OR_RETURN(std::shared_ptr<const spec::DataProduct> product, LoadSharedProduct(*doc));
  auto ref = std::make_unique<PortRef>(std::move(product), nullptr);
  ref->port = ref->product.FindPort(address.port);
  if (ref->port == nullptr) {
    return NotFound("product " + ref->product.address().ToString() + " has no port '" +
                    address.port + "'");
  }
  return ref;
}

Result<table::Table*> Platform::GetTable(const PortRef& ref, const BlockCipher** cipher) {
  if (ref.port->kind != spec::PortKind::kTable) {
    return InvalidArgument(
        "port " + Address{ref.product.domain, ref.product.name, ref.port->name, {}}.ToString() +
        " is a stream port, not a table port");
  }
  Address a{ref.product.domain, ref.product.name, ref.port->name, {}};
  std::string version = ref.product.version.ToString();
  std::lock_guard<std::mutex> lock(tables_mu_);
  OpenTable& open = tables_[a.ToString()];
  if (open.table == nullptr || open.descriptor_version != version) {
    table::TableOptions options;
    options.root = TableDir(a);
    options.name = a.ToString();
    options.schema = ref.product.schema;
    options.settings = ref.port->table;
    options.clock = options_.clock;
    LOOM_ASSIGN_OR_RETURN(std::unique_ptr<security::Cipher> sealer, PortCipher(ref.product));
    options.cipher = sealer.get();
    LOOM_ASSIGN_OR_RETURN(std::unique_ptr<table::Table> t, table::Table::Open(std::move(options)));
    open.table = std::move(t);  // the old table goes before the cipher it used
    open.cipher = std::move(sealer);
    open.descriptor_version = version;
  }
  if (cipher != nullptr) *cipher = open.cipher.get();
  return open.table.get();
}

Result<json> Platform::PublishTableFile(const Caller& caller, const Address& address,
                                        const std::string& path, table::SourceKind kind) {
  LOOM_RETURN_IF_ERROR(Require(caller, address, security::Operation::kWrite, "publish").status());
  LOOM_ASSIGN_OR_RETURN(std::unique_ptr<PortRef> ref, ResolvePort(address));
  LOOM_ASSIGN_OR_RETURN(table::Table * t, GetTable(*ref));
  table::PublishOptions options;
  options.published_by = caller.principal();
  options.source_description = std::string(table::ToString(kind)) + " file";
  auto report = std::make_shared<quality::CheckReport>();
  options.before_commit = QualityGate(*ref, report);
  LOOM_ASSIGN_OR_RETURN(table::Manifest m, t->PublishFile(path, kind, options));
  RecordPublished(address, m, report);
  LOOM_RETURN_IF_ERROR(Audited(caller, "publish", address, static_cast<int64_t>(m.row_count)));
  Address a{address.domain, address.product, address.port, m.version.ToString()};
  json out = ManifestSummary(m);
  out["address"] = a.ToString();
  return out;
}

Result<json> Platform::PublishTableQuery(const Caller& caller, const Address& address,
                                         const std::string& sql) {
  LOOM_RETURN_IF_ERROR(
      Require(caller, address, security::Operation::kWrite, "publish", sql).status());
  LOOM_ASSIGN_OR_RETURN(std::unique_ptr<PortRef> ref, ResolvePort(address));
  const BlockCipher* cipher = nullptr;
  LOOM_ASSIGN_OR_RETURN(table::Table * t, GetTable(*ref, &cipher));
  // The result goes through a Parquet file in the scratch space: the table validates and
  // publishes files, and the query never runs outside the caller's closed session.
  QueryOptions options;
  options.format = engine::Format::kParquet;
  LOOM_ASSIGN_OR_RETURN(std::unique_ptr<PreparedQuery> q, PrepareQuery(caller, sql, options));
  std::string dir = JoinPath(JoinPath(options_.data_dir, "scratch"), "query-results");
  // An encrypted target's rows stay in memory until the table seals them.
  LOOM_ASSIGN_OR_RETURN(std::unique_ptr<ScratchParquet> result,
                        RunToScratchParquet(*q, dir, cipher != nullptr));
  table::PublishOptions po;
  po.published_by = caller.principal();
  po.source_description = "query: " + sql.substr(0, 500);
  // Inputs: every port the SQL names (a text match; the front door admitted it).
  LOOM_ASSIGN_OR_RETURN(std::vector<Address> named, NamedPorts(sql));
  for (const Address& a : named) {
    table::InputRef in;
    in.address = a.ToString();
    po.inputs.push_back(in);
  }
  auto report = std::make_shared<quality::CheckReport>();
  po.before_commit = QualityGate(*ref, report);
  Result<table::Manifest> m = t->PublishFile(result->path(), table::SourceKind::kParquet, po);
  if (!m.ok()) return m.status();
  RecordPublished(address, *m, report);
  LOOM_RETURN_IF_ERROR(
      Audited(caller, "publish", address, static_cast<int64_t>(m->row_count), sql));
  json out = ManifestSummary(*m);
  out["address"] =
      Address{address.domain, address.product, address.port, m->version.ToString()}.ToString();
  return out;
}

Result<json> Platform::TableVersions(const Caller& caller, const Address& address) {
  LOOM_RETURN_IF_ERROR(Require(caller, address, security::Operation::kRead, "show").status());
  LOOM_ASSIGN_OR_RETURN(std::unique_ptr<PortRef> ref, ResolvePort(address));
  LOOM_ASSIGN_OR_RETURN(table::Table * t, GetTable(*ref));
  LOOM_ASSIGN_OR_RETURN(std::vector<table::Manifest> versions, t->Versions());
  LOOM_ASSIGN_OR_RETURN(table::Version current, t->CurrentVersion());
  json out = {{"address", Address{address.domain, address.product, address.port, {}}.ToString()},
              {"current", current.number()},
              {"versions", json::array()}};
  for (const table::Manifest& m : versions) out["versions"].push_back(ManifestSummary(m));
  LOOM_RETURN_IF_ERROR(Audited(caller, "show", address, -1, "", "table versions"));
  return out;
}

Result<std::unique_ptr<engine::Session>> Platform::OpenQuerySession(const Caller& caller) {
  return OpenQuerySession(caller, "", std::nullopt);
}

Result<std::unique_ptr<engine::Session>> Platform::OpenQuerySession(
    const Caller& caller, const std::string& sql, std::optional<TimestampMicros> as_of) {
  return OpenSession(caller, sql, as_of, {});
}

Result<std::unique_ptr<engine::Session>> Platform::OpenSession(
    const Caller& caller, const std::string& sql, std::optional<TimestampMicros> as_of,
    const std::map<std::string, const engine::Relation*>& slices) {
  LOOM_ASSIGN_OR_RETURN(engine::SessionOptions options,
                        SessionOptionsFor(caller, sql, as_of, slices));
  return engine::Session::Open(std::move(options));
}

Result<engine::SessionOptions> Platform::SessionOptionsFor(
    const Caller& caller, const std::string& sql, std::optional<TimestampMicros> as_of,
    const std::map<std::string, const engine::Relation*>& slices) {
  std::shared_ptr<const security::Authorizer> authz = Authz();
  engine::SessionOptions options;
  options.scratch_dir = JoinPath(options_.data_dir, "scratch");
  LOOM_RETURN_IF_ERROR(FileSystem::Default()->CreateDirs(options.scratch_dir));
  std::set<std::pair<std::string, uint64_t>> versioned = VersionedNames(sql);
  LOOM_ASSIGN_OR_RETURN(std::vector<catalog::ProductSummary> products,
                        catalog_->ListProducts(std::nullopt));
  for (const catalog::ProductSummary& summary : products) {
    LOOM_ASSIGN_OR_RETURN(
        catalog::StoredDocument doc,
        catalog_->Get(catalog::ProductKey(summary.domain, summary.name), std::nullopt));
    LOOM_ASSIGN_OR_RETURN(const spec::DataProduct product, LoadProduct(doc));
    for (const spec::OutputPort& port : product.output_ports) {
      Address a{product.domain, product.name, port.name, {}};
      // A port the caller may not read is left out: its name is then unknown, as if absent.
      security::Decision d = authz->Check(caller.identity, a, security::Operation::kRead);
      if (!d.allowed) continue;
      PortRef ref{product, &port};
      if (port.kind == spec::PortKind::kStream) {
        // Only streams the SQL names are brought up to date (tiering costs a conversion).
        if (!MentionsEveryPart(sql, a.SqlName())) continue;
        engine::Relation r;
        if (auto slice = slices.find(a.SqlName()); slice != slices.end()) {
          r = *slice->second;
        } else {
          LOOM_ASSIGN_OR_RETURN(r, StreamRelation(ref));
        }
        LOOM_RETURN_IF_ERROR(Protect(d, product.schema, r));
        options.relations.push_back(std::move(r));
        continue;
      }
      // An encrypted table the SQL cannot name is left out: opening it would decrypt it for
      // nothing (a session for many queries, sql "", has every table).
      if (security::RequiresEncryption(product.classification) && !sql.empty() &&
          !MentionsEveryPart(sql, a.SqlName())) {
        continue;
      }
      const BlockCipher* cipher = nullptr;
      LOOM_ASSIGN_OR_RETURN(table::Table * t, GetTable(ref, &cipher));
      Result<table::Snapshot> snap = as_of ? t->AsOf(*as_of) : t->Current();
      if (!snap.ok() && snap.status().code() != StatusCode::kNotFound) return snap.status();
      engine::Relation r =
          RelationOf(a.SqlName(), snap.ok() ? &*snap : nullptr, product.schema, cipher);
      LOOM_RETURN_IF_ERROR(Protect(d, product.schema, r, snap.ok() ? &snap->manifest : nullptr));
      options.relations.push_back(std::move(r));
      for (const auto& [name, version] : versioned) {
        if (name != a.SqlName()) continue;
        LOOM_ASSIGN_OR_RETURN(table::Snapshot at, t->At(table::Version(version)));
        engine::Relation v =
            RelationOf(a.SqlName() + "__v" + std::to_string(version), &at, product.schema, cipher);
        LOOM_RETURN_IF_ERROR(Protect(d, product.schema, v, &at.manifest));
        options.relations.push_back(std::move(v));
      }
    }
  }
  return options;
}

Result<std::unique_ptr<Platform::PreparedQuery>> Platform::PrepareQuery(
    const Caller& caller, const std::string& sql, const QueryOptions& options) {
  LOOM_ASSIGN_OR_RETURN(std::unique_ptr<engine::Session> session,
                        OpenQuerySession(caller, sql, options.as_of));
  Status admitted = session->Check(sql);
  if (!admitted.ok()) {
    LOOM_RETURN_IF_ERROR(AuditQuery(caller, sql, admitted, -1));
    return admitted;
  }
  auto prepared = std::make_unique<PreparedQuery>(std::move(session), sql, options);
  LOOM_ASSIGN_OR_RETURN(std::vector<std::string> warnings, DeprecationWarnings(caller, sql));
  prepared->set_warnings(std::move(warnings));
  prepared->on_done_ = [this, caller, sql](const Status& outcome, int64_t rows) {
    return AuditQuery(caller, sql, outcome, rows);
  };
  return prepared;
}

Result<engine::EncodeStats> Platform::PreparedQuery::Run(engine::Sink& sink) {
  engine::EncodeOptions encode;
  encode.max_width = options_.max_width;
  const auto started = std::chrono::steady_clock::now();
  Result<engine::EncodeStats> r = session_->Export(sql_, options_.format, sink, encode);
  metrics::Registry& m = metrics::Registry::Default();
  m.GetCounter("loom_queries_total", "SQL queries run, by outcome (ok or the error code).",
               {{"outcome", r.ok() ? "ok" : std::string(StatusCodeName(r.status().code()))}})
      .Inc();
  m.GetHistogram("loom_query_duration_seconds", "Time to run a SQL query and encode its result.")
      .Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  if (on_done_) {
    LOOM_RETURN_IF_ERROR(on_done_(r.status(), r.ok() ? static_cast<int64_t>(r->rows) : -1));
  }
  return r;
}

Result<std::vector<Address>> Platform::NamedPorts(const std::string& sql) {
  LOOM_ASSIGN_OR_RETURN(std::vector<catalog::ProductSummary> products,
                        catalog_->ListProducts(std::nullopt));
  std::string lower = sql;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::vector<Address> out;
  for (const catalog::ProductSummary& p : products) {
    std::string prefix = Address{p.domain, p.name, "", {}}.SqlName() + ".";
    for (size_t at = lower.find(prefix); at != std::string::npos;
         at = lower.find(prefix, at + prefix.size())) {
      size_t end =
          lower.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_", at + prefix.size());
      std::string port =
          lower.substr(at + prefix.size(),
                       end == std::string::npos ? std::string::npos : end - at - prefix.size());
      if (size_t v = port.find("__v"); v != std::string::npos) port.resize(v);
      for (char& c : port) c = c == '_' ? '-' : c;
      Address a{p.domain, p.name, port, {}};
      if (!port.empty() && std::find(out.begin(), out.end(), a) == out.end()) out.push_back(a);
    }
  }
  return out;
}

Status Platform::AuditQuery(const Caller& caller, std::string_view sql, const Status& outcome,
                            int64_t rows) {
  std::string text(sql);
  LOOM_ASSIGN_OR_RETURN(std::vector<Address> named, NamedPorts(text));
  std::shared_ptr<const security::Authorizer> authz = Authz();
  std::vector<Address> readable;
  for (const Address& a : named) {
    if (authz->Check(caller.identity, a, security::Operation::kRead).allowed) readable.push_back(a);
  }
  if (!outcome.ok()) {
    // A refused or failed query names no address: an address the caller may not see would
    // reveal in its own audit history that it exists.
    return AuditRecord({caller.principal(), "query", "", false, -1, text, outcome.message()});
  }
  if (readable.empty()) return AuditRecord({caller.principal(), "query", "", true, rows, text, ""});
  for (const Address& a : readable) LOOM_RETURN_IF_ERROR(Audited(caller, "query", a, rows, text));
  return Status::Ok();
}

Result<json> Platform::Sample(const Caller& caller, const Address& address, size_t rows) {
  LOOM_RETURN_IF_ERROR(Require(caller, address, security::Operation::kRead, "sample").status());
  LOOM_ASSIGN_OR_RETURN(std::unique_ptr<PortRef> ref, ResolvePort(address));
  Address a{address.domain, address.product, address.port, {}};
  std::string name = a.SqlName();
  if (address.version) {
    std::string v = *address.version;
    if (!v.empty() && v[0] == 'v') v = v.substr(1);
    if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos) {
      return InvalidArgument("address " + address.ToString() +
                             ": a table version is a number (e.g. @3)");
    }
    name += "__v" + v;
  }
  std::string sql = "SELECT * FROM " + name + " LIMIT " + std::to_string(rows);
  LOOM_ASSIGN_OR_RETURN(std::unique_ptr<engine::Session> session,
                        OpenQuerySession(caller, sql, std::nullopt));
  LOOM_ASSIGN_OR_RETURN(engine::Rows result, session->QueryRows(sql, rows));
  LOOM_RETURN_IF_ERROR(Audited(caller, "sample", a, static_cast<int64_t>(result.size())));
  json cols = json::array();
  for (const engine::Column& c : result.columns)
    cols.push_back({{"name", c.name}, {"type", c.type}});
  return json{{"address", address.ToString()}, {"columns", cols}, {"rows", result.ToJson()}};
}

}  // namespace loom::platform
