#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "log/crc32c.h"
#include "log/log.h"
#include "log/log_test_util.h"
#include "log/segment_index.h"
#include "testing/testing.h"

namespace loom::log {
namespace {

const std::string kSeg0 = "/partition-00000/00000000000000000000";

TEST(Crc32cTest, MatchesKnownVectors) {
  // RFC 3720 B.4 and the classic check value.
  std::string zeros(32, '\0'), ones(32, '\xff'), inc(32, '\0'), dec(32, '\0');
  for (int i = 0; i < 32; ++i) {
    inc[i] = static_cast<char>(i);
    dec[i] = static_cast<char>(31 - i);
  }
  for (auto f : {&Crc32cPortable, &Crc32cHardware}) {
    if (f == &Crc32cHardware && !Crc32cHardwareAvailable()) continue;
    EXPECT_EQ(f(0, "123456789", 9), 0xE3069283u);
    EXPECT_EQ(f(0, zeros.data(), 32), 0x8A9136AAu);
    EXPECT_EQ(f(0, ones.data(), 32), 0x62A8AB43u);
    EXPECT_EQ(f(0, inc.data(), 32), 0x46DD794Eu);
    EXPECT_EQ(f(0, dec.data(), 32), 0x113FDB5Cu);
    EXPECT_EQ(f(0, "", 0), 0u);
  }
}

TEST(Crc32cTest, HardwareAndTableAgreeOnEveryLengthAndSplit) {
  std::mt19937 rng(7);
  std::string data(1000, '\0');
  for (char& c : data) c = static_cast<char>(rng());
  for (size_t n = 0; n < data.size(); n += 37) {
    uint32_t whole = Crc32cPortable(0, data.data(), n);
    EXPECT_EQ(Crc32c(data.data(), n), whole);
    EXPECT_EQ(Crc32cExtend(Crc32c(data.data(), n / 3), data.data() + n / 3, n - n / 3), whole);
  }
}

TEST(Crc32cTest, InterleavedStreamsAgreeWithTheTableOnLongInputs) {
  // Past 3 x 4096 bytes the hardware path runs three streams and joins them.
  std::mt19937 rng(11);
  std::string data(70000, '\0');
  for (char& c : data) c = static_cast<char>(rng());
  for (size_t n : {12287ul, 12288ul, 12289ul, 24576ul, 24583ul, 40001ul, 70000ul}) {
    uint32_t whole = Crc32cPortable(0, data.data(), n);
    EXPECT_EQ(Crc32c(data.data(), n), whole) << n;
    for (size_t split : {1ul, 4095ul, 12288ul, n / 2}) {
      if (split > n) continue;
      EXPECT_EQ(Crc32cExtend(Crc32c(data.data(), split), data.data() + split, n - split), whole)
          << n << " split at " << split;
    }
  }
}

LogOptions SmallSegments() {
  LogOptions o;
  o.segment_max_bytes = 16 << 10;
  o.index_interval_bytes = 1024;
  o.fsync = FsyncPolicy::kNever;  // durability is not what these tests are about
  return o;
}

// 4000 records, timestamps increasing by 10 µs from 1'000'000, 10 per batch.
void Fill(Log& log, int32_t p = 0, int64_t t0 = 1'000'000) {
  for (int b = 0; b < 400; ++b) {
    auto recs =
        MakeRecords(10, "p" + std::to_string(p) + "b" + std::to_string(b), t0 + b * 100, 10);
    ASSERT_TRUE(log.Append(p, Views(recs)).ok());
  }
}

TEST(IndexTest, ClosedSegmentsGetSealedIndexesAndLookupsUseThem) {
  testing::TempDir dir;
  auto log = *Log::Open(dir.path(), SmallSegments());
  Fill(*log);
  auto data = ReadFileToString(*FileSystem::Default(), dir.path() + kSeg0 + ".index");
  ASSERT_TRUE(data.ok());
  auto idx = ParseIndex(*data);
  ASSERT_TRUE(idx.ok()) << idx.status().ToString();
  EXPECT_TRUE(idx->sealed);
  EXPECT_GE(idx->entries.size(), 10u);  // one per KiB of a 16 KiB segment
  // A lookup far into the log returns the right record.
  std::vector<int64_t> got;
  ASSERT_TRUE(log->Read(0, Offset(3217), MaxRecords(1),
                        [&](const RecordView& v) {
                          got.push_back(v.offset.value);
                          EXPECT_EQ(v.timestamp, 1'000'000 + 3217 * 10);
                          return true;
                        })
                  .ok());
  EXPECT_EQ(got, std::vector<int64_t>{3217});
}

TEST(IndexTest, DeletedAndStaleIndexesAreRebuiltOnOpen) {
  testing::TempDir dir;
  {
    auto log = *Log::Open(dir.path(), SmallSegments());
    Fill(*log);
  }
  FileSystem& fs = *FileSystem::Default();
  std::string first = *ReadFileToString(fs, dir.path() + kSeg0 + ".index");
  ASSERT_TRUE(fs.DeleteFile(dir.path() + kSeg0 + ".index").ok());
  // Make the second segment's index stale: claim another segment size (and fix the CRC).
  auto names = *fs.ListDir(dir.path() + "/partition-00000");
  std::string second;
  for (const auto& n : names) {
    if (n.ends_with(".index") && n != "00000000000000000000.index") {
      second = dir.path() + "/partition-00000/" + n;
      break;
    }
  }
  ASSERT_FALSE(second.empty());
  std::string stale = *ReadFileToString(fs, second);
  auto parsed = *ParseIndex(stale);
  parsed.seal.segment_size += 1;
  ASSERT_TRUE(WriteFileAtomically(
                  fs, second, EncodeSealedIndex(parsed.base_offset, parsed.seal, parsed.entries))
                  .ok());
  auto opened = Log::Open(dir.path(), SmallSegments());
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  auto log = std::move(*opened);
  EXPECT_EQ(*ReadFileToString(fs, dir.path() + kSeg0 + ".index"), first);
  auto rebuilt = ParseIndex(*ReadFileToString(fs, second));
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.status().ToString();
  EXPECT_EQ(rebuilt->seal.segment_size + 1, parsed.seal.segment_size);
  auto all = ReadAll(*log, 0);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_EQ(all->size(), 4000u);
  EXPECT_EQ(log->OffsetForTimestamp(0, 1'000'000 + 2500 * 10).value(), Offset(2500));
}

TEST(IndexTest, OffsetForTimestampFindsTheFirstRecordAtOrAfterT) {
  testing::TempDir dir;
  auto log = *Log::Open(dir.path(), SmallSegments());
  Fill(*log);
  EXPECT_EQ(*log->OffsetForTimestamp(0, 0), Offset(0));
  EXPECT_EQ(*log->OffsetForTimestamp(0, 1'000'000 + 1234 * 10), Offset(1234));
  EXPECT_EQ(*log->OffsetForTimestamp(0, 1'000'000 + 1234 * 10 - 3), Offset(1234));
  EXPECT_EQ(*log->OffsetForTimestamp(0, 1'000'000'000), Offset(4000));  // none: the end
}

TEST(IndexTest, OffsetForTimestampHandlesOutOfOrderArrivals) {
  testing::TempDir dir;
  auto log = *Log::Open(dir.path(), SmallSegments());
  Fill(*log);
  auto late = MakeRecords(3, "late", 1'000'000 + 500 * 10, 1);  // old events arrive last
  ASSERT_TRUE(log->Append(0, Views(late)).ok());
  EXPECT_EQ(*log->OffsetForTimestamp(0, 1'000'000 + 500 * 10), Offset(500));
  // Past the newest of the ordered data only the late records qualify... none are newer.
  EXPECT_EQ(*log->OffsetForTimestamp(0, 1'000'000 + 4000 * 10), Offset(4003));
}

TEST(IndexTest, TimeRangeReadReturnsExactlyTheRecordsInRangeIncludingLateOnes) {
  testing::TempDir dir;
  auto log = *Log::Open(dir.path(), SmallSegments());
  Fill(*log);
  auto late = MakeRecords(2, "late", 1'000'000 + 1000 * 10 + 1, 1);
  ASSERT_TRUE(log->Append(0, Views(late)).ok());
  const int64_t t0 = 1'000'000 + 1000 * 10, t1 = 1'000'000 + 1100 * 10;
  std::vector<int64_t> offsets;
  auto r = log->ReadTimeRange(0, t0, t1, ReadOptions{}, [&](const RecordView& v) {
    EXPECT_GE(v.timestamp, t0);
    EXPECT_LT(v.timestamp, t1);
    offsets.push_back(v.offset.value);
    return true;
  });
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(offsets.size(), 102u);
  EXPECT_EQ(offsets.front(), 1000);
  EXPECT_EQ(offsets[99], 1099);
  EXPECT_EQ(offsets[100], 4000);  // the late arrivals, in offset order
  EXPECT_TRUE(r->end_of_stream);
  // With a lateness bound the read stops early and skips them.
  offsets.clear();
  r = log->ReadTimeRange(0, t0, t1, Lateness(1000), [&](const RecordView& v) {
    offsets.push_back(v.offset.value);
    return true;
  });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(offsets.size(), 100u);
}

TEST(IndexTest, MergedReadInterleavesPartitionsByTimestamp) {
  testing::TempDir dir;
  LogOptions o = SmallSegments();
  o.partitions = 3;
  auto log = *Log::Open(dir.path(), o);
  for (int32_t p = 0; p < 3; ++p) {
    for (int b = 0; b < 20; ++b) {
      auto recs = MakeRecords(5, "m", 1000 + p + b * 15, 3);  // partitions interleave
      ASSERT_TRUE(log->Append(p, Views(recs)).ok());
    }
  }
  std::vector<Offset> from(3, Offset(0));
  std::vector<std::pair<int64_t, int32_t>> seen;
  auto r = log->ReadMerged(from, ReadOptions{}, [&](int32_t p, const RecordView& v) {
    seen.emplace_back(v.timestamp, p);
    return true;
  });
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(seen.size(), 300u);
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
  EXPECT_TRUE(r->end_of_stream);
  // Stopping early gives offsets to continue from, without losing or repeating a record.
  r = log->ReadMerged(from, MaxRecords(100), [](int32_t, const RecordView&) { return true; });
  ASSERT_TRUE(r.ok());
  int64_t sum = 0;
  for (Offset o2 : r->next) sum += o2.value;
  EXPECT_EQ(sum, 100);
  EXPECT_FALSE(r->end_of_stream);
}

}  // namespace
}  // namespace loom::log
