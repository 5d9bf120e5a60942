#include "catalog/catalog.h"

#include "catalog/sqlite_catalog.h"

namespace loom::catalog {

std::string_view ToString(ChangeKind c) {
  switch (c) {
    case ChangeKind::kCreate:
      return "create";
    case ChangeKind::kNewVersion:
      return "new version";
    case ChangeKind::kUnchanged:
      return "unchanged";
  }
  return "unknown";
}

std::string ProductKey(std::string_view domain, std::string_view name) {
  std::string key = "product:";
  key += domain;
  key += '/';
  key += name;
  return key;
}

Result<std::unique_ptr<Catalog>> OpenSqliteCatalog(const std::string& path, Clock* clock) {
  LOOM_ASSIGN_OR_RETURN(std::unique_ptr<SqliteCatalog> catalog, SqliteCatalog::Open(path, clock));
  return std::unique_ptr<Catalog>(std::move(catalog));
}

}  // namespace loom::catalog
