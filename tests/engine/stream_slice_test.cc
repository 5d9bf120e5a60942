// SliceStream: a range of a stream port's records read straight from the log gives the same
// rows as the port's tier, masks and row filters apply to it, and bad records are named.

#include "engine/engine.h"

#include <gtest/gtest.h>

#include "core/sealed_file.h"
#include "engine/stream_fixture.h"

namespace loom::engine {
namespace {

class StreamSliceTest : public ::testing::Test {
 protected:
  static std::string Text(const Rows& r) {
    std::string out;
    for (size_t i = 0; i < r.size(); ++i) {
      for (size_t c = 0; c < r.columns.size(); ++c) out += (c ? "|" : "") + r.Get(i, c);
      out += "\n";
    }
    return out;
  }
  testing::TempDir dir_;
};

TEST_F(StreamSliceTest, ASliceHoldsTheSameRowsAsTheTierForItsOffsets) {
  auto log = OpenLog(dir_.Sub("log"), 2);
  AppendEvents(*log, 0, 0, 40);
  AppendEvents(*log, 1, 0, 10);
  auto tier = StreamTier::Open(dir_.Sub("tier"));
  ASSERT_TRUE(tier.ok());
  ASSERT_TRUE((*tier)->Sync(*log, PlaySchema()).ok());
  StreamSlice slice;
  Status s = SliceStream(*log, PlaySchema(), kPlays, {{0, 10, 30}, {1, 5, 8}, {1, 9, 9}}, &slice);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(slice.relation.files.size(), 3u);  // the empty range has an empty file
  const std::string all = std::string("SELECT * FROM ") + kPlays + " ORDER BY ALL";
  std::string from_tier = Text(QueryTier(
      **tier, std::string("SELECT * FROM ") + kPlays +
                  " WHERE (ce_partition = 0 AND ce_offset >= 10 AND ce_offset < 30) OR "
                  "(ce_partition = 1 AND ce_offset >= 5 AND ce_offset < 8) ORDER BY ALL"));
  EXPECT_EQ(std::count(from_tier.begin(), from_tier.end(), '\n'), 23);
  EXPECT_EQ(Text(QueryRelation(slice.relation, all)), from_tier);
}

TEST_F(StreamSliceTest, ASessionOverASliceReadsItsNextRecordsAfterARefill) {
  auto log = OpenLog(dir_.Sub("log"), 2);
  AppendEvents(*log, 0, 0, 40);
  AppendEvents(*log, 1, 0, 10);
  StreamSlice slice;
  ASSERT_TRUE(SliceStream(*log, PlaySchema(), kPlays, {{0, 0, 20}, {1, 0, 10}}, &slice).ok());
  const std::vector<std::string> paths = slice.relation.files;
  SessionOptions so;
  so.threads = 2;
  so.relations = {slice.relation};
  auto session = Session::Open(so);
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  const std::string sql = std::string("SELECT count(*), min(ce_offset), max(ce_offset) FROM ") +
                          kPlays + " GROUP BY ce_partition ORDER BY ce_partition";
  auto rows = (*session)->QueryRows(sql);
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(Text(*rows), "20|0|19\n10|0|9\n");
  // The same partitions again: the files are rewritten where they are, so the open session
  // reads the new ranges (one of them empty), never what it read before.
  for (int round = 0; round < 3; ++round) {
    ASSERT_TRUE(
        SliceStream(*log, PlaySchema(), kPlays, {{0, 20 + round, 40}, {1, 10, 10}}, &slice).ok());
    EXPECT_EQ(slice.relation.files, paths);
    rows = (*session)->QueryRows(sql);
    ASSERT_TRUE(rows.ok()) << rows.status().ToString();
    EXPECT_EQ(Text(*rows), std::to_string(20 - round) + "|" + std::to_string(20 + round) + "|39\n");
  }
  // Other partitions: new files.
  ASSERT_TRUE(SliceStream(*log, PlaySchema(), kPlays, {{1, 0, 5}}, &slice).ok());
  EXPECT_EQ(slice.relation.files.size(), 1u);
  EXPECT_EQ(Text(QueryRelation(slice.relation, sql)), "5|0|4\n");
}

TEST_F(StreamSliceTest, MasksAndRowFiltersApplyToASlice) {
  auto log = OpenLog(dir_.Sub("log"), 1);
  AppendEvents(*log, 0, 0, 50);
  StreamSlice slice;
  Status s = SliceStream(*log, PlaySchema(), kPlays, {{0, 0, 50}}, &slice);
  ASSERT_TRUE(s.ok()) << s.ToString();
  Relation rel = slice.relation;
  rel.row_filter = "ce_offset < 40";
  for (RelationColumn& c : rel.columns) {
    if (c.name == "email") c.mask = "sha256(email)";
  }
  // Hashed addresses never start with "u1"; the raw ones of the hidden rows are not seen.
  Rows r =
      QueryRelation(rel, std::string("SELECT count(*) FROM ") + kPlays + " WHERE email LIKE 'u1%'");
  EXPECT_EQ(Text(r), "0\n");
  r = QueryRelation(
      rel, std::string("SELECT count(*), min(length(email)), max(ce_offset) FROM ") + kPlays);
  EXPECT_EQ(Text(r), "40|64|39\n");
}

TEST_F(StreamSliceTest, ARecordThatIsNotAnObjectIsRefusedByOffset) {
  auto log = OpenLog(dir_.Sub("log"), 1);
  AppendEvents(*log, 0, 0, 5);
  AppendRaw(*log, 0, "not json at all");
  StreamSlice slice;
  Status s = SliceStream(*log, PlaySchema(), kPlays, {{0, 2, 6}}, &slice);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("partition 0, offset 5"), std::string::npos) << s.message();
  // Offsets the log does not hold.
  s = SliceStream(*log, PlaySchema(), kPlays, {{0, 0, 9}}, &slice);
  EXPECT_FALSE(s.ok());
}

}  // namespace
}  // namespace loom::engine
