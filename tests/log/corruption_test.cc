// Flip bytes and truncate segment files at many positions: corruption is detected and reported
// (or, in the active segment's tail, truncated), and never served as data.

#include <gtest/gtest.h>

#include <map>

#include "log/log.h"
#include "log/log_test_util.h"
#include "testing/testing.h"

namespace loom::log {
namespace {

const std::string kPart = "/partition-00000/";

class CorruptionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    LogOptions o = Options();
    auto log = *Log::Open(original_.path(), o);
    for (int b = 0; b < 60; ++b) {
      auto recs = MakeRecords(4, "c" + std::to_string(b), b * 10);
      if (b % 3 == 0) recs[0].key = "";
      ASSERT_TRUE(log->Append(0, Views(recs)).ok());
      for (auto& r : recs) values_.push_back(r.value);
    }
    ASSERT_TRUE(log->Close().ok());
    auto names = FileSystem::Default()->ListDir(original_.path() + kPart);
    ASSERT_TRUE(names.ok());
    for (const auto& name : *names) {
      files_[name] = testing::ReadFile(original_.path() + kPart + name);
    }
    ASSERT_GE(files_.size(), 4u);  // several segments
  }

  static LogOptions Options() {
    LogOptions o;
    o.segment_max_bytes = 4096;
    o.index_interval_bytes = 512;
    return o;
  }

  // A fresh copy of the original log with `mutate` applied to segment file `name`.
  void Restore(const std::string& dir, const std::string& name,
               const std::function<void(std::string&)>& mutate) {
    testing::WriteFile(dir + "/LOG", testing::ReadFile(original_.path() + "/LOG"));
    for (auto [n, content] : files_) {
      if (n == name) mutate(content);
      testing::WriteFile(dir + kPart + n, content);
    }
  }

  // Opens and reads everything; every record served must be the original one at its offset.
  // Returns the read status (and how many records were served).
  Status OpenAndCheck(const std::string& dir, int64_t* served) {
    *served = 0;
    auto log = Log::Open(dir, Options());
    if (!log.ok()) return log.status();
    auto r = (*log)->Read(0, Offset(0), ReadOptions{}, [&](const RecordView& v) {
      EXPECT_LT(v.offset.value, static_cast<int64_t>(values_.size()));
      if (v.offset.value < static_cast<int64_t>(values_.size())) {
        EXPECT_EQ(v.value, values_[v.offset.value]) << "corrupt data served at " << v.offset.value;
      }
      ++*served;
      return true;
    });
    return r.ok() ? Status::Ok() : r.status();
  }

  std::string FirstSegment() const {
    for (const auto& [name, content] : files_) {
      if (name.ends_with(".log")) return name;
    }
    return "";
  }
  std::string LastSegment() const {
    for (auto it = files_.rbegin(); it != files_.rend(); ++it) {
      if (it->first.ends_with(".log")) return it->first;
    }
    return "";
  }

  testing::TempDir original_;
  std::map<std::string, std::string> files_;
  std::vector<std::string> values_;
};

TEST_F(CorruptionTest, FlippedBytesInAClosedSegmentAreReportedAsDataLoss) {
  const std::string seg = FirstSegment();
  ASSERT_TRUE(seg.ends_with(".log"));
  const size_t size = files_[seg].size();
  int checked = 0;
  for (size_t pos = 0; pos < size; pos += 29) {
    testing::TempDir dir;
    Restore(dir.path(), seg, [&](std::string& c) { c[pos] ^= 0x20; });
    int64_t served = 0;
    Status st = OpenAndCheck(dir.path(), &served);
    ASSERT_EQ(st.code(), StatusCode::kDataLoss) << "flip at byte " << pos << ": " << st.ToString();
    EXPECT_NE(st.message().find(seg), std::string::npos) << st.message();
    ++checked;
  }
  EXPECT_GT(checked, 50);
}

TEST_F(CorruptionTest, TruncatedClosedSegmentsAreReportedAsDataLoss) {
  const std::string seg = FirstSegment();
  const size_t size = files_[seg].size();
  for (size_t cut = 0; cut < size; cut += 41) {
    testing::TempDir dir;
    Restore(dir.path(), seg, [&](std::string& c) { c.resize(cut); });
    int64_t served = 0;
    Status st = OpenAndCheck(dir.path(), &served);
    ASSERT_EQ(st.code(), StatusCode::kDataLoss) << "cut at " << cut << ": " << st.ToString();
  }
}

// Damage past the last index entry is a torn tail and truncated; damage before it is in bytes
// that were acknowledged, so it is reported as kDataLoss, never truncated away silently.
TEST_F(CorruptionTest, DamagedActiveSegmentIsTruncatedOrReportedNeverServed) {
  const std::string seg = LastSegment();
  const size_t size = files_[seg].size();
  ASSERT_GT(size, 200u);
  const int64_t total = static_cast<int64_t>(values_.size());
  int reported = 0, truncated = 0;
  for (size_t pos = 0; pos < size; pos += 23) {
    for (bool flip : {true, false}) {
      testing::TempDir dir;
      Restore(dir.path(), seg, [&](std::string& c) {
        if (flip) {
          c[pos] ^= 0x01;
        } else {
          c.resize(pos);
        }
      });
      int64_t served = 0;
      Status st = OpenAndCheck(dir.path(), &served);
      if (!st.ok()) {
        ASSERT_TRUE(flip) << "cut at " << pos << ": " << st.ToString();
        ASSERT_EQ(st.code(), StatusCode::kDataLoss) << st.ToString();
        ++reported;
        continue;
      }
      ++truncated;
      EXPECT_LT(served, total) << "damage at " << pos << " went unnoticed";
      // Reopened after the truncation, appends continue right after the valid prefix.
      auto log = *Log::Open(dir.path(), Options());
      EXPECT_EQ(log->EndOffset(0)->value, served);
      auto recs = MakeRecords(1, "after", 1);
      auto r = log->Append(0, Views(recs));
      ASSERT_TRUE(r.ok());
      EXPECT_EQ(r->first.value, served);
    }
  }
  EXPECT_GT(truncated, 0);
  EXPECT_GT(reported, 0);
}

TEST_F(CorruptionTest, GarbageIndexFilesAreIgnoredAndRebuilt) {
  for (const auto& [name, content] : files_) {
    if (!name.ends_with(".index")) continue;
    for (size_t pos = 0; pos < content.size(); pos += 7) {
      testing::TempDir dir;
      Restore(dir.path(), name, [&](std::string& c) { c[pos] ^= 0x40; });
      int64_t served = 0;
      Status st = OpenAndCheck(dir.path(), &served);
      ASSERT_TRUE(st.ok()) << name << " flip at " << pos << ": " << st.ToString();
      EXPECT_EQ(served, static_cast<int64_t>(values_.size()));
    }
    break;  // the first index is enough to cover header and entries
  }
}

}  // namespace
}  // namespace loom::log
