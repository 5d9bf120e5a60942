#include "catalog/schema.h"

#include <string>
#include <vector>

namespace loom::catalog {
namespace {

struct Migration {
  int64_t version;
  const char* name;
  const char* sql;
};

// Append only: a released migration is never edited; a change is a new migration.
const std::vector<Migration>& Migrations() {
  static const std::vector<Migration> migrations = {
      {1, "documents, versions, product index, search, offsets", R"sql(
CREATE TABLE documents (
  key              TEXT PRIMARY KEY,
  kind             TEXT NOT NULL CHECK (kind IN ('Domain', 'DataProduct', 'Policy')),
  current_revision INTEGER NOT NULL,
  created_at       INTEGER NOT NULL,
  updated_at       INTEGER NOT NULL
);
CREATE INDEX documents_by_kind ON documents(kind, key);

CREATE TABLE document_versions (
  key        TEXT NOT NULL REFERENCES documents(key),
  revision   INTEGER NOT NULL,
  version    TEXT NOT NULL,
  applied_by TEXT NOT NULL,
  applied_at INTEGER NOT NULL,
  yaml       TEXT NOT NULL,
  body       TEXT NOT NULL,
  digest     TEXT NOT NULL,
  PRIMARY KEY (key, revision),
  UNIQUE (key, version)
);
CREATE TRIGGER document_versions_immutable_update BEFORE UPDATE ON document_versions
BEGIN SELECT RAISE(ABORT, 'document versions are immutable'); END;
CREATE TRIGGER document_versions_immutable_delete BEFORE DELETE ON document_versions
BEGIN SELECT RAISE(ABORT, 'document versions are immutable'); END;

CREATE TABLE products (
  id             INTEGER PRIMARY KEY,
  domain         TEXT NOT NULL,
  name           TEXT NOT NULL,
  version        TEXT NOT NULL,
  revision       INTEGER NOT NULL,
  title          TEXT NOT NULL,
  description    TEXT NOT NULL,
  owner          TEXT NOT NULL,
  tags           TEXT NOT NULL,
  classification TEXT NOT NULL,
  alignment      TEXT NOT NULL,
  port_kinds     TEXT NOT NULL,
  deprecated     INTEGER NOT NULL,
  updated_at     INTEGER NOT NULL,
  UNIQUE (domain, name)
);
CREATE INDEX products_by_owner ON products(owner);
CREATE INDEX products_by_classification ON products(classification);
CREATE INDEX products_by_alignment ON products(alignment);

CREATE TABLE product_tags (
  tag        TEXT NOT NULL,
  product_id INTEGER NOT NULL REFERENCES products(id),
  PRIMARY KEY (tag, product_id)
) WITHOUT ROWID;
CREATE INDEX product_tags_by_product ON product_tags(product_id);

CREATE TABLE product_port_kinds (
  port_kind  TEXT NOT NULL,
  product_id INTEGER NOT NULL REFERENCES products(id),
  PRIMARY KEY (port_kind, product_id)
) WITHOUT ROWID;
CREATE INDEX product_port_kinds_by_product ON product_port_kinds(product_id);

CREATE VIRTUAL TABLE product_search USING fts5(
  name, title, description, tags, field_names, field_descriptions, domain,
  tokenize = 'unicode61 remove_diacritics 2',
  prefix = '2 3 4'
);
INSERT INTO product_search(product_search, rank)
  VALUES ('rank', 'bm25(10.0, 8.0, 2.0, 5.0, 3.0, 1.0, 4.0)');

CREATE TABLE consumer_offsets (
  group_name  TEXT NOT NULL,
  port        TEXT NOT NULL,
  partition   INTEGER NOT NULL CHECK (partition >= 0),
  next_offset INTEGER NOT NULL CHECK (next_offset >= 0),
  updated_at  INTEGER NOT NULL,
  PRIMARY KEY (group_name, port, partition)
) WITHOUT ROWID;
)sql"},
      // search_terms: every term the search index has held, so that a search can expand a long
      // prefix into exact terms with one index range (fts5vocab would count each term's
      // documents: a scan of its whole doclist). Terms are added, never removed.
      // product_labels: the name, title and tags of product_search again, in an index of their
      // own, so that finding the first ranking tier seeks in short doclists instead of testing
      // the columns of every match. Both are filled from product_search.
      {2, "search_terms and product_labels", R"sql(
CREATE TABLE search_terms (
  term TEXT PRIMARY KEY
) WITHOUT ROWID;
CREATE VIRTUAL TABLE temp.product_search_vocab USING fts5vocab(main, product_search, row);
INSERT OR IGNORE INTO search_terms(term) SELECT term FROM temp.product_search_vocab;
DROP TABLE temp.product_search_vocab;

CREATE VIRTUAL TABLE product_labels USING fts5(
  name, title, tags,
  tokenize = 'unicode61 remove_diacritics 2',
  prefix = '2 3 4'
);
INSERT INTO product_labels(rowid, name, title, tags)
  SELECT rowid, name, title, tags FROM product_search;
)sql"},
      // The number of products whose current text holds each term (docs: in any column of
      // product_search; label_docs: in product_labels), kept by every apply, so that ranking
      // reads a phrase's document count instead of scanning its doclist. Filled from fts5vocab.
      {3, "search_terms document counts", R"sql(
ALTER TABLE search_terms ADD COLUMN docs INTEGER NOT NULL DEFAULT 0;
ALTER TABLE search_terms ADD COLUMN label_docs INTEGER NOT NULL DEFAULT 0;
CREATE VIRTUAL TABLE temp.product_search_vocab USING fts5vocab(main, product_search, row);
INSERT INTO search_terms(term, docs) SELECT term, doc FROM temp.product_search_vocab WHERE true
  ON CONFLICT(term) DO UPDATE SET docs = excluded.docs;
DROP TABLE temp.product_search_vocab;
CREATE VIRTUAL TABLE temp.product_labels_vocab USING fts5vocab(main, product_labels, row);
INSERT INTO search_terms(term, label_docs) SELECT term, doc FROM temp.product_labels_vocab
  WHERE true ON CONFLICT(term) DO UPDATE SET label_docs = excluded.label_docs;
DROP TABLE temp.product_labels_vocab;
)sql"},
  };
  return migrations;
}

}  // namespace

int64_t LatestSchemaVersion() { return Migrations().back().version; }

Result<int64_t> SchemaVersion(Db& db) {
  LOOM_RETURN_IF_ERROR(
      db.Exec("CREATE TABLE IF NOT EXISTS schema_migrations ("
              " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)"));
  LOOM_ASSIGN_OR_RETURN(Stmt stmt,
                        db.Prepare("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"));
  LOOM_ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return Internal("sqlite: no row from MAX(version)");
  return stmt.Int(0);
}

Status Migrate(Db& db, const Clock& clock) {
  LOOM_ASSIGN_OR_RETURN(int64_t current, SchemaVersion(db));
  if (current > LatestSchemaVersion()) {
    return FailedPrecondition("the catalog's schema version is " + std::to_string(current) +
                              ", newer than this Loom supports (" +
                              std::to_string(LatestSchemaVersion()) + "): upgrade Loom");
  }
  for (const Migration& m : Migrations()) {
    if (m.version <= current) continue;
    LOOM_ASSIGN_OR_RETURN(Transaction txn, Transaction::Begin(db, /*immediate=*/true));
    // Another process may have migrated while we waited for the write lock.
    LOOM_ASSIGN_OR_RETURN(int64_t now_current, SchemaVersion(db));
    if (m.version <= now_current) continue;
    Status s = db.Exec(m.sql);
    if (!s.ok()) return s.WithPrefix("catalog migration " + std::to_string(m.version));
    LOOM_ASSIGN_OR_RETURN(
        Stmt insert,
        db.Prepare("INSERT INTO schema_migrations(version, name, applied_at) VALUES (?, ?, ?)"));
    insert.Bind(1, m.version).Bind(2, m.name).Bind(3, clock.NowMicros());
    LOOM_RETURN_IF_ERROR(insert.Run());
    LOOM_RETURN_IF_ERROR(txn.Commit());
  }
  return Status::Ok();
}

}  // namespace loom::catalog
