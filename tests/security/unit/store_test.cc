#include <sqlite3.h>

#include <gtest/gtest.h>

#include "security/security.h"
#include "security_test_util.h"
#include "testing/testing.h"

namespace loom::security {
namespace {

using loom::security::testing::FakeClock;

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = Store::Open(StoreOptions{dir_.Sub("security.db"), &clock_});
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
  }

  NewToken Create(std::vector<std::string> scopes = {"read"},
                  std::optional<TimestampMicros> expires = std::nullopt) {
    TokenOptions o;
    o.principal = "user:alice";
    o.scopes = std::move(scopes);
    o.expires_at = expires;
    o.description = "ci";
    o.created_by = "user:admin";
    auto t = store_->CreateToken(o);
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    return t.ok() ? *t : NewToken{};
  }

  loom::testing::TempDir dir_;
  FakeClock clock_;
  std::unique_ptr<Store> store_;
};

TEST_F(StoreTest, CreatedTokenVerifiesAsItsPrincipalWithItsScopesAndGroups) {
  ASSERT_OK(store_->AddMember("group:analysts", "user:alice", "user:admin"));
  NewToken t = Create({"read", "unmask"});
  EXPECT_TRUE(t.secret.starts_with("loom_" + t.id + "_"));
  EXPECT_EQ(t.secret.size(), 5u + 16 + 1 + 64);
  ASSERT_OK_AND_ASSIGN(Identity id, store_->VerifyToken(t.secret));
  EXPECT_EQ(id.principal, "user:alice");
  EXPECT_EQ(id.method, AuthMethod::kApiToken);
  EXPECT_EQ(id.credential_id, t.id);
  EXPECT_EQ(id.scopes, (std::vector<std::string>{"read", "unmask"}));
  EXPECT_EQ(id.groups, (std::vector<std::string>{"group:analysts"}));
  EXPECT_FALSE(id.administrator);
}

TEST_F(StoreTest, TheSecretIsStoredNowhereOnDisk) {
  NewToken t = Create();
  const std::string secret_part = t.secret.substr(5 + 16 + 1);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(dir_.Sub("security.db").c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT * FROM tokens", -1, &st, nullptr), SQLITE_OK);
  int rows = 0;
  while (sqlite3_step(st) == SQLITE_ROW) {
    ++rows;
    for (int c = 0; c < sqlite3_column_count(st); ++c) {
      const unsigned char* v = sqlite3_column_text(st, c);
      if (v == nullptr) continue;
      std::string s(reinterpret_cast<const char*>(v));
      EXPECT_EQ(s.find(secret_part), std::string::npos) << "column " << c;
    }
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  EXPECT_EQ(rows, 1);
  // Nor in the raw bytes of any file of the database (main file and WAL).
  for (std::string f : {"security.db", "security.db-wal"}) {
    if (!FileSystem::Default()->FileExists(dir_.Sub(f))) continue;
    EXPECT_EQ(loom::testing::ReadFile(dir_.Sub(f)).find(secret_part), std::string::npos) << f;
  }
}

TEST_F(StoreTest, RefusesWrongSecretUnknownIdAndMalformedTextAlike) {
  NewToken t = Create();
  std::string wrong = t.secret;
  wrong.back() = wrong.back() == 'a' ? 'b' : 'a';
  std::string unknown = "loom_0000000000000000_" + t.secret.substr(22);
  for (const std::string& bad :
       {wrong, unknown, std::string("loom_"), std::string(""), t.secret + "0",
        std::string("Bearer ") + t.secret, "loom_" + t.id + "_" + std::string(64, 'z')}) {
    Result<Identity> id = store_->VerifyToken(bad);
    ASSERT_FALSE(id.ok()) << bad;
    EXPECT_EQ(id.status().code(), StatusCode::kUnauthenticated);
    EXPECT_EQ(id.status().message(), "invalid API token");
  }
}

TEST_F(StoreTest, RevokedTokenIsRefused) {
  NewToken t = Create();
  ASSERT_OK(store_->RevokeToken(t.id));
  ASSERT_OK(store_->RevokeToken(t.id));  // twice is fine
  Result<Identity> id = store_->VerifyToken(t.secret);
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.status().code(), StatusCode::kUnauthenticated);
  EXPECT_NE(id.status().message().find("revoked"), std::string::npos);
  EXPECT_EQ(store_->RevokeToken("ffffffffffffffff").code(), StatusCode::kNotFound);
}

TEST_F(StoreTest, ExpiredTokenIsRefusedFromItsExpiryOn) {
  NewToken t = Create({"read"}, clock_.NowMicros() + 3600'000'000);
  clock_.AdvanceSeconds(3599);
  EXPECT_TRUE(store_->VerifyToken(t.secret).ok());
  clock_.AdvanceSeconds(1);
  Result<Identity> id = store_->VerifyToken(t.secret);
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.status().code(), StatusCode::kUnauthenticated);
  EXPECT_NE(id.status().message().find("expired"), std::string::npos);
}

TEST_F(StoreTest, RefusesTokensForGroupsWithoutScopesOrAlreadyExpired) {
  TokenOptions o;
  o.principal = "group:analysts";
  o.scopes = {"read"};
  EXPECT_EQ(store_->CreateToken(o).status().code(), StatusCode::kInvalidArgument);
  o.principal = "user:alice";
  o.scopes = {};
  EXPECT_EQ(store_->CreateToken(o).status().code(), StatusCode::kInvalidArgument);
  o.scopes = {"root"};
  EXPECT_EQ(store_->CreateToken(o).status().code(), StatusCode::kInvalidArgument);
  o.scopes = {"read"};
  o.expires_at = clock_.NowMicros() - 1;
  EXPECT_EQ(store_->CreateToken(o).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(StoreTest, ListsTokensWithoutSecrets) {
  NewToken a = Create();
  clock_.AdvanceSeconds(1);
  NewToken b = Create({"write"});
  ASSERT_OK(store_->RevokeToken(a.id));
  ASSERT_OK_AND_ASSIGN(std::vector<TokenInfo> all, store_->ListTokens());
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].id, b.id);  // newest first
  EXPECT_FALSE(all[0].revoked_at.has_value());
  EXPECT_TRUE(all[1].revoked_at.has_value());
  EXPECT_EQ(all[1].created_by, "user:admin");
  ASSERT_OK_AND_ASSIGN(std::vector<TokenInfo> none, store_->ListTokens("user:bob"));
  EXPECT_TRUE(none.empty());
}

TEST_F(StoreTest, TokensSurviveReopeningTheStore) {
  NewToken t = Create();
  store_.reset();
  ASSERT_OK_AND_ASSIGN(store_, Store::Open(StoreOptions{dir_.Sub("security.db"), &clock_}));
  EXPECT_TRUE(store_->VerifyToken(t.secret).ok());
}

TEST_F(StoreTest, GroupsOfFollowsNestedGroupsAndStopsAtCycles) {
  ASSERT_OK(store_->AddMember("group:analysts", "user:alice", "user:admin"));
  ASSERT_OK(store_->AddMember("group:staff", "group:analysts", "user:admin"));
  ASSERT_OK(store_->AddMember("group:analysts", "group:staff", "user:admin"));  // a cycle
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> groups, store_->GroupsOf("user:alice"));
  EXPECT_EQ(groups, (std::vector<std::string>{"group:analysts", "group:staff"}));
  ASSERT_OK(store_->RemoveMember("group:analysts", "user:alice"));
  ASSERT_OK_AND_ASSIGN(groups, store_->GroupsOf("user:alice"));
  EXPECT_TRUE(groups.empty());
  EXPECT_EQ(store_->RemoveMember("group:analysts", "user:alice").code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->AddMember("user:bob", "user:alice", "x").code(), StatusCode::kInvalidArgument);
}

TEST_F(StoreTest, StoresGrantsWithWhoAndWhenAndRevokesPermissions) {
  spec::Grant g;
  g.principal = "group:analysts";
  g.domain = "media-player";
  g.product = "play-events";
  g.permissions = {spec::Permission::kRead, spec::Permission::kUnmask};
  g.row_filter = "country = 'SE'";
  ASSERT_OK_AND_ASSIGN(StoredGrant stored, store_->AddGrant(g, "user:owner"));
  EXPECT_EQ(stored.granted_by, "user:owner");
  EXPECT_EQ(stored.granted_at, clock_.NowMicros());

  spec::Grant revoke = g;
  revoke.permissions = {spec::Permission::kUnmask};
  revoke.row_filter.reset();
  ASSERT_OK_AND_ASSIGN(int changed, store_->RevokeGrant(revoke));
  EXPECT_EQ(changed, 1);
  ASSERT_OK_AND_ASSIGN(std::vector<StoredGrant> grants, store_->ListGrants());
  ASSERT_EQ(grants.size(), 1u);
  EXPECT_EQ(grants[0].grant.permissions, (std::vector<spec::Permission>{spec::Permission::kRead}));
  EXPECT_EQ(grants[0].grant.row_filter, "country = 'SE'");

  revoke.permissions = {};
  ASSERT_OK_AND_ASSIGN(changed, store_->RevokeGrant(revoke));
  EXPECT_EQ(changed, 1);
  ASSERT_OK_AND_ASSIGN(grants, store_->ListGrants());
  EXPECT_TRUE(grants.empty());
  EXPECT_EQ(store_->RevokeGrant(revoke).status().code(), StatusCode::kNotFound);
}

TEST_F(StoreTest, RefusesMalformedGrants) {
  spec::Grant g;
  g.principal = "user:alice";
  g.domain = "media-player";
  EXPECT_EQ(store_->AddGrant(g, "x").status().code(), StatusCode::kInvalidArgument);  // nothing
  g.role = "admin";
  EXPECT_EQ(store_->AddGrant(g, "x").status().code(), StatusCode::kInvalidArgument);
  g.role = "consumer";
  g.product = "play-events";  // roles are on domains
  EXPECT_EQ(store_->AddGrant(g, "x").status().code(), StatusCode::kInvalidArgument);
  g.product.clear();
  g.principal = "alice";
  EXPECT_EQ(store_->AddGrant(g, "x").status().code(), StatusCode::kInvalidArgument);
  g.principal = "user:alice";
  g.domain = "Media_Player";
  EXPECT_EQ(store_->AddGrant(g, "x").status().code(), StatusCode::kInvalidArgument);
  g.domain = "media-player";
  EXPECT_TRUE(store_->AddGrant(g, "x").ok());
}

}  // namespace
}  // namespace loom::security
