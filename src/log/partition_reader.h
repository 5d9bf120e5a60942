#pragma once

// The Reader of one partition: scans batches segment by segment.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "log/log.h"
#include "log/partition.h"

namespace loom::log {

// Records with t0 <= timestamp < t1; batches and segments outside are skipped by their bounds.
struct TimeFilter {
  int64_t t0 = 0;
  int64_t t1 = 0;
  std::optional<int64_t> max_lateness_micros;
};

// Not thread-safe. `partition` must outlive it.
class PartitionReader final : public Reader {
 public:
  PartitionReader(const Partition* partition, Offset from, Offset end,
                  std::optional<TimeFilter> filter = {});
  Result<bool> Next(RecordView* out) override;
  Offset position() const override { return Offset(next_); }
  Offset end() const override { return Offset(end_); }

 private:
  // Loads the next batch holding offsets >= next_ into records_; sets next_ = end_ when none.
  Status LoadBatch();
  // Positions the stream at the segment holding next_ (or, with a filter, the next segment
  // meeting the time range).
  Status Relocate();
  Status Prefix(Status st) const;

  const Partition* partition_;
  int64_t next_;
  int64_t end_;
  std::optional<TimeFilter> filter_;
  SegmentCursor cursor_;
  std::unique_ptr<BatchStream> stream_;
  int64_t expected_ = 0;  // base offset the next batch of the stream must have
  std::vector<RecordView> records_;
  size_t index_ = 0;
  std::string scratch_;
};

}  // namespace loom::log
