#include <gtest/gtest.h>

#include "engine/engine.h"
#include "testing/testing.h"

namespace loom::engine {
namespace {

std::unique_ptr<Connection> Connect(Database& db) {
  auto c = db.Connect();
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return std::move(c).value();
}

TEST(DatabaseTest, RunsStatementsAndMaterializesTypedRows) {
  auto db = Database::Open();
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  auto con = Connect(**db);
  ASSERT_TRUE(con->Execute("CREATE TABLE t(a INTEGER, b VARCHAR, c DECIMAL(10,2)); "
                           "INSERT INTO t VALUES (1, 'x', 1.5), (NULL, 'y''z', -0.05)")
                  .ok());
  auto rows = con->QueryRows("SELECT * FROM t ORDER BY a NULLS LAST");
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ(rows->columns[0].name, "a");
  EXPECT_EQ(rows->columns[0].type, "INTEGER");
  EXPECT_EQ(rows->columns[0].pg_oid, 23);
  EXPECT_EQ(rows->columns[2].type, "DECIMAL(10,2)");
  EXPECT_EQ(rows->columns[2].pg_oid, 1700);
  EXPECT_EQ(rows->Get(0, 2), "1.50");
  EXPECT_EQ(rows->Get(1, 0), "NULL");
  EXPECT_EQ(rows->Get(1, 1), "y'z");
  EXPECT_EQ(rows->Get(1, 2), "-0.05");
  EXPECT_EQ(rows->ToJson().dump(), R"([{"a":1,"b":"x","c":1.5},{"a":null,"b":"y'z","c":-0.05}])");
}

TEST(DatabaseTest, WritesAndReadsZstdParquet) {
  testing::TempDir dir;
  auto db = Database::Open();
  ASSERT_TRUE(db.ok());
  auto con = Connect(**db);
  std::string file = dir.Sub("x.parquet");
  ASSERT_TRUE(con->Execute("COPY (SELECT range AS i FROM range(1000)) TO " + QuoteString(file) +
                           " (FORMAT parquet, COMPRESSION zstd)")
                  .ok());
  auto rows =
      con->QueryRows("SELECT count(*), sum(i) FROM read_parquet(" + QuoteString(file) + ")");
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(rows->Get(0, 0), "1000");
  EXPECT_EQ(rows->Get(0, 1), "499500");
}

TEST(DatabaseTest, StreamsChunksWithoutMaterializing) {
  auto db = Database::Open();
  ASSERT_TRUE(db.ok());
  auto con = Connect(**db);
  auto r = con->Query("SELECT range FROM range(100000)");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  uint64_t sum = 0;
  size_t chunks = 0;
  while (true) {
    auto c = (*r)->Next();
    ASSERT_TRUE(c.ok());
    if (*c == nullptr) break;
    ++chunks;
    for (size_t i = 0; i < (*c)->num_rows(); ++i) sum += std::stoull((*c)->Text(0, i));
  }
  EXPECT_GT(chunks, 10u);
  EXPECT_EQ((*r)->rows(), 100000u);
  EXPECT_EQ(sum, 4999950000u);
}

TEST(DatabaseTest, ReportsSqlErrorsAsInvalidArgument) {
  auto db = Database::Open();
  ASSERT_TRUE(db.ok());
  auto con = Connect(**db);
  Status s = con->Execute("SELEC 1");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("syntax error"), std::string::npos) << s.message();
  auto r = con->Query("SELECT * FROM no_such_table");
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
}

TEST(DatabaseTest, RejectsUnknownOption) {
  DatabaseOptions o;
  o.config.emplace_back("no_such_option", "1");
  EXPECT_EQ(Database::Open(o).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace loom::engine
