#pragma once

// Runs an admitted query into a Parquet file in the scratch space: the table module validates and
// publishes files, and the query never runs outside its caller's closed session. Used by
// PublishTableQuery and by pipeline runs. Internal to platform/.

#include <memory>
#include <string>

#include "core/core.h"
#include "core/sealed_file.h"
#include "platform/platform.h"

namespace loom::platform {

// A query result as a Parquet file: on disk, deleted on destruction, or in an anonymous
// in-memory file (for a target that is encrypted at rest: its plaintext never touches the disk).
class ScratchParquet {
 public:
  ScratchParquet(std::string path, std::unique_ptr<MemFile> memory)
      : path_(std::move(path)), memory_(std::move(memory)) {}
  ~ScratchParquet();
  ScratchParquet(const ScratchParquet&) = delete;
  ScratchParquet& operator=(const ScratchParquet&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::unique_ptr<MemFile> memory_;
};

// Writes the query's result as Parquet to a new file under `dir` (created if missing), or into
// memory when `in_memory`. On failure nothing is left behind.
Result<std::unique_ptr<ScratchParquet>> RunToScratchParquet(Platform::PreparedQuery& query,
                                                            const std::string& dir, bool in_memory);

}  // namespace loom::platform
