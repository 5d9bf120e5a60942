#pragma once

// The search ranking function `loom_rank`: FTS5's bm25 (k1 = 1.2, b = 0.75, one weight per
// column, IDF = ln((N - n + 0.5) / (n + 0.5)), at least 1e-6), except that each phrase's document
// count n is given by the caller instead of counted by scanning the phrase's whole doclist
// (bm25's xQueryPhrase, most of a search's cost for common words). The catalog keeps those counts
// per term in `search_terms` (see docs/internals/catalog.md, "Search").
//
// SQL: `loom_rank(product_search, ?)` with a RankInput bound by sqlite3_bind_pointer under the
// type kRankInputType. It returns the score, higher is better (bm25 returns it negated).
//
// Thread-safety: the function keeps per-statement state in FTS5 aux data only; a RankInput must
// stay alive and unchanged while a statement it is bound to runs.

#include <cstdint>
#include <functional>
#include <vector>

#include "catalog/sqlite_db.h"
#include "core/core.h"

namespace loom::catalog {

inline constexpr const char* kRankFunction = "loom_rank";
inline constexpr const char* kRankInputType = "loom_rank_input";

struct RankInput {
  // One weight per column of the FTS5 table, in column order (bm25's weights).
  std::vector<double> weights;
  // For each phrase of the MATCH expression, in the order FTS5 numbers them (left to right), the
  // number of rows that hold it; clamped to the table's row count.
  std::vector<int64_t> docs;
  // To rank in a table that holds some of another table's columns (product_labels for
  // product_search) as bm25 would in the other one: the row's length in tokens (all columns of
  // the other table) and the other table's average length. Unset: the table's own.
  std::function<Result<int64_t>(int64_t rowid)> row_tokens;
  double avgdl = 0;  // > 0: used instead of the table's own average
};

// Registers loom_rank on the connection behind `api`.
Status RegisterRankFunction(fts5_api* api);

}  // namespace loom::catalog
