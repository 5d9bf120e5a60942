// The product index of the SQLite catalog: the products/product_tags/product_port_kinds tables
// and the FTS5 table product_search, which hold the CURRENT version of each product only.

#include <algorithm>
#include <initializer_list>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "catalog/sqlite_catalog.h"

namespace loom::catalog {
namespace {

// The summary columns of `products p`, read by ReadSummary in this order.
constexpr const char* kSummaryColumns =
    "p.domain, p.name, p.version, p.title, p.description, p.owner, p.tags, p.classification, "
    "p.alignment, p.port_kinds, p.deprecated, p.updated_at";
constexpr int kSummaryColumnCount = 12;

constexpr uint32_t kMaxSearchLimit = 1000;
constexpr uint32_t kMaxSearchOffset = 10000;
// How many matches of one ranking tier bm25 ranks at most (see SearchLocked).
constexpr int kRankCandidates = 300;

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

std::vector<std::string> StringArray(const std::string& json_text) {
  std::vector<std::string> out;
  nlohmann::json j = nlohmann::json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_array()) return out;
  for (const auto& v : j) {
    if (v.is_string()) out.push_back(v.get<std::string>());
  }
  return out;
}

ProductSummary ReadSummary(const Stmt& s) {
  ProductSummary p;
  p.domain = s.Text(0);
  p.name = s.Text(1);
  p.version = s.Text(2);
  p.title = s.Text(3);
  p.description = s.Text(4);
  p.owner = s.Text(5);
  p.tags = StringArray(s.Text(6));
  p.classification = s.Text(7);
  p.alignment = s.Text(8);
  p.port_kinds = StringArray(s.Text(9));
  p.deprecated = s.Int(10) != 0;
  p.updated_at = s.Int(11);
  return p;
}

bool OneOf(const std::string& value, std::initializer_list<std::string_view> allowed) {
  return std::find(allowed.begin(), allowed.end(), value) != allowed.end();
}

Status CheckFilter(const std::optional<std::string>& value, std::string_view what,
                   std::initializer_list<std::string_view> allowed) {
  if (!value || OneOf(*value, allowed)) return Status::Ok();
  std::string list;
  for (std::string_view a : allowed) {
    if (!list.empty()) list += ", ";
    list += a;
  }
  return InvalidArgument("search: unknown " + std::string(what) + " '" + *value +
                         "' (expected one of " + list + ")");
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
  for (const char* sql : {"DELETE FROM product_tags WHERE product_id = ?",
                          "DELETE FROM product_port_kinds WHERE product_id = ?",
                          "DELETE FROM product_search WHERE rowid = ?"}) {
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
  std::string tag_text;
  for (const std::string& t : tags) {
    if (!tag_text.empty()) tag_text += ' ';
    tag_text += t;
  }
  std::string field_names;
  std::string field_descriptions;
  CollectFields(p.schema.fields, &field_names, &field_descriptions);
  LOOM_ASSIGN_OR_RETURN(
      Lease stmt,
      Statement("INSERT INTO product_search(rowid, name, title, description, tags, field_names, "
                "field_descriptions, domain) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"));
  stmt->Bind(1, id)
      .Bind(2, p.name)
      .Bind(3, p.title)
      .Bind(4, p.description)
      .Bind(5, tag_text)
      .Bind(6, field_names)
      .Bind(7, field_descriptions)
      .Bind(8, p.domain);
  return stmt->Run();
}

Result<std::vector<ProductSummary>> SqliteCatalog::ListProducts(
    const std::optional<std::string>& domain) {
  std::lock_guard<std::mutex> lock(mu_);
  LOOM_ASSIGN_OR_RETURN(Lease stmt, Statement(std::string("SELECT ") + kSummaryColumns +
                                              " FROM products p WHERE ?1 IS NULL OR p.domain = ?1 "
                                              "ORDER BY p.domain, p.name"));
  stmt->BindOptional(1, domain);
  std::vector<ProductSummary> out;
  while (true) {
    LOOM_ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (!row) break;
    out.push_back(ReadSummary(*stmt));
  }
  return out;
}

Result<std::vector<SearchHit>> SqliteCatalog::Search(const SearchQuery& query) {
  if (query.limit == 0 || query.limit > kMaxSearchLimit) {
    return InvalidArgument("search: limit must be between 1 and " +
                           std::to_string(kMaxSearchLimit) + ", not " +
                           std::to_string(query.limit));
  }
  if (query.offset > kMaxSearchOffset) {
    return InvalidArgument("search: offset must be at most " + std::to_string(kMaxSearchOffset) +
                           ", not " + std::to_string(query.offset));
  }
  LOOM_RETURN_IF_ERROR(CheckFilter(query.classification, "classification",
                                   {"public", "internal", "confidential", "restricted"}));
  LOOM_RETURN_IF_ERROR(CheckFilter(query.alignment, "alignment", {"source", "consumer", "shared"}));
  LOOM_RETURN_IF_ERROR(CheckFilter(query.port_kind, "port kind", {"stream", "table"}));
  std::lock_guard<std::mutex> lock(mu_);
  return SearchLocked(query);
}

Result<std::vector<SearchHit>> SqliteCatalog::SearchLocked(const SearchQuery& query) {
  // Only the filters given become SQL, so that SQLite can use their indexes; values are bound.
  std::string filters;
  std::vector<std::string> filter_values;
  auto filter = [&](const std::optional<std::string>& value, const char* clause) {
    if (!value) return;
    filters += clause;
    filter_values.push_back(*value);
  };
  filter(query.domain, " AND p.domain = ?");
  filter(query.owner, " AND p.owner = ?");
  filter(query.classification, " AND p.classification = ?");
  filter(query.alignment, " AND p.alignment = ?");
  // EXISTS, not IN: a point lookup per candidate instead of materialising every product that has
  // a common tag or port kind.
  filter(query.tag,
         " AND EXISTS (SELECT 1 FROM product_tags t WHERE t.tag = ? AND t.product_id = p.id)");
  filter(query.port_kind,
         " AND EXISTS (SELECT 1 FROM product_port_kinds k WHERE k.port_kind = ? "
         "AND k.product_id = p.id)");

  std::vector<SearchHit> hits;
  auto read_rows = [&](Lease& stmt, std::vector<int64_t>* ids) -> Status {
    while (true) {
      LOOM_ASSIGN_OR_RETURN(bool row, stmt->Step());
      if (!row) return Status::Ok();
      SearchHit hit;
      hit.product = ReadSummary(*stmt);
      hit.score = stmt->Double(kSummaryColumnCount);
      if (ids != nullptr) ids->push_back(stmt->Int(kSummaryColumnCount + 1));
      hits.push_back(std::move(hit));
    }
  };

  bool has_text = query.text.find_first_not_of(" \t\r\n\f\v") != std::string::npos;
  if (!has_text) {
    LOOM_ASSIGN_OR_RETURN(Lease stmt, Statement(std::string("SELECT ") + kSummaryColumns +
                                                ", 0.0 FROM products p WHERE 1" + filters +
                                                " ORDER BY p.domain, p.name LIMIT ? OFFSET ?"));
    int index = 1;
    for (const std::string& v : filter_values) stmt->Bind(index++, v);
    stmt->Bind(index, int64_t{query.limit});
    stmt->Bind(index + 1, int64_t{query.offset});
    LOOM_RETURN_IF_ERROR(read_rows(stmt, nullptr));
    return hits;
  }

  LOOM_ASSIGN_OR_RETURN(std::optional<std::string> match, fts_.Build(query.text));
  // Text made only of symbols and punctuation names no word: nothing can match it.
  if (!match) return hits;

  // Two tiers: products whose name, title or tags hold every word come before products that
  // match elsewhere (description, fields, domain); bm25 ranks within a tier. Each tier ranks at
  // most kRankCandidates matches (the newest), so that a common word costs a bounded time.
  const std::string labels = "{name title tags} : (" + *match + ")";
  const std::string tiers[] = {labels, "(" + *match + ") NOT " + labels};
  // The products table joins the candidate query only when a filter needs it.
  const std::string tier_sql =
      std::string("SELECT ") + kSummaryColumns +
      ", c.score, p.id FROM (SELECT s.rowid AS id, -s.rank AS score FROM product_search s " +
      (filters.empty()
           ? std::string("WHERE product_search MATCH ?")
           : "JOIN products p ON p.id = s.rowid WHERE product_search MATCH ?" + filters) +
      " ORDER BY s.rowid DESC LIMIT " + std::to_string(kRankCandidates) +
      ") c JOIN products p ON p.id = c.id ORDER BY c.score DESC, p.domain, p.name LIMIT ?";
  const int64_t wanted = int64_t{query.offset} + query.limit;
  std::vector<int64_t> ids;
  for (const std::string& tier : tiers) {
    if (static_cast<int64_t>(hits.size()) >= wanted) break;
    LOOM_ASSIGN_OR_RETURN(Lease stmt, Statement(tier_sql));
    int index = 1;
    stmt->Bind(index++, tier);
    for (const std::string& v : filter_values) stmt->Bind(index++, v);
    stmt->Bind(index, wanted - static_cast<int64_t>(hits.size()));
    LOOM_RETURN_IF_ERROR(read_rows(stmt, &ids));
  }
  if (hits.size() <= query.offset) return std::vector<SearchHit>();
  hits.erase(hits.begin(), hits.begin() + query.offset);
  ids.erase(ids.begin(), ids.begin() + query.offset);

  // Snippets only for the hits returned, in one pass: a rowid lookup per hit would evaluate a
  // prefix query's merged doclist once per hit. The range goes to FTS5; "+rowid IN" only filters.
  if (!hits.empty()) {
    LOOM_ASSIGN_OR_RETURN(
        Lease stmt,
        Statement("SELECT rowid, snippet(product_search, -1, '[', ']', '...', 16) "
                  "FROM product_search WHERE product_search MATCH ? AND rowid BETWEEN ? AND ? "
                  "AND +rowid IN (SELECT value FROM json_each(?))"));
    nlohmann::json id_list = ids;
    stmt->Bind(1, *match)
        .Bind(2, *std::min_element(ids.begin(), ids.end()))
        .Bind(3, *std::max_element(ids.begin(), ids.end()))
        .Bind(4, id_list.dump());
    std::map<int64_t, std::string> snippets;
    while (true) {
      LOOM_ASSIGN_OR_RETURN(bool row, stmt->Step());
      if (!row) break;
      snippets[stmt->Int(0)] = stmt->Text(1);
    }
    for (size_t i = 0; i < hits.size(); ++i) hits[i].snippet = snippets[ids[i]];
  }
  return hits;
}

}  // namespace loom::catalog
