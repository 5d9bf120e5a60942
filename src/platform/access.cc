// Access control on every path: identities, the Authorizer in force, masks and row filters in
// sessions and stream reads, and the audit entry of every decision
// (docs/internals/security.md says which call goes on which path).

#include <cstdlib>

#include "platform/platform.h"

namespace loom::platform {
namespace {

using nlohmann::json;

constexpr std::string_view kGovernance = "group:governance";
constexpr std::string_view kAdministrators = "group:loom-admins";

}  // namespace

Caller Caller::Service(std::string_view domain) {
  Caller c;
  c.identity = security::Identity{};
  c.identity.principal = "service:" + std::string(domain);
  c.identity.scopes = {std::string(security::kScopeAll)};
  c.identity.method = security::AuthMethod::kLocalAs;
  return c;
}

Status Platform::OpenSecurity() {
  const std::string& dir = options_.data_dir;
  security::StoreOptions so;
  so.path = JoinPath(dir, "security.db");
  so.clock = options_.clock;
  LOOM_ASSIGN_OR_RETURN(store_, security::Store::Open(so));
  security::AuditOptions ao;
  ao.path = JoinPath(dir, "audit.db");
  ao.clock = options_.clock;
  LOOM_ASSIGN_OR_RETURN(audit_, security::AuditLog::Open(ao));
  if (options_.jwt) {
    LOOM_ASSIGN_OR_RETURN(jwt_, security::JwtVerifier::Create(*options_.jwt));
  }
  return RebuildAuthorizer();
}

std::shared_ptr<const security::Authorizer> Platform::Authz() const {
  std::lock_guard<std::mutex> lock(authz_mu_);
  return authz_;
}

Status Platform::RebuildAuthorizer() {
  auto a = std::make_shared<security::Authorizer>(
      security::AuthorizerOptions{{std::string(kGovernance)}, "service:"});
  LOOM_ASSIGN_OR_RETURN(std::vector<catalog::StoredDocument> domains, catalog_->ListDomains());
  LOOM_ASSIGN_OR_RETURN(std::vector<catalog::StoredDocument> policies, catalog_->ListPolicies());
  LOOM_ASSIGN_OR_RETURN(std::vector<catalog::ProductSummary> products,
                        catalog_->ListProducts(std::nullopt));
  std::vector<catalog::StoredDocument> docs = std::move(domains);
  for (catalog::StoredDocument& p : policies) docs.push_back(std::move(p));
  for (const catalog::ProductSummary& s : products) {
    LOOM_ASSIGN_OR_RETURN(catalog::StoredDocument d,
                          catalog_->Get(catalog::ProductKey(s.domain, s.name), std::nullopt));
    docs.push_back(std::move(d));
  }
  for (const catalog::StoredDocument& d : docs) {
    LOOM_ASSIGN_OR_RETURN(std::vector<spec::Document> parsed, spec::ParseDocuments(d.yaml, d.key));
    for (const spec::Document& doc : parsed) {
      if (doc.domain() != nullptr) a->AddDomain(*doc.domain());
      if (doc.product() != nullptr) a->AddProduct(*doc.product());
      if (doc.policy() != nullptr) a->AddPolicy(*doc.policy());
    }
  }
  LOOM_ASSIGN_OR_RETURN(std::vector<security::StoredGrant> grants, store_->ListGrants());
  for (const security::StoredGrant& g : grants) a->AddGrant(g.grant);
  std::lock_guard<std::mutex> lock(authz_mu_);
  authz_ = std::move(a);
  return Status::Ok();
}

bool Platform::IsGovernance(const Caller& caller) const {
  return caller.identity.administrator || caller.identity.Is(kGovernance);
}

Status Platform::AuditRecord(const security::AuditRecord& record) {
  Result<security::AuditEntry> e = audit_->Append(record);
  if (!e.ok()) {
    return Unavailable("audit log: " + e.status().message() + " (the request was not served)");
  }
  return Status::Ok();
}

Status Platform::Audited(const Caller& caller, std::string_view operation, const Address& address,
                         int64_t rows, std::string_view query_text, std::string_view detail) {
  return AuditRecord({caller.principal(), std::string(operation), address.ToString(), true, rows,
                      std::string(query_text), std::string(detail)});
}

Result<security::Decision> Platform::Require(const Caller& caller, const Address& address,
                                             security::Operation op, std::string_view operation,
                                             std::string_view query_text) {
  Address a{address.domain, address.product, address.port, {}};
  std::shared_ptr<const security::Authorizer> authz = Authz();
  security::Decision d = authz->Check(caller.identity, a, op);
  if (d.allowed) return d;
  LOOM_RETURN_IF_ERROR(AuditRecord({caller.principal(), std::string(operation), a.ToString(), false,
                                    -1, std::string(query_text), d.reason}));
  Status refused = authz->Require(caller.identity, a, op);
  return refused.ok() ? PermissionDenied(caller.principal() + " may not " + std::string(operation) +
                                         " " + a.ToString())
                      : refused;
}

Result<std::vector<Address>> Platform::RequireApply(const Caller& caller,
                                                    const std::vector<spec::Document>& docs,
                                                    std::string_view operation) {
  std::vector<Address> addresses;
  for (const spec::Document& d : docs) {
    Address a;
    if (d.domain() != nullptr) a.domain = d.domain()->name;
    if (d.product() != nullptr) a = d.product()->address();
    LOOM_RETURN_IF_ERROR(Require(caller, a, security::Operation::kApply, operation).status());
    addresses.push_back(a);
  }
  return addresses;
}

Result<Caller> Platform::As(std::string_view principal) {
  LOOM_ASSIGN_OR_RETURN(std::vector<std::string> groups, store_->GroupsOf(principal));
  LOOM_ASSIGN_OR_RETURN(security::Identity id,
                        security::Identity::LocalAs(principal, std::move(groups)));
  return Caller{std::move(id)};
}

Result<Caller> Platform::Authenticate(std::string_view bearer) {
  Result<security::Identity> id = Unauthenticated("missing bearer credential");
  if (bearer.starts_with("loom_")) {
    id = store_->VerifyToken(bearer);
  } else if (!bearer.empty() && jwt_ != nullptr) {
    id = jwt_->Verify(bearer);
  } else if (!bearer.empty()) {
    id = Unauthenticated("invalid credential: not an API token, and no JWT issuer is configured");
  }
  if (!id.ok()) {
    // Never the presented credential: only why it failed.
    LOOM_RETURN_IF_ERROR(
        AuditRecord({"anonymous", "authenticate", "", false, -1, "", id.status().message()}));
    return id.status();
  }
  // Local memberships count too (`loom group add` works for federated users). Only a local
  // membership of group:loom-admins, with a full-scope credential, makes a server-mode
  // administrator: an identity provider's claims never do.
  LOOM_ASSIGN_OR_RETURN(std::vector<std::string> local, store_->GroupsOf(id->principal));
  for (const std::string& g : local) {
    if (!id->Is(g)) id->groups.push_back(g);
    if (g == kAdministrators && id->HasScope(security::kScopeAll)) id->administrator = true;
  }
  return Caller{*std::move(id)};
}

Status Platform::Protect(const security::Decision& d, const spec::Schema& schema,
                         engine::Relation& r, const table::Manifest* manifest) {
  r.row_filter = d.row_filter.value_or("");
  if (d.unmask) return Status::Ok();
  std::optional<security::MaskKey> key;
  for (engine::RelationColumn& c : r.columns) {
    const spec::Field* f = nullptr;
    for (const spec::Field& field : schema.fields) {
      if (field.name == c.name) f = &field;
    }
    if (f == nullptr || !f->pii) continue;
    if (!key) {
      LOOM_ASSIGN_OR_RETURN(security::KeyStore * keys, Keys());
      LOOM_ASSIGN_OR_RETURN(key, keys->GetMaskKey());
    }
    const table::ColumnStats* stats = manifest != nullptr ? manifest->Stats(c.name) : nullptr;
    const security::ValueRange range = stats != nullptr && stats->fits_int32
                                           ? security::ValueRange::kInt32
                                           : security::ValueRange::kDeclared;
    LOOM_ASSIGN_OR_RETURN(security::MaskedColumn m, security::MaskColumn(*f, *key, range));
    c.mask = m.expression;
    if (!m.expression.empty()) c.type = m.sql_type;
  }
  return Status::Ok();
}

bool Platform::ProtectsEvents(const security::Decision& d, const spec::Schema& schema) {
  bool has_pii = false;
  for (const spec::Field& f : schema.fields) has_pii = has_pii || f.pii;
  return (!d.unmask && has_pii) || d.row_filter.has_value();
}

Status Platform::ProtectEvents(const security::Decision& d, const spec::Schema& schema,
                               json& events) {
  if (events.empty() || !ProtectsEvents(d, schema)) return Status::Ok();
  // The same masks and filter as a session's view, evaluated by the trusted DuckDB over the
  // events' data: SELECT masked columns FROM the data WHERE the filter.
  engine::Relation r;
  json structure = json::object();
  for (const spec::Field& f : schema.fields) {
    r.columns.push_back({f.name, f.type.SqlType(), ""});
    structure[f.name] = f.type.SqlType();
  }
  LOOM_RETURN_IF_ERROR(Protect(d, schema, r));
  std::string values;
  for (size_t i = 0; i < events.size(); ++i) {
    const json& e = events[i]["event"];
    json data =
        e.is_object() && e.contains("data") && e["data"].is_object() ? e["data"] : json::object();
    values += (i ? ", (" : "(") + std::to_string(i) + ", " + engine::QuoteString(data.dump()) + ")";
  }
  // struct_pack takes name := value pairs.
  std::string packed;
  for (const engine::RelationColumn& c : r.columns) {
    packed += ", " + engine::QuoteIdent(c.name) +
              " := " + (c.mask.empty() ? engine::QuoteIdent(c.name) : "(" + c.mask + ")");
  }
  std::string sql = "SELECT i, to_json(struct_pack(" + packed.substr(2) +
                    "))::VARCHAR FROM (SELECT i, unnest(from_json(j, " +
                    engine::QuoteString(structure.dump()) + ")) FROM (VALUES " + values +
                    ") v(i, j))" + (r.row_filter.empty() ? "" : " WHERE (" + r.row_filter + ")") +
                    " ORDER BY i";
  LOOM_ASSIGN_OR_RETURN(std::unique_ptr<engine::Connection> conn, trusted_db_->Connect());
  Result<engine::Rows> rows = conn->QueryRows(sql, events.size());
  if (!rows.ok()) {
    // The text of masks and filters is not for the caller's eyes.
    return Internal("cannot apply the access rules to the events of this stream");
  }
  json kept = json::array();
  for (size_t row = 0; row < rows->size(); ++row) {
    size_t i = std::stoul(rows->Get(row, 0));
    json e = events[i];
    const std::optional<std::string>& data = rows->text[row][1];
    if (e["event"].is_object() && data) {
      json parsed = json::parse(*data, nullptr, /*allow_exceptions=*/false);
      if (!parsed.is_discarded()) e["event"]["data"] = std::move(parsed);
    }
    kept.push_back(std::move(e));
  }
  events = std::move(kept);
  return Status::Ok();
}

}  // namespace loom::platform
