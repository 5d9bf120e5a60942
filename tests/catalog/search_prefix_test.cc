// Long prefixes (more characters than the prefix indexes hold) are expanded into exact terms
// through the search_terms vocabulary; these tests pin that the expansion finds what a prefix
// query finds, keeps the ranking, follows applies, and survives a rebuilt vocabulary.

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "catalog/catalog.h"
#include "catalog/sqlite_db.h"
#include "catalog_test_util.h"

namespace loom::catalog::testing {
namespace {

class SearchPrefixTest : public CatalogTest {
 protected:
  std::vector<std::string> Names(const std::string& text, uint32_t limit = 100) {
    Result<std::vector<SearchHit>> r = catalog_->Search({.text = text, .limit = limit});
    EXPECT_TRUE(r.ok()) << "'" << text << "': " << r.status().ToString();
    std::vector<std::string> out;
    if (!r.ok()) return out;
    for (const SearchHit& h : *r) out.push_back(h.product.name);
    return out;
  }
  static std::vector<std::string> Sorted(std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
  }
  void AddProduct(const std::string& name, const std::string& description) {
    ProductText p;
    p.domain = "words";
    p.name = name;
    p.title = "Product " + name;
    p.description = description;
    p.fields = {{"id", "Identifier."}};
    MustApply(Docs(p));
  }
};

TEST_F(SearchPrefixTest, ALongPrefixFindsEveryTermItStartsWithAndNothingElse) {
  AddProduct("a", "Counts per listener.");
  AddProduct("b", "What the listeners did.");
  AddProduct("c", "Hours spent listening.");
  AddProduct("d", "Who listened, when.");
  AddProduct("e", "A list of things.");  // "list" is shorter than the prefix
  AddProduct("f", "Nothing related.");
  EXPECT_EQ(Sorted(Names("listen")), (std::vector<std::string>{"a", "b", "c", "d"}));
  EXPECT_EQ(Sorted(Names("listene")), (std::vector<std::string>{"a", "b", "d"}));
  EXPECT_EQ(Sorted(Names("listener")), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(Names("listenerz"), std::vector<std::string>{});
  EXPECT_EQ(Names("zzzzzz"), std::vector<std::string>{}) << "a prefix of no term";
  // Short prefixes stay FTS5 prefix queries, served by the prefix indexes.
  EXPECT_EQ(Sorted(Names("list")), (std::vector<std::string>{"a", "b", "c", "d", "e"}));
  // With a first word, and with a diacritic folded away.
  EXPECT_EQ(Names("hours listen"), (std::vector<std::string>{"c"}));
  EXPECT_EQ(Names("hours lístén"), (std::vector<std::string>{"c"}));
  EXPECT_EQ(Names("hours listened"), std::vector<std::string>{});
}

TEST_F(SearchPrefixTest, ExpandsTheLastTokenOfAHyphenatedLastWord) {
  AddProduct("p1", "Every track-played event.");
  AddProduct("p2", "Track data, played later.");  // both words, not as a phrase
  EXPECT_EQ(Names("track-playe"), (std::vector<std::string>{"p1"}));
  EXPECT_EQ(Names("track-pl"), (std::vector<std::string>{"p1"}));
  EXPECT_EQ(Sorted(Names("track playe")), (std::vector<std::string>{"p1", "p2"}));
}

TEST_F(SearchPrefixTest, APrefixOfManyTermsStillFindsThemAll) {
  // More terms than the expansion takes: the search falls back to an FTS5 prefix query.
  std::string yaml;
  for (int i = 0; i < 60; ++i) {
    ProductText p;
    p.domain = "many";
    p.name = "m" + std::to_string(i);
    p.description = "Word quantumfoo" + std::to_string(i) + " here.";
    yaml += (i ? "---\n" : "") + Yaml(p);
  }
  MustApply(Docs(yaml));
  EXPECT_EQ(Names("quantumfoo", 1000).size(), 60u);
  EXPECT_EQ(Names("quantumfoo1", 1000).size(), 11u);  // 1, 10..19
  EXPECT_EQ(Names("quantumfoo59"), (std::vector<std::string>{"m59"}));
}

TEST_F(SearchPrefixTest, FindsTermsOfLaterAppliesAndOfNewVersions) {
  AddProduct("a", "Alpha.");
  EXPECT_TRUE(Names("velocir").empty());
  ProductText p;
  p.domain = "words";
  p.name = "a";
  p.title = "Product a";
  p.version = "1.1.0";
  p.description = "Velociraptor counts.";
  p.fields = {{"id", "Identifier."}};
  MustApply(Docs(p));
  EXPECT_EQ(Names("velocir"), (std::vector<std::string>{"a"}));
  Reopen();
  EXPECT_EQ(Names("velociraptor"), (std::vector<std::string>{"a"}));
  // The old version's word is still in the vocabulary but matches no current text.
  EXPECT_TRUE(Names("alpha").empty());
}

TEST_F(SearchPrefixTest, RanksNameMatchesFirstForAnExpandedPrefix) {
  ProductText name_match;
  name_match.domain = "artists";
  name_match.name = "artist-profiles";
  name_match.title = "Artist profiles";
  name_match.description = "Profiles.";
  ProductText description_match;
  description_match.domain = "payments";
  description_match.name = "royalties";
  description_match.title = "Royalties";
  description_match.description = "What each artist earns, with artistic bonuses.";
  MustApply(Docs(description_match) + Docs(name_match));
  EXPECT_EQ(Names("artis"), (std::vector<std::string>{"artist-profiles", "royalties"}));
  EXPECT_EQ(Names("artist"), (std::vector<std::string>{"artist-profiles", "royalties"}));
  Result<std::vector<SearchHit>> hits = catalog_->Search({.text = "artis"});
  ASSERT_TRUE(hits.ok());
  ASSERT_EQ(hits->size(), 2u);
  EXPECT_NE((*hits)[1].snippet.find("[artist]"), std::string::npos) << (*hits)[1].snippet;
}

TEST_F(SearchPrefixTest, MigrationTwoRebuildsTermsAndLabelsFromTheIndex) {
  AddProduct("listener-counts", "Counts per listener.");
  AddProduct("plays", "Plays, with listener counts.");
  catalog_.reset();
  // Back to schema version 1: no vocabulary, no label index.
  {
    Result<Db> db = Db::Open(dir_.Sub("catalog.db"));
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(db->Exec("DROP TABLE search_terms; DROP TABLE product_labels; "
                         "DELETE FROM schema_migrations WHERE version >= 2")
                    .ok());
  }
  Reopen();
  // The name match first: the first tier comes from the rebuilt label index.
  EXPECT_EQ(Names("listen"), (std::vector<std::string>{"listener-counts", "plays"}));
  EXPECT_EQ(Names("counts listener"), (std::vector<std::string>{"listener-counts", "plays"}));
}

TEST_F(SearchPrefixTest, TheFirstTierFollowsNewVersionsAndFilters) {
  AddProduct("alpha", "Mentions gamma.");
  AddProduct("gamma", "Mentions nothing else.");
  EXPECT_EQ(Names("gamma"), (std::vector<std::string>{"gamma", "alpha"}));
  ProductText renamed;  // gamma's new version drops the word from its title
  renamed.domain = "words";
  renamed.name = "gamma";
  renamed.title = "Product g";
  renamed.version = "2.0.0";
  renamed.description = "Mentions nothing else.";
  renamed.fields = {{"id", "Identifier."}};
  MustApply(Docs(renamed));
  EXPECT_EQ(Names("gamma"), (std::vector<std::string>{"gamma", "alpha"})) << "still in the name";
  // gamma has both words in its new title; alpha has "g..." only in its description.
  EXPECT_EQ(Names("product g"), (std::vector<std::string>{"gamma", "alpha"}));
  Result<std::vector<SearchHit>> filtered =
      catalog_->Search({.text = "gamma", .owner = "group:player-team", .limit = 1});
  ASSERT_TRUE(filtered.ok());
  ASSERT_EQ(filtered->size(), 1u);
  EXPECT_EQ((*filtered)[0].product.name, "gamma");
}

}  // namespace
}  // namespace loom::catalog::testing
