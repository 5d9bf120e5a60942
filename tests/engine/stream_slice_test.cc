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
  Rows Query(const Relation& rel, const std::string& sql) {
    SessionOptions so;
    so.threads = 2;
    so.relations = {rel};
    auto session = Session::Open(so);
    EXPECT_TRUE(session.ok()) << session.status().ToString();
    if (!session.ok()) return {};
    auto rows = (*session)->QueryRows(sql);
    EXPECT_TRUE(rows.ok()) << rows.status().ToString();
    return rows.ok() ? *rows : Rows{};
  }
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
  auto slice = SliceStream(*log, PlaySchema(), kPlays, {{0, 10, 30}, {1, 5, 8}, {1, 9, 9}});
  ASSERT_TRUE(slice.ok()) << slice.status().ToString();
  EXPECT_EQ(slice->relation.files.size(), 2u);  // the empty range has no file
  const std::string all = std::string("SELECT * FROM ") + kPlays + " ORDER BY ALL";
  std::string from_tier = Text(QueryTier(
      **tier, std::string("SELECT * FROM ") + kPlays +
                  " WHERE (ce_partition = 0 AND ce_offset >= 10 AND ce_offset < 30) OR "
                  "(ce_partition = 1 AND ce_offset >= 5 AND ce_offset < 8) ORDER BY ALL"));
  EXPECT_EQ(std::count(from_tier.begin(), from_tier.end(), '\n'), 23);
  EXPECT_EQ(Text(Query(slice->relation, all)), from_tier);
}

TEST_F(StreamSliceTest, MasksAndRowFiltersApplyToASlice) {
  auto log = OpenLog(dir_.Sub("log"), 1);
  AppendEvents(*log, 0, 0, 50);
  auto slice = SliceStream(*log, PlaySchema(), kPlays, {{0, 0, 50}});
  ASSERT_TRUE(slice.ok()) << slice.status().ToString();
  Relation rel = slice->relation;
  rel.row_filter = "ce_offset < 40";
  for (RelationColumn& c : rel.columns) {
    if (c.name == "email") c.mask = "sha256(email)";
  }
  // Hashed addresses never start with "u1"; the raw ones of the hidden rows are not seen.
  Rows r = Query(rel, std::string("SELECT count(*) FROM ") + kPlays + " WHERE email LIKE 'u1%'");
  EXPECT_EQ(Text(r), "0\n");
  r = Query(rel, std::string("SELECT count(*), min(length(email)), max(ce_offset) FROM ") + kPlays);
  EXPECT_EQ(Text(r), "40|64|39\n");
}

TEST_F(StreamSliceTest, ARecordThatIsNotAnObjectIsRefusedByOffset) {
  auto log = OpenLog(dir_.Sub("log"), 1);
  AppendEvents(*log, 0, 0, 5);
  AppendRaw(*log, 0, "not json at all");
  auto slice = SliceStream(*log, PlaySchema(), kPlays, {{0, 2, 6}});
  ASSERT_FALSE(slice.ok());
  EXPECT_EQ(slice.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(slice.status().message().find("partition 0, offset 5"), std::string::npos)
      << slice.status().message();
  // Offsets the log does not hold.
  slice = SliceStream(*log, PlaySchema(), kPlays, {{0, 0, 9}});
  EXPECT_FALSE(slice.ok());
}

}  // namespace
}  // namespace loom::engine
