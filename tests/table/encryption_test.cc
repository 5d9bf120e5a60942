// Encryption at rest of table ports: sealed Parquet files and a manifest without value
// statistics on disk, reads through an engine session, and failing closed for a missing or wrong
// key, a tampered byte and a file moved to another version.

#include <gtest/gtest.h>

#include <filesystem>

#include "engine/engine.h"
#include "security/security.h"
#include "table/table.h"
#include "table/table_testing.h"
#include "testing/testing.h"

namespace loom::table {
namespace {

using loom::testing::ReadFile;
using loom::testing::TempDir;
using loom::testing::WriteFile;

constexpr std::string_view kSecret = "card-4111-1111-1111-1111";

security::Cipher NewCipher() {
  return *security::Cipher::FromKey(security::MasterKey::Generate().bytes());
}

class TableEncryptionTest : public ::testing::Test {
 protected:
  Result<std::unique_ptr<Table>> Open(const BlockCipher* cipher) {
    TableOptions o;
    o.root = dir_.Sub("table");
    o.name = "loom://payments/cards/daily";
    o.schema = testing::PlaysSchema();
    o.cipher = cipher;
    return Table::Open(o);
  }
  Result<Manifest> Publish(Table& t, int rows) {
    std::string csv = "play_id,duration_ms,genre,score\n";
    for (int i = 1; i <= rows; ++i) {
      csv += std::string(kSecret) + "-" + std::to_string(i) + "," + std::to_string(i * 10) +
             ",secret-genre-" + std::to_string(i % 3) + "," + std::to_string(i) + ".5\n";
    }
    const std::string path = dir_.Sub("in.csv");
    WriteFile(path, csv);
    PublishOptions po;
    po.published_by = "user:alice";
    return t.PublishFile(path, SourceKind::kCsv, po);
  }
  // count(*) and sum(duration_ms) of a snapshot, read through an engine session.
  Result<std::string> Read(const Snapshot& snap, const BlockCipher* cipher) {
    engine::Relation r;
    r.sql_name = "payments.cards.daily";
    r.files = snap.file_paths;
    r.file_aads = snap.file_aads;
    r.cipher = cipher;
    for (const spec::Field& f : testing::PlaysSchema().fields) {
      r.columns.push_back({f.name, f.type.SqlType(), ""});
    }
    engine::SessionOptions so;
    so.relations = {r};
    LOOM_ASSIGN_OR_RETURN(auto session, engine::Session::Open(so));
    LOOM_ASSIGN_OR_RETURN(engine::Rows rows,
                          session->QueryRows("SELECT count(*) || ' ' || sum(duration_ms) || ' ' || "
                                             "max(play_id) FROM payments.cards.daily"));
    return rows.Get(0, 0);
  }
  TempDir dir_;
};

TEST_F(TableEncryptionTest, FilesAndManifestHoldNoPlaintextAndReadBackWithTheKey) {
  security::Cipher cipher = NewCipher();
  auto t = Open(&cipher);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  auto m = Publish(**t, 300);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_TRUE(m->encrypted);
  for (const auto& [name, st] : m->columns) {
    EXPECT_TRUE(st.min.is_null() && st.max.is_null()) << name << " has value statistics";
  }
  auto snap = (*t)->Current();
  ASSERT_TRUE(snap.ok());
  ASSERT_EQ(snap->file_aads.size(), 1u);
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir_.Sub("table"))) {
    if (!e.is_regular_file()) continue;
    const std::string bytes = ReadFile(e.path().string());
    EXPECT_EQ(bytes.find(kSecret), std::string::npos) << "plaintext in " << e.path();
    EXPECT_EQ(bytes.find("secret-genre"), std::string::npos) << "plaintext in " << e.path();
  }
  auto read = Read(*snap, &cipher);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(*read, "300 451500 " + std::string(kSecret) + "-99");
}

TEST_F(TableEncryptionTest, AMissingOrWrongKeyFailsClosed) {
  security::Cipher cipher = NewCipher();
  security::Cipher wrong = NewCipher();
  auto t = Open(&cipher);
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(Publish(**t, 20).ok());
  auto snap = (*t)->Current();
  ASSERT_TRUE(snap.ok());

  auto none = Read(*snap, nullptr);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(none.status().message().find("no key was given"), std::string::npos);

  auto bad = Read(*snap, &wrong);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(bad.status().message().find("decryption failed"), std::string::npos)
      << bad.status().ToString();

  // No plaintext version after a sealed one.
  auto plain = Open(nullptr);
  ASSERT_TRUE(plain.ok());
  auto refused = Publish(**plain, 5);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ((*t)->CurrentVersion()->number(), 1u);
}

TEST_F(TableEncryptionTest, ATamperedByteOrAMovedFileIsDataLoss) {
  security::Cipher cipher = NewCipher();
  auto t = Open(&cipher);
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(Publish(**t, 50).ok());
  ASSERT_TRUE(Publish(**t, 60).ok());
  auto v1 = (*t)->At(Version(1));
  auto v2 = (*t)->At(Version(2));
  ASSERT_TRUE(v1.ok() && v2.ok());

  // The same key and a valid sealed file, but from another version: its AAD does not match.
  const std::string v2_bytes = ReadFile(v2->file_paths[0]);
  WriteFile(v2->file_paths[0], ReadFile(v1->file_paths[0]));
  auto moved = Read(*v2, &cipher);
  ASSERT_FALSE(moved.ok());
  EXPECT_EQ(moved.status().code(), StatusCode::kDataLoss) << moved.status().ToString();

  std::string tampered = v2_bytes;
  tampered[tampered.size() / 2] ^= 0x01;
  WriteFile(v2->file_paths[0], tampered);
  auto bad = Read(*v2, &cipher);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kDataLoss);

  WriteFile(v2->file_paths[0], v2_bytes);
  auto good = Read(*v2, &cipher);
  ASSERT_TRUE(good.ok()) << good.status().ToString();
  EXPECT_EQ(good->substr(0, 3), "60 ");
}

}  // namespace
}  // namespace loom::table
