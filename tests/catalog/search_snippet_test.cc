// Search snippets are computed from the hits' text (catalog/snippet.h) instead of by FTS5's
// snippet() on a scan of the index. These tests pin that they are exactly FTS5's: on a generated
// corpus with repeated words, phrases, sentences and long and short columns, every snippet of
// every hit equals `snippet(product_search, -1, '[', ']', '...', 16)` under the search's own MATCH
// expression.

#include <gtest/gtest.h>

#include <map>
#include <random>

#include "catalog/catalog.h"
#include "catalog/fts_query.h"
#include "catalog/sqlite_db.h"
#include "catalog_test_util.h"

namespace loom::catalog::testing {
namespace {

const std::vector<std::string> kWords = {
    "play",   "plays",   "played",  "listener", "listeners", "listening", "track",  "tracks",
    "artist", "artists", "royalty", "payments", "daily",     "country",   "zürich", "device"};

class SearchSnippetTest : public CatalogTest {
 protected:
  std::string Sentence(std::mt19937& rng, size_t words) {
    static const std::vector<std::string> kGlue = {" ", " ", " ", "-", ". ", ": ", ", ", "  "};
    std::string s;
    for (size_t i = 0; i < words; ++i) {
      if (i > 0) s += kGlue[rng() % kGlue.size()];
      s += kWords[rng() % kWords.size()];
    }
    return s;
  }

  void AddCorpus(size_t products) {
    std::mt19937 rng(7);
    std::vector<spec::Document> docs;
    for (size_t i = 0; i < products; ++i) {
      ProductText p;
      p.domain = i % 3 == 0 ? "artist-payments" : "media-player";
      p.name = "p" + std::to_string(i) + "-" + kWords[rng() % 12];
      p.title = Sentence(rng, 1 + rng() % 4);
      p.description = Sentence(rng, rng() % 3 == 0 ? 3 : 10 + rng() % 40);
      p.tags = {i % 2 ? "events" : "gold"};
      p.fields = {{"f_" + std::to_string(i % 7), Sentence(rng, 2 + rng() % 20)}};
      docs = docs + Docs(p);
    }
    MustApply(docs);
  }

  // FTS5's snippets for `text` under the MATCH expression the search builds: the last word a
  // prefix when short, else its terms from search_terms OR-ed (fts_query.h).
  std::map<std::pair<std::string, std::string>, std::string> FtsSnippets(const std::string& text) {
    std::map<std::pair<std::string, std::string>, std::string> out;
    Result<Db> db = Db::Open(dir_.Sub("catalog.db"));
    EXPECT_TRUE(db.ok());
    Result<FtsQueryBuilder> fts = FtsQueryBuilder::Create(*db);
    EXPECT_TRUE(fts.ok());
    Result<std::vector<std::vector<std::string>>> words = fts->Words(text);
    EXPECT_TRUE(words.ok());
    const std::string& last = words->back().back();
    std::string expression;
    size_t chars = 0;
    for (char c : last) chars += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    if (chars <= 4) {
      expression = FtsQueryBuilder::Expression(*words, nullptr);
    } else {
      std::string end = last;
      end.back() = static_cast<char>(end.back() + 1);
      Result<Stmt> terms = db->Prepare(
          "SELECT term FROM search_terms WHERE term >= ? AND term < ? ORDER BY term LIMIT 49");
      terms->Bind(1, last).Bind(2, end);
      std::vector<std::string> expansions;
      while (*terms->Step()) expansions.push_back(terms->Text(0));
      if (expansions.empty()) return out;
      expression = expansions.size() > 48 ? FtsQueryBuilder::Expression(*words, nullptr)
                                          : FtsQueryBuilder::Expression(*words, &expansions);
    }
    Result<Stmt> stmt = db->Prepare(
        "SELECT p.domain, p.name, snippet(product_search, -1, '[', ']', '...', 16) "
        "FROM product_search s JOIN products p ON p.id = s.rowid WHERE product_search MATCH ?");
    EXPECT_TRUE(stmt.ok());
    stmt->Bind(1, expression);
    while (*stmt->Step()) out[{stmt->Text(0), stmt->Text(1)}] = stmt->Text(2);
    return out;
  }
};

TEST_F(SearchSnippetTest, EverySnippetEqualsFts5s) {
  AddCorpus(300);
  size_t compared = 0;
  for (const char* text :
       {"play", "pla", "p", "liste", "listener", "listeners", "artist payments", "artist-payments",
        "daily play", "country zurich", "zürich", "royalty payme", "track-pl", "device listening",
        "plays played", "artist-pay", "tracks daily country", "payments artist"}) {
    for (const std::optional<std::string>& domain :
         {std::optional<std::string>(), std::optional<std::string>("media-player")}) {
      Result<std::vector<SearchHit>> hits =
          catalog_->Search({.text = text, .domain = domain, .limit = 1000});
      ASSERT_TRUE(hits.ok()) << hits.status().ToString();
      const auto expected = FtsSnippets(text);
      EXPECT_FALSE(hits->empty()) << text;
      for (const SearchHit& h : *hits) {
        auto it = expected.find({h.product.domain, h.product.name});
        ASSERT_NE(it, expected.end()) << text << ": " << h.product.name;
        EXPECT_EQ(h.snippet, it->second) << "'" << text << "' on " << h.product.name;
        ++compared;
      }
    }
  }
  EXPECT_GT(compared, 2000u);
}

TEST_F(SearchSnippetTest, APhraseCutByTheWindowsEndIsClosedAtTheEnd) {
  // The window that starts at the second sentence (token 1) ends on "artist": the phrase
  // "artist payments" is opened on its first token and closed where the window ends.
  ProductText p;
  p.name = "cut";
  p.title = "Cut";
  p.description =
      "Intro. a b c d e f g h i j k l m n o artist payments and more words after the window";
  MustApply(Docs(p));
  Result<std::vector<SearchHit>> hits = catalog_->Search({.text = "artist-payments"});
  ASSERT_TRUE(hits.ok()) << hits.status().ToString();
  ASSERT_EQ(hits->size(), 1u);
  EXPECT_EQ((*hits)[0].snippet, "...a b c d e f g h i j k l m n o [artist]...");
  auto fts = FtsSnippets("artist-payments");
  EXPECT_EQ((*hits)[0].snippet, (fts[{"media-player", "cut"}]));
}

TEST_F(SearchSnippetTest, PagesKeepTheirSnippets) {
  AddCorpus(60);
  Result<std::vector<SearchHit>> all = catalog_->Search({.text = "play", .limit = 30});
  Result<std::vector<SearchHit>> page =
      catalog_->Search({.text = "play", .limit = 10, .offset = 10});
  ASSERT_TRUE(all.ok() && page.ok());
  ASSERT_EQ(page->size(), 10u);
  for (size_t i = 0; i < page->size(); ++i) {
    EXPECT_EQ((*page)[i].product.name, (*all)[i + 10].product.name);
    EXPECT_EQ((*page)[i].snippet, (*all)[i + 10].snippet);
    EXPECT_NE((*page)[i].snippet.find('['), std::string::npos) << (*page)[i].snippet;
  }
}

}  // namespace
}  // namespace loom::catalog::testing
