#include <gtest/gtest.h>

#include "catalog/catalog.h"
#include "catalog_test_util.h"

namespace loom::catalog::testing {
namespace {

class SearchTest : public CatalogTest {
 protected:
  void SetUp() override {
    CatalogTest::SetUp();
    ProductText plays;  // media-player/play-events, internal, source, stream
    plays.description = "Every track a listener plays, as it happens.";
    plays.tags = {"events", "listening"};
    plays.fields = {{"track_id", "The track played."}, {"listener_id", "Who listened."}};

    ProductText royalties;
    royalties.domain = "artist-payments";
    royalties.name = "royalties";
    royalties.title = "Monthly royalties";
    royalties.description = "What each artist earns from plays, per month.";
    royalties.owner = "group:payments";
    royalties.tags = {"finance"};
    royalties.classification = "confidential";
    royalties.alignment = "consumer";
    royalties.port_kind = "table";
    royalties.fields = {{"artist_id", "The artist paid."}, {"amount", "Money earned."}};

    ProductText profiles;
    profiles.domain = "artists";
    profiles.name = "artist-profiles";
    profiles.title = "Artist profiles";
    profiles.description = "Name, country and genres of each artist (Café Müller, Zürich).";
    profiles.owner = "group:artists";
    profiles.tags = {"reference"};
    profiles.classification = "public";
    profiles.alignment = "shared";
    profiles.port_kind = "table";
    profiles.fields = {{"artist_id", "Artist identifier."}, {"country", "ISO country code."}};

    MustApply(Docs(plays) + Docs(royalties) + Docs(profiles));
  }

  std::vector<SearchHit> Find(SearchQuery q) {
    Result<std::vector<SearchHit>> r = catalog_->Search(q);
    EXPECT_TRUE(r.ok()) << "'" << q.text << "': " << r.status().ToString();
    return r.ok() ? std::move(r).value() : std::vector<SearchHit>{};
  }
  std::vector<std::string> Names(const std::vector<SearchHit>& hits) {
    std::vector<std::string> out;
    for (const SearchHit& h : hits) out.push_back(h.product.domain + "/" + h.product.name);
    return out;
  }
  std::vector<std::string> Names(const std::string& text) {
    SearchQuery q;
    q.text = text;
    return Names(Find(q));
  }
};

TEST_F(SearchTest, RanksANameMatchAboveADescriptionMatch) {
  // "plays" is in the name of play-events (via "play") and only in royalties' description.
  std::vector<SearchHit> hits = Find(SearchQuery{.text = "play"});
  ASSERT_EQ(Names(hits),
            (std::vector<std::string>{"media-player/play-events", "artist-payments/royalties"}));
  EXPECT_GT(hits[0].score, hits[1].score);
  // "artist" is in the name and title of artist-profiles, only in royalties' fields/description.
  EXPECT_EQ(Names("artist").front(), "artists/artist-profiles");
}

TEST_F(SearchTest, RequiresEveryWordAndPrefixMatchesTheLast) {
  EXPECT_EQ(Names("artist month"), (std::vector<std::string>{"artist-payments/royalties"}));
  EXPECT_EQ(Names("roy"), (std::vector<std::string>{"artist-payments/royalties"}));
  EXPECT_EQ(Names("monthly roya"), (std::vector<std::string>{"artist-payments/royalties"}));
  EXPECT_TRUE(Names("roy monthly").empty()) << "only the last word is a prefix";
  EXPECT_TRUE(Names("artist nonexistentword").empty());
  EXPECT_EQ(Names("play-events"), (std::vector<std::string>{"media-player/play-events"}));
  EXPECT_EQ(Names("listener_id"), (std::vector<std::string>{"media-player/play-events"}));
  EXPECT_EQ(Names("LISTENING"), (std::vector<std::string>{"media-player/play-events"}));
}

TEST_F(SearchTest, MatchesWithoutDiacriticsAndMarksTheSnippet) {
  EXPECT_EQ(Names("cafe zurich"), (std::vector<std::string>{"artists/artist-profiles"}));
  EXPECT_EQ(Names("Zürich"), (std::vector<std::string>{"artists/artist-profiles"}));
  std::vector<SearchHit> hits = Find(SearchQuery{.text = "genres"});
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_NE(hits[0].snippet.find("[genres]"), std::string::npos) << hits[0].snippet;
}

TEST_F(SearchTest, AppliesEachFilter) {
  auto names = [&](SearchQuery q) { return Names(Find(q)); };
  EXPECT_EQ(names({.text = "artist", .domain = "artists"}),
            (std::vector<std::string>{"artists/artist-profiles"}));
  EXPECT_EQ(names({.tag = "finance"}), (std::vector<std::string>{"artist-payments/royalties"}));
  EXPECT_EQ(names({.text = "artist", .tag = "finance"}),
            (std::vector<std::string>{"artist-payments/royalties"}));
  EXPECT_EQ(names({.owner = "group:artists"}),
            (std::vector<std::string>{"artists/artist-profiles"}));
  EXPECT_EQ(names({.classification = "confidential"}),
            (std::vector<std::string>{"artist-payments/royalties"}));
  EXPECT_EQ(names({.alignment = "source"}), (std::vector<std::string>{"media-player/play-events"}));
  EXPECT_EQ(names({.port_kind = "table"}),
            (std::vector<std::string>{"artist-payments/royalties", "artists/artist-profiles"}));
  EXPECT_EQ(names({.text = "artist", .port_kind = "stream"}), std::vector<std::string>{});
  EXPECT_EQ(catalog_->Search({.classification = "secret"}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(catalog_->Search({.limit = 0}).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(SearchTest, FiltersFollowApplies) {
  // Each reader connection caches the products that pass a filter value; an apply must show.
  auto names = [&](SearchQuery q) { return Names(Find(q)); };
  for (int i = 0; i < 8; ++i) {  // on every connection of the reader pool
    EXPECT_EQ(names({.text = "artist", .domain = "artists"}),
              (std::vector<std::string>{"artists/artist-profiles"}));
    EXPECT_EQ(names({.text = "artist", .classification = "confidential"}),
              (std::vector<std::string>{"artist-payments/royalties"}));
  }
  ProductText genres;
  genres.domain = "artists";
  genres.name = "artist-genres";
  genres.title = "Artist genres";
  genres.description = "The genres of each artist.";
  ProductText royalties;
  royalties.domain = "artist-payments";
  royalties.name = "royalties";
  royalties.version = "1.1.0";
  royalties.title = "Monthly royalties";
  royalties.description = "What each artist earns from plays, per month.";
  royalties.classification = "internal";  // was confidential
  MustApply(Docs(genres) + Docs(royalties));
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(names({.text = "artist", .domain = "artists"}),
              (std::vector<std::string>{"artists/artist-genres", "artists/artist-profiles"}));
    EXPECT_EQ(names({.text = "artist", .classification = "confidential"}),
              std::vector<std::string>{});
    EXPECT_EQ(names({.text = "artist", .domain = "artist-payments", .classification = "internal"}),
              (std::vector<std::string>{"artist-payments/royalties"}));
  }
}

TEST_F(SearchTest, ListsEverythingForEmptyTextWithLimitAndOffset) {
  EXPECT_EQ(Names(""),
            (std::vector<std::string>{"artist-payments/royalties", "artists/artist-profiles",
                                      "media-player/play-events"}));
  EXPECT_EQ(Names(Find({.text = "  ", .limit = 1, .offset = 1})),
            (std::vector<std::string>{"artists/artist-profiles"}));
  EXPECT_EQ(Names(Find({.text = "artist", .limit = 1, .offset = 1})).size(), 1u);
  std::vector<SearchHit> all = Find({});
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[1].product.tags, (std::vector<std::string>{"reference"}));
  EXPECT_EQ(all[1].product.port_kinds, (std::vector<std::string>{"table"}));
  EXPECT_EQ(all[1].product.classification, "public");
  EXPECT_EQ(all[1].product.version, "1.0.0");
}

TEST_F(SearchTest, NeverFailsOnFtsSyntaxInUserText) {
  const char* hostile[] = {
      "\"",
      "\"\"",
      "play\"",
      "*",
      "play*",
      "**",
      ":",
      "name:play",
      "title : x",
      "NEAR(",
      "NEAR(a b)",
      "NEAR/2",
      "-",
      "-play",
      "play -events",
      "AND",
      "OR",
      "NOT",
      "play AND",
      "OR artist",
      "(",
      ")",
      "()",
      "{name}: x",
      "^play",
      "+",
      "'",
      "'; DROP",
      "\\",
      "%_",
      "Zürich",
      "日本語",
      "🙂",
      "é",
      "\xff\xfe",
      "a\tb\nc",
      "play -",
      "artist ^",
      "\"play",
      "col:\"x\"",
      "a OR b NOT",
      "* play",
      "NEAR(play, 5)",
      "-- comment",
      "$'x'",
      "\x01\x02",
      "royalties*",
      "ROY*",
  };
  for (const char* text : hostile) {
    SearchQuery q;
    q.text = text;
    Result<std::vector<SearchHit>> r = catalog_->Search(q);
    EXPECT_TRUE(r.ok()) << "'" << text << "': " << r.status().ToString();
  }
  // The words survive: operators are neither applied nor needed to match.
  EXPECT_EQ(Names("play*"),
            (std::vector<std::string>{"media-player/play-events", "artist-payments/royalties"}));
  EXPECT_EQ(Names("name:play").size(), 0u) << "'name' is a word, not a column filter";
  EXPECT_EQ(Names("NEAR(monthly royalties)"), std::vector<std::string>{})
      << "'near' is a word that no product has";
  EXPECT_EQ(Names("\"royalties\""), (std::vector<std::string>{"artist-payments/royalties"}));
  EXPECT_TRUE(Names("🙂").empty());
  EXPECT_EQ(catalog_->Search({.text = std::string(5000, 'a')}).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(SearchTest, SearchesOnlyTheCurrentVersion) {
  ProductText plays;
  plays.version = "1.1.0";
  plays.description = "Tracks started by a listener.";  // "happens" is gone
  plays.tags = {"events"};
  plays.fields = {{"track_id", "The track started."}};
  MustApply(Docs(plays));
  EXPECT_TRUE(Names("happens").empty());
  EXPECT_TRUE(Names("listening").empty()) << "the dropped tag";
  EXPECT_EQ(Names(Find({.tag = "listening"})), std::vector<std::string>{});
  std::vector<SearchHit> hits = Find({.text = "started"});
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].product.version, "1.1.0");
  EXPECT_EQ(Names(""),
            (std::vector<std::string>{"artist-payments/royalties", "artists/artist-profiles",
                                      "media-player/play-events"}));
}

TEST_F(SearchTest, ListsProductsSortedAndByDomain) {
  Result<std::vector<ProductSummary>> all = catalog_->ListProducts(std::nullopt);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].name, "royalties");
  EXPECT_EQ((*all)[2].name, "play-events");
  EXPECT_EQ((*all)[2].owner, "group:player-team");
  EXPECT_EQ((*all)[2].updated_at, clock_.NowMicros());
  Result<std::vector<ProductSummary>> artists = catalog_->ListProducts(std::string("artists"));
  ASSERT_TRUE(artists.ok());
  ASSERT_EQ(artists->size(), 1u);
  EXPECT_EQ((*artists)[0].title, "Artist profiles");
  EXPECT_TRUE(catalog_->ListProducts(std::string("nobody"))->empty());
}

}  // namespace
}  // namespace loom::catalog::testing
