#include <gtest/gtest.h>

#include "table/table.h"
#include "table/table_testing.h"
#include "testing/testing.h"

namespace loom::table {
namespace {

using loom::testing::TempDir;
using loom::testing::WriteFile;
using testing::MakeField;

// A schema with one field per constraint kind.
spec::Schema ConstrainedSchema() {
  spec::Schema s;
  s.fields.push_back(MakeField("id", spec::TypeKind::kString, true));
  spec::Field d = MakeField("duration_ms", spec::TypeKind::kInt64);
  d.constraints.minimum = 0;
  d.constraints.maximum = 1000;
  s.fields.push_back(d);
  spec::Field g = MakeField("genre", spec::TypeKind::kString);
  g.constraints.enum_values = {"rock", "jazz"};
  s.fields.push_back(g);
  spec::Field c = MakeField("country", spec::TypeKind::kString);
  c.constraints.pattern = "[A-Z]{2}";
  s.fields.push_back(c);
  spec::Field n = MakeField("name", spec::TypeKind::kString);
  n.constraints.min_length = 2;
  n.constraints.max_length = 5;
  s.fields.push_back(n);
  s.fields.push_back(MakeField("day", spec::TypeKind::kDate));
  return s;
}

class TableValidationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TableOptions o;
    o.root = dir_.Sub("t");
    o.name = "loom://d/p/t";
    o.schema = ConstrainedSchema();
    auto t = Table::Open(o);
    ASSERT_TRUE(t.ok());
    table_ = std::move(*t);
  }
  // Publishes `text` as a file of `kind`; returns the report of a refused publish.
  ValidationReport Refused(const std::string& text, SourceKind kind = SourceKind::kCsv) {
    const std::string path = dir_.Sub(kind == SourceKind::kCsv ? "in.csv" : "in.jsonl");
    WriteFile(path, text);
    ValidationReport report;
    PublishOptions po;
    po.published_by = "user:bob";
    po.report = &report;
    auto m = table_->PublishFile(path, kind, po);
    EXPECT_FALSE(m.ok());
    status_ = m.status();
    EXPECT_EQ(m.status().code(), StatusCode::kInvalidArgument) << m.status().ToString();
    EXPECT_EQ(table_->Current().status().code(), StatusCode::kNotFound);
    return report;
  }
  std::vector<std::string> Lines(const ValidationReport& r) {
    std::vector<std::string> out;
    for (const RowError& e : r.errors) out.push_back(e.ToString());
    return out;
  }
  TempDir dir_;
  std::unique_ptr<Table> table_;
  Status status_;
};

const char* kHeader = "id,duration_ms,genre,country,name,day\n";

TEST_F(TableValidationTest, NamesTheLineColumnAndValueOfATypeError) {
  auto r = Refused(std::string(kHeader) + "a,10,rock,SE,abc,2026-01-01\nb,12s,,,,\n");
  EXPECT_EQ(Lines(r),
            std::vector<std::string>{"line 3: column duration_ms: expected int64, got \"12s\""});
  EXPECT_EQ(r.error_count, 1u);
  EXPECT_NE(status_.message().find("line 3: column duration_ms: expected int64, got \"12s\""),
            std::string::npos);
}

TEST_F(TableValidationTest, ReportsEachConstraintKind) {
  auto r = Refused(std::string(kHeader) +
                   ",5,,,,\n"                 // line 2: required
                   "a,1001,,,,\n"             // 3: max
                   "b,-1,,,,\n"               // 4: min
                   "c,,pop,,,\n"              // 5: enum
                   "d,,,se,,\n"               // 6: pattern
                   "e,,,,x,\n"                // 7: minLength
                   "f,,,,abcdef,\n"           // 8: maxLength
                   "g,1.5,,,,2026-13-01\n");  // 9: fractional int, bad date
  EXPECT_EQ(Lines(r), (std::vector<std::string>{
                          "line 2: column id: required value is missing",
                          "line 3: column duration_ms: value 1001 is above the maximum 1000",
                          "line 4: column duration_ms: value -1 is below the minimum 0",
                          "line 5: column genre: value \"pop\" is not one of: rock, jazz",
                          "line 6: column country: value \"se\" does not match pattern [A-Z]{2}",
                          "line 7: column name: length 1 is below minLength 2",
                          "line 8: column name: length 6 is above maxLength 5",
                          "line 9: column duration_ms: expected int64, got \"1.5\"",
                          "line 9: column day: expected date, got \"2026-13-01\"",
                      }));
  EXPECT_EQ(r.error_count, 9u);
}

TEST_F(TableValidationTest, CountsLinesAcrossBlankLinesAndQuotedNewlines) {
  auto r = Refused(std::string(kHeader) + "a,1,,,,\n\n\"multi\nline\",2,,,,\nb,x,,,,\n");
  EXPECT_EQ(Lines(r),
            std::vector<std::string>{"line 6: column duration_ms: expected int64, got \"x\""});
}

TEST_F(TableValidationTest, ReportsTheFirstHundredErrorsAndTheCount) {
  std::string csv = kHeader;
  for (int i = 0; i < 250; ++i) csv += "id" + std::to_string(i) + ",bad,,,,\n";
  auto r = Refused(csv);
  EXPECT_EQ(r.errors.size(), 100u);
  EXPECT_EQ(r.error_count, 250u);
  EXPECT_EQ(r.errors[0].line, 2u);
  EXPECT_EQ(r.errors[99].line, 101u);
  EXPECT_NE(status_.message().find("and 150 more"), std::string::npos);
}

TEST_F(TableValidationTest, RefusesAColumnThatIsNotInTheSchema) {
  WriteFile(dir_.Sub("x.csv"), "id,colour\na,red\n");
  PublishOptions po;
  po.published_by = "user:bob";
  auto m = table_->PublishFile(dir_.Sub("x.csv"), SourceKind::kCsv, po);
  EXPECT_EQ(m.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(m.status().message().find("column colour"), std::string::npos);
}

TEST_F(TableValidationTest, NamesJsonLinesProblemsByLine) {
  auto r = Refused(
      "{\"id\":\"a\",\"duration_ms\":\"12s\"}\n"
      "\n"
      "{not json\n"
      "[1,2]\n"
      "{\"id\":\"b\",\"colour\":\"red\"}\n"
      "{\"id\":7}\n"
      "{\"duration_ms\":3}\n",
      SourceKind::kJsonLines);
  EXPECT_EQ(Lines(r), (std::vector<std::string>{
                          "line 1: column duration_ms: expected int64, got \"12s\"",
                          "line 3: not valid JSON",
                          "line 4: not a JSON object",
                          "line 5: unknown field \"colour\" (not in the schema)",
                          "line 6: column id: expected string, got 7",
                          "line 7: column id: required value is missing",
                      }));
}

TEST_F(TableValidationTest, NamesRowsOfAQuerySource) {
  auto db = engine::Database::Open();
  auto conn = (*db)->Connect();
  PublishOptions po;
  po.published_by = "service:p";
  ValidationReport report;
  po.report = &report;
  auto m = table_->PublishQuery(**conn, "SELECT 'ab' AS id, 5000 AS duration_ms", po);
  EXPECT_EQ(m.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Lines(report), std::vector<std::string>{
                               "row 1: column duration_ms: value 5000 is above the maximum 1000"});
}

}  // namespace
}  // namespace loom::table
