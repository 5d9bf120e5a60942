// The write path of a partition: one writer thread, group commit, segment roll.

#include <algorithm>
#include <cstring>

#include "log/partition.h"

namespace loom::log {
namespace {

constexpr size_t kMaxGroupBytes = 8u << 20;
constexpr uint64_t kMaxSegmentBytes = 1ull << 30;  // positions in the index are 32-bit

}  // namespace

void Partition::Enqueue(std::vector<EncodedBatch> batches, AppendCallback done) {
  Request r;
  for (const EncodedBatch& b : batches) r.bytes += b.bytes.size();
  r.batches = std::move(batches);
  r.done = std::move(done);
  Status refused;
  {
    std::lock_guard l(mu_);
    if (stopping_ || closed_) {
      refused = FailedPrecondition("partition " + std::to_string(id_) + " is closed");
    } else if (!failed_.ok()) {
      refused = failed_;
    } else {
      queue_.push_back(std::move(r));
    }
  }
  if (!refused.ok()) {
    r.done(refused);
    return;
  }
  queue_cv_.notify_one();
}

void Partition::WriterLoop() {
  std::vector<Request> group;
  while (true) {
    {
      std::unique_lock l(mu_);
      auto deadline = next_retention_;
      if (dirty_ && options_.fsync == FsyncPolicy::kInterval) {
        deadline = std::min(deadline, last_sync_ + options_.fsync_interval);
      }
      queue_cv_.wait_until(l, deadline, [&] { return !queue_.empty() || stopping_; });
      if (queue_.empty() && stopping_) break;
      size_t bytes = 0;
      while (!queue_.empty() && (group.empty() || bytes + queue_.front().bytes <= kMaxGroupBytes)) {
        bytes += queue_.front().bytes;
        group.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    if (!group.empty()) Commit(group);
    group.clear();
    auto now = std::chrono::steady_clock::now();
    if (dirty_ && options_.fsync == FsyncPolicy::kInterval &&
        now >= last_sync_ + options_.fsync_interval) {
      Status st = SyncActive();
      if (!st.ok()) Fail(st);
    }
    if (options_.retention.kind != Retention::Kind::kForever &&
        (retention_due_ || now >= next_retention_)) {
      (void)EnforceRetention();  // a failure is kept in background_error_
      retention_due_ = false;
      next_retention_ = now + options_.retention_check_interval;
    } else if (now >= next_retention_) {
      next_retention_ = now + options_.retention_check_interval;
    }
  }
}

Status Partition::SyncActive() {
  Status st = log_writer_->Sync();
  if (st.ok()) {
    dirty_ = false;
    last_sync_ = std::chrono::steady_clock::now();
  }
  return st;
}

void Partition::Fail(Status st) {
  {
    std::lock_guard l(mu_);
    if (failed_.ok()) {
      failed_ = st.WithPrefix("partition " + std::to_string(id_) +
                              " stopped accepting writes after a failed write or sync");
    }
  }
  data_cv_.notify_all();
}

void Partition::Commit(std::vector<Request>& group) {
  Status st;
  {
    std::lock_guard l(mu_);
    st = failed_;
  }
  size_t group_bytes = 0;
  for (const Request& r : group) group_bytes += r.bytes;
  if (st.ok()) st = MaybeRoll(group_bytes);

  Segment& active = *segments_.back();  // only this thread changes the list's tail
  std::vector<AppendResult> results;
  std::vector<IndexEntry> new_entries;
  uint64_t position = active.size;
  int64_t next = active.next_offset;
  int64_t min_ts = active.min_timestamp;
  int64_t max_ts = active.max_timestamp;
  if (st.ok()) {
    // A group of one batch is written from the batch's own bytes; more are gathered first.
    size_t batch_count = 0;
    for (const Request& r : group) batch_count += r.batches.size();
    std::string* single = nullptr;
    buffer_.clear();
    if (batch_count > 1) buffer_.reserve(group_bytes);
    for (Request& r : group) {
      AppendResult res{Offset(next), 0};
      for (EncodedBatch& b : r.batches) {
        if (crypto_.cipher != nullptr) {
          st = SealBatch(crypto_, active.base_offset, next, &b);
          if (!st.ok()) break;
        }
        StampBaseOffset(b.bytes.data(), next);
        IndexEntry e;
        if (builder_.OnBatch(position, next, b.min_timestamp, b.max_timestamp, &e)) {
          new_entries.push_back(e);
        }
        min_ts = std::min(min_ts, b.min_timestamp);
        max_ts = std::max(max_ts, b.max_timestamp);
        position += b.bytes.size();
        if (batch_count == 1) {
          single = &b.bytes;
        } else {
          buffer_.append(b.bytes);
          RecycleBatchBytes(std::move(b.bytes));
        }
        next += b.count;
        res.count += b.count;
      }
      results.push_back(res);
      if (!st.ok()) break;
    }
    if (st.ok()) {
      // One write and (fsync always) one fdatasync for the whole group.
      st = single != nullptr ? log_writer_->Append(*single) : log_writer_->Append(buffer_);
      if (st.ok()) {
        dirty_ = true;
        if (options_.fsync == FsyncPolicy::kAlways) st = SyncActive();
      }
    }
    if (single != nullptr) RecycleBatchBytes(std::move(*single));
    if (!st.ok()) Fail(st);  // a batch that could not be sealed stops the partition too
  }
  if (st.ok()) {
    {
      std::lock_guard l(mu_);
      active.size = position;
      active.next_offset = next;
      active.min_timestamp = min_ts;
      active.max_timestamp = max_ts;
      active.entries.insert(active.entries.end(), new_entries.begin(), new_entries.end());
      end_offset_ = next;
    }
    data_cv_.notify_all();
    if (index_writer_ != nullptr && !new_entries.empty()) {
      index_buffer_.clear();
      for (const IndexEntry& e : new_entries)
        AppendIndexEntry(active.base_offset, e, &index_buffer_);
      // Not synced and not fatal: recovery checks and rebuilds the index.
      if (!index_writer_->Append(index_buffer_).ok()) index_writer_ = nullptr;
    }
    for (size_t i = 0; i < group.size(); ++i) group[i].done(results[i]);
  } else {
    {
      std::lock_guard l(mu_);
      st = failed_.ok() ? st : failed_;
    }
    for (Request& r : group) r.done(st);
  }
}

Status Partition::MaybeRoll(size_t group_bytes) {
  const Segment& a = *segments_.back();
  if (a.size == 0) return Status::Ok();
  uint64_t max_bytes = std::min(options_.segment_max_bytes, kMaxSegmentBytes);
  bool by_size = a.size >= max_bytes || a.size + group_bytes > kMaxSegmentBytes + (64u << 20);
  bool by_age = options_.segment_max_age.count() > 0 &&
                options_.clock->NowMicros() - a.created_micros >= options_.segment_max_age.count();
  if (!by_size && !by_age) return Status::Ok();
  Status st = Roll();
  if (!st.ok()) Fail(st);
  return st;
}

Status Partition::Roll() {
  Segment& old = *segments_.back();
  // Every byte of a closed segment is synced, whatever the policy.
  if (dirty_) LOOM_RETURN_IF_ERROR(SyncActive());
  LOOM_RETURN_IF_ERROR(log_writer_->Close());
  if (index_writer_ != nullptr) (void)index_writer_->Close();
  index_writer_ = nullptr;
  {
    Status seal = SealSegmentIndex(fs_, old);  // not fatal: rebuilt at open when missing
    if (!seal.ok()) {
      std::lock_guard l(mu_);
      background_error_ = seal.WithPrefix("sealing the index of " + old.log_path);
    }
  }
  auto s = std::make_shared<Segment>();
  s->base_offset = old.next_offset;
  s->next_offset = old.next_offset;
  s->log_path = JoinPath(dir_, SegmentFileName(s->base_offset, ".log"));
  s->index_path = JoinPath(dir_, SegmentFileName(s->base_offset, ".index"));
  s->created_micros = options_.clock->NowMicros();
  LOOM_ASSIGN_OR_RETURN(log_writer_, fs_.NewWritableFile(s->log_path, OpenMode::kTruncate));
  // The new file is durable only once its directory entry is.
  LOOM_RETURN_IF_ERROR(fs_.SyncDir(dir_));
  LOOM_ASSIGN_OR_RETURN(s->file, fs_.NewRandomAccessFile(s->log_path));
  Result<std::unique_ptr<WritableFile>> index =
      fs_.NewWritableFile(s->index_path, OpenMode::kTruncate);
  if (index.ok() && (*index)->Append(EncodeUnsealedHeader(s->base_offset)).ok()) {
    index_writer_ = std::move(*index);
  }
  builder_ = IndexBuilder(options_.index_interval_bytes);
  {
    std::lock_guard l(mu_);
    segments_.push_back(std::move(s));
  }
  retention_due_ = true;
  return Status::Ok();
}

Status Partition::Close() {
  {
    std::lock_guard l(mu_);
    if (closed_) return failed_;
    stopping_ = true;
  }
  queue_cv_.notify_all();
  data_cv_.notify_all();
  if (writer_.joinable()) writer_.join();
  Status st;
  {
    std::lock_guard l(mu_);
    st = failed_;
  }
  if (st.ok() && dirty_ && log_writer_ != nullptr) st = SyncActive();
  if (log_writer_ != nullptr) {
    Status c = log_writer_->Close();
    if (st.ok()) st = c;
  }
  if (index_writer_ != nullptr) (void)index_writer_->Close();
  {
    std::lock_guard l(mu_);
    if (failed_.ok() && !st.ok()) failed_ = st;
    closed_ = true;
    st = failed_;
  }
  data_cv_.notify_all();
  return st;
}

}  // namespace loom::log
