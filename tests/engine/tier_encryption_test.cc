// Encryption at rest of stream tier files: sealed Parquet on disk (conversion and compaction),
// reads through a session, and failing closed for a missing or wrong key or a tampered file.

#include <gtest/gtest.h>

#include <filesystem>

#include "engine/engine.h"
#include "engine/stream_fixture.h"
#include "security/security.h"

namespace loom::engine {
namespace {

security::Cipher NewCipher() {
  return *security::Cipher::FromKey(security::MasterKey::Generate().bytes());
}

StreamTierOptions Sealed(const security::Cipher* cipher) {
  StreamTierOptions o;
  o.threads = 2;
  o.cipher = cipher;
  o.encryption_context = "loom://media-player/play-events/events";
  o.max_files_per_partition = 2;  // compaction runs (and must reseal) within the test
  o.compact_target_rows = 1000;
  return o;
}

// Every regular file under `dir` (log segments and tier files) and whether `needle` is in it.
std::vector<std::string> FilesHolding(const std::string& dir, std::string_view needle) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    if (testing::ReadFile(e.path().string()).find(needle) != std::string::npos) {
      out.push_back(e.path().string());
    }
  }
  return out;
}

TEST(TierEncryptionTest, TierFilesHoldNoPlaintextAndQueryWithTheKey) {
  testing::TempDir dir;
  security::Cipher cipher = NewCipher();
  log::LogOptions lo;
  lo.cipher = &cipher;
  lo.encryption_context = "loom://media-player/play-events/events";
  auto log = OpenLog(dir.Sub("log"), 2, lo);
  ASSERT_NE(log, nullptr);
  auto tier = StreamTier::Open(dir.Sub("tier"), Sealed(&cipher));
  ASSERT_TRUE(tier.ok()) << tier.status().ToString();
  std::vector<int64_t> ends = {0, 0};
  for (int round = 0; round < 4; ++round) {
    for (int32_t p = 0; p < 2; ++p) {
      AppendEvents(*log, p, ends[p], 50);
      ends[p] += 50;
    }
    auto st = (*tier)->Sync(*log, PlaySchema());
    ASSERT_TRUE(st.ok()) << st.status().ToString();
  }
  EXPECT_LE((*tier)->Files().size(), 4u) << "compaction did not run";
  EXPECT_EQ(Coverage(**tier), ExpectedCoverage(ends));
  EXPECT_EQ(QueryInt(**tier, std::string("SELECT count(*) FROM ") + kPlays +
                                 " WHERE email = 'u7@example.com'"),
            2);
  // u7@example.com is in the data of both partitions: no file on disk holds it.
  EXPECT_TRUE(FilesHolding(dir.path(), "u7@example.com").empty());
  EXPECT_TRUE(FilesHolding(dir.path(), "media.play.v1").empty());
}

TEST(TierEncryptionTest, AMissingOrWrongKeyOrATamperedFileFailsClosed) {
  testing::TempDir dir;
  security::Cipher cipher = NewCipher();
  security::Cipher wrong = NewCipher();
  log::LogOptions lo;
  lo.cipher = &cipher;
  auto log = OpenLog(dir.Sub("log"), 1, lo);
  ASSERT_NE(log, nullptr);
  {
    auto tier = StreamTier::Open(dir.Sub("tier"), Sealed(&cipher));
    ASSERT_TRUE(tier.ok());
    AppendEvents(*log, 0, 0, 30);
    ASSERT_TRUE((*tier)->Sync(*log, PlaySchema()).ok());
  }
  auto none = StreamTier::Open(dir.Sub("tier"), Sealed(nullptr));
  ASSERT_TRUE(none.ok());
  auto rel = (*none)->ToRelation(kPlays, PlaySchema());
  ASSERT_FALSE(rel.ok());
  EXPECT_EQ(rel.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(rel.status().message().find("no key was given"), std::string::npos);

  auto other = StreamTier::Open(dir.Sub("tier"), Sealed(&wrong));
  ASSERT_TRUE(other.ok());
  auto wrong_rel = (*other)->ToRelation(kPlays, PlaySchema());
  ASSERT_TRUE(wrong_rel.ok());
  SessionOptions so;
  so.relations = {*wrong_rel};
  auto session = Session::Open(so);
  ASSERT_FALSE(session.ok());
  EXPECT_EQ(session.status().code(), StatusCode::kDataLoss) << session.status().ToString();

  auto tier = StreamTier::Open(dir.Sub("tier"), Sealed(&cipher));
  ASSERT_TRUE(tier.ok());
  const std::string file = (*tier)->Files().at(0).path;
  std::string bytes = testing::ReadFile(file);
  bytes[bytes.size() / 3] ^= 0x20;
  testing::WriteFile(file, bytes);
  auto good_rel = (*tier)->ToRelation(kPlays, PlaySchema());
  ASSERT_TRUE(good_rel.ok());
  so.relations = {*good_rel};
  auto tampered = Session::Open(so);
  ASSERT_FALSE(tampered.ok());
  EXPECT_EQ(tampered.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(tampered.status().message().find("AES-256-GCM authentication failed"),
            std::string::npos)
      << tampered.status().ToString();
}

TEST(TierEncryptionTest, ASessionOverEncryptedDataExportsAndSpillsNothingToDisk) {
  testing::TempDir dir;
  security::Cipher cipher = NewCipher();
  log::LogOptions lo;
  lo.cipher = &cipher;
  auto log = OpenLog(dir.Sub("log"), 1, lo);
  ASSERT_NE(log, nullptr);
  auto tier = StreamTier::Open(dir.Sub("tier"), Sealed(&cipher));
  ASSERT_TRUE(tier.ok());
  AppendEvents(*log, 0, 0, 40);
  ASSERT_TRUE((*tier)->Sync(*log, PlaySchema()).ok());
  auto rel = (*tier)->ToRelation(kPlays, PlaySchema());
  ASSERT_TRUE(rel.ok()) << rel.status().ToString();
  SessionOptions so;
  so.relations = {*rel};
  so.scratch_dir = dir.Sub("scratch");
  std::filesystem::create_directories(so.scratch_dir);
  auto session = Session::Open(so);
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  for (int round = 0; round < 2; ++round) {  // the in-memory export file is reused
    StringSink sink;
    auto stats = (*session)->Export(
        std::string("SELECT email FROM ") + kPlays + " WHERE email = 'u7@example.com'",
        Format::kParquet, sink);
    ASSERT_TRUE(stats.ok()) << stats.status().ToString();
    EXPECT_EQ(stats->rows, 1u);
    EXPECT_EQ(sink.str().substr(0, 4), "PAR1");
  }
  // Nothing under the scratch directory, not even a session folder or a spill directory.
  EXPECT_TRUE(std::filesystem::is_empty(so.scratch_dir));
  EXPECT_TRUE(FilesHolding(dir.path(), "u7@example.com").empty());
}

}  // namespace
}  // namespace loom::engine
