#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <random>
#include <thread>

#include "table/table.h"
#include "table/table_testing.h"
#include "testing/testing.h"

extern char** environ;

namespace loom::table {
namespace {

using loom::testing::TempDir;
using loom::testing::WriteFile;
using testing::PlaysCsv;
using testing::PlaysSchema;
using testing::ReadPlays;

pid_t Spawn(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  return rc == 0 ? pid : -1;
}

int Wait(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

TableOptions Options(const std::string& root) {
  TableOptions o;
  o.root = root;
  o.name = "loom://test/plays/daily";
  o.schema = PlaysSchema();
  return o;
}

TEST(TableCrashTest, KillNineMidPublishLeavesTheOldOrTheNewVersionFullyReadable) {
  TempDir dir;
  const std::string root = dir.Sub("table");
  const std::string csv = dir.Sub("plays.csv");
  constexpr int kRows = 20000;
  WriteFile(csv, PlaysCsv(kRows));
  const int64_t sum = static_cast<int64_t>(kRows) * (kRows + 1) / 2 * 10;
  // Calibrate: one whole publish by the child (start-up included), which is much slower in a
  // sanitizer build; kills then land anywhere from before the first commit to a few publishes in.
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(Wait(Spawn({LOOM_TABLE_PUBLISH_CHILD, "once", dir.Sub("calibrate"), csv})), 0);
  const int once_ms = static_cast<int>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count());
  std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<int> delay_ms(once_ms / 2, once_ms * 3);
  int interrupted = 0;
  Version last;
  // At least 24 rounds, and more (up to 96) until one kill has landed inside a publish: where a
  // kill lands is chance, and a sanitizer build's start-up can take most of each round.
  for (int round = 0; round < 96 && (round < 24 || interrupted == 0); ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    pid_t pid = Spawn({LOOM_TABLE_PUBLISH_CHILD, "loop", root, csv});
    ASSERT_GT(pid, 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(rng)));
    ASSERT_EQ(kill(pid, SIGKILL), 0);
    EXPECT_EQ(Wait(pid), 128 + SIGKILL);

    // Was a publish cut in the middle? (staging files or an uncommitted version directory)
    bool cut = false;
    if (std::filesystem::exists(root + "/_staging") &&
        !std::filesystem::is_empty(root + "/_staging")) {
      cut = true;
    }
    auto t = Table::Open(Options(root));
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    auto cur = (*t)->Current();
    if (!cur.ok()) {
      // Killed before its first publish committed.
      EXPECT_EQ(cur.status().code(), StatusCode::kNotFound);
      EXPECT_FALSE(last.valid());
      interrupted += cut ? 1 : 0;
      continue;
    }
    EXPECT_GE(cur->manifest.version, last);
    last = cur->manifest.version;
    auto data = ReadPlays(*cur);
    ASSERT_TRUE(data.ok()) << data.status().ToString();
    EXPECT_EQ(data->rows, static_cast<uint64_t>(kRows));
    EXPECT_EQ(data->sum_duration, sum);
    EXPECT_EQ(Sha256Hex(loom::testing::ReadFile(cur->file_paths[0])),
              cur->manifest.files[0].sha256);
    auto versions = (*t)->Versions();
    ASSERT_TRUE(versions.ok());
    for (const Manifest& m : *versions) EXPECT_EQ(m.row_count, uint64_t{kRows});
    EXPECT_TRUE(std::filesystem::is_empty(root + "/_staging"));
    interrupted += cut ? 1 : 0;
  }
  EXPECT_TRUE(last.valid());
  EXPECT_GT(interrupted, 0) << "no round killed a publish in the middle";
}

TEST(TableCrashTest, ASecondProcessCannotPublishWhileOneHoldsTheLock) {
  TempDir dir;
  const std::string root = dir.Sub("table");
  const std::string csv = dir.Sub("plays.csv");
  WriteFile(csv, PlaysCsv(10));
  ASSERT_TRUE(Table::Open(Options(root)).ok());
  int fd = ::open((root + "/LOCK").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
  EXPECT_EQ(Wait(Spawn({LOOM_TABLE_PUBLISH_CHILD, "once", root, csv})), 3);
  auto t = Table::Open(Options(root));
  EXPECT_EQ((*t)->Current().status().code(), StatusCode::kNotFound);
  ::close(fd);
  EXPECT_EQ(Wait(Spawn({LOOM_TABLE_PUBLISH_CHILD, "once", root, csv})), 0);
  EXPECT_EQ((*t)->Current()->manifest.version, Version(1));
}

TEST(TableConcurrencyTest, ReadersAlwaysSeeACompleteVersionDuringPublishes) {
  TempDir dir;
  const std::string root = dir.Sub("table");
  auto t = Table::Open(Options(root));
  ASSERT_TRUE(t.ok());
  for (int v = 1; v <= 6; ++v) {
    WriteFile(dir.Sub(std::to_string(v) + ".csv"), PlaysCsv(v * 100));
  }
  PublishOptions po;
  po.published_by = "service:test";
  ASSERT_TRUE((*t)->PublishFile(dir.Sub("1.csv"), SourceKind::kCsv, po).ok());
  std::atomic<bool> done{false};
  std::atomic<int> reads{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 3; ++r) {
    readers.emplace_back([&] {
      Version seen;
      while (!done.load()) {
        auto cur = (*t)->Current();
        ASSERT_TRUE(cur.ok()) << cur.status().ToString();
        ASSERT_GE(cur->manifest.version, seen);
        seen = cur->manifest.version;
        auto data = ReadPlays(*cur);
        ASSERT_TRUE(data.ok()) << data.status().ToString();
        ASSERT_EQ(data->rows, cur->manifest.row_count);
        ASSERT_EQ(data->rows, seen.number() * 100);
        ++reads;
      }
    });
  }
  for (int v = 2; v <= 6; ++v) {
    auto m = (*t)->PublishFile(dir.Sub(std::to_string(v) + ".csv"), SourceKind::kCsv, po);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
  }
  done = true;
  for (auto& th : readers) th.join();
  EXPECT_GT(reads.load(), 3);
  EXPECT_EQ((*t)->Current()->manifest.version, Version(6));
}

}  // namespace
}  // namespace loom::table
