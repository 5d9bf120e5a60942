#pragma once

// An exclusive flock(2) on a file, held while the object lives. One owner, not thread-safe.

#include <memory>
#include <string>

#include "core/core.h"

namespace loom::table {

class LockFile {
 public:
  // kAborted when another holder has it (does not wait); kInternal for I/O errors.
  static Result<std::unique_ptr<LockFile>> TryLock(const std::string& path);
  ~LockFile();
  LockFile(const LockFile&) = delete;
  LockFile& operator=(const LockFile&) = delete;

 private:
  explicit LockFile(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace loom::table
