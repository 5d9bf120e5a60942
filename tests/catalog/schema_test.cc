#include <gtest/gtest.h>
#include <sqlite3.h>

#include "catalog/catalog.h"
#include "catalog/schema.h"
#include "catalog/sqlite_db.h"
#include "catalog_test_util.h"

namespace loom::catalog::testing {
namespace {

using SchemaTest = CatalogTest;

// Runs SQL on the catalog file through a second, raw connection; returns the SQLite result code.
int RawExec(const std::string& path, const std::string& sql) {
  Result<Db> db = Db::Open(path);
  EXPECT_TRUE(db.ok());
  if (!db.ok()) return SQLITE_ERROR;
  sqlite3_busy_timeout(db->get(), 5000);
  return sqlite3_exec(db->get(), sql.c_str(), nullptr, nullptr, nullptr);
}

TEST_F(SchemaTest, RecordsTheSchemaVersionAndUsesWal) {
  Result<Db> db = Db::Open(dir_.Sub("catalog.db"));
  ASSERT_TRUE(db.ok());
  Result<int64_t> version = SchemaVersion(*db);
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(*version, LatestSchemaVersion());
  Result<Stmt> mode = db->Prepare("PRAGMA journal_mode");
  ASSERT_TRUE(mode.ok());
  ASSERT_TRUE(*mode->Step());
  EXPECT_EQ(mode->Text(0), "wal");
}

TEST_F(SchemaTest, RefusesADatabaseFromANewerLoom) {
  catalog_.reset();
  ASSERT_EQ(RawExec(dir_.Sub("catalog.db"),
                    "INSERT INTO schema_migrations VALUES (999, 'from the future', 0)"),
            SQLITE_OK);
  Result<std::unique_ptr<Catalog>> c = OpenSqliteCatalog(dir_.Sub("catalog.db"), &clock_);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(c.status().message().find("999"), std::string::npos) << c.status().message();
}

TEST_F(SchemaTest, StoredVersionsCannotBeChangedEvenWithRawSql) {
  MustApply(Docs(ProductText{}));
  EXPECT_NE(RawExec(dir_.Sub("catalog.db"), "UPDATE document_versions SET yaml = 'x'"), SQLITE_OK);
  EXPECT_NE(RawExec(dir_.Sub("catalog.db"), "DELETE FROM document_versions"), SQLITE_OK);
  EXPECT_EQ(catalog_->Versions("product:media-player/play-events")->size(), 1u);
}

TEST_F(SchemaTest, ReportsAFileThatIsNotADatabase) {
  catalog_.reset();
  loom::testing::WriteFile(dir_.Sub("junk.db"), std::string(8192, 'x'));
  Result<std::unique_ptr<Catalog>> c = OpenSqliteCatalog(dir_.Sub("junk.db"), &clock_);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("junk.db"), std::string::npos) << c.status().message();
}

}  // namespace
}  // namespace loom::catalog::testing
