// The catalog serves repeated reads of current documents from memory while the database is
// unchanged: an apply through the same catalog, or through another one on the same file (another
// process), is seen by the next read.

#include <gtest/gtest.h>

#include "catalog/catalog.h"
#include "catalog_test_util.h"

namespace loom::catalog::testing {
namespace {

using ReadCacheTest = CatalogTest;

const char* kKey = "product:media-player/play-events";

TEST_F(ReadCacheTest, RepeatedReadsAnswerTheSame) {
  ProductText p;
  MustApply(Docs(DomainYaml("media-player")) + Docs(p) +
            Docs(PolicyYaml("retention", "Keep events a year.")));
  for (int i = 0; i < 3; ++i) {
    Result<StoredDocument> d = catalog_->Get(kKey, std::nullopt);
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    EXPECT_EQ(d->version, "1.0.0");
    EXPECT_EQ(d->body["name"], "play-events") << d->body.dump();
    Result<std::vector<StoredDocument>> policies = catalog_->ListPolicies();
    ASSERT_TRUE(policies.ok());
    ASSERT_EQ(policies->size(), 1u);
    EXPECT_EQ((*policies)[0].key, "policy:retention");
  }
  EXPECT_EQ(catalog_->Get("product:media-player/nothing", std::nullopt).status().code(),
            StatusCode::kNotFound);
}

TEST_F(ReadCacheTest, SeesItsOwnApply) {
  ProductText p;
  MustApply(Docs(DomainYaml("media-player")) + Docs(p));
  ASSERT_EQ(catalog_->Get(kKey, std::nullopt)->version, "1.0.0");
  ASSERT_TRUE(catalog_->ListPolicies()->empty());
  p.version = "1.1.0";
  p.title = "Play events, v1.1";
  MustApply(Docs(p) + Docs(PolicyYaml("retention", "Keep events a year.")));
  EXPECT_EQ(catalog_->Get(kKey, std::nullopt)->version, "1.1.0");
  EXPECT_EQ(catalog_->ListPolicies()->size(), 1u);
}

TEST_F(ReadCacheTest, SeesAnApplyOfAnotherConnection) {
  ProductText p;
  MustApply(Docs(DomainYaml("media-player")) + Docs(p));
  ASSERT_EQ(catalog_->Get(kKey, std::nullopt)->version, "1.0.0");
  ASSERT_TRUE(catalog_->ListPolicies()->empty());
  ASSERT_EQ(catalog_->ListDomains()->size(), 1u);

  Result<std::unique_ptr<Catalog>> other = OpenSqliteCatalog(dir_.Sub("catalog.db"), &clock_);
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  p.version = "2.0.0";
  ASSERT_TRUE((*other)
                  ->Apply(Docs(p) + Docs(PolicyYaml("retention", "Keep a year.")) +
                              Docs(DomainYaml("media-player", "Now described.")),
                          "user:bob")
                  .ok());

  Result<StoredDocument> d = catalog_->Get(kKey, std::nullopt);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->version, "2.0.0");
  EXPECT_EQ(d->applied_by, "user:bob");
  EXPECT_EQ(catalog_->ListPolicies()->size(), 1u);
  Result<std::vector<StoredDocument>> domains = catalog_->ListDomains();
  ASSERT_EQ(domains->size(), 1u);
  EXPECT_EQ((*domains)[0].version, "r2");
}

}  // namespace
}  // namespace loom::catalog::testing
