#pragma once

// The dedup checkpoints of a port (`dedup.ckpt`): "by arrival time T, partition P had end offset
// O", appended at most once a second and never fsynced. They bound the log tail that Open scans
// to rebuild the dedup index after a restart; a lost tail only makes the scan start earlier and
// the restored arrival times later, which keeps more entries, never fewer. Format:
// docs/internals/ingest.md. Thread-safe.

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/file_system.h"
#include "core/status.h"
#include "ingest/dedup_index.h"
#include "log/log.h"

namespace loom::ingest {

class Checkpoints {
 public:
  // Loads `path` (a missing file is empty; a torn last entry is ignored), keeps what the window
  // still needs, rewrites it atomically and opens it for appending.
  static Result<std::unique_ptr<Checkpoints>> Open(FileSystem& fs, const std::string& path,
                                                   log::Log& log, int64_t now,
                                                   int64_t window_micros);
  // Scans each partition's tail that arrived within the window into `index`; returns how many
  // entries were restored. kDataLoss for a stored record that is not a canonical event.
  Result<uint64_t> Rebuild(log::Log& log, int64_t now, DedupIndex* index);
  // Appends one entry per partition when a second has passed since the last (or when forced).
  // Best effort: an I/O error here only makes the next rebuild scan more.
  void MaybeWrite(log::Log& log, int64_t now, bool force = false);

  struct Entry {
    int64_t time = 0;
    int32_t partition = 0;
    int32_t reserved = 0;
    int64_t end_offset = 0;
  };
  static_assert(sizeof(Entry) == 24);

 private:
  std::string path_;
  int64_t window_ = 0;
  std::vector<Entry> loaded_;
  std::mutex mu_;
  std::unique_ptr<WritableFile> file_;  // guarded by mu_
  int64_t last_ = 0;                    // guarded by mu_
};

}  // namespace loom::ingest
