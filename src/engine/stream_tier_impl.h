#pragma once

// engine/-internal: the pieces of StreamTier (stream_tier.cc, stream_tier_manifest.cc,
// stream_tier_convert.cc). The on-disk format is docs/internals/engine.md ("Stream ports").

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/file_system.h"
#include "engine/engine.h"

namespace loom::engine {

inline constexpr std::string_view kTierManifestName = "MANIFEST";
inline constexpr std::string_view kTierLockName = "LOCK";
inline constexpr int kTierFormatVersion = 1;

// One published tier file (name relative to the tier directory).
struct TierEntry {
  std::string name;
  int32_t partition = 0;
  int64_t first = 0;
  int64_t end = 0;
  int64_t bytes = 0;
};

// A file no longer listed for readers, kept until `since` + grace.
struct ObsoleteEntry {
  std::string name;
  int64_t since = 0;  // µs since the epoch
};

struct TierManifest {
  int64_t generation = 0;        // +1 per published manifest; part of every new file's name
  int32_t partitions = 0;        // 0 until the first Sync
  std::string schema;            // SchemaSignature of the files; "" until the first file
  std::vector<int64_t> ends;     // per partition: one past the last tiered offset
  std::vector<TierEntry> files;  // sorted by partition, then first offset
  std::vector<ObsoleteEntry> obsolete;
  bool encrypted = false;  // files sealed whole with the port's cipher
};

std::string ManifestToJson(const TierManifest& m);
// kDataLoss naming `path` when the text is not a valid manifest.
Result<TierManifest> ParseManifest(std::string_view text, const std::string& path);
// "p00003-00000000000000001000-00000000000000002000-g000000000007.parquet"
std::string TierFileName(int32_t partition, int64_t first, int64_t end, int64_t generation);
// The column names and types, one "name type" per line: equal signatures, same Parquet layout.
std::string SchemaSignature(const std::vector<RelationColumn>& columns);

// An exclusive flock(2) on a file, held while the object lives; waits for other holders.
class TierLock {
 public:
  static Result<std::unique_ptr<TierLock>> Acquire(const std::string& path);
  ~TierLock();
  TierLock(const TierLock&) = delete;
  TierLock& operator=(const TierLock&) = delete;

 private:
  explicit TierLock(int fd) : fd_(fd) {}
  int fd_;
};

// How tier files are sealed: null cipher = plaintext files.
struct TierCrypto {
  const BlockCipher* cipher = nullptr;
  std::string context;
  // The AAD of the tier file at `path` (its name within the tier).
  std::string Aad(const std::string& path) const;
};

// Converts the records [first, end) of one partition into the Parquet file `out`: writes them
// as NDJSON to `staging` through `fs`, then COPYs them to `out` with `con`, fsyncs `out` and
// removes `staging`. Returns the bytes of `out`. With a cipher, staging data and Parquet are in
// memory only and `out` gets the sealed bytes.
Result<int64_t> ConvertRange(Connection& con, FileSystem& fs, const log::Log& log,
                             int32_t partition, int64_t first, int64_t end,
                             const std::vector<RelationColumn>& data_columns,
                             const std::string& staging, const std::string& out,
                             const TierCrypto& crypto);

// StreamColumns begins with the CloudEvents envelope: ce_id ... ce_offset.
constexpr size_t kStreamEnvelopeColumns = 6;

// The SELECT that yields the stream columns of one partition from its staging lines at `staging`.
std::string SelectFromStaging(int32_t partition, const std::vector<RelationColumn>& data_columns,
                              const std::string& staging);

// Concatenates Parquet files (in order) into `out`, fsynced; returns its bytes. `rows` is the
// expected row count (kDataLoss if different).
Result<int64_t> MergeFiles(Connection& con, FileSystem& fs, const std::vector<std::string>& in,
                           int64_t rows, const std::string& out, const TierCrypto& crypto);

struct StreamTier::Impl {
  std::string dir;  // absolute
  StreamTierOptions options;
  std::unique_ptr<Database> own_db;  // when options.database is null
  Database* db = nullptr;
  std::mutex sync_mu;  // held for a whole Sync
  mutable std::mutex mu;
  TierManifest manifest;  // the last published one this object saw; guarded by mu
  TierCrypto crypto;

  std::string Path(std::string_view name) const { return JoinPath(dir, name); }
  // kFailedPrecondition when the tier's files are sealed and there is no cipher, or the reverse.
  Status CheckEncryption(const TierManifest& m) const;
  // With the lock held: reads the manifest (or an empty one) and deletes unlisted files.
  Result<TierManifest> LoadAndClean();
  Result<StreamSyncStats> SyncLocked(const log::Log& log,
                                     const std::vector<RelationColumn>& columns);
  // Merges runs of small files of partition `p` in `m` when it has too many.
  Status Compact(Connection& con, TierManifest& m, int32_t p, StreamSyncStats& stats);
};

}  // namespace loom::engine
