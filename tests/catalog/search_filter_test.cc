// Filters are exact and do not change the ranking: a filtered search returns exactly the
// products of the corpus that match and pass the filters (a brute-force filter of what the test
// generated), each with the score it has unfiltered, in the same order. The corpus has more label
// matches than one ranking tier ranks (300), so that the unfiltered search leaves the first tier
// out of the second with a NOT-ed MATCH expression and a filtered one by the first tier's ids.

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "catalog/catalog.h"
#include "catalog_test_util.h"

namespace loom::catalog::testing {
namespace {

constexpr int kProducts = 700;

// Product i of the corpus: "zebra" in the title of every even one (350 label matches), in the
// description of the odd ones not divisible by 3 (233 matches outside the labels); attributes
// cycle with other periods so that every filter keeps a mix of both.
ProductText Product(int i) {
  ProductText p;
  p.domain = i % 7 < 3 ? "music" : "video";
  p.name = "p-" + std::to_string(i);
  p.title = (i % 2 == 0 ? "Zebra sightings " : "Counts ") + std::to_string(i);
  p.description = "Where each animal was seen";
  if (i % 2 == 1 && i % 3 != 0) p.description = "Where each zebra was seen";
  for (int r = 0; r < i % 9; ++r) p.description += ", again";
  p.description += ".";
  p.owner = i % 5 == 0 ? "group:a" : "group:b";
  p.tags = {i % 3 == 0 ? "gold" : "silver"};
  if (i % 11 == 0) p.tags.push_back("core");
  p.classification = std::vector<std::string>{"public", "internal", "confidential",
                                              "restricted"}[static_cast<size_t>(i % 4)];
  p.alignment = i % 6 == 0 ? "consumer" : "source";
  p.port_kind = (i / 2) % 2 == 0 ? "stream" : "table";
  return p;
}

bool InLabels(int i) { return i % 2 == 0; }
bool Matches(int i) { return InLabels(i) || i % 3 != 0; }

class SearchFilterTest : public CatalogTest {
 protected:
  void SetUp() override {
    CatalogTest::SetUp();
    std::vector<spec::Document> docs;
    for (int i = 0; i < kProducts; ++i) {
      std::vector<spec::Document> one = Docs(Product(i));
      docs.insert(docs.end(), one.begin(), one.end());
    }
    MustApply(docs);
  }

  std::vector<SearchHit> Find(const SearchQuery& q) {
    Result<std::vector<SearchHit>> r = catalog_->Search(q);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(r).value() : std::vector<SearchHit>{};
  }

  static int Index(const SearchHit& h) { return std::stoi(h.product.name.substr(2)); }

  // Hits are in two tiers (label matches first), each by score then domain and name.
  static void ExpectOrdered(const std::vector<SearchHit>& hits) {
    for (size_t k = 1; k < hits.size(); ++k) {
      const SearchHit& a = hits[k - 1];
      const SearchHit& b = hits[k];
      ASSERT_FALSE(!InLabels(Index(a)) && InLabels(Index(b))) << "tier order at " << k;
      if (InLabels(Index(a)) != InLabels(Index(b))) continue;
      ASSERT_GE(a.score, b.score) << "score order at " << k;
      if (a.score == b.score) {
        ASSERT_LT(a.product.domain + "/" + a.product.name, b.product.domain + "/" + b.product.name)
            << "tie order at " << k;
      }
    }
  }
};

TEST_F(SearchFilterTest, FilteredResultsAreTheMatchesThatPassWithTheirUnfilteredScores) {
  const std::vector<SearchHit> all = Find({.text = "zebra", .limit = 1000});
  ExpectOrdered(all);
  // The first tier ranks the newest 300 of its 350 label matches; the second holds every match
  // outside the labels.
  std::map<int, double> score;
  int labels = 0;
  for (const SearchHit& h : all) {
    ASSERT_TRUE(Matches(Index(h))) << h.product.name;
    ASSERT_TRUE(score.emplace(Index(h), h.score).second) << "twice: " << h.product.name;
    labels += InLabels(Index(h));
  }
  EXPECT_EQ(labels, 300);
  int outside = 0;
  for (int i = 0; i < kProducts; ++i) outside += Matches(i) && !InLabels(i);
  EXPECT_EQ(static_cast<int>(all.size()) - labels, outside);

  struct Case {
    SearchQuery query;
    std::function<bool(const ProductText&)> passes;
  };
  const std::vector<Case> cases = {
      {{.text = "zebra", .domain = "music"}, [](auto& p) { return p.domain == "music"; }},
      {{.text = "zebra", .tag = "gold"},
       [](auto& p) { return std::count(p.tags.begin(), p.tags.end(), "gold") > 0; }},
      {{.text = "zebra", .tag = "core"},
       [](auto& p) { return std::count(p.tags.begin(), p.tags.end(), "core") > 0; }},
      {{.text = "zebra", .owner = "group:a"}, [](auto& p) { return p.owner == "group:a"; }},
      {{.text = "zebra", .classification = "restricted"},
       [](auto& p) { return p.classification == "restricted"; }},
      {{.text = "zebra", .alignment = "consumer"},
       [](auto& p) { return p.alignment == "consumer"; }},
      {{.text = "zebra", .port_kind = "table"}, [](auto& p) { return p.port_kind == "table"; }},
      {{.text = "zebra", .domain = "video", .tag = "silver", .port_kind = "stream"},
       [](auto& p) {
         return p.domain == "video" && p.tags.front() == "silver" && p.port_kind == "stream";
       }},
      {{.text = "zebra", .domain = "nowhere"}, [](auto&) { return false; }},
  };
  for (const Case& c : cases) {
    SearchQuery q = c.query;
    q.limit = 1000;
    const std::vector<SearchHit> hits = Find(q);
    ExpectOrdered(hits);
    std::set<int> expected;
    for (int i = 0; i < kProducts; ++i) {
      if (Matches(i) && c.passes(Product(i))) expected.insert(i);
    }
    // Fewer than 300 label matches pass every filter here: each tier is complete.
    std::set<int> got;
    for (const SearchHit& h : hits) {
      got.insert(Index(h));
      if (score.count(Index(h)) != 0) {
        EXPECT_EQ(h.score, score[Index(h)]) << h.product.name << " scores alike filtered or not";
      }
    }
    EXPECT_EQ(got, expected) << "domain " << q.domain.value_or("-") << " tag "
                             << q.tag.value_or("-") << " owner " << q.owner.value_or("-");
    EXPECT_EQ(got.size(), hits.size()) << "no product twice";
    // The second tier, filtered, is the unfiltered second tier's passing hits in their order.
    std::vector<std::string> second, second_of_all;
    for (const SearchHit& h : hits) {
      if (!InLabels(Index(h))) second.push_back(h.product.name);
    }
    for (const SearchHit& h : all) {
      if (!InLabels(Index(h)) && c.passes(Product(Index(h)))) {
        second_of_all.push_back(h.product.name);
      }
    }
    EXPECT_EQ(second, second_of_all);

    // Pages of 20 are slices of the whole list, across the boundary of the tiers too.
    for (uint32_t offset : {0u, 7u, 90u, 150u}) {
      q.limit = 20;
      q.offset = offset;
      const std::vector<SearchHit> page = Find(q);
      const size_t from = std::min<size_t>(offset, hits.size());
      const size_t to = std::min<size_t>(offset + 20, hits.size());
      ASSERT_EQ(page.size(), to - from) << "offset " << offset;
      for (size_t k = 0; k < page.size(); ++k) {
        EXPECT_EQ(page[k].product.name, hits[from + k].product.name) << "offset " << offset;
        EXPECT_EQ(page[k].score, hits[from + k].score);
        EXPECT_EQ(page[k].snippet, hits[from + k].snippet);
      }
    }
  }
}

// `visible` (the platform's access check) leaves hits out before paging: every page is a slice
// of the visible hits of the unfiltered list, in its order, and a caller who may see nothing gets
// nothing.
TEST_F(SearchFilterTest, VisibleLeavesHitsOutBeforePaging) {
  auto shown = [](const ProductSummary& p) { return std::stoi(p.name.substr(2)) % 4 != 1; };
  for (const std::string& text : {std::string("zebra"), std::string()}) {
    SearchQuery all_query{.text = text, .limit = 1000};
    if (text.empty()) all_query.domain = "music";  // a listing: by domain and name
    const std::vector<SearchHit> all = Find(all_query);
    ASSERT_GT(all.size(), 100u);
    std::vector<std::string> expected;
    for (const SearchHit& h : all) {
      if (shown(h.product)) expected.push_back(h.product.name);
    }
    ASSERT_LT(expected.size(), all.size());
    for (uint32_t offset : {0u, 7u, 150u, 290u}) {
      for (uint32_t limit : {20u, 1000u}) {
        SearchQuery q = all_query;
        q.offset = offset;
        q.limit = limit;
        q.visible = shown;
        std::vector<std::string> got;
        for (const SearchHit& h : Find(q)) got.push_back(h.product.name);
        const size_t from = std::min<size_t>(offset, expected.size());
        const size_t to = std::min<size_t>(size_t{offset} + limit, expected.size());
        EXPECT_EQ(got, std::vector<std::string>(expected.begin() + from, expected.begin() + to))
            << "'" << text << "' offset " << offset << " limit " << limit;
      }
    }
    SearchQuery refused = all_query;
    refused.visible = [](const ProductSummary&) { return false; };
    EXPECT_TRUE(Find(refused).empty()) << "'" << text << "'";
  }
}

}  // namespace
}  // namespace loom::catalog::testing
