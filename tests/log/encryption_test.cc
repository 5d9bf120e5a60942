// Encryption at rest of the log: sealed batch payloads on disk, recovery, indexes and retention
// with a cipher, and failing closed (never a plaintext fallback, never a truncation) for a
// missing or wrong key, a tampered byte and a moved segment.

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <optional>

#include "log/batch.h"
#include "log/crc32c.h"
#include "log/log.h"
#include "log/log_test_util.h"
#include "security/security.h"
#include "testing/testing.h"

namespace loom::log {
namespace {

constexpr std::string_view kSecret = "4111-1111-1111-1111";  // a known value to look for

security::Cipher NewCipher() {
  return *security::Cipher::FromKey(security::MasterKey::Generate().bytes());
}

LogOptions Encrypted(const security::Cipher& cipher, Compression compression = Compression::kNone,
                     std::string context = "loom://payments/cards/events") {
  LogOptions o;
  o.cipher = &cipher;
  o.encryption_context = std::move(context);
  o.compression = compression;
  return o;
}

std::vector<OwnedRecord> SecretRecords(int n) {
  std::vector<OwnedRecord> out = MakeRecords(n, "rec", 1'000);
  for (OwnedRecord& r : out) r.value += ";card=" + std::string(kSecret);
  return out;
}

std::string SegmentPath(const std::string& dir, int32_t p, int64_t base) {
  char name[64];
  std::snprintf(name, sizeof(name), "/partition-%05d/%020lld.log", p, static_cast<long long>(base));
  return dir + name;
}

// Every .log file of partition 0, in offset order.
std::vector<std::string> Segments(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir + "/partition-00000")) {
    if (e.path().extension() == ".log") out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

void Append(Log& log, const std::vector<OwnedRecord>& records) {
  std::vector<Record> views = Views(records);
  ASSERT_TRUE(log.Append(0, views).ok());
}

TEST(LogEncryptionTest, SegmentsHoldNoPlaintextAndReadBackWithTheKey) {
  for (Compression c : {Compression::kNone, Compression::kZstd}) {
    testing::TempDir dir;
    security::Cipher cipher = NewCipher();
    std::vector<OwnedRecord> records = SecretRecords(50);
    {
      auto log = Log::Open(dir.path(), Encrypted(cipher, c));
      ASSERT_TRUE(log.ok()) << log.status().ToString();
      Append(**log, records);
      ASSERT_TRUE((*log)->Close().ok());
    }
    const std::string bytes = testing::ReadFile(SegmentPath(dir.path(), 0, 0));
    if (c == Compression::kNone) {
      ASSERT_GT(bytes.size(), 50 * kSecret.size());
    }
    EXPECT_EQ(bytes.find(kSecret), std::string::npos) << "plaintext on disk";
    EXPECT_EQ(bytes.find("rec-1"), std::string::npos) << "plaintext on disk";

    auto log = Log::Open(dir.path(), Encrypted(cipher, c));
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    auto back = ReadAll(**log, 0);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    ASSERT_EQ(back->size(), records.size());
    EXPECT_EQ((*back)[49].value, records[49].value);
    EXPECT_EQ((*back)[7].key, records[7].key);
  }
}

TEST(LogEncryptionTest, RecoveryIndexesAndRetentionWorkOnEncryptedSegments) {
  testing::TempDir dir;
  security::Cipher cipher = NewCipher();
  LogOptions o = Encrypted(cipher);
  o.segment_max_bytes = 4096;
  o.index_interval_bytes = 512;
  {
    auto log = Log::Open(dir.path(), o);
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    for (int i = 0; i < 40; ++i) Append(**log, MakeRecords(10, "b" + std::to_string(i), i * 100));
    ASSERT_TRUE((*log)->Close().ok());
  }
  ASSERT_GT(Segments(dir.path()).size(), 3u);
  // Lose every index and tear the tail: recovery rebuilds the indexes by decrypting batches and
  // cuts only the torn bytes.
  for (const auto& e : std::filesystem::directory_iterator(dir.path() + "/partition-00000")) {
    if (e.path().extension() == ".index") std::filesystem::remove(e.path());
  }
  const std::string last = Segments(dir.path()).back();
  { testing::WriteFile(last, testing::ReadFile(last) + std::string(30, '\x17')); }
  auto log = Log::Open(dir.path(), o);
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  auto all = ReadAll(**log, 0);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_EQ(all->size(), 400u);
  auto at = (*log)->OffsetForTimestamp(0, 2'000);
  ASSERT_TRUE(at.ok());
  EXPECT_EQ(at->value, 200);
  int seen = 0;
  auto range = (*log)->ReadTimeRange(0, 1'000, 1'005, ReadOptions{}, [&](const RecordView& v) {
    EXPECT_TRUE(v.value.starts_with("b10-")) << v.value;
    ++seen;
    return true;
  });
  ASSERT_TRUE(range.ok()) << range.status().ToString();
  EXPECT_EQ(seen, 5);
  ASSERT_TRUE((*log)->Close().ok());

  o.retention.kind = Retention::Kind::kSize;
  o.retention.max_bytes = 8192;
  auto kept = Log::Open(dir.path(), o);
  ASSERT_TRUE(kept.ok());
  ASSERT_TRUE((*kept)->EnforceRetention().ok());
  auto start = (*kept)->StartOffset(0);
  ASSERT_TRUE(start.ok());
  EXPECT_GT(start->value, 0);
  auto rest = ReadAll(**kept, 0);
  ASSERT_TRUE(rest.ok()) << rest.status().ToString();
  EXPECT_EQ(static_cast<int64_t>(rest->size()), 400 - start->value);
}

TEST(LogEncryptionTest, OpeningWithoutTheKeyFailsClosed) {
  testing::TempDir dir;
  security::Cipher cipher = NewCipher();
  {
    auto log = Log::Open(dir.path(), Encrypted(cipher));
    ASSERT_TRUE(log.ok());
    Append(**log, SecretRecords(5));
  }
  const std::string before = testing::ReadFile(SegmentPath(dir.path(), 0, 0));
  auto plain = Log::Open(dir.path(), LogOptions{});
  ASSERT_FALSE(plain.ok());
  EXPECT_EQ(plain.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(plain.status().message().find("encrypted and no key was given"), std::string::npos)
      << plain.status().ToString();
  EXPECT_EQ(testing::ReadFile(SegmentPath(dir.path(), 0, 0)), before);

  // The reverse: a plaintext log is not silently mixed with sealed batches.
  testing::TempDir other;
  { ASSERT_TRUE(Log::Open(other.path(), LogOptions{}).ok()); }
  auto sealed = Log::Open(other.path(), Encrypted(cipher));
  ASSERT_FALSE(sealed.ok());
  EXPECT_EQ(sealed.status().code(), StatusCode::kFailedPrecondition);
}

TEST(LogEncryptionTest, AWrongKeyFailsClosedAndTruncatesNothing) {
  testing::TempDir dir;
  security::Cipher cipher = NewCipher();
  security::Cipher wrong = NewCipher();
  std::vector<OwnedRecord> records = SecretRecords(20);
  {
    auto log = Log::Open(dir.path(), Encrypted(cipher));
    ASSERT_TRUE(log.ok());
    Append(**log, records);
  }
  const std::string before = testing::ReadFile(SegmentPath(dir.path(), 0, 0));
  auto bad = Log::Open(dir.path(), Encrypted(wrong));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(bad.status().message().find("decryption failed"), std::string::npos)
      << bad.status().ToString();
  EXPECT_NE(bad.status().message().find("nothing was truncated"), std::string::npos);
  EXPECT_EQ(testing::ReadFile(SegmentPath(dir.path(), 0, 0)), before) << "recovery cut data";

  auto good = Log::Open(dir.path(), Encrypted(cipher));
  ASSERT_TRUE(good.ok()) << good.status().ToString();
  auto all = ReadAll(**good, 0);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), records.size());
}

// Flips one payload byte of the first batch of `path`; with `fix_crc` recomputes the CRCs so
// that only the authentication tag can tell.
void Tamper(const std::string& path, bool fix_crc) {
  std::string bytes = testing::ReadFile(path);
  BatchHeader h;
  ASSERT_TRUE(DecodeHeader(bytes.data(), &h).ok());
  bytes[kBatchHeaderSize + h.payload_size / 2] ^= 0x40;
  if (fix_crc) {
    uint32_t crc = Crc32c(bytes.data() + kBatchHeaderSize, h.payload_size);
    std::memcpy(bytes.data() + 36, &crc, 4);
    uint32_t header_crc = Crc32c(bytes.data() + 4, kBatchHeaderSize - 4);
    std::memcpy(bytes.data(), &header_crc, 4);
  }
  testing::WriteFile(path, bytes);
}

TEST(LogEncryptionTest, ATamperedByteIsDataLossEvenWithItsChecksumsFixed) {
  for (bool fix_crc : {false, true}) {
    testing::TempDir dir;
    security::Cipher cipher = NewCipher();
    LogOptions o = Encrypted(cipher);
    o.segment_max_bytes = 2048;
    {
      auto log = Log::Open(dir.path(), o);
      ASSERT_TRUE(log.ok());
      for (int i = 0; i < 10; ++i) Append(**log, SecretRecords(10));
    }
    std::vector<std::string> segments = Segments(dir.path());
    ASSERT_GT(segments.size(), 1u);
    Tamper(segments.front(), fix_crc);  // a closed segment: opens, the read fails
    auto log = Log::Open(dir.path(), o);
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    auto all = ReadAll(**log, 0);
    ASSERT_FALSE(all.ok());
    EXPECT_EQ(all.status().code(), StatusCode::kDataLoss) << all.status().ToString();
    if (fix_crc) {
      EXPECT_NE(all.status().message().find("AES-256-GCM authentication failed"), std::string::npos)
          << all.status().ToString();
    }
  }
}

TEST(LogEncryptionTest, ASegmentMovedToAnotherLogDoesNotOpen) {
  testing::TempDir dir;
  security::Cipher cipher = NewCipher();  // the same key: only the AAD differs
  const std::string a = dir.Sub("a");
  const std::string b = dir.Sub("b");
  {
    auto log = Log::Open(a, Encrypted(cipher, Compression::kNone, "loom://d/p/a"));
    ASSERT_TRUE(log.ok());
    Append(**log, SecretRecords(5));
  }
  { ASSERT_TRUE(Log::Open(b, Encrypted(cipher, Compression::kNone, "loom://d/p/b")).ok()); }
  std::filesystem::copy_file(SegmentPath(a, 0, 0), SegmentPath(b, 0, 0),
                             std::filesystem::copy_options::overwrite_existing);
  auto moved = Log::Open(b, Encrypted(cipher, Compression::kNone, "loom://d/p/b"));
  ASSERT_FALSE(moved.ok());
  EXPECT_EQ(moved.status().code(), StatusCode::kDataLoss) << moved.status().ToString();
}

}  // namespace
}  // namespace loom::log
