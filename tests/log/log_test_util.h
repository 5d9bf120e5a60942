#pragma once

// Helpers shared by the log tests.

#include <atomic>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/clock.h"
#include "log/log.h"

namespace loom::log {

// A clock the test moves by hand. Thread-safe.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(TimestampMicros now = 1'700'000'000'000'000) : now_(now) {}
  TimestampMicros NowMicros() const override { return now_.load(); }
  void Advance(int64_t micros) { now_ += micros; }

 private:
  std::atomic<TimestampMicros> now_;
};

inline LogOptions WithPartitions(int32_t n) {
  LogOptions o;
  o.partitions = n;
  return o;
}

inline ReadOptions MaxRecords(size_t n) {
  ReadOptions o;
  o.max_records = n;
  return o;
}

inline ReadOptions Lateness(int64_t micros) {
  ReadOptions o;
  o.max_lateness_micros = micros;
  return o;
}

// Records that own their bytes, for building appends.
struct OwnedRecord {
  TimestampMicros timestamp = 0;
  std::string key;
  std::string value;
};

inline std::vector<Record> Views(const std::vector<OwnedRecord>& owned) {
  std::vector<Record> out;
  for (const OwnedRecord& r : owned) out.push_back(Record{r.timestamp, r.key, r.value});
  return out;
}

// n records with values "<prefix>-<i>" and timestamps t0 + i*step.
inline std::vector<OwnedRecord> MakeRecords(int n, const std::string& prefix, TimestampMicros t0,
                                            int64_t step = 1) {
  std::vector<OwnedRecord> out;
  for (int i = 0; i < n; ++i) {
    out.push_back({t0 + i * step, "k" + std::to_string(i % 7),
                   prefix + "-" + std::to_string(i) + std::string(40, 'x')});
  }
  return out;
}

// Reads a whole partition: the records or the error.
inline Result<std::vector<OwnedRecord>> ReadAll(const Log& log, int32_t p,
                                                std::vector<int64_t>* offsets = nullptr) {
  std::vector<OwnedRecord> out;
  LOOM_ASSIGN_OR_RETURN(Offset start, log.StartOffset(p));
  auto r = log.Read(p, start, ReadOptions{}, [&](const RecordView& v) {
    out.push_back({v.timestamp, std::string(v.key), std::string(v.value)});
    if (offsets != nullptr) offsets->push_back(v.offset.value);
    return true;
  });
  if (!r.ok()) return r.status();
  return out;
}

}  // namespace loom::log
