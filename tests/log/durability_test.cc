// Durability through the file-system seam: group commit, failed syncs and writes, ENOSPC, torn
// writes and power loss (tests/testing/fault_file_system.h).

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "log/log.h"
#include "log/log_test_util.h"
#include "testing/fault_file_system.h"
#include "testing/testing.h"

namespace loom::log {
namespace {

const std::string kSeg0 = "/partition-00000/00000000000000000000.log";

LogOptions Faulty(testing::FaultFileSystem& fs) {
  LogOptions o;
  o.fs = &fs;
  return o;
}

TEST(DurabilityTest, GroupCommitMergesConcurrentAppendsIntoFewSyncs) {
  testing::TempDir dir;
  testing::FaultFileSystem fs;
  auto log = *Log::Open(dir.path(), Faulty(fs));
  fs.ResetCounts();
  constexpr int kThreads = 8, kAppends = 200;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto recs = MakeRecords(1, "t" + std::to_string(t), 1);
      for (int i = 0; i < kAppends; ++i) ASSERT_TRUE(log->Append(0, Views(recs)).ok());
    });
  }
  for (auto& t : threads) t.join();
  const int64_t appends = kThreads * kAppends;
  EXPECT_EQ(log->EndOffset(0)->value, appends);
  // One write + one fdatasync per group (the other writes are unsynced index entries).
  EXPECT_LE(fs.sync_count(), fs.write_count());
  EXPECT_LT(fs.sync_count(), appends / 2) << "appends were not merged";
  EXPECT_GT(fs.sync_count(), 0);
}

TEST(DurabilityTest, FailedSyncStopsThePartitionAndNoLaterAppendIsAcknowledged) {
  testing::TempDir dir;
  testing::FaultFileSystem fs;
  auto log = *Log::Open(dir.path(), Faulty(fs));
  auto recs = MakeRecords(3, "s", 1);
  ASSERT_TRUE(log->Append(0, Views(recs)).ok());
  fs.FailNthSync(1);
  auto failed = log->Append(0, Views(recs));
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.status().message().find("fdatasync"), std::string::npos);
  // Not retried into an ack: the next appends fail with the same error, though syncs work again.
  for (int i = 0; i < 3; ++i) {
    auto again = log->Append(0, Views(recs));
    ASSERT_FALSE(again.ok());
    EXPECT_NE(again.status().message().find("stopped accepting writes"), std::string::npos);
  }
  EXPECT_FALSE(log->PartitionHealth(0).ok());
  EXPECT_EQ(log->EndOffset(0)->value, 3);  // readers never see the unsynced batch
  EXPECT_FALSE(log->Close().ok());
  // Reopened, the acknowledged records are there.
  auto reopened = *Log::Open(dir.path(), LogOptions{});
  EXPECT_GE(reopened->EndOffset(0)->value, 3);
  EXPECT_TRUE(reopened->PartitionHealth(0).ok());
}

TEST(DurabilityTest, FailedWriteStopsThePartitionAndCallbacksGetTheError) {
  testing::TempDir dir;
  testing::FaultFileSystem fs;
  auto log = *Log::Open(dir.path(), Faulty(fs));
  fs.FailNthWrite(1);
  auto recs = MakeRecords(2, "w", 1);
  std::atomic<int> errors{0};
  std::mutex mu;
  std::condition_variable cv;
  int done = 0;
  for (int i = 0; i < 5; ++i) {
    log->AppendAsync(0, Views(recs), [&](Result<AppendResult> r) {
      if (!r.ok()) errors++;
      std::lock_guard l(mu);
      ++done;
      cv.notify_all();
    });
  }
  std::unique_lock l(mu);
  cv.wait(l, [&] { return done == 5; });
  EXPECT_EQ(errors.load(), 5);
  EXPECT_EQ(log->EndOffset(0)->value, 0);
}

TEST(DurabilityTest, DiskFullFailsTheAppendWithResourceExhausted) {
  testing::TempDir dir;
  testing::FaultFileSystem fs;
  auto log = *Log::Open(dir.path(), Faulty(fs));
  auto recs = MakeRecords(10, "e", 1);
  ASSERT_TRUE(log->Append(0, Views(recs)).ok());
  fs.SetSpaceLeft(100);  // less than one batch
  auto full = log->Append(0, Views(recs));
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(log->Append(0, Views(recs)).status().code(), StatusCode::kResourceExhausted);
  (void)log->Close();
  // The partial batch is a torn tail: reopening truncates it and keeps the acked records.
  auto reopened = *Log::Open(dir.path(), LogOptions{});
  EXPECT_EQ(reopened->EndOffset(0)->value, 10);
  EXPECT_EQ(ReadAll(*reopened, 0)->size(), 10u);
  EXPECT_TRUE(reopened->Append(0, Views(recs)).ok());
}

TEST(DurabilityTest, TornWriteIsTruncatedOnReopen) {
  testing::TempDir dir;
  testing::FaultFileSystem fs;
  auto log = *Log::Open(dir.path(), Faulty(fs));
  auto recs = MakeRecords(20, "t", 1);
  ASSERT_TRUE(log->Append(0, Views(recs)).ok());
  auto size_before = *FileSystem::Default()->FileSize(dir.path() + kSeg0);
  fs.TearNthWrite(1, 77);
  EXPECT_FALSE(log->Append(0, Views(recs)).ok());
  (void)log->Close();
  EXPECT_EQ(*FileSystem::Default()->FileSize(dir.path() + kSeg0), size_before + 77);
  auto reopened = *Log::Open(dir.path(), LogOptions{});
  EXPECT_EQ(*FileSystem::Default()->FileSize(dir.path() + kSeg0), size_before);
  auto all = ReadAll(*reopened, 0);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 20u);
  auto next = reopened->Append(0, Views(recs));
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->first, Offset(20));
}

TEST(DurabilityTest, PowerLossKeepsEveryAcknowledgedRecord) {
  for (FsyncPolicy policy : {FsyncPolicy::kAlways}) {
    testing::TempDir dir;
    testing::FaultFileSystem fs;
    LogOptions o = Faulty(fs);
    o.fsync = policy;
    o.partitions = 2;
    o.segment_max_bytes = 8 << 10;  // rolls too: new files must survive
    auto log = *Log::Open(dir.path(), o);
    std::mutex mu;
    std::map<std::pair<int32_t, int64_t>, std::string> acked;
    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; !stop; ++i) {
          auto recs = MakeRecords(1 + i % 5, "t" + std::to_string(t) + "i" + std::to_string(i), i);
          auto r = log->Append(t % 2, Views(recs));
          if (!r.ok()) return;  // the "crash"
          std::lock_guard l(mu);
          for (int k = 0; k < r->count; ++k) acked[{t % 2, r->first.value + k}] = recs[k].value;
        }
      });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    fs.Freeze();  // the machine dies: nothing more reaches the disk
    stop = true;
    for (auto& t : threads) t.join();
    (void)log->Close();
    log.reset();
    ASSERT_TRUE(fs.DropUnsyncedData().ok());
    ASSERT_GT(acked.size(), 50u);
    auto reopened = *Log::Open(dir.path(), WithPartitions(2));
    for (int32_t p = 0; p < 2; ++p) {
      std::vector<int64_t> offsets;
      auto all = ReadAll(*reopened, p, &offsets);
      ASSERT_TRUE(all.ok()) << all.status().ToString();
      std::map<int64_t, std::string> stored;
      for (size_t i = 0; i < offsets.size(); ++i) stored[offsets[i]] = (*all)[i].value;
      for (const auto& [key, value] : acked) {
        if (key.first != p) continue;
        ASSERT_TRUE(stored.contains(key.second)) << "lost acked offset " << key.second;
        EXPECT_EQ(stored[key.second], value);
      }
    }
  }
}

TEST(DurabilityTest, NewSegmentFilesAreDurableBeforeAnythingInThemIsAcknowledged) {
  testing::TempDir dir;
  testing::FaultFileSystem fs;
  LogOptions o = Faulty(fs);
  o.segment_max_bytes = 2048;
  auto log = *Log::Open(dir.path(), o);
  for (int i = 0; i < 40; ++i) {
    auto recs = MakeRecords(5, "d", i);
    ASSERT_TRUE(log->Append(0, Views(recs)).ok());
  }
  EXPECT_GE(fs.dir_sync_count(), 5);  // one per new segment at least
  fs.Freeze();
  (void)log->Close();
  log.reset();
  ASSERT_TRUE(fs.DropUnsyncedData().ok());
  auto reopened = *Log::Open(dir.path(), LogOptions{});
  EXPECT_EQ(ReadAll(*reopened, 0)->size(), 200u);
}

}  // namespace
}  // namespace loom::log
