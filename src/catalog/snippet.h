#pragma once

// Search snippets computed from a hit's indexed text, exactly as FTS5's
// `snippet(product_search, -1, '[', ']', '...', 16)` returns them for the hit under the search's
// MATCH expression (docs/internals/catalog.md, "Snippets"). FTS5 can only compute a snippet on a
// row its cursor visits: for 20 hits spread over the table that was a scan of every match
// between the oldest and the newest hit (4-8 ms for a common word with a filter), or a seek per
// hit in every segment of the index (0.05-0.6 ms each). Here a snippet costs the tokenization of
// one row's text. A test compares every snippet with FTS5's own on a generated corpus.
//
// What FTS5 does, and this does: the phrases' instances in the row (a phrase is at a position
// when its tokens follow each other there in one column; a prefix phrase's last token is a byte
// prefix of the term), ordered by column, position and phrase. For each instance, the window of
// 16 tokens from it scores 1000 per distinct phrase in it and 1 per repeated one; the window is
// centred on its instances and kept inside the column. The window from the sentence the instance
// is in (a token after '.' or ':' and white space starts a sentence) scores the same plus 100
// (120 at the column's start). The first best window wins; overlapping instances are
// highlighted as one, and '...' marks text cut before or after.
//
// Thread-safety: a pure function of its arguments; the tokenizer is the caller's (fts_query.h).

#include <string>
#include <vector>

#include "catalog/fts_query.h"
#include "core/core.h"

namespace loom::catalog {

// One phrase of a MATCH expression, in the order FTS5 numbers them (left to right).
struct SnippetPhrase {
  std::vector<std::string> tokens;  // not empty
  bool prefix = false;              // the last token is a prefix (`"..."*`)
};

// The snippet of the row whose columns (product_search's, in order) are `columns`.
Result<std::string> Snippet(FtsQueryBuilder& fts, const std::vector<std::string>& columns,
                            const std::vector<SnippetPhrase>& phrases);

}  // namespace loom::catalog
