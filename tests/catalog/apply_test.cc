#include <gtest/gtest.h>

#include "catalog/catalog.h"
#include "catalog_test_util.h"

namespace loom::catalog::testing {
namespace {

using ApplyTest = CatalogTest;

const char* kKey = "product:media-player/play-events";

TEST_F(ApplyTest, CreatesThenAddsANewVersionThenReportsUnchanged) {
  ProductText p;
  std::vector<Change> first = MustApply(Docs(DomainYaml("media-player")) + Docs(p));
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0].key, "domain:media-player");
  EXPECT_EQ(first[0].change, ChangeKind::kCreate);
  EXPECT_EQ(first[0].to_version, "r1");
  EXPECT_EQ(first[1].key, kKey);
  EXPECT_EQ(first[1].change, ChangeKind::kCreate);
  EXPECT_EQ(first[1].to_version, "1.0.0");
  EXPECT_EQ(first[1].from_version, "");

  p.version = "1.1.0";
  p.description = "One event per track played, with its duration.";
  std::vector<Change> second = MustApply(Docs(p));
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].change, ChangeKind::kNewVersion);
  EXPECT_EQ(second[0].from_version, "1.0.0");
  EXPECT_EQ(second[0].to_version, "1.1.0");

  std::vector<Change> third = MustApply(Docs(p));
  ASSERT_EQ(third.size(), 1u);
  EXPECT_EQ(third[0].change, ChangeKind::kUnchanged);
  EXPECT_EQ(ToString(third[0].change), "unchanged");

  Result<StoredDocument> current = catalog_->Get(kKey, std::nullopt);
  ASSERT_TRUE(current.ok()) << current.status().ToString();
  EXPECT_EQ(current->version, "1.1.0");
  EXPECT_EQ(current->revision, 2);
  EXPECT_EQ(current->kind, spec::Kind::kDataProduct);
  EXPECT_EQ(current->yaml, Yaml(p));
  EXPECT_EQ(current->body, spec::ToJson(Docs(p)[0]));
  EXPECT_EQ(current->digest, Sha256Hex(current->body.dump()));
}

TEST_F(ApplyTest, RefusesAnAppliedVersionWithDifferentContent) {
  ProductText p;
  MustApply(Docs(p));
  p.description = "Changed without a new version.";
  Result<std::vector<Change>> r = catalog_->Apply(Docs(p), "user:bob");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("media-player/play-events"), std::string::npos)
      << r.status().message();
  EXPECT_NE(r.status().message().find("bump the version"), std::string::npos);
  EXPECT_NE(r.status().message().find("test.yaml:1"), std::string::npos);
  Result<std::vector<Change>> plan = catalog_->Plan(Docs(p));
  EXPECT_EQ(plan.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(catalog_->Get(kKey, std::nullopt)->body["description"], "One event per track played.")
      << "the refused content must not be stored";
}

TEST_F(ApplyTest, RefusesAVersionLowerThanTheCurrentOne) {
  ProductText p;
  p.version = "2.0.0";
  MustApply(Docs(p));
  for (const char* lower : {"1.9.9", "2.0.0-rc.1", "0.1.0"}) {
    p.version = lower;
    Result<std::vector<Change>> r = catalog_->Apply(Docs(p), "user:bob");
    ASSERT_FALSE(r.ok()) << lower;
    EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
    EXPECT_NE(r.status().message().find("lower than its current version 2.0.0"), std::string::npos)
        << r.status().message();
  }
  EXPECT_EQ(catalog_->Versions(kKey)->size(), 1u);
}

TEST_F(ApplyTest, OrdersPrereleasesBeforeTheirRelease) {
  ProductText p;
  p.version = "1.0.0-alpha";
  MustApply(Docs(p));
  p.version = "1.0.0-alpha.1";
  p.title = "a1";
  EXPECT_EQ(MustApply(Docs(p))[0].change, ChangeKind::kNewVersion);
  p.version = "1.0.0";
  p.title = "release";
  EXPECT_EQ(MustApply(Docs(p))[0].change, ChangeKind::kNewVersion);
}

TEST_F(ApplyTest, RollsBackTheWholeApplyWhenOneDocumentIsRefused) {
  ProductText p;
  MustApply(Docs(DomainYaml("media-player", "before")) + Docs(p));
  ProductText other;
  other.name = "skip-events";
  ProductText changed = p;
  changed.title = "changed without a version bump";
  std::vector<spec::Document> batch = Docs(DomainYaml("media-player", "after"));
  batch = batch + Docs(other) + Docs(DomainYaml("artists")) + Docs(changed);

  Result<std::vector<Change>> r = catalog_->Apply(batch, "user:bob");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);

  EXPECT_EQ(catalog_->Get("product:media-player/skip-events", std::nullopt).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(catalog_->Get("domain:artists", std::nullopt).status().code(), StatusCode::kNotFound);
  Result<StoredDocument> domain = catalog_->Get("domain:media-player", std::nullopt);
  ASSERT_TRUE(domain.ok());
  EXPECT_EQ(domain->version, "r1");
  EXPECT_EQ(domain->body["description"], "before") << domain->body.dump();
  EXPECT_EQ(catalog_->ListProducts(std::nullopt)->size(), 1u);
  SearchQuery q;
  q.text = "skip";
  EXPECT_TRUE(catalog_->Search(q)->empty());
}

TEST_F(ApplyTest, RegistersTheDomainOfAProductImplicitly) {
  ProductText p;
  p.owner = "user:carol";
  std::vector<Change> changes = MustApply(Docs(p));
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0].key, "domain:media-player");
  EXPECT_EQ(changes[0].kind, spec::Kind::kDomain);
  EXPECT_EQ(changes[0].change, ChangeKind::kCreate);
  Result<std::vector<StoredDocument>> domains = catalog_->ListDomains();
  ASSERT_TRUE(domains.ok());
  ASSERT_EQ(domains->size(), 1u);
  EXPECT_EQ((*domains)[0].body["owners"], nlohmann::json::array({"user:carol"}));
  // The stored text is a real descriptor that parses back to the same document.
  std::vector<spec::Document> reparsed = Docs((*domains)[0].yaml);
  ASSERT_EQ(reparsed.size(), 1u);
  EXPECT_EQ(Sha256Hex(spec::ToJson(reparsed[0]).dump()), (*domains)[0].digest);

  // A second product of the same domain, and a product whose domain comes later in the same
  // apply, register nothing implicitly.
  ProductText q;
  q.name = "skip-events";
  EXPECT_EQ(MustApply(Docs(q)).size(), 1u);
  ProductText r;
  r.domain = "artists";
  std::vector<Change> with_domain = MustApply(Docs(r) + Docs(DomainYaml("artists", "Artists.")));
  ASSERT_EQ(with_domain.size(), 2u);
  EXPECT_EQ(catalog_->Get("domain:artists", std::nullopt)->body["description"], "Artists.");
}

TEST_F(ApplyTest, VersionsListsEveryVersionWithWhoAndWhen) {
  ProductText p;
  MustApply(Docs(p), "user:alice");
  clock_.Advance(5'000'000);
  p.version = "1.0.1";
  p.title = "Plays";
  MustApply(Docs(p), "service:ci");
  Result<std::vector<StoredDocument>> v = catalog_->Versions(kKey);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  ASSERT_EQ(v->size(), 2u);
  EXPECT_EQ((*v)[0].version, "1.0.0");
  EXPECT_EQ((*v)[0].applied_by, "user:alice");
  EXPECT_EQ((*v)[0].applied_at, 1'700'000'000'000'000);
  EXPECT_EQ((*v)[1].version, "1.0.1");
  EXPECT_EQ((*v)[1].applied_by, "service:ci");
  EXPECT_EQ((*v)[1].applied_at, 1'700'000'005'000'000);
  EXPECT_EQ((*v)[1].revision, 2);
}

TEST_F(ApplyTest, GetsAnOldVersion) {
  ProductText p;
  MustApply(Docs(p));
  ProductText newer = p;
  newer.version = "1.1.0";
  newer.title = "Newer";
  MustApply(Docs(newer));
  Result<StoredDocument> old = catalog_->Get(kKey, std::string("1.0.0"));
  ASSERT_TRUE(old.ok()) << old.status().ToString();
  EXPECT_EQ(old->yaml, Yaml(p));
  EXPECT_EQ(old->body["title"], "Play events") << old->body.dump();

  Result<StoredDocument> missing = catalog_->Get(kKey, std::string("9.0.0"));
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("no version '9.0.0'"), std::string::npos);
  Result<StoredDocument> none = catalog_->Get("product:x/y", std::nullopt);
  EXPECT_EQ(none.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(none.status().message(), "no product 'x/y'");
  EXPECT_EQ(catalog_->Get("bogus", std::nullopt).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(catalog_->Versions("product:x/y").status().code(), StatusCode::kNotFound);
}

TEST_F(ApplyTest, GivesDomainsAndPoliciesRevisionsWhenTheirContentChanges) {
  MustApply(Docs(PolicyYaml("global", "v1")) + Docs(DomainYaml("artists", "a")));
  EXPECT_EQ(MustApply(Docs(PolicyYaml("global", "v1")))[0].change, ChangeKind::kUnchanged);
  std::vector<Change> c = MustApply(Docs(PolicyYaml("global", "v2")));
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].change, ChangeKind::kNewVersion);
  EXPECT_EQ(c[0].from_version, "r1");
  EXPECT_EQ(c[0].to_version, "r2");
  Result<std::vector<StoredDocument>> policies = catalog_->ListPolicies();
  ASSERT_TRUE(policies.ok());
  ASSERT_EQ(policies->size(), 1u);
  EXPECT_EQ((*policies)[0].version, "r2");
  EXPECT_EQ(catalog_->Get("policy:global", std::string("r1"))->body["description"], "v1");
  EXPECT_EQ(catalog_->Get("policy:global", std::string("1"))->revision, 1);
}

TEST_F(ApplyTest, PlanComputesTheChangesWithoutWriting) {
  ProductText p;
  Result<std::vector<Change>> plan = catalog_->Plan(Docs(p));
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  std::vector<Change> applied = MustApply(Docs(p));
  ASSERT_EQ(plan->size(), applied.size());
  for (size_t i = 0; i < applied.size(); ++i) {
    EXPECT_EQ((*plan)[i].key, applied[i].key);
    EXPECT_EQ((*plan)[i].change, applied[i].change);
    EXPECT_EQ((*plan)[i].to_version, applied[i].to_version);
  }
  p.version = "2.0.0";
  ASSERT_EQ(catalog_->Plan(Docs(p))->at(0).change, ChangeKind::kNewVersion);
  EXPECT_EQ(catalog_->Get(kKey, std::nullopt)->version, "1.0.0");
}

TEST_F(ApplyTest, RequiresAPrincipal) {
  EXPECT_EQ(catalog_->Apply(Docs(ProductText{}), "").status().code(), StatusCode::kInvalidArgument);
}

TEST_F(ApplyTest, KeepsEverythingAcrossReopen) {
  ProductText p;
  MustApply(Docs(p));
  p.version = "1.2.0";
  p.description = "Persisted description with zebra.";
  MustApply(Docs(p));
  Reopen();
  EXPECT_EQ(catalog_->Versions(kKey)->size(), 2u);
  EXPECT_EQ(catalog_->ListDomains()->size(), 1u);
  SearchQuery q;
  q.text = "zebra";
  Result<std::vector<SearchHit>> hits = catalog_->Search(q);
  ASSERT_TRUE(hits.ok());
  ASSERT_EQ(hits->size(), 1u);
  EXPECT_EQ((*hits)[0].product.version, "1.2.0");
  p.description = "different";
  EXPECT_EQ(catalog_->Apply(Docs(p), "user:x").status().code(), StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace loom::catalog::testing
