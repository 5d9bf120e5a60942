#include <gtest/gtest.h>

#include <atomic>

#include "table/table.h"
#include "table/table_testing.h"
#include "testing/testing.h"

namespace loom::table {
namespace {

using loom::testing::TempDir;
using loom::testing::WriteFile;
using testing::PlaysCsv;
using testing::PlaysSchema;
using testing::ReadPlays;

class FakeClock final : public Clock {
 public:
  TimestampMicros NowMicros() const override { return now.load(); }
  std::atomic<TimestampMicros> now{1'700'000'000'000'000};
};

class TablePublishTest : public ::testing::Test {
 protected:
  std::unique_ptr<Table> Open(std::optional<uint32_t> retain = std::nullopt) {
    TableOptions o;
    o.root = dir_.Sub("table");
    o.name = "loom://media-player/plays/daily";
    o.schema = PlaysSchema();
    o.settings.retain_versions = retain;
    o.clock = &clock_;
    auto t = Table::Open(o);
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    return std::move(*t);
  }
  PublishOptions Opts() {
    PublishOptions po;
    po.published_by = "user:alice";
    po.source_description = "test upload";
    return po;
  }
  std::string Csv(int rows) {
    const std::string p = dir_.Sub("in-" + std::to_string(rows) + ".csv");
    WriteFile(p, PlaysCsv(rows));
    return p;
  }
  TempDir dir_;
  FakeClock clock_;
};

TEST_F(TablePublishTest, HasNoCurrentVersionBeforeTheFirstPublish) {
  auto t = Open();
  EXPECT_EQ(t->Current().status().code(), StatusCode::kNotFound);
  EXPECT_EQ(*t->CurrentVersion(), Version());
  EXPECT_TRUE(t->Versions()->empty());
}

TEST_F(TablePublishTest, PublishesCsvAsVersionOneWithAFullManifest) {
  auto t = Open();
  PublishOptions po = Opts();
  po.inputs.push_back(InputRef{"loom://artists/catalog/current", 12, {}, {}, {}});
  auto m = t->PublishFile(Csv(10), SourceKind::kCsv, po);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->version, Version(1));
  EXPECT_EQ(m->row_count, 10u);
  EXPECT_EQ(m->published_by, "user:alice");
  EXPECT_EQ(m->published_at, clock_.now.load());
  ASSERT_EQ(m->inputs.size(), 1u);
  EXPECT_EQ(*m->inputs[0].version, 12u);
  ASSERT_EQ(m->files.size(), 1u);
  EXPECT_EQ(m->files[0].sha256.size(), 64u);
  EXPECT_GT(m->files[0].size, 0u);

  auto cur = t->Current();
  ASSERT_TRUE(cur.ok()) << cur.status().ToString();
  EXPECT_EQ(cur->manifest.version, Version(1));
  EXPECT_EQ(cur->manifest.schema.size(), 4u);
  EXPECT_EQ(cur->manifest.schema[1].sql_type, "BIGINT");
  EXPECT_EQ(cur->manifest.source_description, "test upload");
  ASSERT_EQ(cur->file_paths.size(), 1u);
  EXPECT_EQ(Sha256Hex(loom::testing::ReadFile(cur->file_paths[0])), m->files[0].sha256);
  auto data = ReadPlays(*cur);
  ASSERT_TRUE(data.ok()) << data.status().ToString();
  EXPECT_EQ(data->rows, 10u);
  EXPECT_EQ(data->sum_duration, 550);
}

TEST_F(TablePublishTest, ManifestStatisticsMatchTheData) {
  auto t = Open();
  WriteFile(dir_.Sub("s.csv"),
            "play_id,duration_ms,genre,score\np1,30,rock,1.5\np2,,jazz,\np3,-4,,2.25\n");
  auto m = t->PublishFile(dir_.Sub("s.csv"), SourceKind::kCsv, Opts());
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->row_count, 3u);
  const ColumnStats* d = m->Stats("duration_ms");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->null_count, 1u);
  EXPECT_EQ(d->min, -4);
  EXPECT_EQ(d->max, 30);
  const ColumnStats* g = m->Stats("genre");
  EXPECT_EQ(g->null_count, 1u);
  EXPECT_EQ(g->min, "jazz");
  EXPECT_EQ(g->max, "rock");
  const ColumnStats* s = m->Stats("score");
  EXPECT_EQ(s->min, 1.5);
  EXPECT_EQ(s->max, 2.25);
  EXPECT_EQ(m->Stats("play_id")->null_count, 0u);
  // The stored manifest says the same.
  auto cur = t->Current();
  ASSERT_TRUE(cur.ok());
  EXPECT_EQ(ToJson(cur->manifest), ToJson(*m));
}

TEST_F(TablePublishTest, PiiColumnsGetNoMinMaxStatistics) {
  TableOptions o;
  o.root = dir_.Sub("pii");
  o.schema = PlaysSchema();
  o.schema.fields[2].pii = true;
  auto t = Table::Open(o);
  ASSERT_TRUE(t.ok());
  auto m = (*t)->PublishFile(Csv(4), SourceKind::kCsv, Opts());
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_TRUE(m->Stats("genre")->min.is_null());
  EXPECT_TRUE(m->Stats("genre")->max.is_null());
  EXPECT_FALSE(m->Stats("duration_ms")->min.is_null());
}

// Whether an int64 column's values all fit in 32 bits: kept for pii columns too (the integer
// hash mask is narrower then), and through the stored manifest.
TEST_F(TablePublishTest, Int64ColumnsSayWhetherTheirValuesFitIn32Bits) {
  TableOptions o;
  o.root = dir_.Sub("fits");
  o.schema = PlaysSchema();
  o.schema.fields[1].pii = true;  // duration_ms, int64
  auto t = Table::Open(o);
  ASSERT_TRUE(t.ok());
  const struct {
    const char* durations;
    bool fits;
  } cases[] = {{"30,,-2147483648", true},
               {"30,2147483647,", true},
               {"30,2147483648,", false},
               {"-2147483649,1,", false},
               {",,", true}};
  for (const auto& c : cases) {
    std::string csv = "play_id,duration_ms,genre,score\n";
    std::string durations = c.durations;
    for (int i = 0; i < 3; ++i) {
      const size_t comma = durations.find(',');
      csv += "p" + std::to_string(i) + "," + durations.substr(0, comma) + ",rock,1\n";
      durations = comma == std::string::npos ? "" : durations.substr(comma + 1);
    }
    WriteFile(dir_.Sub("f.csv"), csv);
    auto m = (*t)->PublishFile(dir_.Sub("f.csv"), SourceKind::kCsv, Opts());
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    EXPECT_EQ(m->Stats("duration_ms")->fits_int32, c.fits) << c.durations;
    EXPECT_TRUE(m->Stats("duration_ms")->min.is_null());
    EXPECT_FALSE(m->Stats("genre")->fits_int32);  // not an int64
    auto cur = (*t)->Current();
    ASSERT_TRUE(cur.ok());
    EXPECT_EQ(cur->manifest.Stats("duration_ms")->fits_int32, c.fits) << c.durations;
  }
}

TEST_F(TablePublishTest, PublishesJsonLines) {
  auto t = Open();
  WriteFile(dir_.Sub("p.jsonl"),
            "{\"play_id\":\"a\",\"duration_ms\":5,\"genre\":\"pop\",\"score\":1}\n\n"
            "{\"play_id\":\"b\",\"duration_ms\":\"7\"}\n");
  auto m = t->PublishFile(dir_.Sub("p.jsonl"), SourceKind::kJsonLines, Opts());
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->row_count, 2u);
  EXPECT_EQ(m->source_kind, SourceKind::kJsonLines);
  EXPECT_EQ(ReadPlays(*t->Current())->sum_duration, 12);
}

TEST_F(TablePublishTest, PublishesParquetAndQueryResults) {
  auto t = Open();
  ASSERT_TRUE(t->PublishFile(Csv(6), SourceKind::kCsv, Opts()).ok());
  auto v1 = t->Current();
  ASSERT_TRUE(v1.ok());
  // Parquet: the file of version 1 as a source.
  auto m = t->PublishFile(v1->file_paths[0], SourceKind::kParquet, Opts());
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->version, Version(2));
  EXPECT_EQ(m->row_count, 6u);
  // Query: on a trusted connection the platform gives.
  auto db = engine::Database::Open();
  ASSERT_TRUE(db.ok());
  auto conn = (*db)->Connect();
  ASSERT_TRUE(conn.ok());
  auto q = t->PublishQuery(**conn,
                           "SELECT 'q' || i AS play_id, i * 100 AS duration_ms FROM range(1, 4) "
                           "t(i)",
                           Opts());
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_EQ(q->version, Version(3));
  EXPECT_EQ(q->row_count, 3u);
  EXPECT_EQ(q->Stats("genre")->null_count, 3u);
  EXPECT_EQ(ReadPlays(*t->Current())->sum_duration, 600);
  // The connection is left clean: no temporary table of ours remains.
  auto left = (*conn)->QueryRows("SELECT count(*) FROM duckdb_tables() WHERE temporary");
  ASSERT_TRUE(left.ok());
  EXPECT_EQ(left->Get(0, 0), "0");
}

TEST_F(TablePublishTest, PublishesAStreamWindowWithItsOffsetsAsInputs) {
  auto t = Open();
  WriteFile(dir_.Sub("w.jsonl"), "{\"play_id\":\"a\",\"duration_ms\":1}\n");
  StreamWindow w;
  w.stream_address = "loom://media-player/plays/events";
  w.start = 1'000'000;
  w.end = 2'000'000;
  w.offsets.push_back(InputRef{w.stream_address, {}, 0, 100, 250});
  auto m = t->PublishStreamWindow(w, nullptr, "", dir_.Sub("w.jsonl"), Opts());
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->source_kind, SourceKind::kStreamWindow);
  ASSERT_EQ(m->inputs.size(), 1u);
  EXPECT_EQ(*m->inputs[0].offset_begin, 100u);
  EXPECT_EQ(*m->inputs[0].offset_end, 250u);

  auto db = engine::Database::Open();
  auto conn = (*db)->Connect();
  auto q = t->PublishStreamWindow(w, conn->get(), "SELECT 'x' AS play_id", "", Opts());
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_EQ(q->version, Version(2));
  EXPECT_EQ(q->source_kind, SourceKind::kStreamWindow);
  w.end = w.start;
  EXPECT_EQ(t->PublishStreamWindow(w, conn->get(), "SELECT 1", "", Opts()).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(TablePublishTest, TravelsInTimeByVersionAndAsOf) {
  auto t = Open();
  const TimestampMicros t1 = clock_.now.load();
  ASSERT_TRUE(t->PublishFile(Csv(1), SourceKind::kCsv, Opts()).ok());
  clock_.now += 1'000'000;
  ASSERT_TRUE(t->PublishFile(Csv(2), SourceKind::kCsv, Opts()).ok());
  clock_.now += 1'000'000;
  ASSERT_TRUE(t->PublishFile(Csv(3), SourceKind::kCsv, Opts()).ok());

  EXPECT_EQ(ReadPlays(*t->At(Version(2)))->rows, 2u);
  EXPECT_EQ(ReadPlays(*t->Current())->rows, 3u);
  EXPECT_EQ(t->At(Version(4)).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(t->At(Version(0)).status().code(), StatusCode::kNotFound);

  EXPECT_EQ(t->AsOf(t1 - 1).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(t->AsOf(t1)->manifest.version, Version(1));
  EXPECT_EQ(t->AsOf(t1 + 999'999)->manifest.version, Version(1));
  EXPECT_EQ(t->AsOf(t1 + 1'000'000)->manifest.version, Version(2));
  EXPECT_EQ(t->AsOf(t1 + 5'000'000)->manifest.version, Version(3));

  auto all = t->Versions();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].row_count, 1u);
  EXPECT_EQ((*all)[2].version, Version(3));
}

TEST_F(TablePublishTest, PublishTimesNeverGoBackWhenTheClockDoes) {
  auto t = Open();
  ASSERT_TRUE(t->PublishFile(Csv(1), SourceKind::kCsv, Opts()).ok());
  const TimestampMicros first = clock_.now.load();
  clock_.now -= 10'000'000;
  auto m = t->PublishFile(Csv(2), SourceKind::kCsv, Opts());
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->published_at, first);
  EXPECT_EQ(t->AsOf(first)->manifest.version, Version(2));
}

TEST_F(TablePublishTest, RetentionKeepsOnlyTheDeclaredNumberOfVersions) {
  auto t = Open(2);
  for (int i = 1; i <= 5; ++i) {
    clock_.now += 1000;
    ASSERT_TRUE(t->PublishFile(Csv(i), SourceKind::kCsv, Opts()).ok());
  }
  EXPECT_TRUE(t->RetentionStatus().ok());
  auto all = t->Versions();
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].version, Version(4));
  EXPECT_EQ((*all)[1].version, Version(5));
  EXPECT_EQ(t->At(Version(3)).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(ReadPlays(*t->At(Version(4)))->rows, 4u);
  auto names = FileSystem::Default()->ListDir(dir_.Sub("table"));
  EXPECT_EQ(
      std::count_if(names->begin(), names->end(), [](const std::string& n) { return n[0] == 'v'; }),
      2);
}

TEST_F(TablePublishTest, RetentionOfOneKeepsTheCurrentVersion) {
  auto t = Open(1);
  ASSERT_TRUE(t->PublishFile(Csv(1), SourceKind::kCsv, Opts()).ok());
  ASSERT_TRUE(t->PublishFile(Csv(2), SourceKind::kCsv, Opts()).ok());
  EXPECT_EQ(t->Versions()->size(), 1u);
  EXPECT_EQ(ReadPlays(*t->Current())->rows, 2u);
}

TEST_F(TablePublishTest, RefusesAPublishWithoutAPrincipalOrAFile) {
  auto t = Open();
  EXPECT_EQ(t->PublishFile(Csv(1), SourceKind::kCsv, PublishOptions{}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(t->PublishFile(dir_.Sub("none.csv"), SourceKind::kCsv, Opts()).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(t->PublishFile(Csv(1), SourceKind::kQuery, Opts()).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(t->Current().status().code(), StatusCode::kNotFound);
}

TEST_F(TablePublishTest, DetectsACorruptCurrentManifest) {
  auto t = Open();
  ASSERT_TRUE(t->PublishFile(Csv(1), SourceKind::kCsv, Opts()).ok());
  const std::string manifest = t->Current()->dir + "/manifest.json";
  std::string text = loom::testing::ReadFile(manifest);
  text[text.find("\"row_count\": 1") + 13] = '7';
  WriteFile(manifest, text);
  EXPECT_EQ(t->Current().status().code(), StatusCode::kDataLoss);
}

}  // namespace
}  // namespace loom::table

namespace loom::table {
namespace {

spec::Schema AllTypesSchema() {
  using testing::MakeField;
  spec::Schema s;
  s.fields.push_back(MakeField("i32", spec::TypeKind::kInt32));
  s.fields.push_back(MakeField("b", spec::TypeKind::kBool));
  spec::Field dec = MakeField("amount", spec::TypeKind::kDecimal);
  dec.type.precision = 10;
  dec.type.scale = 2;
  s.fields.push_back(dec);
  s.fields.push_back(MakeField("day", spec::TypeKind::kDate));
  s.fields.push_back(MakeField("at", spec::TypeKind::kTimestamp));
  s.fields.push_back(MakeField("id", spec::TypeKind::kUuid));
  spec::Field tags = MakeField("tags", spec::TypeKind::kList);
  tags.type.element.push_back(spec::FieldType{});
  tags.constraints.max_length = 2;
  s.fields.push_back(tags);
  return s;
}

TEST(TableTypesTest, PublishesAndDescribesEveryScalarTypeAndLists) {
  loom::testing::TempDir dir;
  TableOptions o;
  o.root = dir.Sub("t");
  o.schema = AllTypesSchema();
  auto t = Table::Open(o);
  ASSERT_TRUE(t.ok());
  PublishOptions po;
  po.published_by = "user:a";
  loom::testing::WriteFile(
      dir.Sub("a.jsonl"),
      "{\"i32\":1,\"b\":true,\"amount\":12.5,\"day\":\"2026-01-02\",\"at\":\"2026-01-02T03:04:"
      "05Z\","
      "\"id\":\"6f1c1a3e-2b1f-4c55-9d0a-3f7d2b8e1c44\",\"tags\":[\"x\",\"y\"]}\n"
      "{\"i32\":-7,\"b\":false,\"amount\":\"3.25\",\"day\":\"2025-12-31\","
      "\"at\":\"2026-01-01T00:00:00Z\",\"tags\":[]}\n");
  auto m = (*t)->PublishFile(dir.Sub("a.jsonl"), SourceKind::kJsonLines, po);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->Stats("i32")->min, -7);
  EXPECT_EQ(m->Stats("b")->min, "false");
  EXPECT_EQ(m->Stats("amount")->max, "12.50");
  EXPECT_EQ(m->Stats("day")->min, "2025-12-31");
  EXPECT_EQ(m->Stats("at")->max, "2026-01-02T03:04:05.000000Z");
  EXPECT_EQ(m->Stats("id")->null_count, 1u);
  EXPECT_TRUE(m->Stats("tags")->min.is_null());
  EXPECT_EQ(m->schema[2].sql_type, "DECIMAL(10,2)");

  loom::testing::WriteFile(dir.Sub("b.csv"),
                           "i32,b,amount,day,at,id,tags\n"
                           "3000000000,maybe,1.234,2026-02-30,yesterday,nope,\"[a, b, c]\"\n");
  ValidationReport report;
  po.report = &report;
  auto bad = (*t)->PublishFile(dir.Sub("b.csv"), SourceKind::kCsv, po);
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  std::vector<std::string> got;
  for (const RowError& e : report.errors) got.push_back(e.ToString());
  EXPECT_EQ(got, (std::vector<std::string>{
                     "line 2: column i32: expected int32, got \"3000000000\"",
                     "line 2: column b: expected bool, got \"maybe\"",
                     "line 2: column day: expected date, got \"2026-02-30\"",
                     "line 2: column at: expected timestamp, got \"yesterday\"",
                     "line 2: column id: expected uuid, got \"nope\"",
                     "line 2: column tags: length 3 is above maxLength 2",
                 }));
}

}  // namespace
}  // namespace loom::table
