#pragma once

// The sparse offset + timestamp index of one segment (.index files). The byte format is
// specified in docs/internals/log-format.md ("Index"); this file implements it.

#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace loom::log {

inline constexpr uint32_t kIndexMagic = 0x3158494C;  // "LIX1"
inline constexpr size_t kIndexHeaderSize = 56;
inline constexpr size_t kIndexEntrySize = 32;

// The batch at `position` starts at `offset`; every batch before it in the segment has
// timestamps within [min_before, max_before].
struct IndexEntry {
  int64_t offset = 0;
  uint32_t position = 0;
  int64_t min_before = 0;
  int64_t max_before = 0;
};

// What a sealed index says about its (closed) segment.
struct SealInfo {
  uint64_t segment_size = 0;
  int64_t next_offset = 0;
  int64_t min_timestamp = std::numeric_limits<int64_t>::max();
  int64_t max_timestamp = std::numeric_limits<int64_t>::min();
};

struct ParsedIndex {
  bool sealed = false;
  int64_t base_offset = 0;
  SealInfo seal;                    // sealed only
  std::vector<IndexEntry> entries;  // unsealed: the entries up to the first torn or bad one
};

// The whole file of a sealed index.
std::string EncodeSealedIndex(int64_t base_offset, const SealInfo& seal,
                              std::span<const IndexEntry> entries);
// The header of an unsealed index (entries are appended after it).
std::string EncodeUnsealedHeader(int64_t base_offset);
// One 32-byte entry, appended to `out`.
void AppendIndexEntry(int64_t base_offset, const IndexEntry& e, std::string* out);

// kDataLoss for a bad header, or a sealed index whose checksum does not match.
Result<ParsedIndex> ParseIndex(std::string_view data);

// Builds index entries while batches are appended or scanned, the same way for both.
// Not thread-safe.
class IndexBuilder {
 public:
  explicit IndexBuilder(uint32_t interval_bytes) : interval_(interval_bytes) {}
  // Continues after `e` (recovery from an index entry).
  void ResumeAt(const IndexEntry& e);
  // Continues a segment whose last entry is at last_position and whose batches so far span
  // [min_ts, max_ts].
  void Restore(uint64_t last_position, int64_t min_ts, int64_t max_ts);
  // Accounts for a batch at `position`; returns true and sets *entry when one is due before it.
  bool OnBatch(uint64_t position, int64_t base_offset, int64_t min_ts, int64_t max_ts,
               IndexEntry* entry);
  int64_t min_timestamp() const { return min_; }
  int64_t max_timestamp() const { return max_; }

 private:
  uint32_t interval_;
  uint64_t last_position_ = 0;
  int64_t min_ = std::numeric_limits<int64_t>::max();
  int64_t max_ = std::numeric_limits<int64_t>::min();
};

}  // namespace loom::log
