// Searches run on a pool of read-only connections: they do not wait for an apply, and each sees
// one committed state.

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "catalog/catalog.h"
#include "catalog_test_util.h"

namespace loom::catalog::testing {
namespace {

using SearchConcurrencyTest = CatalogTest;

std::vector<spec::Document> Batch(const std::string& domain, int count, const std::string& word) {
  std::string yaml;
  for (int i = 0; i < count; ++i) {
    ProductText p;
    p.domain = domain;
    p.name = "p-" + std::to_string(i);
    p.description = "Batch product with " + word + " number " + std::to_string(i) + ".";
    p.fields = {{"a_id", "First."}, {"b_name", "Second."}, {"c_value", "Third."}};
    yaml += (i ? "---\n" : "") + Yaml(p);
  }
  return Docs(yaml);
}

TEST_F(SearchConcurrencyTest, SearchesCompleteWhileAnApplyIsRunning) {
  MustApply(Docs(ProductText{}));
  std::vector<spec::Document> big = Batch("big", 400, "zebrafish");
  std::atomic<int> state{0};  // 0: before the apply, 1: applying, 2: applied
  std::atomic<int> during{0};
  std::atomic<int> failures{0};
  std::thread searcher([&] {
    while (state.load() != 2) {
      int before = state.load();
      Result<std::vector<SearchHit>> r = catalog_->Search({.text = "play"});
      if (!r.ok() || r->empty()) ++failures;
      // Started and finished inside the apply: it did not wait for the apply to end.
      if (before == 1 && state.load() == 1) ++during;
    }
  });
  state = 1;
  Result<std::vector<Change>> applied = catalog_->Apply(big, "user:bulk");
  state = 2;
  searcher.join();
  ASSERT_TRUE(applied.ok()) << applied.status().ToString();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GT(during.load(), 0) << "no search ran while the apply held the writer";
}

TEST_F(SearchConcurrencyTest, EachSearchSeesAWholeApplyOrNoneOfIt) {
  constexpr int kProducts = 120;
  std::vector<spec::Document> batch = Batch("atomic", kProducts, "okapiword");
  std::atomic<bool> done{false};
  std::atomic<int> partial{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&] {
      while (!done.load()) {
        Result<std::vector<SearchHit>> r = catalog_->Search({.text = "okapiword", .limit = 1000});
        if (!r.ok()) {
          ++failures;
          continue;
        }
        if (!r->empty() && r->size() != static_cast<size_t>(kProducts)) ++partial;
      }
    });
  }
  Result<std::vector<Change>> applied = catalog_->Apply(batch, "user:bulk");
  // Let the readers see the applied state too.
  for (int i = 0; i < 20; ++i) (void)catalog_->Search({.text = "okapiword", .limit = 1000});
  done = true;
  for (std::thread& t : readers) t.join();
  ASSERT_TRUE(applied.ok()) << applied.status().ToString();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(partial.load(), 0);
  EXPECT_EQ(catalog_->Search({.text = "okapiw", .limit = 1000})->size(),
            static_cast<size_t>(kProducts));
}

TEST_F(SearchConcurrencyTest, ManyThreadsShareTheReaderPool) {
  MustApply(Batch("shared", 30, "marmoset"));
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {  // more threads than pooled connections: some wait their turn
    threads.emplace_back([&] {
      for (int i = 0; i < 20; ++i) {
        Result<std::vector<SearchHit>> r = catalog_->Search({.text = "marmo", .limit = 100});
        if (!r.ok() || r->size() != 30u) ++failures;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
}

}  // namespace
}  // namespace loom::catalog::testing
