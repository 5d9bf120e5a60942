#include "log/partition.h"

#include <algorithm>

namespace loom::log {

Partition::Partition(int32_t id, std::string dir, const LogOptions& options)
    : id_(id),
      dir_(std::move(dir)),
      options_(options),
      fs_(*options.fs),
      crypto_{options.cipher, options.encryption_context, id},
      builder_(options.index_interval_bytes) {}

Result<std::unique_ptr<Partition>> Partition::Open(int32_t id, std::string dir,
                                                   const LogOptions& options) {
  std::unique_ptr<Partition> p(new Partition(id, std::move(dir), options));
  Status st = p->Recover();
  if (!st.ok()) return st.WithPrefix("partition " + std::to_string(id));
  p->last_sync_ = std::chrono::steady_clock::now();
  p->next_retention_ = p->last_sync_ + options.retention_check_interval;
  p->retention_due_ = options.retention.kind != Retention::Kind::kForever;
  p->writer_ = std::thread([raw = p.get()] { raw->WriterLoop(); });
  return p;
}

Partition::~Partition() { (void)Close(); }

Status Partition::Recover() {
  LOOM_RETURN_IF_ERROR(fs_.CreateDirs(dir_));
  LOOM_ASSIGN_OR_RETURN(std::vector<std::string> names, fs_.ListDir(dir_));
  std::vector<int64_t> bases;
  std::vector<int64_t> indexes;
  for (const std::string& name : names) {
    int64_t base = 0;
    std::string ext;
    if (name.ends_with(".tmp")) {
      LOOM_RETURN_IF_ERROR(fs_.DeleteFile(JoinPath(dir_, name)));
    } else if (ParseSegmentFileName(name, &base, &ext)) {
      if (ext == ".log") bases.push_back(base);
      if (ext == ".index") indexes.push_back(base);
    }
  }
  for (int64_t base : indexes) {
    if (!std::binary_search(bases.begin(), bases.end(), base)) {
      LOOM_RETURN_IF_ERROR(fs_.DeleteFile(JoinPath(dir_, SegmentFileName(base, ".index"))));
    }
  }
  // A crash during a roll can leave empty segments after the one that was active.
  while (bases.size() > 1) {
    std::string path = JoinPath(dir_, SegmentFileName(bases.back(), ".log"));
    LOOM_ASSIGN_OR_RETURN(uint64_t size, fs_.FileSize(path));
    if (size != 0) break;
    LOOM_RETURN_IF_ERROR(fs_.DeleteFile(path));
    std::string index = JoinPath(dir_, SegmentFileName(bases.back(), ".index"));
    if (fs_.FileExists(index)) LOOM_RETURN_IF_ERROR(fs_.DeleteFile(index));
    bases.pop_back();
  }
  if (bases.empty()) {
    LOOM_ASSIGN_OR_RETURN(
        std::unique_ptr<WritableFile> f,
        fs_.NewWritableFile(JoinPath(dir_, SegmentFileName(0, ".log")), OpenMode::kTruncate));
    LOOM_RETURN_IF_ERROR(f->Close());
    LOOM_RETURN_IF_ERROR(fs_.SyncDir(dir_));
    bases.push_back(0);
  }
  for (size_t i = 0; i + 1 < bases.size(); ++i) {
    LOOM_ASSIGN_OR_RETURN(std::unique_ptr<Segment> s,
                          LoadClosedSegment(fs_, dir_, bases[i], bases[i + 1],
                                            options_.index_interval_bytes, crypto_));
    segments_.push_back(std::move(s));
  }
  LOOM_ASSIGN_OR_RETURN(
      std::unique_ptr<Segment> active,
      RecoverActiveSegment(fs_, dir_, bases.back(), options_.index_interval_bytes, crypto_));
  active->created_micros = options_.clock->NowMicros();
  segments_.push_back(std::move(active));
  const Segment& a = *segments_.back();
  builder_.Restore(a.entries.empty() ? 0 : a.entries.back().position, a.min_timestamp,
                   a.max_timestamp);
  end_offset_ = a.next_offset;
  return OpenActiveFiles();
}

Status Partition::OpenActiveFiles() {
  const Segment& a = *segments_.back();
  LOOM_ASSIGN_OR_RETURN(log_writer_, fs_.NewWritableFile(a.log_path, OpenMode::kAppend));
  Result<std::unique_ptr<WritableFile>> index =
      fs_.NewWritableFile(a.index_path, OpenMode::kAppend);
  index_writer_ = index.ok() ? std::move(*index) : nullptr;  // the index can be rebuilt
  if (index_writer_ != nullptr && index_writer_->Size() == 0) {
    std::string header = EncodeUnsealedHeader(a.base_offset);
    if (!index_writer_->Append(header).ok()) index_writer_ = nullptr;
  }
  return Status::Ok();
}

Offset Partition::StartOffset() const {
  std::lock_guard l(mu_);
  return Offset(segments_.front()->base_offset);
}

Offset Partition::EndOffset() const {
  std::lock_guard l(mu_);
  return Offset(end_offset_);
}

Status Partition::Health() const {
  std::lock_guard l(mu_);
  return failed_.ok() ? background_error_ : failed_;
}

Status Partition::WaitFor(Offset offset, std::chrono::milliseconds timeout) const {
  std::unique_lock l(mu_);
  bool ready = data_cv_.wait_for(l, timeout, [&] {
    return end_offset_ > offset.value || !failed_.ok() || closed_ || stopping_;
  });
  if (end_offset_ > offset.value) return Status::Ok();
  if (!failed_.ok()) return failed_;
  if (closed_ || stopping_) return Cancelled("partition " + std::to_string(id_) + " closed");
  (void)ready;
  return DeadlineExceeded("offset " + std::to_string(offset.value) + " of partition " +
                          std::to_string(id_) + " did not arrive within " +
                          std::to_string(timeout.count()) + " ms");
}

Result<SegmentCursor> Partition::Locate(Offset offset) const {
  std::lock_guard l(mu_);
  if (offset.value < segments_.front()->base_offset) {
    return FailedPrecondition("offset " + std::to_string(offset.value) + " of partition " +
                              std::to_string(id_) + " was deleted by retention; it starts at " +
                              std::to_string(segments_.front()->base_offset));
  }
  auto it = std::upper_bound(
      segments_.begin(), segments_.end(), offset.value,
      [](int64_t o, const std::shared_ptr<Segment>& s) { return o < s->base_offset; });
  const std::shared_ptr<Segment>& s = *(it - 1);
  SegmentCursor c{s, 0, s->base_offset, s->size, s->next_offset, it == segments_.end()};
  auto e = std::upper_bound(s->entries.begin(), s->entries.end(), offset.value,
                            [](int64_t o, const IndexEntry& x) { return o < x.offset; });
  if (e != s->entries.begin()) {
    c.position = (e - 1)->position;
    c.batch_offset = (e - 1)->offset;
  }
  return c;
}

std::vector<SegmentCursor> Partition::LocateTime(int64_t t0, int64_t t1, Offset from) const {
  std::lock_guard l(mu_);
  std::vector<SegmentCursor> out;
  for (size_t i = 0; i < segments_.size(); ++i) {
    const Segment& s = *segments_[i];
    if (s.next_offset <= from.value || s.size == 0) continue;
    if (s.max_timestamp < t0 || s.min_timestamp >= t1) continue;
    SegmentCursor c{
        segments_[i], 0, s.base_offset, s.size, s.next_offset, i + 1 == segments_.size()};
    // The last entry before which every record is older than t0.
    auto e = std::partition_point(s.entries.begin(), s.entries.end(),
                                  [&](const IndexEntry& x) { return x.max_before < t0; });
    if (e != s.entries.begin()) {
      c.position = (e - 1)->position;
      c.batch_offset = (e - 1)->offset;
    }
    out.push_back(std::move(c));
  }
  return out;
}

Status Partition::EnforceRetention() {
  std::lock_guard r(retention_mu_);
  std::vector<std::shared_ptr<Segment>> doomed;
  {
    std::lock_guard l(mu_);
    const Retention& ret = options_.retention;
    if (ret.kind == Retention::Kind::kTime) {
      int64_t cutoff = options_.clock->NowMicros() - ret.max_age.count();
      while (segments_.size() > 1 && segments_.front()->max_timestamp < cutoff) {
        doomed.push_back(segments_.front());
        segments_.erase(segments_.begin());
      }
    } else if (ret.kind == Retention::Kind::kSize) {
      uint64_t total = 0;
      for (const auto& s : segments_) total += s->size;
      while (segments_.size() > 1 && total > ret.max_bytes) {
        total -= segments_.front()->size;
        doomed.push_back(segments_.front());
        segments_.erase(segments_.begin());
      }
    }
  }
  // The log file first: an index without its log is deleted at open.
  for (const auto& s : doomed) {
    Status st = fs_.DeleteFile(s->log_path);
    if (st.ok() || st.code() == StatusCode::kNotFound) st = fs_.DeleteFile(s->index_path);
    if (!st.ok() && st.code() != StatusCode::kNotFound) {
      std::lock_guard l(mu_);
      background_error_ = st.WithPrefix("retention of partition " + std::to_string(id_));
      return background_error_;
    }
  }
  return Status::Ok();
}

}  // namespace loom::log
