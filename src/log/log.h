#pragma once

// The public header of log/: Loom's event-log storage engine behind stream ports. It stores
// bytes at offsets and knows nothing of schemas. The byte format (batches, segments, indexes,
// naming, recovery rules) is docs/internals/log-format.md.

#include <chrono>
#include <compare>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/block_cipher.h"
#include "core/clock.h"
#include "core/file_system.h"
#include "core/status.h"

namespace loom::log {

// The position of a record in a partition: 0, 1, 2, ... consecutive, never reused.
struct Offset {
  int64_t value = 0;
  constexpr Offset() = default;
  constexpr explicit Offset(int64_t v) : value(v) {}
  constexpr auto operator<=>(const Offset&) const = default;
  constexpr Offset operator+(int64_t n) const { return Offset(value + n); }
  constexpr int64_t operator-(Offset o) const { return value - o.value; }
};

// A record to append. The views must stay valid only for the duration of the Append call.
struct Record {
  TimestampMicros timestamp = 0;  // event time, µs since the epoch
  std::string_view key;           // used by callers to pick a partition; may be empty
  std::string_view value;
};

// A record read back. The views point into the reader's buffers and stay valid until the next
// call on the same reader (or the return of the visitor they were passed to).
struct RecordView {
  Offset offset;
  TimestampMicros timestamp = 0;
  std::string_view key;
  std::string_view value;
};

// When an append is acknowledged.
enum class FsyncPolicy : uint8_t {
  kAlways,    // after the write and an fdatasync covering it (group commit); the default
  kInterval,  // after the write; fdatasync every fsync_interval
  kNever,     // after the write; the OS syncs (and Close does)
};

enum class Compression : uint8_t { kNone, kZstd };

// Whole closed segments are deleted; the active segment never is.
struct Retention {
  enum class Kind : uint8_t { kForever, kTime, kSize };
  Kind kind = Kind::kForever;
  // kTime: delete a closed segment whose newest record timestamp is older than now - max_age.
  std::chrono::microseconds max_age{0};
  // kSize: delete the oldest closed segments while a partition holds more than max_bytes.
  uint64_t max_bytes = 0;
};

struct LogOptions {
  FileSystem* fs = FileSystem::Default();  // not owned; must outlive the Log
  Clock* clock = Clock::Real();            // not owned; used for segment age and retention
  // Fixed when the log is created; Open of an existing log with another count fails.
  int32_t partitions = 1;
  FsyncPolicy fsync = FsyncPolicy::kAlways;
  std::chrono::milliseconds fsync_interval{100};  // kInterval only
  Compression compression = Compression::kNone;
  int zstd_level = 1;
  uint64_t segment_max_bytes = 128ull << 20;     // capped at 1 GiB
  std::chrono::microseconds segment_max_age{0};  // 0: no roll by time
  uint32_t index_interval_bytes = 4096;
  Retention retention;
  // How often the writer threads apply retention on their own (EnforceRetention does it now).
  std::chrono::milliseconds retention_check_interval{60000};
  // Encryption at rest (docs/internals/log-format.md, "Encryption"): when set, every batch
  // payload is sealed with it on the writer thread and opened by readers and recovery. Not
  // owned; must outlive the Log. Fixed when the log is created, like `partitions`: opening an
  // encrypted log without a cipher, or a plaintext one with a cipher, is kFailedPrecondition.
  const BlockCipher* cipher = nullptr;
  // Bound into every batch's AAD (e.g. the port's address), so that a segment copied into
  // another log does not open there. Must be the same at every open.
  std::string encryption_context = {};
};

// The offsets an append was given: [first, first + count).
struct AppendResult {
  Offset first;
  int64_t count = 0;
};

struct ReadOptions {
  size_t max_records = std::numeric_limits<size_t>::max();
  // Stop once this many key + value bytes were handed out (at least one record is).
  size_t max_bytes = std::numeric_limits<size_t>::max();
  // Read up to this offset (exclusive); default: the end offset when the read starts (the
  // end-of-stream marker for batch readers).
  std::optional<Offset> end;
  // ReadTimeRange only: the caller promises no record arrives later than this after a record
  // with a timestamp ≥ t1, so the read may stop at the first batch older-bounded past t1 + this.
  std::optional<int64_t> max_lateness_micros;
};

struct ReadResult {
  Offset next;                 // the offset to continue from
  bool end_of_stream = false;  // `next` reached the end offset of the read
  size_t records = 0;
  size_t bytes = 0;
};

struct MergedReadResult {
  std::vector<Offset> next;  // per partition
  bool end_of_stream = false;
  size_t records = 0;
};

// Return false to stop the read after this record.
using RecordVisitor = std::function<bool(const RecordView&)>;
using MergedRecordVisitor = std::function<bool(int32_t partition, const RecordView&)>;
// Runs on the partition's writer thread: must be quick and must not call a blocking Append.
using AppendCallback = std::function<void(Result<AppendResult>)>;

// A cursor over one partition, from an offset up to a fixed end offset. Reads whole batches
// with large preads into its own buffer; no allocation per record. Not thread-safe; must not
// outlive its Log.
class Reader {
 public:
  virtual ~Reader() = default;
  // Sets *out to the next record and returns true, or returns false at the end offset.
  // kDataLoss when a batch is corrupt (never served); kFailedPrecondition when the offset was
  // deleted by retention meanwhile.
  virtual Result<bool> Next(RecordView* out) = 0;
  // The offset the next call returns.
  virtual Offset position() const = 0;
  virtual Offset end() const = 0;
};

// An append-only partitioned log in one directory (one port). One writer thread per partition
// (a dedicated std::thread each, for now) merges concurrent appends into one write and one
// fdatasync. Thread-safe: every method may be called from any thread, concurrently.
// Errors of every method: kInvalidArgument for a bad partition or offset, kFailedPrecondition
// after Close, and the partition's kept failure (below).
// A failed write or sync is never retried: the partition keeps that error, and every queued
// and later append returns it; reads of acknowledged data keep working.
class Log {
 public:
  virtual ~Log() = default;

  // Opens (or creates) the log in `dir`, recovering every partition (recovery rules in the
  // format doc). kInvalidArgument for bad options or a partition count that differs from the
  // one on disk; kDataLoss for an unreadable LOG file; I/O errors of the file system.
  static Result<std::unique_ptr<Log>> Open(const std::string& dir, const LogOptions& options);

  virtual int32_t partitions() const = 0;

  // Appends records as one batch (or several, past 32 MiB) with consecutive offsets and waits
  // until they are acknowledged under the fsync policy. kInvalidArgument for an empty span or a
  // record larger than 32 MiB.
  virtual Result<AppendResult> Append(int32_t partition, std::span<const Record> records) = 0;
  // The same without waiting: the records are copied before it returns and `done` runs once on
  // the writer thread (or at once, on a validation error).
  virtual void AppendAsync(int32_t partition, std::span<const Record> records,
                           AppendCallback done) = 0;

  // The first offset still stored, and one past the last acknowledged offset.
  virtual Result<Offset> StartOffset(int32_t partition) const = 0;
  virtual Result<Offset> EndOffset(int32_t partition) const = 0;

  // A cursor from `from` to `end` (default: the end offset now). kFailedPrecondition when
  // `from` is below the start offset, kInvalidArgument when it is past the end.
  virtual Result<std::unique_ptr<Reader>> NewReader(int32_t partition, Offset from,
                                                    std::optional<Offset> end = {}) const = 0;
  // Visits records from `from` within the limits.
  virtual Result<ReadResult> Read(int32_t partition, Offset from, const ReadOptions& options,
                                  const RecordVisitor& visit) const = 0;
  // The first offset whose timestamp is ≥ t (the end offset if none), via the time index.
  virtual Result<Offset> OffsetForTimestamp(int32_t partition, TimestampMicros t) const = 0;
  // Visits, in offset order, the records with t0 ≤ timestamp < t1, skipping segments and
  // batches whose timestamp bounds do not meet the range.
  virtual Result<ReadResult> ReadTimeRange(int32_t partition, TimestampMicros t0,
                                           TimestampMicros t1, const ReadOptions& options,
                                           const RecordVisitor& visit) const = 0;
  // Visits all partitions merged by timestamp (ties: lower partition first), each from its
  // offset in `from` (one per partition) to its end offset at the start of the read.
  virtual Result<MergedReadResult> ReadMerged(std::span<const Offset> from,
                                              const ReadOptions& options,
                                              const MergedRecordVisitor& visit) const = 0;

  // Long poll: OK once `offset` is readable; kDeadlineExceeded after `timeout`; kCancelled when
  // the log closes meanwhile; the partition's failure if it has one.
  virtual Status WaitFor(int32_t partition, Offset offset,
                         std::chrono::milliseconds timeout) const = 0;

  // Deletes closed segments past the retention policy now (writers also do it on their own).
  virtual Status EnforceRetention() = 0;
  // OK, or the failure the partition keeps (a failed write or sync; a background error).
  virtual Status PartitionHealth(int32_t partition) const = 0;

  // Acknowledges what is queued, syncs, stops the writer threads. Later appends fail with
  // kFailedPrecondition. Returns the first failure of any partition. Idempotent.
  virtual Status Close() = 0;
};

}  // namespace loom::log
