#pragma once

// Segments: one .log file of batches plus its .index, and how they are loaded and recovered at
// open. Naming and recovery rules: docs/internals/log-format.md.

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/file_system.h"
#include "core/status.h"
#include "log/batch.h"
#include "log/segment_index.h"

namespace loom::log {

// "00000000000000012345.log" for base 12345 and ".log".
std::string SegmentFileName(int64_t base_offset, std::string_view ext);
// Parses a name made by SegmentFileName; false for other names.
bool ParseSegmentFileName(std::string_view name, int64_t* base_offset, std::string* ext);

// One segment in memory. `base_offset`, the paths and `file` never change; the other fields are
// guarded by the owning partition's mutex (readers copy what they need under it).
struct Segment {
  int64_t base_offset = 0;
  std::string log_path;
  std::string index_path;
  std::unique_ptr<RandomAccessFile> file;  // for readers; thread-safe (pread)

  uint64_t size = 0;  // bytes of acknowledged batches (the readable limit)
  int64_t next_offset = 0;
  int64_t min_timestamp = std::numeric_limits<int64_t>::max();
  int64_t max_timestamp = std::numeric_limits<int64_t>::min();
  std::vector<IndexEntry> entries;
  int64_t created_micros = 0;  // wall clock when it became active (for roll by time)
};

// Reads batches sequentially from a file with large preads into its own buffer, checking
// every header. Not thread-safe.
class BatchStream {
 public:
  BatchStream(const RandomAccessFile* file, uint64_t position, uint64_t limit);
  // Returns true with the next batch's header and payload (the payload view lives until the next
  // call) or false at `limit`. kDataLoss "<file>: byte <pos>: <what>" for a bad or incomplete
  // batch; then position() stays at the start of that batch.
  Result<bool> Next(BatchHeader* h, std::string_view* payload);
  uint64_t position() const { return position_; }

 private:
  // Makes [position_, position_ + n) available in buf_.
  Status Fill(size_t n);

  const RandomAccessFile* file_;
  uint64_t position_;
  uint64_t limit_;
  std::string buf_;
  uint64_t buf_start_ = 0;  // file position of buf_[0]
  size_t buf_len_ = 0;
};

// Loads a closed segment: its sealed index when it matches the file, otherwise a rebuilt (and
// re-sealed) one. `next_base` is the base offset of the segment after it. A corrupt batch stops
// the rebuild without failing: reads past it report kDataLoss.
Result<std::unique_ptr<Segment>> LoadClosedSegment(FileSystem& fs, const std::string& dir,
                                                   int64_t base_offset, int64_t next_base,
                                                   uint32_t index_interval,
                                                   const BatchCrypto& crypto);

// Loads the last segment: scans from its last valid index entry, truncates a torn or corrupt
// tail (fsynced) and rewrites the unsealed index. A complete batch (offset and payload CRC
// right) that does not decrypt is not a torn tail: the error is returned and nothing is cut.
Result<std::unique_ptr<Segment>> RecoverActiveSegment(FileSystem& fs, const std::string& dir,
                                                      int64_t base_offset, uint32_t index_interval,
                                                      const BatchCrypto& crypto);

// Writes the sealed index of a closed segment atomically.
Status SealSegmentIndex(FileSystem& fs, const Segment& s);

}  // namespace loom::log
