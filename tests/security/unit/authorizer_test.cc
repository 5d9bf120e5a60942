#include <gtest/gtest.h>

#include "security/security.h"
#include "security_test_util.h"

namespace loom::security {
namespace {

Address A(std::string_view text) { return Address::Parse(text).value(); }
Address Domain(std::string name) { return Address{std::move(name), "", "", std::nullopt}; }

Identity Who(std::string principal, std::vector<std::string> groups = {},
             std::vector<std::string> scopes = {"*"}) {
  Identity id;
  id.principal = std::move(principal);
  id.groups = std::move(groups);
  id.scopes = std::move(scopes);
  id.method = AuthMethod::kApiToken;
  return id;
}

spec::Grant RoleGrant(std::string principal, std::string role, std::string domain) {
  spec::Grant g;
  g.principal = std::move(principal);
  g.role = std::move(role);
  g.domain = std::move(domain);
  return g;
}

spec::Grant PermGrant(std::string principal, std::vector<spec::Permission> perms,
                      std::string domain, std::string product, std::string port = "",
                      std::optional<std::string> filter = std::nullopt) {
  spec::Grant g;
  g.principal = std::move(principal);
  g.permissions = std::move(perms);
  g.domain = std::move(domain);
  g.product = std::move(product);
  g.port = std::move(port);
  g.row_filter = std::move(filter);
  return g;
}

class AuthorizerTest : public ::testing::Test {
 protected:
  AuthorizerTest() : authz_(AuthorizerOptions{{"group:governance"}, "service:"}) {
    spec::Domain media{"media-player", "", "", {"group:media-owners"}, {}};
    spec::Domain artists{"artists", "", "", {"user:carol"}, {}};
    authz_.AddDomain(media);
    authz_.AddDomain(artists);

    spec::DataProduct plays;
    plays.domain = "media-player";
    plays.name = "play-events";
    plays.owner = "user:pat";
    spec::AccessRule analysts{
        "group:analysts", {spec::Permission::kRead}, "events", "country = 'SE'", {}};
    spec::AccessRule dana{
        "user:dana", {spec::Permission::kRead, spec::Permission::kUnmask}, "", std::nullopt, {}};
    plays.access = {analysts, dana};
    authz_.AddProduct(plays);

    spec::Policy policy;
    policy.name = "access";
    policy.grants = {RoleGrant("group:finance", "consumer", "artists"),
                     RoleGrant("user:prod", "producer", "media-player"),
                     PermGrant("user:eve", {spec::Permission::kRead}, "artists", "profiles",
                               "profiles", "region = 'EU'"),
                     PermGrant("user:eve", {spec::Permission::kRead}, "artists", "profiles",
                               "profiles", "region = 'US'")};
    authz_.AddPolicy(policy);
  }

  Authorizer authz_;
};

TEST_F(AuthorizerTest, DeniesByDefaultAndHidesTheProductsExistence) {
  Identity mallory = Who("user:mallory");
  for (Operation op : {Operation::kRead, Operation::kWrite, Operation::kUnmask}) {
    EXPECT_FALSE(authz_.Check(mallory, A("media-player/play-events/events"), op).allowed);
  }
  Status existing = authz_.Require(mallory, A("media-player/play-events/events"), Operation::kRead);
  Status missing = authz_.Require(mallory, A("media-player/no-such/events"), Operation::kRead);
  EXPECT_EQ(existing.code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.code(), StatusCode::kNotFound);
  // Same text shape as for a product that does not exist at all.
  EXPECT_EQ(existing, NotVisible(A("media-player/play-events")));
  EXPECT_EQ(missing, NotVisible(A("media-player/no-such")));
  EXPECT_FALSE(authz_.CanSee(mallory, A("media-player/play-events")));
}

TEST_F(AuthorizerTest, DomainOwnersMayDoEverythingOnTheirDomainOnly) {
  Identity owner = Who("user:olga", {"group:media-owners"});
  for (Operation op : {Operation::kRead, Operation::kWrite, Operation::kUnmask,
                       Operation::kManageGrants, Operation::kApply}) {
    EXPECT_TRUE(authz_.Check(owner, A("media-player/play-events/events"), op).allowed)
        << ToString(op);
  }
  Decision d = authz_.Check(owner, A("media-player/play-events/events"), Operation::kRead);
  EXPECT_FALSE(d.row_filter.has_value());
  EXPECT_TRUE(d.unmask);
  EXPECT_FALSE(authz_.Check(owner, A("artists/profiles/profiles"), Operation::kRead).allowed);
}

TEST_F(AuthorizerTest, ConsumersReadButMayNotWriteOrUnmask) {
  Identity fin = Who("user:fred", {"group:finance"});
  Decision d = authz_.Check(fin, A("artists/profiles/profiles"), Operation::kRead);
  EXPECT_TRUE(d.allowed);
  EXPECT_FALSE(d.unmask);
  EXPECT_FALSE(authz_.Check(fin, A("artists/profiles/profiles"), Operation::kWrite).allowed);
  // It can see the product, so the refusal may say so.
  EXPECT_EQ(authz_.Require(fin, A("artists/profiles/profiles"), Operation::kWrite).code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(authz_.Require(fin, A("artists/profiles/profiles"), Operation::kUnmask).code(),
            StatusCode::kPermissionDenied);
}

TEST_F(AuthorizerTest, ProducersReadAndWriteButMayNotUnmaskOrManage) {
  Identity prod = Who("user:prod");
  EXPECT_TRUE(authz_.Check(prod, A("media-player/play-events/events"), Operation::kWrite).allowed);
  EXPECT_TRUE(authz_.Check(prod, A("media-player/play-events/events"), Operation::kRead).allowed);
  EXPECT_FALSE(
      authz_.Check(prod, A("media-player/play-events/events"), Operation::kUnmask).allowed);
  EXPECT_FALSE(authz_.Check(prod, Domain("media-player"), Operation::kManageGrants).allowed);
}

TEST_F(AuthorizerTest, AccessRulesApplyToTheirPortWithTheirRowFilter) {
  Identity analyst = Who("user:ann", {"group:analysts"});
  Decision d = authz_.Check(analyst, A("media-player/play-events/events"), Operation::kRead);
  ASSERT_TRUE(d.allowed);
  EXPECT_EQ(d.row_filter, "(country = 'SE')");
  EXPECT_FALSE(d.unmask);
  EXPECT_FALSE(
      authz_.Check(analyst, A("media-player/play-events/daily"), Operation::kRead).allowed);
  // A product address is visible through any readable port.
  EXPECT_TRUE(authz_.CanSee(analyst, A("media-player/play-events")));
  Identity dana = Who("user:dana");
  d = authz_.Check(dana, A("media-player/play-events/daily"), Operation::kRead);
  EXPECT_TRUE(d.allowed);
  EXPECT_TRUE(d.unmask);
  EXPECT_FALSE(d.row_filter.has_value());
}

TEST_F(AuthorizerTest, RowFiltersOfSeveralGrantsUniteAndAnUnfilteredGrantWins) {
  Identity eve = Who("user:eve");
  Decision d = authz_.Check(eve, A("artists/profiles/profiles"), Operation::kRead);
  ASSERT_TRUE(d.allowed);
  EXPECT_EQ(d.row_filter, "(region = 'EU') OR (region = 'US')");
  Identity eve_fin = Who("user:eve", {"group:finance"});
  d = authz_.Check(eve_fin, A("artists/profiles/profiles"), Operation::kRead);
  EXPECT_FALSE(d.row_filter.has_value());
}

TEST_F(AuthorizerTest, CredentialScopesCapTheGrants) {
  Identity owner_read_token = Who("user:olga", {"group:media-owners"}, {"read"});
  EXPECT_TRUE(authz_.Check(owner_read_token, A("media-player/play-events/events"), Operation::kRead)
                  .allowed);
  Decision d =
      authz_.Check(owner_read_token, A("media-player/play-events/events"), Operation::kRead);
  EXPECT_FALSE(d.unmask);  // no unmask scope
  EXPECT_FALSE(
      authz_.Check(owner_read_token, A("media-player/play-events/events"), Operation::kWrite)
          .allowed);
  EXPECT_FALSE(
      authz_.Check(owner_read_token, Domain("media-player"), Operation::kManageGrants).allowed);
}

TEST_F(AuthorizerTest, OwnersManageGrantsOfTheirOwnDomainOnly) {
  Identity owner = Who("user:olga", {"group:media-owners"});
  EXPECT_TRUE(authz_
                  .CheckGrantChange(owner, PermGrant("user:x", {spec::Permission::kRead},
                                                     "media-player", "play-events"))
                  .ok());
  EXPECT_TRUE(authz_.CheckGrantChange(owner, RoleGrant("user:x", "consumer", "media-player")).ok());
  // Another domain's grants: refused; a product it cannot see stays hidden.
  EXPECT_EQ(authz_.CheckGrantChange(owner, RoleGrant("user:x", "consumer", "artists")).code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(authz_
                .CheckGrantChange(owner, PermGrant("user:olga", {spec::Permission::kUnmask},
                                                   "artists", "profiles"))
                .code(),
            StatusCode::kNotFound);
  // Nor may an owner make more owners.
  EXPECT_EQ(authz_.CheckGrantChange(owner, RoleGrant("user:x", "owner", "media-player")).code(),
            StatusCode::kPermissionDenied);
  // The product owner manages its own product, not the domain.
  Identity pat = Who("user:pat");
  EXPECT_TRUE(authz_
                  .CheckGrantChange(pat, PermGrant("user:x", {spec::Permission::kRead},
                                                   "media-player", "play-events"))
                  .ok());
  EXPECT_FALSE(authz_.CheckGrantChange(pat, RoleGrant("user:x", "consumer", "media-player")).ok());
  EXPECT_FALSE(authz_
                   .CheckGrantChange(
                       pat, PermGrant("user:x", {spec::Permission::kRead}, "media-player", "other"))
                   .ok());
}

TEST_F(AuthorizerTest, GovernanceAppliesPoliciesAndManagesGrantsButReadsNoData) {
  Identity gov = Who("user:gina", {"group:governance"});
  EXPECT_TRUE(authz_.Check(gov, Address{}, Operation::kApply).allowed);
  EXPECT_TRUE(authz_.Check(gov, A("new-domain/x"), Operation::kApply).allowed);
  EXPECT_TRUE(authz_.CheckGrantChange(gov, RoleGrant("user:x", "owner", "artists")).ok());
  EXPECT_FALSE(authz_.Check(gov, A("artists/profiles/profiles"), Operation::kRead).allowed);
  EXPECT_TRUE(authz_.CanSee(gov, A("artists/profiles")));
  EXPECT_EQ(authz_.ManagedDomains(gov), (std::vector<std::string>{"artists", "media-player"}));
}

TEST_F(AuthorizerTest, OnlyGovernanceAppliesPoliciesAndCreatesDomains) {
  Identity owner = Who("user:olga", {"group:media-owners"});
  EXPECT_EQ(authz_.Require(owner, Address{}, Operation::kApply).code(),
            StatusCode::kPermissionDenied);
  Address new_domain{"new-domain", "", "", std::nullopt};
  EXPECT_FALSE(authz_.Check(owner, new_domain, Operation::kApply).allowed);
  Address own_domain{"media-player", "", "", std::nullopt};
  EXPECT_TRUE(authz_.Check(owner, own_domain, Operation::kApply).allowed);
  EXPECT_TRUE(authz_.Check(owner, A("media-player/new-product"), Operation::kApply).allowed);
  Identity fin = Who("user:fred", {"group:finance"});
  EXPECT_EQ(authz_.Require(fin, A("artists/new-product"), Operation::kApply).code(),
            StatusCode::kPermissionDenied);
}

TEST_F(AuthorizerTest, DomainServicePrincipalProducesInItsOwnDomainOnly) {
  Identity svc = Who("service:media-player");
  EXPECT_TRUE(authz_.Check(svc, A("media-player/play-events/events"), Operation::kWrite).allowed);
  EXPECT_FALSE(authz_.Check(svc, A("media-player/play-events/events"), Operation::kUnmask).allowed);
  EXPECT_FALSE(authz_.Check(svc, A("artists/profiles/profiles"), Operation::kRead).allowed);
  Authorizer off(AuthorizerOptions{{}, ""});
  EXPECT_FALSE(off.Check(svc, A("media-player/play-events/events"), Operation::kWrite).allowed);
}

TEST_F(AuthorizerTest, LocalAdministratorPassesEveryCheck) {
  Identity admin = Identity::LocalAdministrator();
  Decision d = authz_.Check(admin, A("artists/profiles/profiles"), Operation::kRead);
  EXPECT_TRUE(d.allowed);
  EXPECT_TRUE(d.unmask);
  EXPECT_TRUE(authz_.Check(admin, Address{}, Operation::kApply).allowed);
}

TEST_F(AuthorizerTest, StoredGrantsAddedLaterTakeEffect) {
  Identity bob = Who("user:bob");
  EXPECT_FALSE(authz_.Check(bob, A("artists/profiles/profiles"), Operation::kRead).allowed);
  authz_.AddGrant(PermGrant("user:bob", {spec::Permission::kRead}, "artists", "profiles"));
  EXPECT_TRUE(authz_.Check(bob, A("artists/profiles/profiles"), Operation::kRead).allowed);
  // A malformed grant gives nothing.
  authz_.AddGrant(PermGrant("bob", {spec::Permission::kRead}, "media-player", "play-events"));
  EXPECT_FALSE(
      authz_.Check(Who("bob"), A("media-player/play-events/events"), Operation::kRead).allowed);
}

TEST(OperationTest, ParsesItsTextForms) {
  for (Operation op : {Operation::kRead, Operation::kWrite, Operation::kUnmask,
                       Operation::kManageGrants, Operation::kApply}) {
    ASSERT_OK_AND_ASSIGN(Operation back, ParseOperation(ToString(op)));
    EXPECT_EQ(back, op);
  }
  EXPECT_EQ(ParseOperation("delete").status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace loom::security
