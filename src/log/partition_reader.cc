#include "log/partition_reader.h"

#include <algorithm>

namespace loom::log {

PartitionReader::PartitionReader(const Partition* partition, Offset from, Offset end,
                                 std::optional<TimeFilter> filter)
    : partition_(partition), next_(from.value), end_(end.value), filter_(filter) {}

Status PartitionReader::Prefix(Status st) const {
  return st.WithPrefix("partition " + std::to_string(partition_->id()) + ", reading offset " +
                       std::to_string(next_));
}

Result<bool> PartitionReader::Next(RecordView* out) {
  while (true) {
    while (index_ < records_.size()) {
      const RecordView& r = records_[index_++];
      if (r.offset.value >= end_) {
        next_ = end_;
        return false;
      }
      next_ = r.offset.value + 1;
      if (filter_ && (r.timestamp < filter_->t0 || r.timestamp >= filter_->t1)) continue;
      *out = r;
      return true;
    }
    if (next_ >= end_) return false;
    LOOM_RETURN_IF_ERROR(LoadBatch());
  }
}

Status PartitionReader::Relocate() {
  LOOM_ASSIGN_OR_RETURN(SegmentCursor at, partition_->Locate(Offset(next_)));
  if (filter_) {
    std::vector<SegmentCursor> candidates =
        partition_->LocateTime(filter_->t0, filter_->t1, Offset(next_));
    if (candidates.empty()) {
      next_ = end_;  // nothing left in the range
      return Status::Ok();
    }
    SegmentCursor& c = candidates.front();
    // A later segment, or a later position in this one, before which every record is outside
    // the range: skip to it. (Positions and offsets grow together.)
    if (c.segment != at.segment || c.position > at.position) {
      next_ = std::max(next_, c.batch_offset);
      at = std::move(c);
    }
  }
  // Reuse the stream when it is already further along in the same segment.
  if (stream_ != nullptr && at.segment == cursor_.segment && stream_->position() > at.position &&
      expected_ <= next_) {
    uint64_t position = stream_->position();
    cursor_ = std::move(at);
    stream_ = std::make_unique<BatchStream>(cursor_.segment->file.get(), position, cursor_.limit);
    return Status::Ok();
  }
  cursor_ = std::move(at);
  stream_ =
      std::make_unique<BatchStream>(cursor_.segment->file.get(), cursor_.position, cursor_.limit);
  expected_ = cursor_.batch_offset;
  return Status::Ok();
}

Status PartitionReader::LoadBatch() {
  records_.clear();
  index_ = 0;
  if (stream_ == nullptr) LOOM_RETURN_IF_ERROR(Prefix(Relocate()));
  uint64_t stalled_at = UINT64_MAX;
  while (next_ < end_) {
    BatchHeader h;
    std::string_view payload;
    Result<bool> more = stream_->Next(&h, &payload);
    if (!more.ok()) return Prefix(more.status());
    if (!*more) {
      if (!cursor_.last) {
        if (expected_ != cursor_.next_offset) {
          return Prefix(DataLoss(cursor_.segment->log_path + " ends at offset " +
                                 std::to_string(expected_) + " but the next segment starts at " +
                                 std::to_string(cursor_.next_offset)));
        }
        stream_ = nullptr;
      } else if (stream_->position() == stalled_at) {
        return Prefix(Internal("the active segment has no data below the end offset"));
      } else {
        stalled_at = stream_->position();  // the active segment grew or rolled: look again
      }
      LOOM_RETURN_IF_ERROR(Prefix(Relocate()));
      continue;
    }
    if (h.base_offset != expected_) {
      return Prefix(DataLoss(cursor_.segment->log_path + ": byte " +
                             std::to_string(stream_->position() - h.batch_length) +
                             ": batch has offset " + std::to_string(h.base_offset) + ", expected " +
                             std::to_string(expected_)));
    }
    expected_ += h.record_count;
    if (expected_ <= next_) continue;  // wholly before the wanted offset
    if (filter_) {
      if (filter_->max_lateness_micros &&
          h.min_timestamp >= filter_->t1 + *filter_->max_lateness_micros) {
        end_ = std::min(end_, std::max(next_, h.base_offset));
        return Status::Ok();
      }
      if (h.max_timestamp < filter_->t0 || h.min_timestamp >= filter_->t1) {
        next_ = std::min(expected_, end_);  // headers only: no payload decoded
        continue;
      }
    }
    Status st = DecodeRecords(h, payload, partition_->crypto(), cursor_.segment->base_offset,
                              &scratch_, &records_);
    if (!st.ok()) {
      return Prefix(st.WithPrefix(cursor_.segment->log_path + ": byte " +
                                  std::to_string(stream_->position() - h.batch_length)));
    }
    index_ = static_cast<size_t>(std::max<int64_t>(0, next_ - h.base_offset));
    return Status::Ok();
  }
  return Status::Ok();
}

}  // namespace loom::log
