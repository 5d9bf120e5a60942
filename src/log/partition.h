#pragma once

// One partition of a log: its segments, its writer thread (group commit), retention, and what
// readers need to find batches. Format and recovery: docs/internals/log-format.md.

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/file_system.h"
#include "core/status.h"
#include "log/batch.h"
#include "log/log.h"
#include "log/segment.h"

namespace loom::log {

// Where a reader starts: scan batches of `segment` from byte `position` (a batch boundary whose
// batch starts at `batch_offset`) up to byte `limit`.
struct SegmentCursor {
  std::shared_ptr<Segment> segment;  // shared with the partition: kept alive while read
  uint64_t position = 0;
  int64_t batch_offset = 0;
  uint64_t limit = 0;
  int64_t next_offset = 0;  // one past the segment's last readable record
  bool last = false;        // the active segment
};

// Thread-safe. Owns a dedicated writer thread (started by Open, joined by Close/destructor).
// Guarded by mu_: segments_ and every mutable Segment field, queue_, end_offset_, failed_,
// background_error_, stopping_, closed_. Fields named writer-only are touched by the writer
// thread alone (and by Open/Close while it does not run).
class Partition {
 public:
  static Result<std::unique_ptr<Partition>> Open(int32_t id, std::string dir,
                                                 const LogOptions& options);
  ~Partition();
  Partition(const Partition&) = delete;
  Partition& operator=(const Partition&) = delete;

  // Queues encoded batches; `done` runs on the writer thread once they are acknowledged or
  // failed (at once if the partition is closed or failed).
  void Enqueue(std::vector<EncodedBatch> batches, AppendCallback done);

  Offset StartOffset() const;
  Offset EndOffset() const;
  Status Health() const;
  Status WaitFor(Offset offset, std::chrono::milliseconds timeout) const;
  Status EnforceRetention();
  Status Close();

  // The segment holding `offset` (which must be within [start, end]) and where to scan from.
  Result<SegmentCursor> Locate(Offset offset) const;
  // Snapshots of the segments whose timestamp bounds may meet [t0, t1) and that hold offsets at
  // or past `from`, in order, each with the position to scan from for t0.
  std::vector<SegmentCursor> LocateTime(int64_t t0, int64_t t1, Offset from) const;

  int32_t id() const { return id_; }
  const BatchCrypto& crypto() const { return crypto_; }

 private:
  struct Request {
    std::vector<EncodedBatch> batches;
    AppendCallback done;
    size_t bytes = 0;
  };

  Partition(int32_t id, std::string dir, const LogOptions& options);
  Status Recover();
  void WriterLoop();
  void Commit(std::vector<Request>& group);
  Status MaybeRoll(size_t group_bytes);
  Status Roll();
  Status OpenActiveFiles();
  void Fail(Status st);
  Status SyncActive();

  const int32_t id_;
  const std::string dir_;
  const LogOptions options_;
  FileSystem& fs_;
  const BatchCrypto crypto_;

  mutable std::mutex mu_;
  std::condition_variable queue_cv_;                // writer waits for requests
  mutable std::condition_variable data_cv_;         // long polls wait for new data
  std::vector<std::shared_ptr<Segment>> segments_;  // guarded by mu_; never empty
  std::deque<Request> queue_;                       // guarded by mu_
  int64_t end_offset_ = 0;                          // guarded by mu_
  Status failed_;                                   // guarded by mu_
  Status background_error_;                         // guarded by mu_
  bool stopping_ = false;                           // guarded by mu_
  bool closed_ = false;                             // guarded by mu_

  std::mutex retention_mu_;  // one retention pass at a time

  // Writer-only.
  std::unique_ptr<WritableFile> log_writer_;
  std::unique_ptr<WritableFile> index_writer_;  // null after an index write error
  IndexBuilder builder_;
  bool dirty_ = false;  // written bytes not yet synced
  std::chrono::steady_clock::time_point last_sync_;
  std::chrono::steady_clock::time_point next_retention_;
  bool retention_due_ = false;
  std::string buffer_;
  std::string index_buffer_;

  std::thread writer_;
};

}  // namespace loom::log
