#include "log/log.h"

#include <gtest/gtest.h>

#include <thread>

#include "log/log_test_util.h"
#include "testing/testing.h"

namespace loom::log {
namespace {

LogOptions Opts(int32_t partitions = 1) {
  LogOptions o;
  o.partitions = partitions;
  return o;
}

std::unique_ptr<Log> MustOpen(const std::string& dir, const LogOptions& o) {
  auto log = Log::Open(dir, o);
  EXPECT_TRUE(log.ok()) << log.status().ToString();
  return log.ok() ? std::move(*log) : nullptr;
}

TEST(LogTest, AppendedRecordsReadBackExactly) {
  testing::TempDir dir;
  auto log = MustOpen(dir.path(), Opts());
  auto recs = MakeRecords(100, "v", 1000);
  recs[3].key = "";  // empty keys are allowed
  auto res = log->Append(0, Views(recs));
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  EXPECT_EQ(res->first, Offset(0));
  EXPECT_EQ(res->count, 100);
  std::vector<int64_t> offsets;
  auto got = ReadAll(*log, 0, &offsets);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->size(), 100u);
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(offsets[i], i);
    EXPECT_EQ((*got)[i].timestamp, recs[i].timestamp);
    EXPECT_EQ((*got)[i].key, recs[i].key);
    EXPECT_EQ((*got)[i].value, recs[i].value);
  }
}

TEST(LogTest, OffsetsAreConsecutiveAcrossBatchesAndRestarts) {
  testing::TempDir dir;
  int64_t expected = 0;
  for (int round = 0; round < 3; ++round) {
    auto log = MustOpen(dir.path(), Opts(2));
    for (int b = 0; b < 5; ++b) {
      auto recs = MakeRecords(b + 1, "r" + std::to_string(round), 10);
      auto res = log->Append(1, Views(recs));
      ASSERT_TRUE(res.ok());
      EXPECT_EQ(res->first.value, expected);
      expected += b + 1;
    }
    EXPECT_EQ(log->EndOffset(1)->value, expected);
    EXPECT_EQ(log->EndOffset(0)->value, 0);
    ASSERT_TRUE(log->Close().ok());
  }
  auto log = MustOpen(dir.path(), Opts(2));
  std::vector<int64_t> offsets;
  ASSERT_TRUE(ReadAll(*log, 1, &offsets).ok());
  ASSERT_EQ(offsets.size(), static_cast<size_t>(expected));
  for (size_t i = 0; i < offsets.size(); ++i) EXPECT_EQ(offsets[i], static_cast<int64_t>(i));
}

TEST(LogTest, OpenRejectsADifferentPartitionCount) {
  testing::TempDir dir;
  { MustOpen(dir.path(), Opts(3)); }
  auto log = Log::Open(dir.path(), Opts(4));
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(log.status().message().find("3 partitions"), std::string::npos);
}

TEST(LogTest, BadPartitionsAndEmptyAppendsAreRejected) {
  testing::TempDir dir;
  auto log = MustOpen(dir.path(), Opts(2));
  auto recs = MakeRecords(1, "x", 1);
  EXPECT_EQ(log->Append(2, Views(recs)).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(log->Append(-1, Views(recs)).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(log->Append(0, {}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(log->NewReader(0, Offset(1)).status().code(), StatusCode::kInvalidArgument);
}

TEST(LogTest, ZstdBatchesRoundTrip) {
  testing::TempDir dir;
  LogOptions o = Opts();
  o.compression = Compression::kZstd;
  std::vector<OwnedRecord> all;
  {
    auto log = MustOpen(dir.path(), o);
    for (int b = 0; b < 20; ++b) {
      auto recs = MakeRecords(50, "z" + std::to_string(b), b * 100);
      ASSERT_TRUE(log->Append(0, Views(recs)).ok());
      all.insert(all.end(), recs.begin(), recs.end());
    }
  }
  // Compressed on disk: the repetitive values shrink well below their raw size.
  uint64_t raw = 0;
  for (const auto& r : all) raw += r.value.size();
  auto size = FileSystem::Default()->FileSize(dir.path() + "/partition-00000/" +
                                              "00000000000000000000.log");
  ASSERT_TRUE(size.ok());
  EXPECT_LT(*size, raw / 2);
  o.compression = Compression::kNone;  // reading needs no option: each batch says how it is stored
  auto log = MustOpen(dir.path(), o);
  auto got = ReadAll(*log, 0);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->size(), all.size());
  for (size_t i = 0; i < all.size(); ++i) EXPECT_EQ((*got)[i].value, all[i].value);
}

TEST(LogTest, SegmentsRollBySizeAndReadsCrossThem) {
  testing::TempDir dir;
  LogOptions o = Opts();
  o.segment_max_bytes = 4096;
  o.index_interval_bytes = 512;
  auto log = MustOpen(dir.path(), o);
  for (int b = 0; b < 40; ++b) {
    auto recs = MakeRecords(10, "s" + std::to_string(b), b * 10);
    ASSERT_TRUE(log->Append(0, Views(recs)).ok());
  }
  auto names = FileSystem::Default()->ListDir(dir.path() + "/partition-00000");
  ASSERT_TRUE(names.ok());
  int logs = 0;
  for (const auto& n : *names) logs += n.ends_with(".log");
  EXPECT_GE(logs, 5);
  // Reading from the middle of the log, across segment boundaries.
  std::vector<int64_t> offsets;
  auto r = log->Read(0, Offset(123), MaxRecords(100), [&](const RecordView& v) {
    offsets.push_back(v.offset.value);
    return true;
  });
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(offsets.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(offsets[i], 123 + i);
  EXPECT_EQ(r->next, Offset(223));
  EXPECT_FALSE(r->end_of_stream);
}

TEST(LogTest, SegmentsRollByTime) {
  testing::TempDir dir;
  FakeClock clock;
  LogOptions o = Opts();
  o.clock = &clock;
  o.segment_max_age = std::chrono::minutes(10);
  auto log = MustOpen(dir.path(), o);
  auto recs = MakeRecords(5, "t", 1);
  ASSERT_TRUE(log->Append(0, Views(recs)).ok());
  ASSERT_TRUE(log->Append(0, Views(recs)).ok());
  clock.Advance(11LL * 60 * 1'000'000);
  ASSERT_TRUE(log->Append(0, Views(recs)).ok());
  auto names = FileSystem::Default()->ListDir(dir.path() + "/partition-00000");
  ASSERT_TRUE(names.ok());
  EXPECT_NE(std::find(names->begin(), names->end(), "00000000000000000010.log"), names->end());
  auto got = ReadAll(*log, 0);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->size(), 15u);
}

TEST(LogTest, RetentionBySizeDeletesOldestClosedSegments) {
  testing::TempDir dir;
  LogOptions o = Opts();
  o.segment_max_bytes = 2048;
  o.retention.kind = Retention::Kind::kSize;
  o.retention.max_bytes = 8192;
  auto log = MustOpen(dir.path(), o);
  for (int b = 0; b < 60; ++b) {
    auto recs = MakeRecords(5, "r", b);
    ASSERT_TRUE(log->Append(0, Views(recs)).ok());
  }
  ASSERT_TRUE(log->EnforceRetention().ok());
  Offset start = *log->StartOffset(0);
  EXPECT_GT(start.value, 0);
  EXPECT_EQ(log->EndOffset(0)->value, 300);
  auto got = ReadAll(*log, 0);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(static_cast<int64_t>(got->size()), 300 - start.value);
  uint64_t total = 0;
  auto listed = FileSystem::Default()->ListDir(dir.path() + "/partition-00000");
  ASSERT_TRUE(listed.ok());
  for (const auto& n : *listed) {
    if (n.ends_with(".log")) {
      total += *FileSystem::Default()->FileSize(dir.path() + "/partition-00000/" + n);
    }
  }
  EXPECT_LE(total, 8192u + 2048u);
  // Reading below the start is refused with a clear error.
  auto r = log->NewReader(0, Offset(0));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  // The start offset survives a restart.
  ASSERT_TRUE(log->Close().ok());
  log = MustOpen(dir.path(), o);
  EXPECT_EQ(*log->StartOffset(0), start);
}

TEST(LogTest, RetentionByTimeDeletesSegmentsWhoseNewestRecordIsTooOld) {
  testing::TempDir dir;
  FakeClock clock;
  LogOptions o = Opts();
  o.clock = &clock;
  o.segment_max_bytes = 2048;
  o.retention.kind = Retention::Kind::kTime;
  o.retention.max_age = std::chrono::hours(1);
  auto log = MustOpen(dir.path(), o);
  const TimestampMicros now = clock.NowMicros();
  const int64_t hour = 3600LL * 1'000'000;
  for (int b = 0; b < 30; ++b) {  // old events, then fresh ones
    auto recs = MakeRecords(5, "old", now - 3 * hour + b);
    ASSERT_TRUE(log->Append(0, Views(recs)).ok());
  }
  Offset fresh_start = *log->EndOffset(0);
  for (int b = 0; b < 30; ++b) {
    auto recs = MakeRecords(5, "new", now - 10 + b);
    ASSERT_TRUE(log->Append(0, Views(recs)).ok());
  }
  ASSERT_TRUE(log->EnforceRetention().ok());
  Offset start = *log->StartOffset(0);
  EXPECT_GT(start.value, 0);
  EXPECT_LE(start, fresh_start);  // nothing fresh was deleted
  auto got = ReadAll(*log, 0);
  ASSERT_TRUE(got.ok());
  int fresh = 0;
  for (const auto& r : *got) fresh += r.value.starts_with("new");
  EXPECT_EQ(fresh, 150);
}

TEST(LogTest, RetentionForeverKeepsEverything) {
  testing::TempDir dir;
  FakeClock clock;
  LogOptions o = Opts();
  o.clock = &clock;
  o.segment_max_bytes = 2048;
  auto log = MustOpen(dir.path(), o);
  for (int b = 0; b < 30; ++b) {
    auto recs = MakeRecords(5, "f", 0);  // ancient timestamps
    ASSERT_TRUE(log->Append(0, Views(recs)).ok());
  }
  clock.Advance(1000LL * 24 * 3600 * 1'000'000);
  ASSERT_TRUE(log->EnforceRetention().ok());
  EXPECT_EQ(log->StartOffset(0)->value, 0);
  EXPECT_EQ(ReadAll(*log, 0)->size(), 150u);
}

TEST(LogTest, LongPollWakesOnAppendAndTimesOut) {
  testing::TempDir dir;
  auto log = MustOpen(dir.path(), Opts());
  auto t0 = std::chrono::steady_clock::now();
  Status st = log->WaitFor(0, Offset(0), std::chrono::milliseconds(50));
  EXPECT_EQ(st.code(), StatusCode::kDeadlineExceeded);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(45));

  std::thread producer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    auto recs = MakeRecords(3, "w", 1);
    EXPECT_TRUE(log->Append(0, Views(recs)).ok());
  });
  t0 = std::chrono::steady_clock::now();
  st = log->WaitFor(0, Offset(2), std::chrono::seconds(20));
  EXPECT_TRUE(st.ok()) << st.ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10));
  producer.join();
  EXPECT_TRUE(log->WaitFor(0, Offset(2), std::chrono::milliseconds(0)).ok());
}

TEST(LogTest, BatchReaderStopsAtTheEndOffsetCapturedAtStart) {
  testing::TempDir dir;
  auto log = MustOpen(dir.path(), Opts());
  auto recs = MakeRecords(10, "a", 1);
  ASSERT_TRUE(log->Append(0, Views(recs)).ok());
  auto reader = log->NewReader(0, Offset(0));
  ASSERT_TRUE(reader.ok());
  ASSERT_TRUE(log->Append(0, Views(recs)).ok());  // arrives after the reader started
  RecordView v;
  int n = 0;
  while (true) {
    auto more = (*reader)->Next(&v);
    ASSERT_TRUE(more.ok());
    if (!*more) break;
    ++n;
  }
  EXPECT_EQ(n, 10);
  EXPECT_EQ((*reader)->position(), Offset(10));
}

}  // namespace
}  // namespace loom::log
