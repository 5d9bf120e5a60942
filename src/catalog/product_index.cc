// Writing the product index of the SQLite catalog: the products/product_tags/product_port_kinds
// tables, the FTS5 tables product_search and product_labels, and the per-term document counts
// of search_terms, which hold the CURRENT version of each product only.

#include <array>
#include <set>
#include <string>
#include <vector>

#include "catalog/sqlite_catalog.h"

namespace loom::catalog {
namespace {

void CollectFields(const std::vector<spec::Field>& fields, std::string* names,
                   std::string* descriptions);

void CollectType(const spec::FieldType& type, std::string* names, std::string* descriptions) {
  CollectFields(type.fields, names, descriptions);
  for (const spec::FieldType& element : type.element) CollectType(element, names, descriptions);
}

void CollectFields(const std::vector<spec::Field>& fields, std::string* names,
                   std::string* descriptions) {
  for (const spec::Field& f : fields) {
    if (!names->empty()) *names += ' ';
    *names += f.name;
    if (!f.description.empty()) {
      if (!descriptions->empty()) *descriptions += '\n';
      *descriptions += f.description;
    }
    CollectType(f.type, names, descriptions);
  }
}

}  // namespace

Status SqliteCatalog::IndexProduct(const spec::DataProduct& p, int64_t revision,
                                   TimestampMicros now) {
  std::set<std::string> tags(p.tags.begin(), p.tags.end());
  std::set<std::string> port_kinds;
  for (const spec::OutputPort& port : p.output_ports) {
    port_kinds.insert(std::string(spec::ToString(port.kind)));
  }
  nlohmann::json tags_json = nlohmann::json::array();
  for (const std::string& t : tags) tags_json.push_back(t);
  nlohmann::json kinds_json = nlohmann::json::array();
  for (const std::string& k : port_kinds) kinds_json.push_back(k);

  int64_t id = 0;
  {
    LOOM_ASSIGN_OR_RETURN(
        Lease stmt,
        Statement("INSERT INTO products(domain, name, version, revision, title, description, "
                  "owner, tags, classification, alignment, port_kinds, deprecated, updated_at) "
                  "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                  "ON CONFLICT(domain, name) DO UPDATE SET version = excluded.version, "
                  "revision = excluded.revision, title = excluded.title, "
                  "description = excluded.description, owner = excluded.owner, "
                  "tags = excluded.tags, classification = excluded.classification, "
                  "alignment = excluded.alignment, port_kinds = excluded.port_kinds, "
                  "deprecated = excluded.deprecated, updated_at = excluded.updated_at "
                  "RETURNING id"));
    stmt->Bind(1, p.domain)
        .Bind(2, p.name)
        .Bind(3, p.version.ToString())
        .Bind(4, revision)
        .Bind(5, p.title)
        .Bind(6, p.description)
        .Bind(7, p.owner)
        .Bind(8, tags_json.dump())
        .Bind(9, spec::ToString(p.classification))
        .Bind(10, spec::ToString(p.alignment))
        .Bind(11, kinds_json.dump())
        .Bind(12, int64_t{p.deprecated.has_value() ? 1 : 0})
        .Bind(13, now);
    LOOM_ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (!row) return Internal("catalog: product upsert returned no id");
    id = stmt->Int(0);
    LOOM_RETURN_IF_ERROR(stmt->Run());  // finish the statement
  }
  {
    // The text the index holds for the previous version, if any: its terms lose a document.
    LOOM_ASSIGN_OR_RETURN(
        Lease stmt,
        Statement("SELECT name, title, description, tags, field_names, field_descriptions, "
                  "domain FROM product_search WHERE rowid = ?"));
    stmt->Bind(1, id);
    LOOM_ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (row) {
      IndexedText old;
      for (size_t c = 0; c < old.size(); ++c) old[c] = stmt->Text(static_cast<int>(c));
      LOOM_RETURN_IF_ERROR(CountTerms(old, -1));
    }
  }
  for (const char* sql : {"DELETE FROM product_tags WHERE product_id = ?",
                          "DELETE FROM product_port_kinds WHERE product_id = ?",
                          "DELETE FROM product_search WHERE rowid = ?",
                          "DELETE FROM product_labels WHERE rowid = ?"}) {
    LOOM_ASSIGN_OR_RETURN(Lease stmt, Statement(sql));
    stmt->Bind(1, id);
    LOOM_RETURN_IF_ERROR(stmt->Run());
  }
  for (const std::string& tag : tags) {
    LOOM_ASSIGN_OR_RETURN(Lease stmt,
                          Statement("INSERT INTO product_tags(tag, product_id) VALUES (?, ?)"));
    stmt->Bind(1, tag).Bind(2, id);
    LOOM_RETURN_IF_ERROR(stmt->Run());
  }
  for (const std::string& kind : port_kinds) {
    LOOM_ASSIGN_OR_RETURN(
        Lease stmt,
        Statement("INSERT INTO product_port_kinds(port_kind, product_id) VALUES (?, ?)"));
    stmt->Bind(1, kind).Bind(2, id);
    LOOM_RETURN_IF_ERROR(stmt->Run());
  }
  IndexedText text;  // product_search's column order
  text[0] = p.name;
  text[1] = p.title;
  text[2] = p.description;
  for (const std::string& t : tags) {
    if (!text[3].empty()) text[3] += ' ';
    text[3] += t;
  }
  CollectFields(p.schema.fields, &text[4], &text[5]);
  text[6] = p.domain;
  LOOM_RETURN_IF_ERROR(CountTerms(text, +1));
  {
    LOOM_ASSIGN_OR_RETURN(
        Lease stmt,
        Statement("INSERT INTO product_labels(rowid, name, title, tags) VALUES (?, ?, ?, ?)"));
    stmt->Bind(1, id).Bind(2, text[0]).Bind(3, text[1]).Bind(4, text[3]);
    LOOM_RETURN_IF_ERROR(stmt->Run());
  }
  LOOM_ASSIGN_OR_RETURN(
      Lease stmt,
      Statement("INSERT INTO product_search(rowid, name, title, description, tags, field_names, "
                "field_descriptions, domain) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"));
  stmt->Bind(1, id);
  for (size_t c = 0; c < text.size(); ++c) stmt->Bind(static_cast<int>(c) + 2, text[c]);
  return stmt->Run();
}

Status SqliteCatalog::CountTerms(const IndexedText& text, int64_t delta) {
  // The same tokenizer as the index: these are exactly the terms FTS5 stores for the text.
  // Labels are name, title and tags (product_labels' columns).
  std::set<std::string> terms;
  std::set<std::string> label_terms;
  for (size_t c = 0; c < text.size(); ++c) {
    LOOM_ASSIGN_OR_RETURN(std::vector<std::string> tokens, writer_->fts().Tokenize(text[c]));
    terms.insert(tokens.begin(), tokens.end());
    if (c == 0 || c == 1 || c == 3) label_terms.insert(tokens.begin(), tokens.end());
  }
  for (const std::string& term : terms) {
    LOOM_ASSIGN_OR_RETURN(
        Lease stmt,
        Statement("INSERT INTO search_terms(term, docs, label_docs) VALUES (?1, ?2, ?3) "
                  "ON CONFLICT(term) DO UPDATE SET docs = docs + excluded.docs, "
                  "label_docs = label_docs + excluded.label_docs"));
    stmt->Bind(1, term).Bind(2, delta).Bind(3, label_terms.count(term) != 0 ? delta : 0);
    LOOM_RETURN_IF_ERROR(stmt->Run());
  }
  return Status::Ok();
}

}  // namespace loom::catalog
