// sqlite::Db's statement cache: a finished statement comes back for the next Prepare of the
// same text reset, without its bindings, whatever state it was left in; two live statements of
// one text stay independent; a statement may outlive its database (the ASan build checks the
// frees); past the cache's size statements are simply finalized.

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "core/sqlite_db.h"
#include "testing/testing.h"

namespace loom::sqlite {
namespace {

Db Open(const testing::TempDir& dir) {
  Result<Db> db = Db::Open(dir.Sub("t.db"));
  EXPECT_TRUE(db.ok()) << db.status().ToString();
  EXPECT_TRUE(db->Exec("CREATE TABLE t(k INTEGER, v TEXT);"
                       "INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'c');")
                  .ok());
  return std::move(db).value();
}

TEST(SqliteStmtCacheTest, AReusedStatementStartsOverWithoutItsBindings) {
  testing::TempDir dir;
  Db db = Open(dir);
  const std::string sql = "SELECT count(*), ?1 IS NULL FROM t WHERE k >= coalesce(?1, 0)";
  {
    Result<Stmt> s = db.Prepare(sql);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    s->Bind(1, int64_t{3});
    ASSERT_TRUE(*s->Step());
    EXPECT_EQ(s->Int(0), 1);
    EXPECT_EQ(s->Int(1), 0);
  }  // released with its binding
  Result<Stmt> again = db.Prepare(sql);
  ASSERT_TRUE(again.ok());
  ASSERT_TRUE(*again->Step());
  EXPECT_EQ(again->Int(0), 3);  // ?1 is NULL again
  EXPECT_EQ(again->Int(1), 1);

  // Left half way through its rows: the next one reads from the first row.
  const std::string rows = "SELECT v FROM t ORDER BY k";
  {
    Result<Stmt> s = db.Prepare(rows);
    ASSERT_TRUE(*s->Step());
    EXPECT_EQ(s->Text(0), "a");
    ASSERT_TRUE(*s->Step());
  }
  Result<Stmt> fresh = db.Prepare(rows);
  std::vector<std::string> seen;
  while (*fresh->Step()) seen.push_back(fresh->Text(0));
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "b", "c"}));
}

TEST(SqliteStmtCacheTest, LiveStatementsOfOneTextAreIndependent) {
  testing::TempDir dir;
  Db db = Open(dir);
  const std::string sql = "SELECT v FROM t WHERE k = ?1";
  Result<Stmt> a = db.Prepare(sql);
  Result<Stmt> b = db.Prepare(sql);
  ASSERT_TRUE(a.ok() && b.ok());
  a->Bind(1, int64_t{1});
  b->Bind(1, int64_t{2});
  ASSERT_TRUE(*a->Step());
  ASSERT_TRUE(*b->Step());
  EXPECT_EQ(a->Text(0), "a");
  EXPECT_EQ(b->Text(0), "b");
  // A write through the cache sees the rows it wrote.
  for (int64_t k = 10; k < 13; ++k) {
    Result<Stmt> insert = db.Prepare("INSERT INTO t VALUES (?1, 'x')");
    insert->Bind(1, k);
    ASSERT_TRUE(insert->Run().ok());
  }
  Result<Stmt> count = db.Prepare("SELECT count(*) FROM t");
  ASSERT_TRUE(*count->Step());
  EXPECT_EQ(count->Int(0), 6);
}

TEST(SqliteStmtCacheTest, StatementsMayOutliveTheirDatabaseAndTheCacheIsBounded) {
  testing::TempDir dir;
  auto db = std::make_unique<Db>(Open(dir));
  // More distinct texts than the cache keeps: the extra ones are finalized.
  for (size_t i = 0; i < StmtCache::kMaxKept + 20; ++i) {
    Result<Stmt> s = db->Prepare("SELECT " + std::to_string(i) + " FROM t LIMIT 1");
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE(*s->Step());
    EXPECT_EQ(s->Int(0), static_cast<int64_t>(i));
  }
  Result<Stmt> kept = db->Prepare("SELECT v FROM t WHERE k = 1");
  ASSERT_TRUE(kept.ok());
  db.reset();  // the statement is finalized when it goes, not kept
  ASSERT_TRUE(*kept->Step());
  EXPECT_EQ(kept->Text(0), "a");
}

}  // namespace
}  // namespace loom::sqlite
