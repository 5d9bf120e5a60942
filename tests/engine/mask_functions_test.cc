// The SQL functions masks are written with (engine/mask_functions.h), run in DuckDB: NULLs,
// chunk boundaries, the BIGINT and VARCHAR forms of loom_keyed_hash agreeing, a bad key refused
// without being shown, and loom_month_start equal to date_trunc's month on every day of ±2,000
// years. The hash is pinned against OpenSSL's AES-128-CMAC here, over chunks that mix every
// path of CmacBatch (inline strings, one block, several, CBC-chained long ones, integers), and in
// tests/security/unit/mask_test.cc through the mask expressions.

#include <gtest/gtest.h>

#include <random>

#include "engine/engine.h"
#include "testing/testing.h"

namespace loom::engine {
namespace {

constexpr const char* kKey = "'000102030405060708090a0b0c0d0e0f'";

// OpenSSL's AES-128-CMAC of `data` under the 16 bytes 00 01 .. 0f (kKey), as DuckDB prints the
// UUID whose bytes it is.
std::string CmacUuid(const std::string& data) {
  std::string key(16, '\0');
  for (int i = 0; i < 16; ++i) key[static_cast<size_t>(i)] = static_cast<char>(i);
  const std::string out = loom::testing::AesCmac(key, data);
  const size_t n = out.size();
  std::string hex;
  for (size_t i = 0; i < n; ++i) {
    static const char* kDigits = "0123456789abcdef";
    if (i == 4 || i == 6 || i == 8 || i == 10) hex += '-';
    const auto byte = static_cast<unsigned char>(out[i]);
    hex += kDigits[byte >> 4];
    hex += kDigits[byte & 15];
  }
  return hex;
}

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

TEST_F(MaskFunctionsTest, KeyedHashIsAesCmacOfTheText) {
  // RFC 4493's example 1: the empty message under 2b7e1516 28aed2a6 abf71588 09cf4f3c.
  EXPECT_EQ(One("SELECT loom_keyed_hash('2b7e151628aed2a6abf7158809cf4f3c', '')"),
            "bb1d6929-e959-3728-7fa3-7d129b756746");
  // 3,000 texts of random lengths (0 to 300 bytes, most short) in one column: several chunks,
  // each mixing inline strings, one-block, chained and CBC-absorbed messages, and NULLs.
  std::mt19937 rng(5);
  std::vector<std::string> texts;
  std::string values;
  for (int i = 0; i < 3000; ++i) {
    const size_t n = rng() % 4 == 0 ? rng() % 301 : rng() % 24;
    std::string t;
    for (size_t k = 0; k < n; ++k) t += static_cast<char>('a' + rng() % 26);
    texts.push_back(t);
    values += (i == 0 ? "(" : ", (") + std::to_string(i) + ", '" + t + "')";
    if (i % 97 == 0) values += ", (-1, NULL)";
  }
  ASSERT_TRUE(
      con_->Execute("CREATE TABLE texts(i INTEGER, t VARCHAR); INSERT INTO texts VALUES " + values)
          .ok());
  auto rows = con_->QueryRows(std::string("SELECT i, loom_keyed_hash(") + kKey +
                              ", t) FROM texts ORDER BY i");
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->size(), texts.size() + 31);
  for (size_t r = 0; r < 31; ++r) EXPECT_EQ(rows->Get(r, 1), "NULL");
  for (size_t i = 0; i < texts.size(); ++i) {
    ASSERT_EQ(rows->Get(31 + i, 1), CmacUuid(texts[i])) << "length " << texts[i].size();
  }
  // Integers of every digit count and both signs, against the CMAC of their text.
  for (int64_t v :
       {int64_t{0}, int64_t{7}, int64_t{-1}, int64_t{1234567}, int64_t{-99999999},
        int64_t{100000000}, int64_t{999999999999999}, int64_t{-999999999999999},
        int64_t{1000000000000000}, int64_t{-1000000000000000}, int64_t{9999999999999999},
        int64_t{10000000000000000}, int64_t{9223372036854775807}}) {
    EXPECT_EQ(
        One(std::string("SELECT loom_keyed_hash(") + kKey + ", " + std::to_string(v) + "::BIGINT)"),
        CmacUuid(std::to_string(v)))
        << v;
  }
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
