// The product index of the SQLite catalog: the products/product_tags/product_port_kinds tables
// and the FTS5 table product_search, which hold the CURRENT version of each product only.

#include <algorithm>
#include <initializer_list>
#include <limits>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "catalog/rank.h"
#include "catalog/snippet.h"
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
    "SELECT term, docs, label_docs FROM search_terms WHERE term >= ?1 AND term < ?2 "
    "ORDER BY term LIMIT ?3";
constexpr const char* kTermCountsSql = "SELECT docs, label_docs FROM search_terms WHERE term = ?";
// A prefix phrase's document count sums at most this many of its terms' counts.
constexpr int64_t kMaxPrefixCountTerms = 2000;
constexpr const char* kPrefixCountsSql =
    "SELECT coalesce(sum(docs), 0), coalesce(sum(label_docs), 0) FROM (SELECT docs, label_docs "
    "FROM search_terms WHERE term >= ?1 AND term < ?2 LIMIT ?3)";
// bm25's column weights for product_search (name, title, description, tags, field_names,
// field_descriptions, domain): name and title weigh most.
const std::vector<double> kRankWeights = {10.0, 8.0, 2.0, 5.0, 3.0, 1.0, 4.0};
// The same weights for product_labels' columns (name, title, tags).
const std::vector<double> kLabelRankWeights = {10.0, 8.0, 5.0};

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

// How many products hold a term: in any column of product_search, and in a label.
struct Counts {
  int64_t docs = 0;
  int64_t label_docs = 0;
};

Counts Min(Counts a, Counts b) {
  return {std::min(a.docs, b.docs), std::min(a.label_docs, b.label_docs)};
}

// The end of the byte range of the terms that start with `prefix`: every such term sorts in
// [prefix, prefix with its last byte + 1). Tokens are UTF-8, so no byte is 0xFF and the
// increment cannot overflow.
std::string PrefixEnd(const std::string& prefix) {
  std::string end = prefix;
  end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
  return end;
}

Result<Counts> TermCounts(Connection& conn, const std::string& term) {
  LOOM_ASSIGN_OR_RETURN(StmtLease stmt, conn.Statement(kTermCountsSql));
  stmt->Bind(1, term);
  LOOM_ASSIGN_OR_RETURN(bool row, stmt->Step());
  if (!row) return Counts{};
  return Counts{stmt->Int(0), stmt->Int(1)};
}

// A prefix phrase's document count: the sum of its terms' counts (products holding two of them
// count twice; loom_rank clamps to the row count), over its first kMaxPrefixCountTerms terms.
Result<Counts> PrefixCounts(Connection& conn, const std::string& prefix) {
  LOOM_ASSIGN_OR_RETURN(StmtLease stmt, conn.Statement(kPrefixCountsSql));
  stmt->Bind(1, prefix).Bind(2, PrefixEnd(prefix)).Bind(3, kMaxPrefixCountTerms);
  LOOM_ASSIGN_OR_RETURN(bool row, stmt->Step());
  if (!row) return Counts{};
  return Counts{stmt->Int(0), stmt->Int(1)};
}

// The count of a phrase of `tokens` (exact): at most that of its rarest token.
Result<Counts> PhraseCounts(Connection& conn, const std::vector<std::string>& tokens,
                            size_t count) {
  Counts c{std::numeric_limits<int64_t>::max(), std::numeric_limits<int64_t>::max()};
  for (size_t t = 0; t < count; ++t) {
    LOOM_ASSIGN_OR_RETURN(Counts term, TermCounts(conn, tokens[t]));
    c = Min(c, term);
  }
  return c;
}

struct Expansion {
  std::string term;
  Counts counts;
};

// Up to `max` terms of the index that start with `prefix`, in byte order, with their counts.
Result<std::vector<Expansion>> Expansions(Connection& conn, const std::string& prefix, size_t max) {
  LOOM_ASSIGN_OR_RETURN(StmtLease stmt, conn.Statement(kExpansionSql));
  stmt->Bind(1, prefix).Bind(2, PrefixEnd(prefix)).Bind(3, static_cast<int64_t>(max));
  std::vector<Expansion> terms;
  while (true) {
    LOOM_ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (!row) break;
    terms.push_back({stmt->Text(0), {stmt->Int(1), stmt->Int(2)}});
  }
  return terms;
}

// A MATCH expression and, for each of its phrases in FTS5's order (left to right), how many
// products hold it: what loom_rank needs instead of counting each phrase's doclist.
struct Match {
  std::string expression;
  std::vector<Counts> phrases;
  std::vector<SnippetPhrase> snippet_phrases;  // the same phrases, for snippets
};

// The Match for `words` (not empty), or nullopt when the last word's prefix names no term of the
// index (nothing can match).
Result<std::optional<Match>> MatchFor(Connection& conn,
                                      const std::vector<std::vector<std::string>>& words) {
  Match m;
  for (size_t w = 0; w + 1 < words.size(); ++w) {
    LOOM_ASSIGN_OR_RETURN(Counts c, PhraseCounts(conn, words[w], words[w].size()));
    m.phrases.push_back(c);
    m.snippet_phrases.push_back({words[w], false});
  }
  const std::vector<std::string>& last_word = words.back();
  // The last word's tokens but its last, which is the prefix.
  LOOM_ASSIGN_OR_RETURN(Counts before, PhraseCounts(conn, last_word, last_word.size() - 1));
  const std::string& last = last_word.back();
  auto as_prefix = [&]() -> Result<std::optional<Match>> {
    LOOM_ASSIGN_OR_RETURN(Counts c, PrefixCounts(conn, last));
    m.phrases.push_back(Min(before, c));
    m.snippet_phrases.push_back({last_word, true});
    m.expression = FtsQueryBuilder::Expression(words, nullptr);
    return std::optional<Match>(std::move(m));
  };
  if (CodePoints(last) <= kPrefixIndexChars) return as_prefix();
  LOOM_ASSIGN_OR_RETURN(std::vector<Expansion> expansions,
                        Expansions(conn, last, kMaxPrefixExpansions + 1));
  if (expansions.empty()) return std::optional<Match>();
  if (expansions.size() > kMaxPrefixExpansions) return as_prefix();
  std::vector<std::string> terms;
  for (const Expansion& e : expansions) {
    terms.push_back(e.term);
    m.phrases.push_back(Min(before, e.counts));
    m.snippet_phrases.push_back({last_word, false});
    m.snippet_phrases.back().tokens.back() = e.term;
  }
  m.expression = FtsQueryBuilder::Expression(words, &terms);
  return std::optional<Match>(std::move(m));
}

// SQLite's varint, which FTS5 uses in its shadow tables: big-endian groups of 7 bits, the high
// bit set on all but the last, a ninth byte of 8 bits.
bool ReadVarint(std::string_view* in, uint64_t* v) {
  uint64_t x = 0;
  for (int i = 0; i < 9; ++i) {
    if (in->empty()) return false;
    const auto b = static_cast<unsigned char>(in->front());
    in->remove_prefix(1);
    if (i == 8) {
      *v = (x << 8) | b;
      return true;
    }
    x = (x << 7) | (b & 0x7f);
    if ((b & 0x80) == 0) {
      *v = x;
      return true;
    }
  }
  return false;
}

// The sum of a blob of varints (a row's or the table's token counts per column).
Result<int64_t> SumVarints(std::string_view blob, size_t skip) {
  uint64_t sum = 0;
  for (size_t i = 0; !blob.empty(); ++i) {
    uint64_t v = 0;
    if (!ReadVarint(&blob, &v)) return Internal("catalog: malformed FTS5 size record");
    if (i >= skip) sum += v;
  }
  return static_cast<int64_t>(sum);
}

// product_search's average row length in tokens, as bm25 computes it: FTS5's averages record
// (rowid 1 of its data table) holds the row count, then the total tokens of each column.
Result<double> SearchAverageLength(Connection& conn) {
  LOOM_ASSIGN_OR_RETURN(StmtLease stmt,
                        conn.Statement("SELECT block FROM product_search_data WHERE id = 1"));
  LOOM_ASSIGN_OR_RETURN(bool row, stmt->Step());
  const std::string blob = row ? stmt->Text(0) : std::string();
  if (blob.empty()) return 1.0;  // a new index: no row yet
  std::string_view in(blob);
  uint64_t rows = 0;
  if (!ReadVarint(&in, &rows)) return Internal("catalog: malformed FTS5 averages record");
  LOOM_ASSIGN_OR_RETURN(int64_t tokens, SumVarints(in, 0));
  return rows > 0 ? static_cast<double>(tokens) / static_cast<double>(rows) : 1.0;
}

// One product_search row's length in tokens, from its docsize record (one varint per column).
Result<int64_t> SearchRowLength(Connection& conn, int64_t rowid) {
  LOOM_ASSIGN_OR_RETURN(StmtLease stmt,
                        conn.Statement("SELECT sz FROM product_search_docsize WHERE id = ?"));
  stmt->Bind(1, rowid);
  LOOM_ASSIGN_OR_RETURN(bool row, stmt->Step());
  if (!row) return Internal("catalog: product " + std::to_string(rowid) + " has no docsize");
  return SumVarints(stmt->Text(0), 0);
}

}  // namespace

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
  // The same filters as one set of product ids, for the text search (filter_set.h).
  std::vector<std::pair<FilterKind, std::string>> filter_kinds;
  auto kind = [&](const std::optional<std::string>& value, FilterKind k) {
    if (value) filter_kinds.emplace_back(k, *value);
  };
  kind(query.domain, FilterKind::kDomain);
  kind(query.owner, FilterKind::kOwner);
  kind(query.classification, FilterKind::kClassification);
  kind(query.alignment, FilterKind::kAlignment);
  kind(query.tag, FilterKind::kTag);
  kind(query.port_kind, FilterKind::kPortKind);

  std::vector<SearchHit> hits;
  auto visible = [&](const ProductSummary& p) { return !query.visible || query.visible(p); };
  // Reads hits until the statement ends or `hits` holds `until`, leaving out those not visible.
  auto read_rows = [&](StmtLease& stmt, std::vector<int64_t>* ids, size_t until) -> Status {
    while (hits.size() < until) {
      LOOM_ASSIGN_OR_RETURN(bool row, stmt->Step());
      if (!row) return Status::Ok();
      SearchHit hit;
      hit.product = ReadSummary(*stmt);
      if (!visible(hit.product)) continue;
      hit.score = stmt->Double(kSummaryColumnCount);
      if (ids != nullptr) ids->push_back(stmt->Int(kSummaryColumnCount + 1));
      hits.push_back(std::move(hit));
    }
    return Status::Ok();
  };

  bool has_text = query.text.find_first_not_of(" \t\r\n\f\v") != std::string::npos;
  if (!has_text) {
    LOOM_ASSIGN_OR_RETURN(
        StmtLease stmt,
        conn.Statement(std::string("SELECT ") + kSummaryColumns + ", 0.0 FROM products p WHERE 1" +
                       filters + " ORDER BY p.domain, p.name LIMIT ? OFFSET ?"));
    int index = 1;
    for (const std::string& v : filter_values) stmt->Bind(index++, v);
    if (!query.visible) {
      stmt->Bind(index, int64_t{query.limit});
      stmt->Bind(index + 1, int64_t{query.offset});
      LOOM_RETURN_IF_ERROR(read_rows(stmt, nullptr, query.limit));
      return hits;
    }
    // The offset counts visible products only: SQL can skip none of them.
    stmt->Bind(index, int64_t{-1});
    stmt->Bind(index + 1, int64_t{0});
    LOOM_RETURN_IF_ERROR(read_rows(stmt, nullptr, size_t{query.offset} + query.limit));
    hits.erase(hits.begin(), hits.begin() + std::min<size_t>(query.offset, hits.size()));
    return hits;
  }

  LOOM_ASSIGN_OR_RETURN(std::vector<std::vector<std::string>> words, conn.fts().Words(query.text));
  // Text made only of symbols and punctuation names no word: nothing can match it.
  if (words.empty()) return hits;
  LOOM_ASSIGN_OR_RETURN(std::optional<Match> found, MatchFor(conn, words));
  if (!found) return hits;
  const std::string* match = &found->expression;

  // Two tiers: products whose name, title or tags hold every word come before products that
  // match elsewhere (description, fields, domain); bm25 ranks within a tier. Each tier ranks at
  // most kRankCandidates matches (the newest), so that a common word costs a bounded time.
  // Filters test each match against the id set of the products that pass them (a bit test, where
  // a join with products would seek in its B-tree for every match).
  std::shared_ptr<const FilterSet> passing;
  if (!filter_kinds.empty()) {
    LOOM_ASSIGN_OR_RETURN(passing, conn.filters().Get(conn.db(), filter_kinds));
  }
  const int64_t wanted = int64_t{query.offset} + query.limit;
  std::vector<int64_t> ids;
  // Every product of the first tier (all that match in a label and pass the filters), when its
  // scan saw them all (fewer than kRankCandidates): the second tier then leaves out these ids
  // instead of testing `NOT {name title tags} : (match)` on each of its matches.
  std::optional<std::vector<int64_t>> label_ids;

  // The first tier is ranked in product_labels (name, title, tags of every product), where each
  // word's doclist holds only the products that have it in a label: on product_search the
  // label-limited phrases test the columns of every product that has the words anywhere. The
  // scores are those bm25 gives on product_search for `{name title tags} : (match)`: the same
  // instances (same text, same tokenizer), label document counts, and product_search's row
  // lengths (its docsize records) and average.
  {
    RankInput rank;
    rank.weights = kLabelRankWeights;
    for (const Counts& c : found->phrases) rank.docs.push_back(c.label_docs);
    LOOM_ASSIGN_OR_RETURN(rank.avgdl, SearchAverageLength(conn));
    rank.row_tokens = [&conn](int64_t rowid) { return SearchRowLength(conn, rowid); };
    LOOM_ASSIGN_OR_RETURN(
        StmtLease stmt,
        conn.Statement(std::string("SELECT l.rowid, ") + kRankFunction +
                       "(product_labels, ?) FROM product_labels l WHERE product_labels MATCH ?" +
                       (passing ? " AND loom_in_set(?, l.rowid)" : "") +
                       " ORDER BY l.rowid DESC LIMIT " + std::to_string(kRankCandidates)));
    stmt->BindPointer(1, &rank, kRankInputType).Bind(2, *match);
    if (passing) stmt->BindPointer(3, const_cast<FilterSet*>(passing.get()), kFilterSetType);
    std::vector<std::pair<double, int64_t>> ranked;  // (score, id)
    while (true) {
      LOOM_ASSIGN_OR_RETURN(bool row, stmt->Step());
      if (!row) break;
      ranked.emplace_back(stmt->Double(1), stmt->Int(0));
    }
    if (ranked.size() < static_cast<size_t>(kRankCandidates)) {
      label_ids.emplace();
      for (const auto& [score, id] : ranked) label_ids->push_back(id);
    }
    // The best `wanted` visible products, and those that tie with the last of them: ties go by
    // domain and name. Summaries are read one group of equal scores at a time.
    std::sort(ranked.begin(), ranked.end(),
              [](const auto& x, const auto& y) { return x.first > y.first; });
    std::vector<std::pair<SearchHit, int64_t>> first;
    for (size_t k = 0; k < ranked.size() && first.size() < static_cast<size_t>(wanted);) {
      const double score = ranked[k].first;
      for (; k < ranked.size() && ranked[k].first == score; ++k) {
        const int64_t id = ranked[k].second;
        LOOM_ASSIGN_OR_RETURN(StmtLease product,
                              conn.Statement(std::string("SELECT ") + kSummaryColumns +
                                             " FROM products p WHERE id = ?"));
        product->Bind(1, id);
        LOOM_ASSIGN_OR_RETURN(bool row, product->Step());
        if (!row) return Internal("catalog: indexed product " + std::to_string(id) + " not found");
        SearchHit hit;
        hit.product = ReadSummary(*product);
        hit.score = score;
        if (visible(hit.product)) first.emplace_back(std::move(hit), id);
      }
    }
    std::sort(first.begin(), first.end(), [](const auto& x, const auto& y) {
      if (x.first.score != y.first.score) return x.first.score > y.first.score;
      if (x.first.product.domain != y.first.product.domain) {
        return x.first.product.domain < y.first.product.domain;
      }
      return x.first.product.name < y.first.product.name;
    });
    if (first.size() > static_cast<size_t>(wanted)) first.resize(static_cast<size_t>(wanted));
    for (auto& [hit, id] : first) {
      hits.push_back(std::move(hit));
      ids.push_back(id);
    }
  }

  // The second tier: the match in product_search, without the first tier's. When the first tier
  // holds every label match that passes the filters, those ids are left out by a bit test;
  // otherwise by the MATCH expression `(match) NOT {name title tags} : (match)`, which tests the
  // label columns of every match (about as costly again as the match itself). The scores are
  // the same: in a row the NOT-ed phrases match nothing, so they add nothing to bm25's sum.
  if (static_cast<int64_t>(hits.size()) < wanted) {
    RankInput rank;
    rank.weights = kRankWeights;
    for (const Counts& c : found->phrases) rank.docs.push_back(c.docs);
    std::string expression = *match;
    FilterSet candidates;
    const FilterSet* in_set = passing.get();
    bool exclude = false;  // in_set holds the ids to leave out, not those to keep
    if (!label_ids) {
      expression = "(" + *match + ") NOT {name title tags} : (" + *match + ")";
      for (const Counts& c : found->phrases) rank.docs.push_back(c.label_docs);
    } else if (passing) {
      candidates = *passing;
      for (int64_t id : *label_ids) candidates.Remove(id);
      in_set = &candidates;
    } else if (!label_ids->empty()) {
      for (int64_t id : *label_ids) candidates.Add(id);
      in_set = &candidates;
      exclude = true;
    }
    LOOM_ASSIGN_OR_RETURN(
        StmtLease stmt,
        conn.Statement(std::string("SELECT ") + kSummaryColumns +
                       ", c.score, p.id FROM (SELECT s.rowid AS id, " + kRankFunction +
                       "(product_search, ?) AS score FROM product_search s "
                       "WHERE product_search MATCH ?" +
                       (in_set == nullptr ? ""
                        : exclude         ? " AND NOT loom_in_set(?, s.rowid)"
                                          : " AND loom_in_set(?, s.rowid)") +
                       " ORDER BY s.rowid DESC LIMIT " + std::to_string(kRankCandidates) +
                       ") c JOIN products p ON p.id = c.id ORDER BY c.score DESC, p.domain, "
                       "p.name LIMIT ?"));
    int index = 1;
    stmt->BindPointer(index++, &rank, kRankInputType);
    stmt->Bind(index++, expression);
    if (in_set != nullptr) {
      stmt->BindPointer(index++, const_cast<FilterSet*>(in_set), kFilterSetType);
    }
    // Hits the caller may not see are read and left out: the SQL limit counts them too.
    stmt->Bind(index, query.visible ? int64_t{-1} : wanted - static_cast<int64_t>(hits.size()));
    LOOM_RETURN_IF_ERROR(read_rows(stmt, &ids, static_cast<size_t>(wanted)));
  }
  if (hits.size() <= query.offset) return std::vector<SearchHit>();

  // Snippets only for the hits returned, computed from their text (snippet.h): FTS5 computes
  // one only on a row its cursor visits, a scan of every match between the oldest and the newest
  // hit, or a seek per hit in each of the index's segments.
  LOOM_ASSIGN_OR_RETURN(StmtLease text,
                        conn.Statement("SELECT name, title, description, tags, field_names, "
                                       "field_descriptions, domain FROM product_search "
                                       "WHERE rowid = ?"));
  std::vector<std::string> columns;
  for (size_t i = query.offset; i < hits.size(); ++i) {
    text->Bind(1, ids[i]);
    LOOM_ASSIGN_OR_RETURN(bool row, text->Step());
    if (!row) return Internal("catalog: product " + std::to_string(ids[i]) + " has no text");
    columns.clear();
    for (int c = 0; c < 7; ++c) columns.push_back(text->Text(c));
    text->Reset();
    LOOM_ASSIGN_OR_RETURN(hits[i].snippet, Snippet(conn.fts(), columns, found->snippet_phrases));
  }
  hits.erase(hits.begin(), hits.begin() + query.offset);
  return hits;
}

}  // namespace loom::catalog
