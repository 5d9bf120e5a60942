#pragma once

// Turns a user's search text into an FTS5 MATCH expression that can never be an FTS syntax
// error: the text is cut into words at whitespace, each word is run through the index's own
// tokenizer (unicode61, diacritics removed), and the tokens of each word become one quoted
// phrase; the last phrase is a prefix query. Every FTS operator character (", *, :, ^, +, -,
// parentheses, NEAR, AND/OR/NOT) is therefore either a separator or quoted text.
//
// Thread-safety: none; one FtsQueryBuilder per connection, used under the catalog's mutex.

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "catalog/sqlite_db.h"
#include "core/core.h"

namespace loom::catalog {

// The longest search text accepted, in bytes.
inline constexpr size_t kMaxSearchTextBytes = 1000;

class FtsQueryBuilder {
 public:
  // Loads the FTS5 tokenizer from `db` and registers the ranking function loom_rank (rank.h) on
  // it; `db` must outlive the builder.
  static Result<FtsQueryBuilder> Create(Db& db);
  ~FtsQueryBuilder();
  FtsQueryBuilder(FtsQueryBuilder&& other) noexcept;
  FtsQueryBuilder& operator=(FtsQueryBuilder&&) = delete;
  FtsQueryBuilder(const FtsQueryBuilder&) = delete;
  FtsQueryBuilder& operator=(const FtsQueryBuilder&) = delete;

  // The tokens of `text` as the index sees them (lowercased, without diacritics).
  Result<std::vector<std::string>> Tokenize(std::string_view text);

  // One token of a document's text: the term and the bytes [start, end) of the text it came from.
  struct DocumentToken {
    std::string term;
    size_t start = 0;
    size_t end = 0;
  };
  // The tokens of a column's text in order, as FTS5 numbers their positions (snippet.h).
  Result<std::vector<DocumentToken>> TokenizeDocument(std::string_view text);

  // The words of `text` (cut at ASCII whitespace), each as its tokens; words without a token
  // (only punctuation or symbols) are dropped, so the result may be empty. kInvalidArgument if
  // longer than kMaxSearchTextBytes.
  Result<std::vector<std::vector<std::string>>> Words(std::string_view text);

  // The MATCH expression for `text` with the last word as a prefix (`*`), or nullopt when the
  // text has no searchable token. Errors as Words.
  Result<std::optional<std::string>> Build(std::string_view text);

  // The MATCH expression for `words` (not empty, none empty): each word one quoted phrase, all
  // required. If `last_expansions` is null, the last word's last token is a prefix (`*`);
  // otherwise the last word is any of the phrases that end in one of `last_expansions` (the
  // complete terms that the prefix stands for), OR-ed: FTS5 can seek in each of those doclists,
  // while a prefix term that no prefix index serves merges the doclists of all its terms.
  static std::string Expression(const std::vector<std::vector<std::string>>& words,
                                const std::vector<std::string>* last_expansions);

 private:
  FtsQueryBuilder() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;  // holds the fts5 tokenizer instance
};

}  // namespace loom::catalog
