// The ranking function loom_rank takes each phrase's document count from search_terms instead
// of counting the phrase's doclist as bm25 does: these tests pin that the counts follow every
// apply (new versions replace text), that migration 3 fills them from the index, and that the
// scores equal FTS5's own bm25 for queries of whole words.

#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "catalog/catalog.h"
#include "catalog/sqlite_db.h"
#include "catalog_test_util.h"

namespace loom::catalog::testing {
namespace {

class SearchRankTest : public CatalogTest {
 protected:
  void AddProduct(const std::string& name, const std::string& title, const std::string& description,
                  const std::string& version = "1.0.0",
                  std::vector<std::string> tags = {"events"}) {
    ProductText p;
    p.domain = "music";
    p.name = name;
    p.version = version;
    p.title = title;
    p.description = description;
    p.tags = std::move(tags);
    p.fields = {{"id", "Identifier of the " + name + "."}};
    MustApply(Docs(p));
  }

  Db Raw() {
    Result<Db> db = Db::Open(dir_.Sub("catalog.db"));
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    return db.ok() ? std::move(db).value() : Db();
  }

  // term -> count, from a query returning (term, count) rows with a non-zero count.
  static std::map<std::string, int64_t> Counts(Db& db, const std::string& sql) {
    std::map<std::string, int64_t> out;
    Result<Stmt> stmt = db.Prepare(sql);
    EXPECT_TRUE(stmt.ok()) << sql;
    if (!stmt.ok()) return out;
    while (true) {
      Result<bool> row = stmt->Step();
      EXPECT_TRUE(row.ok()) << sql;
      if (!row.ok() || !*row) break;
      if (stmt->Int(1) != 0) out[stmt->Text(0)] = stmt->Int(1);
    }
    return out;
  }

  // search_terms' counts equal what fts5vocab counts in the index itself.
  void ExpectCountsMatchTheIndex() {
    Db db = Raw();
    ASSERT_TRUE(db.Exec("CREATE VIRTUAL TABLE temp.vs USING fts5vocab(main, product_search, row);"
                        "CREATE VIRTUAL TABLE temp.vl USING fts5vocab(main, product_labels, row)")
                    .ok());
    EXPECT_EQ(Counts(db, "SELECT term, docs FROM search_terms"),
              Counts(db, "SELECT term, doc FROM temp.vs"));
    EXPECT_EQ(Counts(db, "SELECT term, label_docs FROM search_terms"),
              Counts(db, "SELECT term, doc FROM temp.vl"));
  }

  void AddCorpus() {
    AddProduct("artist-royalties", "Artist royalties", "What each artist earns, per month.");
    AddProduct("artist-profiles", "Artist profiles", "Name and country of each artist.");
    AddProduct("payouts", "Label payouts", "Royalties paid to labels, and to the artist.");
    AddProduct("plays", "Plays", "Every track played, by listener and device.");
    AddProduct("sessions", "Listening sessions", "Sessions of listeners, with their device.");
    AddProduct("charts", "Weekly charts", "Top tracks by country, each week.");
    AddProduct("catalogue", "Track catalogue", "Tracks and albums with their artist.", "1.0.0",
               {"reference"});
    AddProduct("ledger", "Payment ledger", "Every payment: royalties, refunds and fees.");
    AddProduct("search-log", "Search log", "Queries typed in search, and their results.");
    AddProduct("devices", "Devices", "Device models, operating systems and apps.");
  }
};

TEST_F(SearchRankTest, CountsFollowAppliesAndNewVersions) {
  AddCorpus();
  ExpectCountsMatchTheIndex();
  // New versions drop words, add words and move them between the labels and the description.
  AddProduct("artist-royalties", "Monthly royalties", "What each artist earns, per month.", "1.1.0",
             {"finance"});
  AddProduct("plays", "Plays", "Every track played.", "2.0.0");
  AddProduct("devices", "Artist devices", "Which artist uses which device.", "1.0.1");
  ExpectCountsMatchTheIndex();
  Reopen();
  AddProduct("plays", "Plays of each artist", "Every track played by listener.", "2.1.0");
  ExpectCountsMatchTheIndex();
}

TEST_F(SearchRankTest, MigrationThreeFillsTheCountsFromTheIndex) {
  AddCorpus();
  catalog_.reset();
  {
    Db db = Raw();  // back to schema version 2: terms without counts
    ASSERT_TRUE(db.Exec("CREATE TABLE old_terms AS SELECT term FROM search_terms;"
                        "DROP TABLE search_terms;"
                        "CREATE TABLE search_terms (term TEXT PRIMARY KEY) WITHOUT ROWID;"
                        "INSERT INTO search_terms SELECT term FROM old_terms;"
                        "DROP TABLE old_terms;"
                        "DELETE FROM schema_migrations WHERE version = 3")
                    .ok());
  }
  Reopen();
  ExpectCountsMatchTheIndex();
  EXPECT_EQ(catalog_->Search({.text = "artist"})->front().product.name, "artist-profiles");
}

TEST_F(SearchRankTest, ScoresWholeWordsAsBm25Does) {
  AddCorpus();
  // Queries whose phrases are all exact terms (the last word expands to whole terms), so that
  // the counts are exact and the scores must be bm25's with the index's default weights, tier by
  // tier. Each with the MATCH expression the search builds for it.
  const std::pair<std::string, std::string> queries[] = {
      {"artist royalties", "\"artist\" AND (\"royalties\")"},
      {"each artist", "\"each\" AND (\"artist\")"},
      {"device", "(\"device\" OR \"devices\")"},
      {"track", "(\"track\" OR \"tracks\")"},
  };
  Db db = Raw();
  for (const auto& [text, match] : queries) {
    Result<std::vector<SearchHit>> hits = catalog_->Search({.text = text});
    ASSERT_TRUE(hits.ok()) << hits.status().ToString();
    const std::string labels = "{name title tags} : (" + match + ")";
    std::map<std::string, double> bm25;
    for (const std::string& tier : {labels, "(" + match + ") NOT " + labels}) {
      Result<Stmt> stmt = db.Prepare(
          "SELECT p.name, -bm25(product_search, 10.0, 8.0, 2.0, 5.0, 3.0, 1.0, 4.0) "
          "FROM product_search JOIN products p ON p.id = product_search.rowid "
          "WHERE product_search MATCH ?");
      ASSERT_TRUE(stmt.ok());
      stmt->Bind(1, tier);
      while (*stmt->Step()) bm25[stmt->Text(0)] = stmt->Double(1);
    }
    ASSERT_EQ(hits->size(), bm25.size()) << text;
    ASSERT_GE(hits->size(), 2u) << text;
    for (const SearchHit& h : *hits) {
      ASSERT_TRUE(bm25.count(h.product.name)) << text << ": " << h.product.name;
      EXPECT_NEAR(h.score, bm25[h.product.name], 1e-9 * std::fabs(h.score))
          << text << ": " << h.product.name;
    }
  }
  // Rare words, so their IDFs are not clamped to bm25's 1e-6: a real score.
  Result<std::vector<SearchHit>> hits = catalog_->Search({.text = "artist royalties"});
  ASSERT_TRUE(hits.ok());
  EXPECT_EQ(hits->front().product.name, "artist-royalties") << "a label match ranks first";
  EXPECT_GT(hits->back().score, 1e-3);
}

}  // namespace
}  // namespace loom::catalog::testing
