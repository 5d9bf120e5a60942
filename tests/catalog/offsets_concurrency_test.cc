#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "catalog/catalog.h"
#include "catalog_test_util.h"

namespace loom::catalog::testing {
namespace {

using OffsetsTest = CatalogTest;
using ConcurrencyTest = CatalogTest;

Address Port(const std::string& text) {
  Result<Address> a = Address::Parse(text);
  EXPECT_TRUE(a.ok()) << a.status().ToString();
  return a.ok() ? *a : Address{};
}

TEST_F(OffsetsTest, CommitsAndReadsOffsetsPerGroupPortAndPartition) {
  Address events = Port("loom://media-player/play-events/events");
  EXPECT_TRUE(catalog_->GetOffsets("g1", events)->empty());
  ASSERT_TRUE(catalog_->CommitOffsets("g1", events, {{0, 10}, {1, 20}}).ok());
  ASSERT_TRUE(catalog_->CommitOffsets("g1", events, {{1, 25}, {2, 5}}).ok());
  ASSERT_TRUE(catalog_->CommitOffsets("g2", events, {{0, 99}}).ok());
  ASSERT_TRUE(
      catalog_->CommitOffsets("g1", Port("loom://media-player/play-events/other"), {{0, 7}}).ok());

  EXPECT_EQ(*catalog_->GetOffsets("g1", events),
            (std::map<uint32_t, int64_t>{{0, 10}, {1, 25}, {2, 5}}));
  EXPECT_EQ(*catalog_->GetOffsets("g2", events), (std::map<uint32_t, int64_t>{{0, 99}}));
  // A version in the address names the same port.
  EXPECT_EQ(catalog_->GetOffsets("g2", Port("loom://media-player/play-events/events@2"))->size(),
            1u);
  Reopen();
  EXPECT_EQ(catalog_->GetOffsets("g1", events)->at(1), 25);
}

TEST_F(OffsetsTest, RefusesBadOffsetArguments) {
  Address events = Port("loom://media-player/play-events/events");
  EXPECT_EQ(catalog_->CommitOffsets("", events, {{0, 1}}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(catalog_->CommitOffsets("g", events, {{0, -1}}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(catalog_->CommitOffsets("g", Port("media-player/play-events"), {{0, 1}}).code(),
            StatusCode::kInvalidArgument);
  EXPECT_TRUE(catalog_->GetOffsets("g", events)->empty());
}

TEST_F(ConcurrencyTest, AppliesAndSearchesFromSeveralThreads) {
#if defined(__SANITIZE_ADDRESS__)
  constexpr int kPerThread = 8;
#else
  constexpr int kPerThread = 25;
#endif
  constexpr int kWriters = 4;
  constexpr int kReaders = 3;
  std::atomic<bool> writers_done{false};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      for (int i = 0; i < kPerThread; ++i) {
        ProductText p;
        p.domain = "domain-" + std::to_string(w);
        p.name = "product-" + std::to_string(i);
        p.description = "concurrent writer " + std::to_string(w);
        Result<std::vector<Change>> r = catalog_->Apply(Docs(p), "user:w" + std::to_string(w));
        if (!r.ok()) ++failures;
        // Every writer also bumps one shared product: versions must stay in order.
        ProductText shared;
        shared.domain = "shared";
        shared.name = "counter";
        shared.version = "1.0." + std::to_string(w * 1000 + i);
        (void)catalog_->Apply(Docs(shared), "user:w");
      }
    });
  }
  for (int r = 0; r < kReaders; ++r) {
    threads.emplace_back([&] {
      while (!writers_done.load()) {
        if (!catalog_->Search({.text = "concurrent writ"}).ok()) ++failures;
        if (!catalog_->ListProducts(std::nullopt).ok()) ++failures;
        if (!catalog_->Search({.tag = "events", .limit = 5}).ok()) ++failures;
      }
    });
  }
  for (int w = 0; w < kWriters; ++w) threads[w].join();
  writers_done = true;
  for (size_t t = kWriters; t < threads.size(); ++t) threads[t].join();

  EXPECT_EQ(failures.load(), 0);
  Result<std::vector<SearchHit>> hits =
      catalog_->Search({.text = "concurrent writer", .limit = 1000});
  ASSERT_TRUE(hits.ok());
  EXPECT_EQ(hits->size(), static_cast<size_t>(kWriters * kPerThread));
  Result<std::vector<StoredDocument>> versions = catalog_->Versions("product:shared/counter");
  ASSERT_TRUE(versions.ok());
  for (size_t i = 1; i < versions->size(); ++i) {
    EXPECT_EQ((*versions)[i].revision, (*versions)[i - 1].revision + 1);
    Result<spec::SemVer> a = spec::SemVer::Parse((*versions)[i - 1].version);
    Result<spec::SemVer> b = spec::SemVer::Parse((*versions)[i].version);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_LT(a->patch, b->patch);
  }
}

TEST_F(ConcurrencyTest, TwoCatalogsOnOneFileSeeEachOthersApplies) {
  Result<std::unique_ptr<Catalog>> second = OpenSqliteCatalog(dir_.Sub("catalog.db"), &clock_);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  std::thread a([&] {
    for (int i = 0; i < 10; ++i) {
      ProductText p;
      p.name = "a-" + std::to_string(i);
      EXPECT_TRUE(catalog_->Apply(Docs(p), "user:a").ok());
    }
  });
  std::thread b([&] {
    for (int i = 0; i < 10; ++i) {
      ProductText p;
      p.name = "b-" + std::to_string(i);
      Result<std::vector<Change>> r = (*second)->Apply(Docs(p), "user:b");
      EXPECT_TRUE(r.ok()) << r.status().ToString();
    }
  });
  a.join();
  b.join();
  EXPECT_EQ(catalog_->ListProducts(std::nullopt)->size(), 20u);
  EXPECT_EQ((*second)->Search({.text = "play", .limit = 100})->size(), 20u);
}

}  // namespace
}  // namespace loom::catalog::testing
