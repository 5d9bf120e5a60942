#include "catalog/fts_query.h"

#include <utility>

#include "catalog/rank.h"
#include "catalog/schema.h"

namespace loom::catalog {

struct FtsQueryBuilder::Impl {
  fts5_tokenizer methods{};
  Fts5Tokenizer* tokenizer = nullptr;
  ~Impl() {
    if (tokenizer != nullptr) methods.xDelete(tokenizer);
  }
};

namespace {

int CollectToken(void* ctx, int /*flags*/, const char* token, int size, int /*start*/,
                 int /*end*/) {
  auto* out = static_cast<std::vector<std::string>*>(ctx);
  if (size > 0) out->emplace_back(token, static_cast<size_t>(size));
  return SQLITE_OK;
}

int CollectDocumentToken(void* ctx, int /*flags*/, const char* token, int size, int start,
                         int end) {
  auto* out = static_cast<std::vector<FtsQueryBuilder::DocumentToken>*>(ctx);
  out->push_back({std::string(token, static_cast<size_t>(size)), static_cast<size_t>(start),
                  static_cast<size_t>(end)});
  return SQLITE_OK;
}

bool IsAsciiSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

}  // namespace

Result<FtsQueryBuilder> FtsQueryBuilder::Create(Db& db) {
  // The documented way to reach the fts5_api of a connection: SELECT fts5(?1) with a pointer.
  fts5_api* api = nullptr;
  LOOM_ASSIGN_OR_RETURN(Stmt stmt, db.Prepare("SELECT fts5(?1)"));
  stmt.BindPointer(1, static_cast<void*>(&api), "fts5_api_ptr");
  LOOM_RETURN_IF_ERROR(stmt.Run());
  if (api == nullptr) return Internal("sqlite: this SQLite has no FTS5");
  LOOM_RETURN_IF_ERROR(RegisterRankFunction(api));

  FtsQueryBuilder builder;
  builder.impl_ = std::make_unique<Impl>();
  void* user_data = nullptr;
  int rc = api->xFindTokenizer(api, kFtsTokenizer, &user_data, &builder.impl_->methods);
  if (rc != SQLITE_OK) return SqliteError(nullptr, rc, "find fts5 tokenizer");
  const char* args[] = {kFtsTokenizerArgs[0], kFtsTokenizerArgs[1]};
  rc = builder.impl_->methods.xCreate(user_data, args, 2, &builder.impl_->tokenizer);
  if (rc != SQLITE_OK) return SqliteError(nullptr, rc, "create fts5 tokenizer");
  return builder;
}

FtsQueryBuilder::~FtsQueryBuilder() = default;
FtsQueryBuilder::FtsQueryBuilder(FtsQueryBuilder&& other) noexcept = default;

Result<std::vector<std::string>> FtsQueryBuilder::Tokenize(std::string_view text) {
  std::vector<std::string> tokens;
  if (text.empty()) return tokens;
  int rc = impl_->methods.xTokenize(impl_->tokenizer, &tokens, FTS5_TOKENIZE_QUERY, text.data(),
                                    static_cast<int>(text.size()), &CollectToken);
  if (rc != SQLITE_OK) return SqliteError(nullptr, rc, "tokenize search text");
  return tokens;
}

Result<std::vector<FtsQueryBuilder::DocumentToken>> FtsQueryBuilder::TokenizeDocument(
    std::string_view text) {
  std::vector<DocumentToken> tokens;
  if (text.empty()) return tokens;
  // FTS5_TOKENIZE_AUX: how FTS5's own snippet() tokenizes a column's text.
  int rc = impl_->methods.xTokenize(impl_->tokenizer, &tokens, FTS5_TOKENIZE_AUX, text.data(),
                                    static_cast<int>(text.size()), &CollectDocumentToken);
  if (rc != SQLITE_OK) return SqliteError(nullptr, rc, "tokenize indexed text");
  return tokens;
}

Result<std::vector<std::vector<std::string>>> FtsQueryBuilder::Words(std::string_view text) {
  if (text.size() > kMaxSearchTextBytes) {
    return InvalidArgument("search text is " + std::to_string(text.size()) +
                           " bytes long; the limit is " + std::to_string(kMaxSearchTextBytes));
  }
  std::vector<std::vector<std::string>> words;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && IsAsciiSpace(text[i])) ++i;
    size_t start = i;
    while (i < text.size() && !IsAsciiSpace(text[i])) ++i;
    if (start == i) break;
    LOOM_ASSIGN_OR_RETURN(std::vector<std::string> tokens, Tokenize(text.substr(start, i - start)));
    if (!tokens.empty()) words.push_back(std::move(tokens));
  }
  return words;
}

Result<std::optional<std::string>> FtsQueryBuilder::Build(std::string_view text) {
  LOOM_ASSIGN_OR_RETURN(std::vector<std::vector<std::string>> words, Words(text));
  if (words.empty()) return std::optional<std::string>();
  return std::optional<std::string>(Expression(words, nullptr));
}

std::string FtsQueryBuilder::Expression(const std::vector<std::vector<std::string>>& words,
                                        const std::vector<std::string>* last_expansions) {
  // One quoted phrase of `tokens`, the last token replaced by `last` when given.
  auto phrase = [](const std::vector<std::string>& tokens, const std::string* last) {
    std::string out = "\"";
    for (size_t t = 0; t < tokens.size(); ++t) {
      if (t > 0) out += ' ';
      const std::string& token = (last != nullptr && t + 1 == tokens.size()) ? *last : tokens[t];
      // unicode61 never emits '"' in a token; double it anyway, as FTS5 strings require.
      for (char c : token) {
        out += c;
        if (c == '"') out += '"';
      }
    }
    return out + '"';
  };
  std::string expr;
  for (size_t w = 0; w + 1 < words.size(); ++w) {
    expr += phrase(words[w], nullptr);
    expr += " AND ";  // every word must match (FTS5 has no implicit AND before a parenthesis)
  }
  const std::vector<std::string>& last = words.back();
  if (last_expansions == nullptr) return expr + phrase(last, nullptr) + '*';
  std::string any;
  for (const std::string& term : *last_expansions) {
    if (!any.empty()) any += " OR ";
    any += phrase(last, &term);
  }
  return expr + "(" + any + ")";
}

}  // namespace loom::catalog
