// The product index of the SQLite catalog: the products/product_tags/product_port_kinds tables
// and the FTS5 table product_search, which hold the CURRENT version of each product only.

#include <algorithm>
#include <initializer_list>
#include <limits>
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
// How many matches of one ranking tier bm25 ranks at most (see SearchOn).
constexpr int kRankCandidates = 300;
// A last word of at most this many characters stays an FTS5 prefix query: the prefix indexes
// (prefix = '2 3 4') hold its doclist ready. A longer one is expanded to its terms.
constexpr size_t kPrefixIndexChars = 4;
// At most this many terms replace a prefix; a prefix with more stays a prefix query.
constexpr size_t kMaxPrefixExpansions = 48;
constexpr const char* kExpansionSql =
    "SELECT term FROM search_terms WHERE term >= ?1 AND term < ?2 ORDER BY term LIMIT ?3";

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

size_t CodePoints(const std::string& s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

// Up to `max` terms of the index that start with `prefix`, in byte order.
Result<std::vector<std::string>> Expansions(Connection& conn, const std::string& prefix,
                                            size_t max) {
  // Every term that starts with `prefix` sorts in [prefix, prefix with its last byte + 1).
  // Tokens are UTF-8, so no byte is 0xFF and the increment cannot overflow.
  std::string end = prefix;
  end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
  LOOM_ASSIGN_OR_RETURN(StmtLease stmt, conn.Statement(kExpansionSql));
  stmt->Bind(1, prefix).Bind(2, end).Bind(3, static_cast<int64_t>(max));
  std::vector<std::string> terms;
  while (true) {
    LOOM_ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (!row) break;
    terms.push_back(stmt->Text(0));
  }
  return terms;
}

// The MATCH expression for `words` (not empty), or nullopt when the last word's prefix names no
// term of the index (nothing can match).
Result<std::optional<std::string>> MatchExpression(
    Connection& conn, const std::vector<std::vector<std::string>>& words) {
  const std::string& last = words.back().back();
  if (CodePoints(last) <= kPrefixIndexChars) {
    return std::optional<std::string>(FtsQueryBuilder::Expression(words, nullptr));
  }
  LOOM_ASSIGN_OR_RETURN(std::vector<std::string> terms,
                        Expansions(conn, last, kMaxPrefixExpansions + 1));
  if (terms.empty()) return std::optional<std::string>();
  if (terms.size() > kMaxPrefixExpansions) {
    return std::optional<std::string>(FtsQueryBuilder::Expression(words, nullptr));
  }
  return std::optional<std::string>(FtsQueryBuilder::Expression(words, &terms));
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
  std::string tag_text;
  for (const std::string& t : tags) {
    if (!tag_text.empty()) tag_text += ' ';
    tag_text += t;
  }
  std::string field_names;
  std::string field_descriptions;
  CollectFields(p.schema.fields, &field_names, &field_descriptions);
  LOOM_RETURN_IF_ERROR(IndexTerms({&p.name, &p.title, &p.description, &tag_text, &field_names,
                                   &field_descriptions, &p.domain}));
  {
    LOOM_ASSIGN_OR_RETURN(
        Lease stmt,
        Statement("INSERT INTO product_labels(rowid, name, title, tags) VALUES (?, ?, ?, ?)"));
    stmt->Bind(1, id).Bind(2, p.name).Bind(3, p.title).Bind(4, tag_text);
    LOOM_RETURN_IF_ERROR(stmt->Run());
  }
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

Status SqliteCatalog::IndexTerms(const std::vector<const std::string*>& texts) {
  // The same tokenizer as the index: these are exactly the terms FTS5 stores for the texts.
  std::set<std::string> terms;
  for (const std::string* text : texts) {
    LOOM_ASSIGN_OR_RETURN(std::vector<std::string> tokens, writer_->fts().Tokenize(*text));
    terms.insert(tokens.begin(), tokens.end());
  }
  for (const std::string& term : terms) {
    LOOM_ASSIGN_OR_RETURN(Lease stmt,
                          Statement("INSERT OR IGNORE INTO search_terms(term) VALUES (?)"));
    stmt->Bind(1, term);
    LOOM_RETURN_IF_ERROR(stmt->Run());
  }
  return Status::Ok();
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
  ReaderPool::Handle conn = readers_->Acquire();
  return SearchOn(*conn, query);
}

Result<std::vector<SearchHit>> SqliteCatalog::SearchOn(Connection& conn, const SearchQuery& query) {
  // One read transaction: the tiers and the snippets see the same snapshot even while an apply
  // commits. Rolled back (nothing to undo) at scope end.
  LOOM_ASSIGN_OR_RETURN(Transaction txn, Transaction::Begin(conn.db(), /*immediate=*/false));
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
  auto read_rows = [&](StmtLease& stmt, std::vector<int64_t>* ids) -> Status {
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
    LOOM_ASSIGN_OR_RETURN(
        StmtLease stmt,
        conn.Statement(std::string("SELECT ") + kSummaryColumns + ", 0.0 FROM products p WHERE 1" +
                       filters + " ORDER BY p.domain, p.name LIMIT ? OFFSET ?"));
    int index = 1;
    for (const std::string& v : filter_values) stmt->Bind(index++, v);
    stmt->Bind(index, int64_t{query.limit});
    stmt->Bind(index + 1, int64_t{query.offset});
    LOOM_RETURN_IF_ERROR(read_rows(stmt, nullptr));
    return hits;
  }

  LOOM_ASSIGN_OR_RETURN(std::vector<std::vector<std::string>> words, conn.fts().Words(query.text));
  // Text made only of symbols and punctuation names no word: nothing can match it.
  if (words.empty()) return hits;
  LOOM_ASSIGN_OR_RETURN(std::optional<std::string> match, MatchExpression(conn, words));
  if (!match) return hits;

  // Two tiers: products whose name, title or tags hold every word come before products that
  // match elsewhere (description, fields, domain); bm25 ranks within a tier. Each tier ranks at
  // most kRankCandidates matches (the newest), so that a common word costs a bounded time.
  const std::string labels = "{name title tags} : (" + *match + ")";
  const std::string tiers[] = {labels, "(" + *match + ") NOT " + labels};
  // The products table joins the candidate queries only when a filter needs it.
  const std::string tier_sql =
      std::string("SELECT ") + kSummaryColumns +
      ", c.score, p.id FROM (SELECT s.rowid AS id, -s.rank AS score FROM product_search s " +
      (filters.empty() ? std::string("WHERE product_search MATCH ? AND s.rowid >= ?")
                       : "JOIN products p ON p.id = s.rowid WHERE product_search MATCH ? "
                         "AND s.rowid >= ?" +
                             filters) +
      " ORDER BY s.rowid DESC LIMIT " + std::to_string(kRankCandidates) +
      ") c JOIN products p ON p.id = c.id ORDER BY c.score DESC, p.domain, p.name LIMIT ?";
  // The first tier's candidates, found in product_labels: there each word's doclist holds only
  // the products that have it in a label, where the first tier's query on product_search would
  // test the columns of every product that has the words anywhere, to the last one when fewer
  // than kRankCandidates qualify. The oldest of these bounds the first tier's scan; it finds the
  // same products (the same text is in both indexes) and ranks them as before.
  const std::string labels_sql =
      std::string("SELECT l.rowid FROM product_labels l ") +
      (filters.empty()
           ? std::string("WHERE product_labels MATCH ?")
           : "JOIN products p ON p.id = l.rowid WHERE product_labels MATCH ?" + filters) +
      " ORDER BY l.rowid DESC LIMIT " + std::to_string(kRankCandidates);
  std::optional<int64_t> first_tier_from;
  {
    LOOM_ASSIGN_OR_RETURN(StmtLease stmt, conn.Statement(labels_sql));
    int index = 1;
    stmt->Bind(index++, *match);
    for (const std::string& v : filter_values) stmt->Bind(index++, v);
    while (true) {
      LOOM_ASSIGN_OR_RETURN(bool row, stmt->Step());
      if (!row) break;
      first_tier_from = stmt->Int(0);
    }
  }
  const int64_t wanted = int64_t{query.offset} + query.limit;
  std::vector<int64_t> ids;
  for (int tier = 0; tier < 2; ++tier) {
    if (static_cast<int64_t>(hits.size()) >= wanted) break;
    if (tier == 0 && !first_tier_from) continue;  // no product has the words in a label
    LOOM_ASSIGN_OR_RETURN(StmtLease stmt, conn.Statement(tier_sql));
    int index = 1;
    stmt->Bind(index++, tiers[tier]);
    stmt->Bind(index++, tier == 0 ? *first_tier_from : std::numeric_limits<int64_t>::min());
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
        StmtLease stmt,
        conn.Statement("SELECT rowid, snippet(product_search, -1, '[', ']', '...', 16) "
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
