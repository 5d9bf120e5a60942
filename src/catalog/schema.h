#pragma once

// The catalog's SQLite schema and its migrations (see docs/internals/catalog.md). Migrations are
// numbered from 1, applied in order, each in its own transaction, and recorded in the table
// schema_migrations(version, name, applied_at).

#include <cstdint>

#include "catalog/sqlite_db.h"
#include "core/core.h"

namespace loom::catalog {

// The schema version this build writes (the number of the last migration).
int64_t LatestSchemaVersion();

// The version recorded in `db` (0 for a new database).
Result<int64_t> SchemaVersion(Db& db);

// Applies the missing migrations. kFailedPrecondition if the database was written by a newer
// Loom (its schema version is higher than LatestSchemaVersion()).
Status Migrate(Db& db, const Clock& clock);

// The FTS5 tokenizer of the search index, as its arguments; the search query builder tokenizes
// user text with the same one.
inline constexpr const char* kFtsTokenizer = "unicode61";
inline constexpr const char* kFtsTokenizerArgs[] = {"remove_diacritics", "2"};

}  // namespace loom::catalog
