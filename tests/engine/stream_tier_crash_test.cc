// StreamTier under failure and concurrency: injected write/fsync faults, kill -9 of a process
// in the middle of Syncs, concurrent Syncs of one port, and log retention.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "engine/engine.h"
#include "engine/stream_fixture.h"
#include "testing/fault_file_system.h"

namespace loom::engine {
namespace {

std::vector<int64_t> Ends(const log::Log& log) {
  std::vector<int64_t> ends;
  for (int32_t p = 0; p < log.partitions(); ++p) ends.push_back(log.EndOffset(p)->value);
  return ends;
}

TEST(StreamTierFaultTest, AFailedWriteOrFsyncLeavesThePreviousManifestInForce) {
  testing::TempDir dir;
  auto log = OpenLog(dir.Sub("log"), 2);
  AppendEvents(*log, 0, 0, 40);
  AppendEvents(*log, 1, 0, 40);
  {
    auto base = StreamTier::Open(dir.Sub("base"));
    ASSERT_TRUE(base.ok());
    ASSERT_TRUE((*base)->Sync(*log, PlaySchema()).ok());
  }
  AppendEvents(*log, 0, 40, 25);
  AppendEvents(*log, 1, 40, 25);
  // From a copy of the tier after the first Sync, fail each write, then each fsync, of the
  // second Sync in turn, until the second Sync meets no fault.
  for (bool sync_faults : {false, true}) {
    for (int n = 1;; ++n) {
      ASSERT_LT(n, 60);
      std::filesystem::remove_all(dir.Sub("tier"));
      std::filesystem::copy(dir.Sub("base"), dir.Sub("tier"));
      testing::FaultFileSystem fs;
      StreamTierOptions o;
      o.fs = &fs;
      o.max_files_per_partition = 2;  // the second Sync also merges: more steps to fail
      o.obsolete_grace = std::chrono::seconds(0);
      auto tier = StreamTier::Open(dir.Sub("tier"), o);
      ASSERT_TRUE(tier.ok()) << tier.status().ToString();
      if (sync_faults) {
        fs.FailNthSync(n);
      } else {
        fs.FailNthWrite(n);
      }
      auto st = (*tier)->Sync(*log, PlaySchema());
      tier->reset();
      auto again = StreamTier::Open(dir.Sub("tier"));
      ASSERT_TRUE(again.ok()) << again.status().ToString();
      if (st.ok()) {
        EXPECT_GT(n, 1) << "no write or fsync was failed";
        EXPECT_EQ(Coverage(**again), ExpectedCoverage({65, 65}));
        break;
      }
      // Reopened without faults: exactly the first Sync's records, and nothing unlisted left.
      EXPECT_EQ((*again)->TieredEnd(0), 40) << "fault " << n;
      EXPECT_EQ(Coverage(**again), ExpectedCoverage({40, 40})) << "fault " << n;
      EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.Sub("tier")),
                              std::filesystem::directory_iterator()),
                static_cast<long>((*again)->Files().size()) + 2);
      // And the next Sync completes the work.
      ASSERT_TRUE((*again)->Sync(*log, PlaySchema()).ok());
      EXPECT_EQ(Coverage(**again), ExpectedCoverage({65, 65})) << "fault " << n;
    }
  }
}

// The child half of the kill -9 test: appends and Syncs forever, in its own process.
TEST(StreamTierKillChild, AppendsAndSyncsUntilKilled) {
  const char* dir = std::getenv("LOOM_TIER_KILL_CHILD");
  if (dir == nullptr) GTEST_SKIP() << "runs only as the child of KillDuringSyncs";
  auto log = OpenLog(std::string(dir) + "/log", 2);
  StreamTierOptions o;
  o.max_files_per_partition = 3;
  o.obsolete_grace = std::chrono::seconds(0);
  auto tier = StreamTier::Open(std::string(dir) + "/tier", o);
  ASSERT_TRUE(tier.ok());
  for (int64_t round = 0;; ++round) {
    for (int32_t p = 0; p < 2; ++p) {
      AppendEvents(*log, p, log->EndOffset(p)->value, 50 + 7 * p);
    }
    ASSERT_TRUE((*tier)->Sync(*log, PlaySchema()).ok());
  }
}

TEST(StreamTierKillTest, KillDuringSyncsLeavesAConsistentTier) {
  testing::TempDir dir;
  for (int run = 0; run < 3; ++run) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::setenv("LOOM_TIER_KILL_CHILD", dir.path().c_str(), 1);
      const char* argv[] = {"/proc/self/exe",
                            "--gtest_filter=StreamTierKillChild.AppendsAndSyncsUntilKilled",
                            nullptr};
      ::execv("/proc/self/exe", const_cast<char* const*>(argv));
      ::_exit(127);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(700 + 450 * run));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the child ended by itself: " << status;

    auto log = OpenLog(dir.Sub("log"), 2);
    ASSERT_NE(log, nullptr);
    auto tier = StreamTier::Open(dir.Sub("tier"));
    ASSERT_TRUE(tier.ok()) << tier.status().ToString();
    // What was published is complete: offsets [0, TieredEnd) of each partition, once.
    std::vector<int64_t> tiered = {(*tier)->TieredEnd(0), (*tier)->TieredEnd(1)};
    EXPECT_EQ(Coverage(**tier), ExpectedCoverage(tiered)) << "run " << run;
    ASSERT_TRUE((*tier)->Sync(*log, PlaySchema()).ok());
    EXPECT_EQ(Coverage(**tier), ExpectedCoverage(Ends(*log))) << "run " << run;
    std::printf("kill run %d: tiered %lld+%lld of %lld+%lld\n", run,
                static_cast<long long>(tiered[0]), static_cast<long long>(tiered[1]),
                static_cast<long long>(Ends(*log)[0]), static_cast<long long>(Ends(*log)[1]));
  }
}

TEST(StreamTierConcurrencyTest, ConcurrentSyncsPublishEveryRecordOnce) {
  testing::TempDir dir;
  auto log = OpenLog(dir.Sub("log"), 2);
  StreamTierOptions o;
  o.max_files_per_partition = 4;
  o.obsolete_grace = std::chrono::seconds(0);
  // Two objects on one directory (as two processes would have) and two threads on each.
  auto a = StreamTier::Open(dir.Sub("tier"), o);
  auto b = StreamTier::Open(dir.Sub("tier"), o);
  ASSERT_TRUE(a.ok() && b.ok());
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::thread writer([&] {
    for (int i = 0; i < 30; ++i) {
      for (int32_t p = 0; p < 2; ++p) AppendEvents(*log, p, log->EndOffset(p)->value, 20);
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    stop = true;
  });
  std::vector<std::thread> syncers;
  for (StreamTier* t : {a->get(), a->get(), b->get(), b->get()}) {
    syncers.emplace_back([&, t] {
      while (!stop) {
        auto st = t->Sync(*log, PlaySchema());
        if (!st.ok()) {
          ADD_FAILURE() << st.status().ToString();
          ++failures;
          return;
        }
        // What this object lists must be complete and readable right now.
        auto rel = t->ToRelation(kPlays, PlaySchema());
        if (!rel.ok()) ++failures;
      }
    });
  }
  writer.join();
  for (std::thread& t : syncers) t.join();
  EXPECT_EQ(failures.load(), 0);
  ASSERT_TRUE((*a)->Sync(*log, PlaySchema()).ok());
  ASSERT_TRUE((*b)->Sync(*log, PlaySchema()).ok());
  EXPECT_EQ(Coverage(**a), ExpectedCoverage({600, 600}));
  EXPECT_EQ(Coverage(**b), ExpectedCoverage({600, 600}));
}

TEST(StreamTierRetentionTest, FilesWhoseOffsetsTheLogDeletedAreDropped) {
  testing::TempDir dir;
  log::LogOptions lo;
  lo.segment_max_bytes = 8 << 10;
  auto log = OpenLog(dir.Sub("log"), 1, lo);
  StreamTierOptions o;
  o.obsolete_grace = std::chrono::seconds(0);
  auto tier = StreamTier::Open(dir.Sub("tier"), o);
  ASSERT_TRUE(tier.ok());
  int64_t end = 0;
  for (int i = 0; i < 12; ++i) {
    AppendEvents(*log, 0, end, 20);  // ~10 KiB: a segment roll every batch or so
    end += 20;
    ASSERT_TRUE((*tier)->Sync(*log, PlaySchema()).ok());
  }
  ASSERT_EQ((*tier)->Files().size(), 12u);
  // Reopened with a size limit: the oldest segments go.
  ASSERT_TRUE(log->Close().ok());
  log.reset();
  lo.retention.kind = log::Retention::Kind::kSize;
  lo.retention.max_bytes = 24 << 10;
  log = OpenLog(dir.Sub("log"), 1, lo);
  ASSERT_TRUE(log->EnforceRetention().ok());
  const int64_t start = log->StartOffset(0)->value;
  ASSERT_GT(start, 20) << "retention deleted nothing; the test needs it to";
  auto st = (*tier)->Sync(*log, PlaySchema());
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->files_dropped, start / 20);
  EXPECT_EQ(st->files_deleted, start / 20);
  for (const StreamTierFile& f : (*tier)->Files()) {
    EXPECT_GT(f.end, start);
    EXPECT_TRUE(std::filesystem::exists(f.path));
  }
  EXPECT_EQ(QueryInt(**tier, std::string("SELECT count(*) FROM ") + kPlays), end - start / 20 * 20);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.Sub("tier")),
                          std::filesystem::directory_iterator()),
            static_cast<long>((*tier)->Files().size()) + 2);
}

}  // namespace
}  // namespace loom::engine
