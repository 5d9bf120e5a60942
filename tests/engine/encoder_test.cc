#include <gtest/gtest.h>

#include "engine/engine.h"

namespace loom::engine {
namespace {

// A small typed result: NULLs, unicode, quotes, commas, newlines, decimals, timestamps, lists,
// structs.
constexpr const char* kTyped =
    "SELECT * FROM (VALUES "
    "(1, 'plain', 12.50::DECIMAL(10,2), TIMESTAMP '2024-05-01 10:00:00.25', [1, 2], "
    "{'a': 1, 'b': 'x'}, true),"
    "(2, 'a \"quoted\", comma', -0.05::DECIMAL(10,2), NULL, [], {'a': NULL, 'b': 'y'}, false),"
    "(3, 'line1\nline2 ünïcødé ✓', NULL, TIMESTAMP '1999-12-31 23:59:59', NULL, NULL, NULL)"
    ") t(id, s, amount, ts, l, st, ok) ORDER BY id";

class EncoderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = Database::Open();
    ASSERT_TRUE(db.ok());
    db_ = std::move(db).value();
    auto con = db_->Connect();
    ASSERT_TRUE(con.ok());
    con_ = std::move(con).value();
  }
  std::string Run(const std::string& sql, Format f, EncodeOptions o = {}) {
    auto r = con_->Query(sql);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) return "";
    StringSink sink;
    auto st = Encode(**r, f, sink, o);
    EXPECT_TRUE(st.ok()) << st.status().ToString();
    if (st.ok()) {
      EXPECT_EQ(st->bytes, sink.str().size());
    }
    return sink.str();
  }
  std::unique_ptr<Database> db_;
  std::unique_ptr<Connection> con_;
};

TEST_F(EncoderTest, ColumnsCarryDuckDbTypesAndPostgresOids) {
  auto r = con_->Query(
      "SELECT true a, 1::SMALLINT b, 1 c, 1::BIGINT d, 1.5::DOUBLE e, 1.5::DECIMAL(5,1) f, "
      "'x' g, DATE '2024-01-01' h, TIMESTAMP '2024-01-01' i, TIMESTAMPTZ '2024-01-01' j, "
      "uuid() k, '{}'::JSON l, [1] m, {'a': 1} n, 'x'::BLOB o, INTERVAL 1 DAY p");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::vector<std::pair<std::string, int>> want = {
      {"BOOLEAN", 16},     {"SMALLINT", 21},
      {"INTEGER", 23},     {"BIGINT", 20},
      {"DOUBLE", 701},     {"DECIMAL(5,1)", 1700},
      {"VARCHAR", 25},     {"DATE", 1082},
      {"TIMESTAMP", 1114}, {"TIMESTAMP WITH TIME ZONE", 1184},
      {"UUID", 2950},      {"JSON", 114},
      {"INTEGER[]", 1007}, {"STRUCT(\"a\" INTEGER)", 114},
      {"BLOB", 17},        {"INTERVAL", 1186}};
  const auto& cols = (*r)->columns();
  ASSERT_EQ(cols.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(cols[i].type, want[i].first) << cols[i].name;
    EXPECT_EQ(cols[i].pg_oid, want[i].second) << cols[i].name;
  }
}

TEST_F(EncoderTest, JsonIsAnArrayOfObjects) {
  EXPECT_EQ(Run(kTyped, Format::kJson),
            "[{\"id\":1,\"s\":\"plain\",\"amount\":12.50,\"ts\":\"2024-05-01 10:00:00.25\","
            "\"l\":[1,2],\"st\":{\"a\":1,\"b\":\"x\"},\"ok\":true},"
            "{\"id\":2,\"s\":\"a \\\"quoted\\\", comma\",\"amount\":-0.05,\"ts\":null,\"l\":[],"
            "\"st\":{\"a\":null,\"b\":\"y\"},\"ok\":false},"
            "{\"id\":3,\"s\":\"line1\\nline2 ünïcødé ✓\",\"amount\":null,"
            "\"ts\":\"1999-12-31 23:59:59\",\"l\":null,\"st\":null,\"ok\":null}]\n");
}

TEST_F(EncoderTest, NdjsonIsOneObjectPerLine) {
  std::string out = Run("SELECT * FROM (VALUES (1, 'a'), (2, NULL)) t(i, s)", Format::kNdjson);
  EXPECT_EQ(out, "{\"i\":1,\"s\":\"a\"}\n{\"i\":2,\"s\":null}\n");
}

TEST_F(EncoderTest, CsvQuotesPerRfc4180) {
  EXPECT_EQ(Run(kTyped, Format::kCsv),
            "id,s,amount,ts,l,st,ok\r\n"
            "1,plain,12.50,2024-05-01 10:00:00.25,\"[1,2]\",\"{\"\"a\"\":1,\"\"b\"\":\"\"x\"\"}\","
            "true\r\n"
            "2,\"a \"\"quoted\"\", comma\",-0.05,,[],\"{\"\"a\"\":null,\"\"b\"\":\"\"y\"\"}\","
            "false\r\n"
            "3,\"line1\nline2 ünïcødé ✓\",,1999-12-31 23:59:59,,,\r\n");
  // An empty string is "" and NULL is empty, so the two stay apart.
  EXPECT_EQ(Run("SELECT '' a, NULL b", Format::kCsv), "a,b\r\n\"\",\r\n");
}

TEST_F(EncoderTest, TableAlignsTruncatesAndCountsRows) {
  EncodeOptions o;
  o.max_width = 12;
  EXPECT_EQ(Run(kTyped, Format::kTable, o),
            " id | s            | amount | ts           | l     | st           | ok    \n"
            "----+--------------+--------+--------------+-------+--------------+-------\n"
            "  1 | plain        |  12.50 | 2024-05-01 … | [1,2] | {\"a\":1,\"b\":… | true  \n"
            "  2 | a \"quoted\",… |  -0.05 | NULL         | []    | {\"a\":null,\"… | false \n"
            "  3 | line1\\nline… |   NULL | 1999-12-31 … | NULL  | NULL         | NULL  \n"
            "(3 rows)\n");
}

TEST_F(EncoderTest, TableCutsLaterRowsToTheSampledWidths) {
  EncodeOptions o;
  o.sample_rows = 1;
  EXPECT_EQ(Run("SELECT * FROM (VALUES ('ab'), ('abcdef')) t(s)", Format::kTable, o),
            " s  \n"
            "----\n"
            " ab \n"
            " a… \n"
            "(2 rows)\n");
}

TEST_F(EncoderTest, StreamsAResultTooLargeToBuffer) {
#if defined(__SANITIZE_ADDRESS__)
  constexpr uint64_t kRows = 2'000'000;
#else
  constexpr uint64_t kRows = 20'000'000;
#endif
  auto r =
      con_->Query("SELECT range AS i, range % 7 AS m FROM range(" + std::to_string(kRows) + ")");
  ASSERT_TRUE(r.ok());
  CountingSink sink;
  auto st = Encode(**r, Format::kCsv, sink);
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_EQ(st->rows, kRows);
  EXPECT_EQ(st->bytes, sink.bytes());
  EXPECT_GT(sink.bytes(), kRows * 4);
}

TEST_F(EncoderTest, ParquetNeedsASession) {
  auto r = con_->Query("SELECT 1");
  ASSERT_TRUE(r.ok());
  StringSink sink;
  EXPECT_EQ(Encode(**r, Format::kParquet, sink).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseFormat("xml").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(*ParseFormat("ndjson"), Format::kNdjson);
}

}  // namespace
}  // namespace loom::engine
