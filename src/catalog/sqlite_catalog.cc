#include "catalog/sqlite_catalog.h"

#include <map>
#include <set>
#include <utility>

#include "catalog/descriptor_rules.h"
#include "catalog/schema.h"

namespace loom::catalog {
namespace {

// Columns of a StoredDocument, read by ReadDocuments in this order.
constexpr const char* kDocumentColumns =
    "SELECT d.kind, v.key, v.version, v.revision, v.applied_by, v.applied_at, v.yaml, v.body, "
    "v.digest FROM document_versions v JOIN documents d ON d.key = v.key ";

std::string Where(const spec::Document& doc) {
  if (doc.pos.file.empty()) return "";
  return doc.pos.file + ":" + std::to_string(doc.pos.line) + ": ";
}

bool BodyMatchesKind(const spec::Document& doc) {
  switch (doc.kind) {
    case spec::Kind::kDomain:
      return doc.domain() != nullptr;
    case spec::Kind::kDataProduct:
      return doc.product() != nullptr;
    case spec::Kind::kPolicy:
      return doc.policy() != nullptr;
  }
  return false;
}

}  // namespace

namespace {

// Read-only connections that searches lease: searches beyond this many wait for one.
constexpr size_t kReaderConnections = 4;

}  // namespace

Result<std::unique_ptr<SqliteCatalog>> SqliteCatalog::Open(const std::string& path, Clock* clock) {
  if (clock == nullptr) return InvalidArgument("catalog: a clock is required");
  // The writer first: it creates the file, puts it in WAL mode and migrates the schema.
  LOOM_ASSIGN_OR_RETURN(std::unique_ptr<Connection> writer,
                        Connection::Open(path, Connection::Mode::kReadWrite, *clock));
  LOOM_ASSIGN_OR_RETURN(std::unique_ptr<ReaderPool> readers,
                        ReaderPool::Open(path, kReaderConnections, *clock));
  return std::unique_ptr<SqliteCatalog>(
      new SqliteCatalog(std::move(writer), std::move(readers), clock));
}

Result<std::optional<SqliteCatalog::KeyState>> SqliteCatalog::LoadState(const std::string& key) {
  LOOM_ASSIGN_OR_RETURN(Lease stmt,
                        Statement("SELECT v.revision, v.version, v.digest "
                                  "FROM documents d JOIN document_versions v "
                                  "ON v.key = d.key AND v.revision = d.current_revision "
                                  "WHERE d.key = ?"));
  stmt->Bind(1, key);
  LOOM_ASSIGN_OR_RETURN(bool row, stmt->Step());
  if (!row) return std::optional<KeyState>();
  return std::optional<KeyState>(KeyState{stmt->Int(0), stmt->Text(1), stmt->Text(2)});
}

Result<std::vector<SqliteCatalog::Planned>> SqliteCatalog::PlanLocked(
    const std::vector<spec::Document>& docs) {
  std::vector<Planned> planned;
  std::vector<std::string> errors;
  StatusCode error_code = StatusCode::kOk;
  auto refuse = [&](StatusCode code, std::string message) {
    if (error_code == StatusCode::kOk) error_code = code;
    errors.push_back(std::move(message));
  };

  // Keys this call registers, so that later documents of the same call see earlier ones.
  std::map<std::string, KeyState> overlay;
  std::set<std::string> domains_in_call;
  for (const spec::Document& doc : docs) {
    if (const spec::Domain* d = doc.domain()) domains_in_call.insert(d->name);
  }
  auto state_of = [&](const std::string& key) -> Result<std::optional<KeyState>> {
    auto it = overlay.find(key);
    if (it != overlay.end()) return std::optional<KeyState>(it->second);
    return LoadState(key);
  };

  // Plans one document: copies what Apply writes into `planned`.
  auto plan_one = [&](const spec::Document& doc) -> Status {
    if (!BodyMatchesKind(doc)) {
      refuse(StatusCode::kInvalidArgument, Where(doc) + "document kind " +
                                               std::string(KindText(doc.kind)) +
                                               " does not match its body");
      return Status::Ok();
    }
    const std::string key = doc.Key();
    LOOM_ASSIGN_OR_RETURN(ParsedKey parsed, ParseKey(key));
    Planned p;
    p.change.key = key;
    p.change.kind = doc.kind;
    p.yaml = doc.text;
    p.body = spec::ToJson(doc).dump();
    p.digest = Sha256Hex(p.body);
    p.product = doc.product();
    LOOM_ASSIGN_OR_RETURN(std::optional<KeyState> current, state_of(key));

    if (p.product != nullptr) {
      std::string version = p.product->version.ToString();
      p.change.to_version = version;
      if (!current) {
        p.change.change = ChangeKind::kCreate;
        p.revision = 1;
      } else {
        p.change.from_version = current->version;
        LOOM_ASSIGN_OR_RETURN(spec::SemVer stored, spec::SemVer::Parse(current->version));
        int cmp = CompareSemVer(p.product->version, stored);
        if (cmp == 0 && current->digest == p.digest) {
          p.change.change = ChangeKind::kUnchanged;
          p.revision = current->revision;
        } else if (cmp == 0) {
          refuse(StatusCode::kFailedPrecondition,
                 Where(doc) + parsed.Describe() + " version " + version +
                     " was already applied with different content; applied versions are "
                     "immutable: bump the version (higher than " +
                     version + ") to publish this change");
          return Status::Ok();
        } else if (cmp < 0) {
          refuse(StatusCode::kFailedPrecondition,
                 Where(doc) + parsed.Describe() + " version " + version +
                     " is lower than its current version " + current->version +
                     "; versions only move forward: use a version higher than " + current->version);
          return Status::Ok();
        } else {
          p.change.change = ChangeKind::kNewVersion;
          p.revision = current->revision + 1;
        }
      }
    } else if (!current) {
      p.change.change = ChangeKind::kCreate;
      p.revision = 1;
      p.change.to_version = RevisionLabel(1);
    } else {
      p.change.from_version = current->version;
      if (current->digest == p.digest) {
        p.change.change = ChangeKind::kUnchanged;
        p.revision = current->revision;
      } else {
        p.change.change = ChangeKind::kNewVersion;
        p.revision = current->revision + 1;
      }
      p.change.to_version = RevisionLabel(p.revision);
    }
    overlay[key] = KeyState{p.revision, p.change.to_version, p.digest};
    planned.push_back(std::move(p));
    return Status::Ok();
  };

  for (const spec::Document& doc : docs) {
    if (const spec::DataProduct* product = doc.product()) {
      std::string domain_key = "domain:" + product->domain;
      if (domains_in_call.count(product->domain) == 0 && overlay.count(domain_key) == 0) {
        LOOM_ASSIGN_OR_RETURN(std::optional<KeyState> stored, LoadState(domain_key));
        if (!stored) LOOM_RETURN_IF_ERROR(plan_one(ImplicitDomain(*product)));
      }
    }
    LOOM_RETURN_IF_ERROR(plan_one(doc));
  }

  if (!errors.empty()) {
    std::string message;
    for (const std::string& e : errors) {
      if (!message.empty()) message += '\n';
      message += e;
    }
    return Status(error_code, std::move(message));
  }
  return planned;
}

Result<std::vector<Change>> SqliteCatalog::Plan(const std::vector<spec::Document>& docs) {
  std::lock_guard<std::mutex> lock(mu_);
  // A read transaction: the whole plan sees one snapshot. Rolled back at scope end.
  LOOM_ASSIGN_OR_RETURN(Transaction txn, Transaction::Begin(writer_->db(), /*immediate=*/false));
  LOOM_ASSIGN_OR_RETURN(std::vector<Planned> planned, PlanLocked(docs));
  std::vector<Change> changes;
  for (Planned& p : planned) changes.push_back(std::move(p.change));
  return changes;
}

Result<std::vector<Change>> SqliteCatalog::Apply(const std::vector<spec::Document>& docs,
                                                 std::string_view principal) {
  if (principal.empty()) return InvalidArgument("apply: a principal is required");
  std::lock_guard<std::mutex> lock(mu_);
  // This connection's own commits do not move data_version: the cached reads go here.
  current_cache_.clear();
  kind_cache_.clear();
  LOOM_ASSIGN_OR_RETURN(Transaction txn, Transaction::Begin(writer_->db(), /*immediate=*/true));
  LOOM_ASSIGN_OR_RETURN(std::vector<Planned> planned, PlanLocked(docs));
  const TimestampMicros now = clock_->NowMicros();
  std::vector<Change> changes;
  for (Planned& p : planned) {
    if (p.change.change != ChangeKind::kUnchanged) {
      LOOM_RETURN_IF_ERROR(Write(p, p.change.kind, principal, now));
    }
    changes.push_back(std::move(p.change));
  }
  LOOM_RETURN_IF_ERROR(txn.Commit());
  return changes;
}

Status SqliteCatalog::Write(const Planned& p, spec::Kind kind, std::string_view principal,
                            TimestampMicros now) {
  {
    LOOM_ASSIGN_OR_RETURN(
        Lease stmt,
        Statement(
            "INSERT INTO documents(key, kind, current_revision, created_at, updated_at) "
            "VALUES (?1, ?2, ?3, ?4, ?4) ON CONFLICT(key) DO UPDATE SET "
            "current_revision = excluded.current_revision, updated_at = excluded.updated_at"));
    stmt->Bind(1, p.change.key).Bind(2, KindText(kind)).Bind(3, p.revision).Bind(4, now);
    LOOM_RETURN_IF_ERROR(stmt->Run());
  }
  {
    LOOM_ASSIGN_OR_RETURN(
        Lease stmt, Statement("INSERT INTO document_versions(key, revision, version, applied_by, "
                              "applied_at, yaml, body, digest) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"));
    stmt->Bind(1, p.change.key)
        .Bind(2, p.revision)
        .Bind(3, p.change.to_version)
        .Bind(4, principal)
        .Bind(5, now)
        .Bind(6, p.yaml)
        .Bind(7, p.body)
        .Bind(8, p.digest);
    LOOM_RETURN_IF_ERROR(stmt->Run());
  }
  if (p.product != nullptr) LOOM_RETURN_IF_ERROR(IndexProduct(*p.product, p.revision, now));
  return Status::Ok();
}

Result<std::vector<StoredDocument>> SqliteCatalog::ReadDocuments(Lease& stmt) {
  std::vector<StoredDocument> out;
  while (true) {
    LOOM_ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (!row) break;
    StoredDocument d;
    LOOM_ASSIGN_OR_RETURN(d.kind, KindFromText(stmt->Text(0)));
    d.key = stmt->Text(1);
    d.version = stmt->Text(2);
    d.revision = stmt->Int(3);
    d.applied_by = stmt->Text(4);
    d.applied_at = stmt->Int(5);
    d.yaml = stmt->Text(6);
    d.body = nlohmann::json::parse(stmt->Text(7), nullptr, /*allow_exceptions=*/false);
    if (d.body.is_discarded()) {
      return DataLoss("catalog: the stored JSON of '" + d.key + "' revision " +
                      std::to_string(d.revision) + " does not parse");
    }
    d.digest = stmt->Text(8);
    out.push_back(std::move(d));
  }
  return out;
}

Status SqliteCatalog::RefreshCacheLocked() {
  int64_t version = -1;
  {
    LOOM_ASSIGN_OR_RETURN(Lease stmt, Statement("PRAGMA data_version"));
    LOOM_ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (row) version = stmt->Int(0);
  }
  if (version != data_version_ || version < 0) {
    current_cache_.clear();
    kind_cache_.clear();
    data_version_ = version;
  }
  return Status::Ok();
}

Result<std::shared_ptr<const std::vector<StoredDocument>>> SqliteCatalog::SharedKind(
    spec::Kind kind) {
  std::lock_guard<std::mutex> lock(mu_);
  LOOM_RETURN_IF_ERROR(RefreshCacheLocked());
  if (auto it = kind_cache_.find(kind); it != kind_cache_.end()) return it->second;
  LOOM_ASSIGN_OR_RETURN(
      Lease stmt, Statement(std::string(kDocumentColumns) + "WHERE d.kind = ? AND v.revision = "
                                                            "d.current_revision ORDER BY d.key"));
  stmt->Bind(1, KindText(kind));
  LOOM_ASSIGN_OR_RETURN(std::vector<StoredDocument> docs, ReadDocuments(stmt));
  auto shared = std::make_shared<const std::vector<StoredDocument>>(std::move(docs));
  kind_cache_[kind] = shared;
  return shared;
}

Result<std::vector<StoredDocument>> SqliteCatalog::ListKind(spec::Kind kind) {
  LOOM_ASSIGN_OR_RETURN(std::shared_ptr<const std::vector<StoredDocument>> docs, SharedKind(kind));
  return *docs;
}

Result<std::shared_ptr<const std::vector<StoredDocument>>> SqliteCatalog::CurrentPolicies() {
  return SharedKind(spec::Kind::kPolicy);
}

Result<std::vector<StoredDocument>> SqliteCatalog::ListDomains() {
  return ListKind(spec::Kind::kDomain);
}

Result<std::vector<StoredDocument>> SqliteCatalog::ListPolicies() {
  return ListKind(spec::Kind::kPolicy);
}

Result<StoredDocument> SqliteCatalog::Get(std::string_view key,
                                          const std::optional<std::string>& version) {
  if (!version) {
    LOOM_ASSIGN_OR_RETURN(std::shared_ptr<const StoredDocument> doc, Current(key));
    return *doc;
  }
  LOOM_ASSIGN_OR_RETURN(ParsedKey parsed, ParseKey(key));
  std::string wanted = *version;
  // Domains and policies: "r3", or the bare revision number "3".
  if (parsed.kind != spec::Kind::kDataProduct && !wanted.empty() &&
      wanted.find_first_not_of("0123456789") == std::string::npos) {
    wanted = "r" + wanted;
  }
  std::lock_guard<std::mutex> lock(mu_);
  LOOM_ASSIGN_OR_RETURN(
      Lease stmt, Statement(std::string(kDocumentColumns) + "WHERE v.key = ?1 AND v.version = ?2"));
  stmt->Bind(1, key);
  stmt->Bind(2, wanted);
  LOOM_ASSIGN_OR_RETURN(std::vector<StoredDocument> docs, ReadDocuments(stmt));
  if (docs.empty()) {
    LOOM_ASSIGN_OR_RETURN(std::optional<KeyState> exists, LoadState(std::string(key)));
    if (!exists) return NotFound("no " + parsed.Describe());
    return NotFound("no version '" + *version + "' of " + parsed.Describe() +
                    " (current: " + exists->version + ")");
  }
  return std::move(docs.front());
}

Result<std::shared_ptr<const StoredDocument>> SqliteCatalog::Current(std::string_view key) {
  LOOM_ASSIGN_OR_RETURN(ParsedKey parsed, ParseKey(key));
  std::lock_guard<std::mutex> lock(mu_);
  LOOM_RETURN_IF_ERROR(RefreshCacheLocked());
  if (auto it = current_cache_.find(key); it != current_cache_.end()) return it->second;
  LOOM_ASSIGN_OR_RETURN(
      Lease stmt, Statement(std::string(kDocumentColumns) + "WHERE v.key = ?1 AND v.revision = "
                                                            "d.current_revision"));
  stmt->Bind(1, key);
  LOOM_ASSIGN_OR_RETURN(std::vector<StoredDocument> docs, ReadDocuments(stmt));
  if (docs.empty()) return NotFound("no " + parsed.Describe());
  auto doc = std::make_shared<const StoredDocument>(std::move(docs.front()));
  current_cache_.insert_or_assign(std::string(key), doc);
  return doc;
}

Result<std::vector<StoredDocument>> SqliteCatalog::Versions(std::string_view key) {
  LOOM_ASSIGN_OR_RETURN(ParsedKey parsed, ParseKey(key));
  std::lock_guard<std::mutex> lock(mu_);
  LOOM_ASSIGN_OR_RETURN(
      Lease stmt, Statement(std::string(kDocumentColumns) + "WHERE v.key = ? ORDER BY v.revision"));
  stmt->Bind(1, key);
  LOOM_ASSIGN_OR_RETURN(std::vector<StoredDocument> docs, ReadDocuments(stmt));
  if (docs.empty()) return NotFound("no " + parsed.Describe());
  return docs;
}

Status SqliteCatalog::CommitOffsets(std::string_view group, const Address& port,
                                    const std::map<uint32_t, int64_t>& next_offsets) {
  if (group.empty()) return InvalidArgument("commit offsets: the consumer group is empty");
  if (!port.has_port()) {
    return InvalidArgument("commit offsets: '" + port.ToString() + "' does not name a port");
  }
  for (const auto& [partition, offset] : next_offsets) {
    if (offset < 0) {
      return InvalidArgument("commit offsets: partition " + std::to_string(partition) +
                             " has a negative offset " + std::to_string(offset));
    }
  }
  Address unversioned{port.domain, port.product, port.port, std::nullopt};
  std::lock_guard<std::mutex> lock(mu_);
  LOOM_ASSIGN_OR_RETURN(Transaction txn, Transaction::Begin(writer_->db(), /*immediate=*/true));
  const TimestampMicros now = clock_->NowMicros();
  for (const auto& [partition, offset] : next_offsets) {
    LOOM_ASSIGN_OR_RETURN(
        Lease stmt,
        Statement("INSERT INTO consumer_offsets(group_name, port, partition, next_offset, "
                  "updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT(group_name, port, partition) "
                  "DO UPDATE SET next_offset = excluded.next_offset, "
                  "updated_at = excluded.updated_at"));
    stmt->Bind(1, group)
        .Bind(2, unversioned.ToString())
        .Bind(3, static_cast<int64_t>(partition))
        .Bind(4, offset)
        .Bind(5, now);
    LOOM_RETURN_IF_ERROR(stmt->Run());
  }
  return txn.Commit();
}

Result<std::map<uint32_t, int64_t>> SqliteCatalog::GetOffsets(std::string_view group,
                                                              const Address& port) {
  if (!port.has_port()) {
    return InvalidArgument("get offsets: '" + port.ToString() + "' does not name a port");
  }
  Address unversioned{port.domain, port.product, port.port, std::nullopt};
  std::lock_guard<std::mutex> lock(mu_);
  LOOM_ASSIGN_OR_RETURN(Lease stmt,
                        Statement("SELECT partition, next_offset FROM "
                                  "consumer_offsets WHERE group_name = ? AND port = ?"));
  stmt->Bind(1, group).Bind(2, unversioned.ToString());
  std::map<uint32_t, int64_t> out;
  while (true) {
    LOOM_ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (!row) break;
    out[static_cast<uint32_t>(stmt->Int(0))] = stmt->Int(1);
  }
  return out;
}

}  // namespace loom::catalog
