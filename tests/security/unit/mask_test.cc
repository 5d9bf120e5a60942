// Every mask expression runs in DuckDB here (engine::Database), the way the engine's view will
// run it.

#include <gtest/gtest.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <limits>

#include "engine/engine.h"
#include "security/security.h"
#include "security_test_util.h"
#include "testing/testing.h"

namespace loom::security {
namespace {

const MaskKey kKey{std::string(64, 'a')};
const MaskKey kOtherKey{std::string(64, 'b')};

std::string HmacSha256(const std::string& key, const std::string& data) {
  unsigned char out[32];
  unsigned int n = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &n);
  return std::string(reinterpret_cast<char*>(out), n);
}

spec::Field PiiField(std::string name, std::string_view type, spec::MaskMethod mask) {
  spec::Field f;
  f.name = std::move(name);
  f.type = spec::ParseFieldType(type).value();
  f.pii = true;
  f.mask = mask;
  return f;
}

class MaskTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = engine::Database::Open();
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(db).value();
    auto conn = db_->Connect();
    ASSERT_TRUE(conn.ok());
    conn_ = std::move(conn).value();
    ASSERT_OK(conn_->Execute(R"sql(
      SET TimeZone = 'UTC';
      CREATE TABLE t(id INTEGER, email VARCHAR, age INTEGER, big BIGINT, born DATE,
                     seen TIMESTAMPTZ, salary DECIMAL(18,2), score DOUBLE, vip BOOLEAN,
                     tags VARCHAR[]);
      INSERT INTO t VALUES
        (1, 'alice@example.com', 37, 9223372036854775807, DATE '1987-05-17',
         TIMESTAMPTZ '2024-05-17 10:11:12+00', 12345.67, 73.9, true, ['a']),
        (2, 'bob@example.com', -5, -9223372036854775808, DATE '2001-12-31',
         TIMESTAMPTZ '2024-12-31 23:59:59+00', -15.50, -15.5, false, []),
        (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
    )sql"));
  }

  // The masked column of `field` over table t, by id, with its DuckDB type.
  std::vector<std::string> Run(const spec::Field& field, const MaskKey& key = kKey,
                               std::string* type = nullptr) {
    auto m = MaskColumn(field, key);
    EXPECT_TRUE(m.ok()) << m.status().ToString();
    if (!m.ok()) return {};
    auto rows = conn_->QueryRows("SELECT " + m->expression + " AS v, typeof(" + m->expression +
                                 ") AS t FROM t ORDER BY id");
    EXPECT_TRUE(rows.ok()) << rows.status().ToString() << "\n" << m->expression;
    if (!rows.ok()) return {};
    std::vector<std::string> out;
    for (size_t r = 0; r < rows->size(); ++r) {
      out.push_back(rows->Get(r, 0));
      if (rows->text[r][0].has_value()) {
        std::string type = rows->Get(r, 1);
        if (type == "TIMESTAMP WITH TIME ZONE") type = "TIMESTAMPTZ";  // typeof's long name
        EXPECT_EQ(type, m->sql_type) << field.name;
      }
    }
    if (type != nullptr) *type = m->sql_type;
    return out;
  }

  std::unique_ptr<engine::Database> db_;
  std::unique_ptr<engine::Connection> conn_;
};

TEST_F(MaskTest, NonPiiFieldsAreNotMasked) {
  spec::Field f = PiiField("id", "int32", spec::MaskMethod::kNone);
  f.pii = false;
  ASSERT_OK_AND_ASSIGN(MaskedColumn m, MaskColumn(f, kKey));
  EXPECT_EQ(m.expression, "");
  EXPECT_EQ(m.sql_type, "INTEGER");
}

TEST_F(MaskTest, RedactReplacesEveryValueAndKeepsNull) {
  std::string type;
  EXPECT_EQ(Run(PiiField("email", "string", spec::MaskMethod::kRedact), kKey, &type),
            (std::vector<std::string>{"***", "***", "NULL"}));
  EXPECT_EQ(type, "VARCHAR");
  // A pii field without a method is redacted; a redacted int becomes VARCHAR.
  EXPECT_EQ(Run(PiiField("age", "int32", spec::MaskMethod::kNone), kKey, &type),
            (std::vector<std::string>{"***", "***", "NULL"}));
  EXPECT_EQ(type, "VARCHAR");
}

TEST_F(MaskTest, HashIsKeyedStableAndHidesTheValue) {
  std::string type;
  std::vector<std::string> h =
      Run(PiiField("email", "string", spec::MaskMethod::kHash), kKey, &type);
  ASSERT_EQ(h.size(), 3u);
  EXPECT_EQ(type, "UUID");
  EXPECT_EQ(h[0].size(), 36u);
  EXPECT_NE(h[0], h[1]);
  EXPECT_EQ(h[2], "NULL");
  EXPECT_EQ(h[0].find("alice"), std::string::npos);
  // Stable: the same key gives the same output; another key another one.
  EXPECT_EQ(Run(PiiField("email", "string", spec::MaskMethod::kHash)), h);
  EXPECT_NE(Run(PiiField("email", "string", spec::MaskMethod::kHash), kOtherKey)[0], h[0]);
  // A hashed integer stays an integer (INTEGER for int32, BIGINT for int64), its value hidden.
  std::vector<std::string> ages =
      Run(PiiField("age", "int32", spec::MaskMethod::kHash), kKey, &type);
  EXPECT_EQ(type, "INTEGER");
  EXPECT_NE(ages[0], "37");
  EXPECT_NE(ages[1], "-5");
  EXPECT_EQ(ages[2], "NULL");
  EXPECT_NE(Run(PiiField("age", "int32", spec::MaskMethod::kHash), kOtherKey)[0], ages[0]);
}

// The hash is AES-128-CMAC (OpenSSL's, here, as the reference) of the value's text, keyed with
// the first 16 bytes of HMAC-SHA-256(mask key, "loom-mask:hash"), written as a UUID; integers
// are the keyed permutation of the engine (Speck32 in int32 range, Speck64/128 outside it:
// loom::testing::KeyedPermute) under the first 16 bytes of HMAC-SHA-256(mask key,
// "loom-mask:hash-int64").
TEST_F(MaskTest, HashIsAesCmacOfTheValuesTextUnderADerivedKey) {
  const std::string key = HmacSha256(kKey.hex, "loom-mask:hash").substr(0, 16);
  auto uuid_of = [&](const std::string& text) {
    std::string mac = loom::testing::AesCmac(key, text);
    std::string hex;
    for (size_t i = 0; i < mac.size(); ++i) {
      static const char* kDigits = "0123456789abcdef";
      if (i == 4 || i == 6 || i == 8 || i == 10) hex += '-';
      hex += kDigits[static_cast<unsigned char>(mac[i]) >> 4];
      hex += kDigits[static_cast<unsigned char>(mac[i]) & 15];
    }
    return hex;
  };
  EXPECT_EQ(
      Run(PiiField("email", "string", spec::MaskMethod::kHash)),
      (std::vector<std::string>{uuid_of("alice@example.com"), uuid_of("bob@example.com"), "NULL"}));
  const std::string int_key = HmacSha256(kKey.hex, "loom-mask:hash-int64").substr(0, 16);
  uint64_t words[2] = {};
  for (size_t i = 0; i < 16; ++i) {
    words[i / 8] = (words[i / 8] << 8) | static_cast<unsigned char>(int_key[i]);
  }
  auto permuted = [&](int64_t v) {
    return std::to_string(loom::testing::KeyedPermute(words[0], words[1], v));
  };
  EXPECT_EQ(Run(PiiField("big", "int64", spec::MaskMethod::kHash)),
            (std::vector<std::string>{permuted(9223372036854775807),
                                      permuted(std::numeric_limits<int64_t>::min()), "NULL"}));
  EXPECT_EQ(Run(PiiField("age", "int32", spec::MaskMethod::kHash)),
            (std::vector<std::string>{permuted(37), permuted(-5), "NULL"}));
  EXPECT_EQ(Run(PiiField("born", "date", spec::MaskMethod::kHash)),
            (std::vector<std::string>{uuid_of("1987-05-17"), uuid_of("2001-12-31"), "NULL"}));
  // Texts of every length modulo 16, up to past the length where the engine chains a message's
  // blocks through CBC (CmacBatch::kChainedBlocks).
  for (size_t n = 0; n < 100; ++n) {
    std::string text;
    for (size_t i = 0; i < n; ++i) text += static_cast<char>('a' + i % 26);
    ASSERT_OK(conn_->Execute("DELETE FROM t WHERE id = 9; INSERT INTO t(id, email) VALUES (9, '" +
                             text + "')"));
    EXPECT_EQ(Run(PiiField("email", "string", spec::MaskMethod::kHash))[3], uuid_of(text)) << n;
  }
}

// A hashed integer is still a number: arithmetic, casts, aggregates, order and filters on it
// see only the permuted values, none of which is a real one.
// Both forms: BIGINT, and INTEGER for a version whose values fit in 32 bits.
class HashedIntegerTest : public MaskTest,
                          public ::testing::WithParamInterface<security::ValueRange> {};

TEST_P(HashedIntegerTest, NoSqlTrickRecoversAHashedInteger) {
  ASSERT_OK_AND_ASSIGN(
      MaskedColumn m,
      MaskColumn(PiiField("account", "int64", spec::MaskMethod::kHash), kKey, GetParam()));
  EXPECT_EQ(m.sql_type, GetParam() == security::ValueRange::kInt32 ? "INTEGER" : "BIGINT");
  ASSERT_OK(conn_->Execute(
      "CREATE TABLE accounts AS SELECT 918273645 + range AS account FROM range(1000); "
      "CREATE VIEW masked AS SELECT " +
      m.expression + " AS account FROM accounts"));
  const int64_t first = 918273645, last = first + 999;
  auto is_real = [&](const std::string& cell) {
    try {
      const double v = std::stod(cell);
      return v >= static_cast<double>(first) && v <= static_cast<double>(last);
    } catch (const std::exception&) {
      return false;
    }
  };
  for (const std::string& sql : {
           std::string("SELECT account FROM masked"),
           std::string("SELECT min(account), max(account), avg(account) FROM masked"),
           std::string("SELECT account - 1, account + 1, account // 1000 * 1000 FROM masked"),
           std::string("SELECT CAST(account AS VARCHAR), CAST(account AS HUGEINT) FROM masked"),
           std::string("SELECT account % 1000000000, xor(account, 0) FROM masked"),
           std::string("SELECT account FROM masked ORDER BY account LIMIT 3"),
           std::string("SELECT account FROM masked ORDER BY abs(account - 918273645) LIMIT 3"),
           std::string("SELECT account FROM masked ORDER BY abs(account::BIGINT - 918273645) "
                       "LIMIT 3"),
       }) {
    auto rows = conn_->QueryRows(sql);
    if (!rows.ok()) {
      // Arithmetic on an INTEGER may overflow: the error names masked values only.
      const std::string message = rows.status().message();
      EXPECT_NE(message.find("Overflow"), std::string::npos) << message << "\n" << sql;
      for (size_t i = 0; i < message.size();) {
        const size_t end = message.find_first_not_of("-0123456789", i);
        const std::string word = message.substr(i, end - i);
        // (A number the SQL itself wrote is no leak.)
        const bool leaked = !word.empty() && is_real(word) && sql.find(word) == std::string::npos;
        ASSERT_FALSE(leaked) << sql << " said " << message;
        i = end == std::string::npos ? message.size() : end + 1;
      }
      continue;
    }
    for (size_t r = 0; r < rows->size(); ++r) {
      for (size_t c = 0; c < rows->columns.size(); ++c) {
        ASSERT_FALSE(is_real(rows->Get(r, c))) << sql << " gave " << rows->Get(r, c);
      }
    }
  }
  // Filters and joins on real values find nothing; groups stay as many as the values.
  for (const std::string& sql : {
           std::string("SELECT count(*) FROM masked WHERE account = 918273645"),
           std::string("SELECT count(*) FROM masked WHERE account BETWEEN 918273645 AND "
                       "918274644"),
           std::string("SELECT count(*) FROM masked m JOIN accounts a USING (account)"),
       }) {
    auto rows = conn_->QueryRows(sql);
    ASSERT_TRUE(rows.ok()) << rows.status().ToString();
    EXPECT_EQ(rows->Get(0, 0), "0") << sql;
  }
  auto groups = conn_->QueryRows("SELECT count(DISTINCT account) FROM masked");
  ASSERT_TRUE(groups.ok());
  EXPECT_EQ(groups->Get(0, 0), "1000");
}

INSTANTIATE_TEST_SUITE_P(BothWidths, HashedIntegerTest,
                         ::testing::Values(security::ValueRange::kDeclared,
                                           security::ValueRange::kInt32));

TEST_F(MaskTest, JoinsOnHashedKeysStillMatchAcrossProducts) {
  ASSERT_OK(conn_->Execute(R"sql(
    CREATE TABLE plays(user_id BIGINT, track VARCHAR);
    INSERT INTO plays VALUES (1, 'x'), (1, 'y'), (2, 'z'), (4, 'w');
    CREATE TABLE users(user_id INTEGER, country VARCHAR);
    INSERT INTO users VALUES (1, 'SE'), (2, 'NO'), (3, 'DK');
  )sql"));
  // The same global type, int64 in one product and int32 in the other, and int64 of a version
  // whose values fit in 32 bits (masked as an INTEGER): all permute a value alike.
  ASSERT_OK_AND_ASSIGN(MaskedColumn a,
                       MaskColumn(PiiField("user_id", "int64", spec::MaskMethod::kHash), kKey));
  ASSERT_OK_AND_ASSIGN(MaskedColumn b,
                       MaskColumn(PiiField("user_id", "int32", spec::MaskMethod::kHash), kKey));
  ASSERT_OK_AND_ASSIGN(MaskedColumn narrow,
                       MaskColumn(PiiField("user_id", "int64", spec::MaskMethod::kHash), kKey,
                                  security::ValueRange::kInt32));
  EXPECT_EQ(a.sql_type, "BIGINT");
  EXPECT_EQ(b.sql_type, "INTEGER");
  EXPECT_EQ(narrow.sql_type, "INTEGER");
  for (const MaskedColumn* plays : {&a, &narrow}) {
    auto rows =
        conn_->QueryRows("WITH p AS (SELECT " + plays->expression +
                         " AS user_id, track FROM plays), "
                         "u AS (SELECT " +
                         b.expression +
                         " AS user_id, country FROM users) "
                         "SELECT count(*), count(DISTINCT country) FROM p JOIN u USING (user_id)");
    ASSERT_TRUE(rows.ok()) << rows.status().ToString();
    EXPECT_EQ(rows->Get(0, 0), "3");
    EXPECT_EQ(rows->Get(0, 1), "2");
  }
  auto rows = conn_->QueryRows("SELECT count(*) FROM (SELECT " + a.expression +
                               " AS k FROM plays) JOIN (SELECT " + narrow.expression +
                               " AS k FROM plays) USING (k)");
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(rows->Get(0, 0), "6");  // 1 twice on each side: 4, plus 2 and 4
  // Tokens join the same way.
  ASSERT_OK_AND_ASSIGN(a,
                       MaskColumn(PiiField("user_id", "int64", spec::MaskMethod::kTokenize), kKey));
  ASSERT_OK_AND_ASSIGN(b,
                       MaskColumn(PiiField("user_id", "int32", spec::MaskMethod::kTokenize), kKey));
  rows =
      conn_->QueryRows("WITH p AS (SELECT " + a.expression + " AS k FROM plays), u AS (SELECT " +
                       b.expression + " AS k FROM users) SELECT count(*) FROM p JOIN u USING (k)");
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(rows->Get(0, 0), "3");
}

TEST_F(MaskTest, TokenizeGivesShortStableOpaqueTokens) {
  std::vector<std::string> t = Run(PiiField("email", "string", spec::MaskMethod::kTokenize));
  ASSERT_EQ(t.size(), 3u);
  EXPECT_TRUE(t[0].starts_with("tok_"));
  EXPECT_EQ(t[0].size(), 4u + 16);
  EXPECT_NE(t[0], t[1]);
  EXPECT_EQ(t[2], "NULL");
  // Not a prefix of the hash of the same value (separate purposes).
  std::vector<std::string> h = Run(PiiField("email", "string", spec::MaskMethod::kHash));
  EXPECT_FALSE(h[0].starts_with(t[0].substr(4)));
}

TEST_F(MaskTest, TruncateGeneralisesAndKeepsTheType) {
  EXPECT_EQ(Run(PiiField("born", "date", spec::MaskMethod::kTruncate)),
            (std::vector<std::string>{"1987-05-01", "2001-12-01", "NULL"}));
  std::vector<std::string> seen = Run(PiiField("seen", "timestamp", spec::MaskMethod::kTruncate));
  EXPECT_TRUE(seen[0].starts_with("2024-05-01 00:00:00")) << seen[0];
  EXPECT_TRUE(seen[1].starts_with("2024-12-01 00:00:00")) << seen[1];
  EXPECT_EQ(Run(PiiField("age", "int32", spec::MaskMethod::kTruncate)),
            (std::vector<std::string>{"30", "0", "NULL"}));
  // The extremes of BIGINT do not overflow (an overflow error would name the value).
  EXPECT_EQ(Run(PiiField("big", "int64", spec::MaskMethod::kTruncate)),
            (std::vector<std::string>{"9223372036854775800", "-9223372036854775800", "NULL"}));
  EXPECT_EQ(Run(PiiField("salary", "decimal(18,2)", spec::MaskMethod::kTruncate)),
            (std::vector<std::string>{"12340.00", "-10.00", "NULL"}));
  ASSERT_OK_AND_ASSIGN(MaskedColumn score,
                       MaskColumn(PiiField("score", "double", spec::MaskMethod::kTruncate), kKey));
  auto rows = conn_->QueryRows("SELECT " + score.expression + " = 70, " + score.expression +
                               " = -10, typeof(" + score.expression + ") FROM t WHERE id < 3");
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(rows->Get(0, 0), "true");
  EXPECT_EQ(rows->Get(1, 1), "true");
  EXPECT_EQ(rows->Get(0, 2), "DOUBLE");
  EXPECT_EQ(Run(PiiField("email", "string", spec::MaskMethod::kTruncate)),
            (std::vector<std::string>{"ali", "bob", "NULL"}));
}

TEST_F(MaskTest, TruncateRefusesTypesItCannotGeneralise) {
  for (std::string_view type : {"bool", "uuid", "list<string>"}) {
    Result<MaskedColumn> m = MaskColumn(PiiField("x", type, spec::MaskMethod::kTruncate), kKey);
    ASSERT_FALSE(m.ok()) << type;
    EXPECT_EQ(m.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(m.status().message().find("'x'"), std::string::npos);
  }
}

TEST_F(MaskTest, NullMaskKeepsTheType) {
  std::string type;
  EXPECT_EQ(Run(PiiField("vip", "bool", spec::MaskMethod::kNull), kKey, &type),
            (std::vector<std::string>{"NULL", "NULL", "NULL"}));
  EXPECT_EQ(type, "BOOLEAN");
  auto m = MaskColumn(PiiField("tags", "list<string>", spec::MaskMethod::kNull), kKey);
  ASSERT_TRUE(m.ok());
  auto rows = conn_->QueryRows("SELECT typeof(" + m->expression + ") FROM t LIMIT 1");
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(rows->Get(0, 0), "VARCHAR[]");
}

TEST_F(MaskTest, RefusesAMalformedKeySoNoSqlCanBeSmuggledIn) {
  MaskKey evil{"' || (SELECT 1) || '" + std::string(44, 'a')};
  EXPECT_EQ(MaskColumn(PiiField("email", "string", spec::MaskMethod::kHash), evil).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(MaskColumn(PiiField("email", "string", spec::MaskMethod::kHash), MaskKey{"ab"})
                .status()
                .code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace loom::security
