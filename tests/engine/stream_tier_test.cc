// StreamTier: conversion of CloudEvents records to typed tier files, incremental Sync,
// compaction, reopen, masks and row filters on stream relations, refusals.

#include "engine/engine.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "engine/stream_fixture.h"

namespace loom::engine {
namespace {

class StreamTierTest : public ::testing::Test {
 protected:
  std::unique_ptr<StreamTier> OpenTier(StreamTierOptions o = {}) {
    o.threads = 2;
    auto t = StreamTier::Open(dir_.Sub("tier"), o);
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    return t.ok() ? std::move(*t) : nullptr;
  }
  StreamSyncStats MustSync(StreamTier& tier, log::Log& log) {
    auto s = tier.Sync(log, PlaySchema());
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? *s : StreamSyncStats{};
  }
  std::set<std::string> DirEntries() {
    std::set<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(dir_.Sub("tier"))) {
      out.insert(e.path().filename().string());
    }
    return out;
  }
  testing::TempDir dir_;
};

TEST_F(StreamTierTest, SyncConvertsEveryRecordToTypedColumns) {
  auto log = OpenLog(dir_.Sub("log"), 2);
  AppendEvents(*log, 0, 0, 120);
  AppendEvents(*log, 1, 0, 80);
  auto tier = OpenTier();
  StreamSyncStats st = MustSync(*tier, *log);
  EXPECT_EQ(st.records, 200);
  EXPECT_EQ(st.files_written, 2);
  ASSERT_EQ(tier->Files().size(), 2u);
  EXPECT_EQ(tier->TieredEnd(0), 120);
  EXPECT_EQ(tier->TieredEnd(1), 80);
  EXPECT_EQ(Coverage(*tier), ExpectedCoverage({120, 80}));

  Rows r = QueryTier(
      *tier, std::string("SELECT * FROM ") + kPlays + " WHERE ce_partition = 1 AND ce_offset = 7");
  ASSERT_EQ(r.size(), 1u);
  std::vector<std::string> names, types;
  for (const Column& c : r.columns) {
    names.push_back(c.name);
    types.push_back(c.type);
  }
  EXPECT_EQ(names, (std::vector<std::string>{"ce_id", "ce_source", "ce_type", "ce_time",
                                             "ce_partition", "ce_offset", "user_id", "track_id",
                                             "country", "email", "amount", "played_at", "day",
                                             "premium", "score", "tags", "device", "session"}));
  EXPECT_EQ(types, (std::vector<std::string>{
                       "VARCHAR", "VARCHAR", "VARCHAR", "TIMESTAMP WITH TIME ZONE", "INTEGER",
                       "BIGINT", "BIGINT", "INTEGER", "VARCHAR", "VARCHAR", "DECIMAL(18,2)",
                       "TIMESTAMP WITH TIME ZONE", "DATE", "BOOLEAN", "DOUBLE", "VARCHAR[]",
                       "STRUCT(\"os\" VARCHAR, \"version\" INTEGER)", "UUID"}));
  auto json = r.ToJson()[0];
  EXPECT_EQ(json["ce_id"], "ev-1-7");
  EXPECT_EQ(json["ce_source"], "/media-player");
  EXPECT_EQ(json["ce_type"], "media.play.v1");
  EXPECT_EQ(r.Get(0, 3), "2026-11-26 10:00:07+00");
  EXPECT_EQ(json["ce_partition"], 1);
  EXPECT_EQ(json["ce_offset"], 7);
  EXPECT_EQ(json["user_id"], 1007);
  EXPECT_EQ(json["track_id"], 7);
  EXPECT_EQ(json["country"], "NO");
  EXPECT_EQ(r.Get(0, 10), "7.07");
  EXPECT_EQ(r.Get(0, 11), "2026-11-26 09:00:00.000123+00");
  EXPECT_EQ(r.Get(0, 12), "2026-11-21");
  EXPECT_EQ(json["premium"], false);
  EXPECT_EQ(json["tags"], nlohmann::json({"a", "t7"}));
  EXPECT_EQ(json["device"], nlohmann::json({{"os", "ios"}, {"version", 7}}));
  EXPECT_EQ(json["session"], "6f1c2a4e-8d1b-4c7a-9e2f-000000000007");
  // Typed, so SQL works on them as such.
  EXPECT_EQ(QueryInt(*tier, std::string("SELECT count(*) FROM ") + kPlays +
                                " WHERE premium AND amount > 10.00 AND day = DATE '2026-11-20'"),
            36);  // partition 0, i in [12, 120) with i % 3 == 0
}

TEST_F(StreamTierTest, MissingTimeFallsBackToTheRecordTimestamp) {
  auto log = OpenLog(dir_.Sub("log"), 1);
  AppendRaw(*log, 0,
            R"({"specversion":"1.0","id":"x","source":"/s","type":"t","data":{"user_id":1}})");
  auto tier = OpenTier();
  MustSync(*tier, *log);
  Rows r = QueryTier(*tier, std::string("SELECT ce_time, user_id, amount FROM ") + kPlays);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r.Get(0, 0), "2025-11-26 10:00:00+00");
  EXPECT_EQ(r.Get(0, 1), "1");
  EXPECT_EQ(r.Get(0, 2), "NULL");
}

TEST_F(StreamTierTest, IncrementalSyncAddsOnlyNewRecordsWithoutGaps) {
  auto log = OpenLog(dir_.Sub("log"), 3);
  auto tier = OpenTier();
  std::vector<int64_t> ends = {0, 0, 0};
  for (int round = 0; round < 4; ++round) {
    for (int32_t p = 0; p < 3; ++p) {
      int64_t n = 10 * (round + 1) + p;
      if (round == 2 && p == 1) n = 0;  // a partition without news
      if (n > 0) AppendEvents(*log, p, ends[p], n);
      ends[p] += n;
    }
    StreamSyncStats st = MustSync(*tier, *log);
    EXPECT_EQ(st.files_written, round == 2 ? 2 : 3);
    EXPECT_EQ(Coverage(*tier), ExpectedCoverage(ends)) << "round " << round;
  }
  StreamSyncStats idle = MustSync(*tier, *log);
  EXPECT_EQ(idle.records, 0);
  EXPECT_EQ(idle.files_written, 0);
  // Files of a partition are adjacent and in order.
  int64_t expect_first[3] = {0, 0, 0};
  for (const StreamTierFile& f : tier->Files()) {
    EXPECT_EQ(f.first, expect_first[f.partition]);
    expect_first[f.partition] = f.end;
    EXPECT_GT(f.bytes, 0);
  }
  EXPECT_EQ(QueryInt(*tier, std::string("SELECT max(ce_offset) FROM ") + kPlays +
                                " WHERE ce_partition = 2"),
            ends[2] - 1);
}

TEST_F(StreamTierTest, CompactionMergesSmallFilesAndKeepsEveryRecord) {
  auto log = OpenLog(dir_.Sub("log"), 2);
  StreamTierOptions o;
  o.max_files_per_partition = 4;
  o.obsolete_grace = std::chrono::seconds(0);
  auto tier = OpenTier(o);
  std::vector<int64_t> ends = {0, 0};
  int merged = 0;
  for (int round = 0; round < 14; ++round) {
    AppendEvents(*log, 0, ends[0], 5);
    ends[0] += 5;
    if (round % 4 == 0) {
      AppendEvents(*log, 1, ends[1], 3);
      ends[1] += 3;
    }
    merged += MustSync(*tier, *log).files_merged;
    size_t p0 = 0;
    for (const StreamTierFile& f : tier->Files()) p0 += f.partition == 0;
    EXPECT_LE(p0, 5u) << "round " << round;
  }
  EXPECT_GT(merged, 0);
  EXPECT_EQ(Coverage(*tier), ExpectedCoverage(ends));
  // Merged-away files are gone (grace 0); only listed files remain.
  std::set<std::string> expect = {"MANIFEST", "LOCK"};
  for (const StreamTierFile& f : tier->Files()) {
    expect.insert(std::filesystem::path(f.path).filename().string());
  }
  EXPECT_EQ(DirEntries(), expect);
}

TEST_F(StreamTierTest, ReplacedFilesOutliveTheGraceForOpenSessions) {
  auto log = OpenLog(dir_.Sub("log"), 1);
  StreamTierOptions o;
  o.max_files_per_partition = 2;  // default grace: 15 minutes
  auto tier = OpenTier(o);
  AppendEvents(*log, 0, 0, 10);
  MustSync(*tier, *log);
  AppendEvents(*log, 0, 10, 10);
  MustSync(*tier, *log);
  auto old_relation = tier->ToRelation(kPlays, PlaySchema());
  ASSERT_TRUE(old_relation.ok());
  SessionOptions so;
  so.relations = {*old_relation};
  auto session = Session::Open(so);  // a session opened before the compaction below
  ASSERT_TRUE(session.ok());
  AppendEvents(*log, 0, 20, 10);
  EXPECT_EQ(MustSync(*tier, *log).files_merged, 3);
  EXPECT_EQ(tier->Files().size(), 1u);
  auto rows = (*session)->QueryRows(std::string("SELECT count(*) FROM ") + kPlays);
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(rows->Get(0, 0), "20");
  EXPECT_EQ(Coverage(*tier), ExpectedCoverage({30}));
}

TEST_F(StreamTierTest, ReopenKeepsPublishedFilesAndRemovesOrphans) {
  auto log = OpenLog(dir_.Sub("log"), 2);
  AppendEvents(*log, 0, 0, 30);
  AppendEvents(*log, 1, 0, 20);
  std::vector<StreamTierFile> before;
  {
    auto tier = OpenTier();
    MustSync(*tier, *log);
    before = tier->Files();
  }
  testing::WriteFile(dir_.Sub("tier/p00000-00000000000000000030-00000000000000000040-"
                              "g000000000009.parquet"),
                     "half-written");
  testing::WriteFile(dir_.Sub("tier/MANIFEST.tmp"), "{");
  testing::WriteFile(dir_.Sub("tier/staging-x.ndjson"), "{}\n");
  auto tier = OpenTier();
  ASSERT_EQ(tier->Files().size(), before.size());
  for (size_t i = 0; i < before.size(); ++i) EXPECT_EQ(tier->Files()[i].path, before[i].path);
  EXPECT_EQ(DirEntries().size(), 2u + before.size());
  EXPECT_EQ(Coverage(*tier), ExpectedCoverage({30, 20}));
  AppendEvents(*log, 0, 30, 10);
  EXPECT_EQ(MustSync(*tier, *log).records, 10);
  EXPECT_EQ(Coverage(*tier), ExpectedCoverage({40, 20}));
}

TEST_F(StreamTierTest, EmptyStreamIsARelationWithItsColumnsAndNoRows) {
  auto log = OpenLog(dir_.Sub("log"), 2);
  auto tier = OpenTier();
  EXPECT_EQ(MustSync(*tier, *log).files_written, 0);
  auto rel = tier->ToRelation(kPlays, PlaySchema());
  ASSERT_TRUE(rel.ok());
  EXPECT_TRUE(rel->files.empty());
  EXPECT_EQ(rel->columns.size(), 18u);
  EXPECT_EQ(QueryInt(*tier, std::string("SELECT count(*) FROM ") + kPlays), 0);
}

TEST_F(StreamTierTest, MasksAndRowFiltersApplyToStreamColumns) {
  auto log = OpenLog(dir_.Sub("log"), 2);
  AppendEvents(*log, 0, 0, 50);
  AppendEvents(*log, 1, 0, 50);
  auto tier = OpenTier();
  MustSync(*tier, *log);
  const std::string q = std::string("SELECT count(*), count(DISTINCT email), min(email), ") +
                        "max(ce_partition) FROM " + kPlays + " WHERE email LIKE 'u1%'";
  Rows r = QueryTier(*tier, q, "ce_partition = 0 AND ce_offset < 40", "sha256(email)");
  ASSERT_EQ(r.size(), 1u);
  // Hashed addresses never start with "u1"; the raw ones of the hidden rows are not seen.
  EXPECT_EQ(r.Get(0, 0), "0");
  Rows visible = QueryTier(
      *tier, std::string("SELECT count(*), min(length(email)), max(ce_offset) FROM ") + kPlays,
      "ce_partition = 0 AND ce_offset < 40", "sha256(email)");
  ASSERT_EQ(visible.size(), 1u);
  EXPECT_EQ(visible.Get(0, 0), "40");
  EXPECT_EQ(visible.Get(0, 1), "64");
  EXPECT_EQ(visible.Get(0, 2), "39");
  // A mask on a ce_* column works as on any column.
  auto rel = tier->ToRelation(kPlays, PlaySchema());
  ASSERT_TRUE(rel.ok());
  rel->columns[1].mask = "'hidden'";
  SessionOptions so;
  so.relations = {*rel};
  auto session = Session::Open(so);
  ASSERT_TRUE(session.ok());
  auto rows = (*session)->QueryRows(std::string("SELECT DISTINCT ce_source FROM ") + kPlays);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ(rows->Get(0, 0), "hidden");
}

TEST_F(StreamTierTest, RecordsThatAreNotMatchingCloudEventsAreRefusedByOffset) {
  auto log = OpenLog(dir_.Sub("log"), 1);
  AppendEvents(*log, 0, 0, 5);
  AppendRaw(*log, 0, "not json at all");
  auto tier = OpenTier();
  auto st = tier->Sync(*log, PlaySchema());
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.status().message().find("partition 0, offset 5"), std::string::npos)
      << st.status().message();

  auto log2 = OpenLog(dir_.Sub("log2"), 1);
  AppendEvents(*log2, 0, 0, 3);
  AppendRaw(*log2, 0, R"({"id":"x","source":"/s","type":"t","data":{"user_id":"abc"}})");
  auto tier2 = StreamTier::Open(dir_.Sub("tier2"));
  ASSERT_TRUE(tier2.ok());
  st = (*tier2)->Sync(*log2, PlaySchema());
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.status().message().find("partition 0, offset 3"), std::string::npos)
      << st.status().message();
  EXPECT_EQ(st.status().message().find(dir_.path()), std::string::npos) << st.status().message();
  EXPECT_TRUE((*tier2)->Files().empty());
}

TEST_F(StreamTierTest, SchemaAndPartitionChangesAreRefused) {
  auto log = OpenLog(dir_.Sub("log"), 2);
  AppendEvents(*log, 0, 0, 5);
  auto tier = OpenTier();
  MustSync(*tier, *log);
  spec::Schema other = PlaySchema();
  other.fields[2] = MakeField("country", "int32");
  auto st = tier->Sync(*log, other);
  EXPECT_EQ(st.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(tier->ToRelation(kPlays, other).status().code(), StatusCode::kFailedPrecondition);
  auto log3 = OpenLog(dir_.Sub("log3"), 3);
  EXPECT_EQ(tier->Sync(*log3, PlaySchema()).status().code(), StatusCode::kFailedPrecondition);

  spec::Schema clash = PlaySchema();
  clash.fields.push_back(MakeField("ce_time", "string"));
  EXPECT_EQ(StreamColumns(clash).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(StreamColumns(spec::Schema{}).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace loom::engine
