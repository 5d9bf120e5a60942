// The SQL functions masks are written with (engine/mask_functions.h), run in DuckDB: NULLs,
// chunk boundaries, the BIGINT and VARCHAR forms of loom_keyed_hash agreeing, a bad key refused
// without being shown, and loom_month_start equal to date_trunc's month on every day of ±2,000
// years. (The hash's exact values are pinned against OpenSSL's SipHash in
// tests/security/unit/mask_test.cc.)

#include <gtest/gtest.h>

#include "engine/engine.h"

namespace loom::engine {
namespace {

constexpr const char* kKey = "'000102030405060708090a0b0c0d0e0f'";

class MaskFunctionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = Database::Open();
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(db).value();
    auto con = db_->Connect();
    ASSERT_TRUE(con.ok());
    con_ = std::move(con).value();
  }
  std::string One(const std::string& sql) {
    auto rows = con_->QueryRows(sql);
    EXPECT_TRUE(rows.ok()) << rows.status().ToString() << "\n" << sql;
    return rows.ok() && rows->size() == 1 ? rows->Get(0, 0) : "<no row>";
  }

  std::unique_ptr<Database> db_;
  std::unique_ptr<Connection> con_;
};

TEST_F(MaskFunctionsTest, KeyedHashOfAnIntegerIsTheHashOfItsText) {
  // Several chunks (2,048 rows each), both signs, and the extremes of BIGINT.
  EXPECT_EQ(One(std::string("SELECT count(*) FROM (SELECT x * 7919 - 30000000 AS x FROM "
                            "range(10000) t(x) UNION ALL SELECT 9223372036854775807 UNION ALL "
                            "SELECT -9223372036854775808) WHERE loom_keyed_hash(") +
                kKey + ", x) IS DISTINCT FROM loom_keyed_hash(" + kKey + ", CAST(x AS VARCHAR))"),
            "0");
  EXPECT_EQ(One(std::string("SELECT count(DISTINCT loom_keyed_hash(") + kKey +
                ", x)) FROM range(100000) t(x)"),
            "100000");
  EXPECT_EQ(One(std::string("SELECT typeof(loom_keyed_hash(") + kKey + ", 'a'))"), "UUID");
}

TEST_F(MaskFunctionsTest, KeyedHashKeepsNullsAndDependsOnTheKey) {
  EXPECT_EQ(One(std::string("SELECT count(*) FROM (SELECT CASE WHEN x % 3 = 0 THEN NULL ELSE x "
                            "END AS v FROM range(5000) t(x)) WHERE (loom_keyed_hash(") +
                kKey + ", v) IS NULL) <> (v IS NULL)"),
            "0");
  EXPECT_EQ(One(std::string("SELECT loom_keyed_hash(NULL, 'a') IS NULL")), "true");
  EXPECT_EQ(One(std::string("SELECT loom_keyed_hash(") + kKey + ", 'alice') = loom_keyed_hash(" +
                kKey + ", 'alice')"),
            "true");
  EXPECT_EQ(One(std::string("SELECT loom_keyed_hash(") + kKey +
                ", 'alice') = loom_keyed_hash('000102030405060708090a0b0c0d0e0e', 'alice')"),
            "false");
}

TEST_F(MaskFunctionsTest, KeyedHashRefusesABadKeyWithoutShowingIt) {
  for (std::string key : {"'00112233'", "'zz0102030405060708090a0b0c0d0e0f'", "''"}) {
    auto rows = con_->QueryRows("SELECT loom_keyed_hash(" + key + ", 'alice')");
    ASSERT_FALSE(rows.ok()) << key;
    EXPECT_NE(rows.status().message().find("32 hex digits"), std::string::npos);
    EXPECT_EQ(rows.status().message().find(key.substr(1, 8)), std::string::npos)
        << rows.status().message();
  }
}

TEST_F(MaskFunctionsTest, MonthStartIsDateTruncsMonth) {
  EXPECT_EQ(One("SELECT count(*) FROM (SELECT DATE '1970-01-01' + CAST(x AS INTEGER) AS d FROM "
                "range(-750000, 750000) t(x)) WHERE loom_month_start(d) <> "
                "CAST(date_trunc('month', d) AS DATE)"),
            "0");
  EXPECT_EQ(One("SELECT loom_month_start(DATE '2024-02-29')"), "2024-02-01");
  EXPECT_EQ(One("SELECT loom_month_start(DATE '0001-01-01')"), "0001-01-01");
  EXPECT_EQ(One("SELECT loom_month_start(NULL::DATE) IS NULL"), "true");
  EXPECT_EQ(One("SELECT loom_month_start('infinity'::DATE) = 'infinity'::DATE"), "true");
  EXPECT_EQ(One("SELECT loom_month_start('-infinity'::DATE) = '-infinity'::DATE"), "true");
}

}  // namespace
}  // namespace loom::engine
