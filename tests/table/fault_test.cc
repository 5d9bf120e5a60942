#include <gtest/gtest.h>

#include <filesystem>

#include "table/fault_file_system.h"
#include "table/table.h"
#include "table/table_testing.h"
#include "testing/testing.h"

namespace loom::table {
namespace {

using loom::testing::TempDir;
using loom::testing::WriteFile;
using testing::FaultFileSystem;
using testing::PlaysCsv;
using testing::PlaysSchema;
using testing::ReadPlays;

TableOptions Options(const std::string& root, FileSystem* fs) {
  TableOptions o;
  o.root = root;
  o.name = "loom://test/plays/daily";
  o.schema = PlaysSchema();
  o.settings.retain_versions = 1;  // so that retention's steps are faulted too
  o.fs = fs;
  return o;
}

PublishOptions Opts() {
  PublishOptions po;
  po.published_by = "service:test";
  return po;
}

// After a publish of version 2 over version 1 failed at some step: a fresh open (the restart)
// shows one complete version, and nothing half-made.
void ExpectOneCompleteVersion(const std::string& root, Version expected, uint64_t rows,
                              const std::string& where) {
  SCOPED_TRACE(where);
  auto t = Table::Open(Options(root, nullptr));
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  auto cur = (*t)->Current();
  ASSERT_TRUE(cur.ok()) << cur.status().ToString();
  EXPECT_EQ(cur->manifest.version, expected);
  auto data = ReadPlays(*cur);
  ASSERT_TRUE(data.ok()) << data.status().ToString();
  EXPECT_EQ(data->rows, rows);
  EXPECT_EQ(cur->manifest.row_count, rows);
  EXPECT_EQ(Sha256Hex(loom::testing::ReadFile(cur->file_paths[0])), cur->manifest.files[0].sha256);
  // No leftovers: the staging area is empty, no uncommitted version directory, no CURRENT.tmp.
  auto names = FileSystem::Default()->ListDir(root);
  ASSERT_TRUE(names.ok());
  for (const std::string& n : *names) {
    if (n[0] == 'v') {
      EXPECT_LE(n, "v" + std::string(8 - expected.ToString().size(), '0') + expected.ToString());
    }
    EXPECT_NE(n, "CURRENT.tmp");
  }
  if (std::filesystem::exists(root + "/_staging")) {
    EXPECT_TRUE(std::filesystem::is_empty(root + "/_staging"));
  }
}

void RunEveryStep(bool sticky) {
  TempDir dir;
  const std::string base = dir.Sub("base");
  WriteFile(dir.Sub("v1.csv"), PlaysCsv(5));
  WriteFile(dir.Sub("v2.csv"), PlaysCsv(7));
  {
    auto t = Table::Open(Options(base, nullptr));
    ASSERT_TRUE(t.ok());
    ASSERT_TRUE((*t)->PublishFile(dir.Sub("v1.csv"), SourceKind::kCsv, Opts()).ok());
  }
  int faults = 0;
  bool saw_after_commit = false;
  for (int64_t n = 1; n < 200; ++n) {
    const std::string root = dir.Sub("round-" + std::to_string(n));
    std::filesystem::copy(base, root, std::filesystem::copy_options::recursive);
    FaultFileSystem fs(*FileSystem::Default());
    auto t = Table::Open(Options(root, &fs));
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    fs.FailAt(n, sticky);
    auto m = (*t)->PublishFile(dir.Sub("v2.csv"), SourceKind::kCsv, Opts());
    const std::string where = "fault at step " + std::to_string(n) + " (" + fs.last_failed() + ")";
    if (!fs.fired()) {
      ASSERT_TRUE(m.ok()) << m.status().ToString();
      ExpectOneCompleteVersion(root, Version(2), 7, "no fault");
      break;
    }
    ++faults;
    if (m.ok()) {
      // Only retention, after the commit, may fail without failing the publish.
      EXPECT_FALSE((*t)->RetentionStatus().ok()) << where;
      ExpectOneCompleteVersion(root, Version(2), 7, where);
    } else if (m.status().code() == StatusCode::kDataLoss) {
      // The fsync of the root after the commit rename: visible, and refused from now on.
      saw_after_commit = true;
      ExpectOneCompleteVersion(root, Version(2), 7, where);
      fs.Disarm();
      EXPECT_EQ((*t)->PublishFile(dir.Sub("v2.csv"), SourceKind::kCsv, Opts()).status().code(),
                StatusCode::kFailedPrecondition);
    } else {
      ExpectOneCompleteVersion(root, Version(1), 5, where + ": " + m.status().ToString());
      // The same Table object can publish once the fault is gone.
      fs.Disarm();
      auto again = (*t)->PublishFile(dir.Sub("v2.csv"), SourceKind::kCsv, Opts());
      ASSERT_TRUE(again.ok()) << where << ": " << again.status().ToString();
      EXPECT_EQ(again->version, Version(2));
    }
    std::filesystem::remove_all(root);
  }
  // Every step of a publish was faulted: mkdir, sync of the Parquet file, the manifest's open,
  // append, sync and close, the directory syncs, both renames, CURRENT, and retention.
  EXPECT_GE(faults, 15);
  EXPECT_TRUE(saw_after_commit);
}

TEST(TableFaultTest, AFailureAtAnyStepOfPublishLeavesTheOldVersionCurrent) { RunEveryStep(false); }

TEST(TableFaultTest, ACrashAtAnyStepOfPublishLeavesTheOldVersionCurrent) { RunEveryStep(true); }

}  // namespace
}  // namespace loom::table
