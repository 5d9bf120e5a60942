// The SQL functions masks are written with (engine/mask_functions.h), run in DuckDB: NULLs,
// chunk boundaries, loom_keyed_permute against Speck64/128's test vector and a plain reference
// (and never colliding), loom_keyed_permute32 against Speck32's test vector and a reference,
// and equal to loom_keyed_permute over int32 range, a bad key of loom_keyed_hash refused
// without being shown, and loom_month_start equal to date_trunc's month on every day of ±2,000
// years. The hash is pinned against OpenSSL's AES-128-CMAC here, over chunks that mix every
// path of CmacBatch (inline strings, one block, several, CBC-chained long ones), and in
// tests/security/unit/mask_test.cc through the mask expressions.

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "engine/keyed_hash.h"
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

// The paper's key 1b1a1918 13121110 0b0a0908 03020100 as loom_keyed_permute's two words.
constexpr const char* kSpeckKey = "1952900979608391952::UBIGINT, 795458214199165184::UBIGINT";

using loom::testing::KeyedPermute;
using loom::testing::Speck64;

TEST_F(MaskFunctionsTest, KeyedPermuteIsSpeck64) {
  // The test vector of the Speck paper (Beaulieu et al. 2013, appendix C): plaintext
  // 3b726574 7475432d gives 8c6fa548 454e028b.
  EXPECT_EQ(Speck64(0x1b1a191813121110, 0x0b0a090803020100, 0x3b7265747475432d),
            0x8c6fa548454e028bULL);
  EXPECT_EQ(One(std::string("SELECT printf('%016x', loom_keyed_permute(") + kSpeckKey +
                ", 4283597746427216685))"),
            "8c6fa548454e028b");
  // 5,003 values over several chunks (2,048 rows each) and a ragged tail, both signs, a few of
  // int32 range (Speck32 there) and the extremes of BIGINT, against the reference.
  std::vector<int64_t> values;
  for (int64_t i = 0; i < 5001; ++i) values.push_back(i * 1844674407370955 - 4611686018427387904);
  values.push_back(std::numeric_limits<int64_t>::max());
  values.push_back(std::numeric_limits<int64_t>::min());
  std::string list;
  for (int64_t v : values) list += (list.empty() ? "" : ", ") + std::to_string(v);
  auto rows = con_->QueryRows(std::string("SELECT v, loom_keyed_permute(") + kSpeckKey +
                              ", v) FROM (SELECT unnest([" + list + "]::BIGINT[]) AS v)");
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->size(), values.size());
  for (size_t r = 0; r < rows->size(); ++r) {
    const int64_t v = std::stoll(rows->Get(r, 0));
    const int64_t expected = KeyedPermute(0x1b1a191813121110, 0x0b0a090803020100, v);
    ASSERT_EQ(rows->Get(r, 1), std::to_string(expected)) << "value " << rows->Get(r, 0);
  }
  // A key that changes from row to row: each row under its own key.
  EXPECT_EQ(One("SELECT count(*) FROM range(3000) t(k) WHERE loom_keyed_permute(k::UBIGINT, "
                "(k * 7)::UBIGINT, 42) <> loom_keyed_permute(k::UBIGINT, (k * 7)::UBIGINT, 42) OR "
                "loom_keyed_permute(k::UBIGINT, (k * 7)::UBIGINT, 42) = "
                "loom_keyed_permute((k + 1)::UBIGINT, (k * 7)::UBIGINT, 42)"),
            "0");
  auto varied = con_->QueryRows(
      "SELECT k, loom_keyed_permute(k::UBIGINT, 5::UBIGINT, 42) FROM range(0, 3000, 997) t(k)");
  ASSERT_TRUE(varied.ok()) << varied.status().ToString();
  for (size_t r = 0; r < varied->size(); ++r) {
    const uint64_t k = std::stoull(varied->Get(r, 0));
    EXPECT_EQ(varied->Get(r, 1), std::to_string(KeyedPermute(k, 5, 42)));
  }
}

TEST_F(MaskFunctionsTest, KeyedPermuteNeverCollidesAndKeepsNulls) {
  // A permutation: 200,000 distinct inputs, 200,000 distinct outputs, none equal to its input.
  EXPECT_EQ(One(std::string("SELECT count(DISTINCT loom_keyed_permute(") + kSpeckKey +
                ", x)) FROM range(-100000, 100000) t(x)"),
            "200000");
  EXPECT_EQ(One(std::string("SELECT count(*) FROM range(-100000, 100000) t(x) WHERE "
                            "loom_keyed_permute(") +
                kSpeckKey + ", x) = x"),
            "0");
  EXPECT_EQ(One(std::string("SELECT count(*) FROM (SELECT CASE WHEN x % 3 = 0 THEN NULL ELSE x "
                            "END AS v FROM range(5000) t(x)) WHERE (loom_keyed_permute(") +
                kSpeckKey + ", v) IS NULL) <> (v IS NULL)"),
            "0");
  EXPECT_EQ(One("SELECT loom_keyed_permute(NULL, 1::UBIGINT, 5) IS NULL"), "true");
  EXPECT_EQ(One(std::string("SELECT typeof(loom_keyed_permute(") + kSpeckKey + ", 5))"), "BIGINT");
  // Another key, another permutation.
  EXPECT_EQ(One(std::string("SELECT count(*) FROM range(1000) t(x) WHERE loom_keyed_permute(") +
                kSpeckKey +
                ", x) = loom_keyed_permute(1952900979608391952::UBIGINT, "
                "795458214199165185::UBIGINT, x)"),
            "0");
}

TEST_F(MaskFunctionsTest, KeyedPermute32IsSpeck32AndAgreesWithTheBigintPermutation) {
  // Speck32/64's test vector (Beaulieu et al. 2013, appendix C) through the engine's cipher with
  // the standard key schedule's round keys: key 1918 1110 0908 0100, plaintext 6574 694c,
  // ciphertext a868 42f2.
  std::array<uint16_t, 22> standard{};
  uint16_t l[25] = {0x0908, 0x1110, 0x1918};
  standard[0] = 0x0100;
  for (uint16_t i = 0; i + 1 < 22; ++i) {
    l[i + 3] = static_cast<uint16_t>(
        static_cast<uint16_t>(standard[i] + static_cast<uint16_t>((l[i] >> 7) | (l[i] << 9))) ^ i);
    standard[i + 1] = static_cast<uint16_t>(
        static_cast<uint16_t>((standard[i] << 2) | (standard[i] >> 14)) ^ l[i + 3]);
  }
  EXPECT_EQ(loom::testing::Speck32(standard, 0x6574694c), 0xa86842f2U);
  const Speck32 cipher(standard);
  std::vector<uint32_t> blocks(131, 0x6574694c);
  blocks[70] = 0;
  cipher.Encrypt(blocks.data(), blocks.data(), blocks.size());
  EXPECT_EQ(blocks[0], 0xa86842f2U);
  EXPECT_EQ(blocks[130], 0xa86842f2U);  // the ragged tail
  EXPECT_EQ(blocks[70], loom::testing::Speck32(standard, 0));
  // The derived round keys, against OpenSSL's HMAC.
  EXPECT_EQ(Speck32::DeriveRoundKeys(0x1b1a191813121110, 0x0b0a090803020100),
            loom::testing::Speck32RoundKeys(0x1b1a191813121110, 0x0b0a090803020100));
  // loom_keyed_permute32 over chunks, both signs and the extremes of INTEGER, against the
  // reference; loom_keyed_permute of the same values (as BIGINT) gives the same numbers, so int32
  // and int64 keys masked alike still join.
  auto rows = con_->QueryRows(
      std::string("SELECT v, loom_keyed_permute32(") + kSpeckKey + ", v), loom_keyed_permute(" +
      kSpeckKey +
      ", v::BIGINT) FROM (SELECT unnest([-2147483648, 2147483647, -1, 0, 1]::INTEGER[]) AS v "
      "UNION ALL SELECT (x * 858993 - 2147483648)::INTEGER FROM range(5000) t(x))");
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->size(), 5005U);
  for (size_t r = 0; r < rows->size(); ++r) {
    const int64_t v = std::stoll(rows->Get(r, 0));
    const std::string expected =
        std::to_string(KeyedPermute(0x1b1a191813121110, 0x0b0a090803020100, v));
    ASSERT_EQ(rows->Get(r, 1), expected) << "value " << v;
    ASSERT_EQ(rows->Get(r, 2), expected) << "value " << v;
  }
  EXPECT_EQ(One(std::string("SELECT typeof(loom_keyed_permute32(") + kSpeckKey + ", 5))"),
            "INTEGER");
  // A permutation of INTEGER: 200,000 distinct outputs, none its input; NULLs stay NULL.
  EXPECT_EQ(One(std::string("SELECT count(DISTINCT loom_keyed_permute32(") + kSpeckKey +
                ", x::INTEGER)) FROM range(-100000, 100000) t(x)"),
            "200000");
  EXPECT_EQ(One(std::string("SELECT count(*) FROM range(-100000, 100000) t(x) WHERE "
                            "loom_keyed_permute32(") +
                kSpeckKey + ", x::INTEGER) = x"),
            "0");
  EXPECT_EQ(One(std::string("SELECT loom_keyed_permute32(") + kSpeckKey + ", NULL) IS NULL"),
            "true");
  // Values outside int32 range stay outside it (cycle walking), values inside stay inside.
  EXPECT_EQ(One(std::string("SELECT count(*) FROM range(0, 4000) t(x) WHERE "
                            "(loom_keyed_permute(") +
                kSpeckKey +
                ", x * 2305843009213693 + 2147483648) BETWEEN -2147483648 AND 2147483647) OR "
                "NOT (loom_keyed_permute(" +
                kSpeckKey + ", x - 2000) BETWEEN -2147483648 AND 2147483647)"),
            "0");
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
}

TEST_F(MaskFunctionsTest, KeyedHashKeepsNullsAndDependsOnTheKey) {
  EXPECT_EQ(One(std::string("SELECT count(*) FROM (SELECT CASE WHEN x % 3 = 0 THEN NULL ELSE x "
                            "END AS v FROM range(5000) t(x)) WHERE (loom_keyed_hash(") +
                kKey + ", CAST(v AS VARCHAR)) IS NULL) <> (v IS NULL)"),
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
