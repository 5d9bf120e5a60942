#include <gtest/gtest.h>

#include "security/security.h"
#include "security_test_util.h"

namespace loom::security {
namespace {

TEST(PrincipalTest, ParsesEachKindAndRendersItBack) {
  for (std::string text :
       {"user:alice", "group:analysts", "service:media-player", "user:alice.smith@example.com"}) {
    ASSERT_OK_AND_ASSIGN(Principal p, Principal::Parse(text));
    EXPECT_EQ(p.ToString(), text);
  }
  ASSERT_OK_AND_ASSIGN(Principal g, Principal::Parse("group:analysts"));
  EXPECT_EQ(g.kind, PrincipalKind::kGroup);
  EXPECT_EQ(g.name, "analysts");
}

TEST(PrincipalTest, RefusesMalformedPrincipalsWithTheReason) {
  for (std::string text :
       std::vector<std::string>{"", "alice", "admin:alice", "user:", "user:al ice", "user:a/b",
                                "user:" + std::string(129, 'a'), "user:a'; DROP TABLE x"}) {
    Result<Principal> p = Principal::Parse(text);
    ASSERT_FALSE(p.ok()) << text;
    EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument) << text;
  }
  EXPECT_NE(Principal::Parse("robot:x").status().message().find("unknown principal kind"),
            std::string::npos);
}

TEST(IdentityTest, LocalAdministratorHasEveryScopeAndIsMarked) {
  Identity admin = Identity::LocalAdministrator("alice");
  EXPECT_EQ(admin.principal, "user:alice");
  EXPECT_TRUE(admin.administrator);
  EXPECT_EQ(admin.method, AuthMethod::kLocalAdministrator);
  EXPECT_TRUE(admin.HasScope(kScopeManage));
  EXPECT_EQ(Identity::LocalAdministrator("bad name!").principal, "user:local");
}

TEST(IdentityTest, LocalAsIsNoAdministratorAndRefusesGroups) {
  ASSERT_OK_AND_ASSIGN(Identity id, Identity::LocalAs("user:bob", {"group:analysts"}));
  EXPECT_FALSE(id.administrator);
  EXPECT_EQ(id.method, AuthMethod::kLocalAs);
  EXPECT_TRUE(id.Is("user:bob"));
  EXPECT_TRUE(id.Is("group:analysts"));
  EXPECT_FALSE(id.Is("group:governance"));
  EXPECT_EQ(Identity::LocalAs("group:analysts", {}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Identity::LocalAs("bob", {}).status().code(), StatusCode::kInvalidArgument);
}

TEST(IdentityTest, ScopesLimitWhatACredentialMayDo) {
  Identity id;
  id.principal = "user:bob";
  id.scopes = {"read"};
  EXPECT_TRUE(id.HasScope(kScopeRead));
  EXPECT_FALSE(id.HasScope(kScopeWrite));
  id.scopes = {};
  EXPECT_FALSE(id.HasScope(kScopeRead));
  EXPECT_TRUE(ValidateScopes({"read", "write", "unmask", "manage", "*"}).ok());
  EXPECT_EQ(ValidateScopes({"read", "admin"}).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace loom::security
