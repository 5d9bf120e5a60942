#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace loom {

// The one small file interface that all file I/O of log/ and table/ goes through, so that tests
// can inject faults (tests/testing/fault_file_system.h) the way SQLite's test VFS does.
// Errors: kNotFound for a missing file, kResourceExhausted for ENOSPC, kInternal otherwise; each
// message names the path and the errno text.

// An open file written sequentially. Not thread-safe; one owner.
class WritableFile {
 public:
  virtual ~WritableFile() = default;
  virtual Status Append(std::span<const char> data) = 0;
  // fdatasync(2). After an error the file must not be used to acknowledge anything.
  virtual Status Sync() = 0;
  virtual Status Close() = 0;
  // Bytes in the file (including appended, unsynced ones).
  virtual uint64_t Size() const = 0;
  virtual const std::string& path() const = 0;
};

// An open file read at offsets. Thread-safe (pread).
class RandomAccessFile {
 public:
  virtual ~RandomAccessFile() = default;
  // Reads up to n bytes at offset into scratch; returns how many were read (short at EOF).
  virtual Result<size_t> Read(uint64_t offset, size_t n, char* scratch) const = 0;
  virtual Result<uint64_t> Size() const = 0;
  virtual const std::string& path() const = 0;
};

enum class OpenMode : uint8_t { kTruncate, kAppend };

// Thread-safe: every method may be called concurrently.
class FileSystem {
 public:
  virtual ~FileSystem() = default;

  // The process-wide POSIX file system. Never null; lives for the whole process.
  static FileSystem* Default();

  virtual Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path,
                                                                OpenMode mode) = 0;
  virtual Result<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(
      const std::string& path) = 0;
  virtual bool FileExists(const std::string& path) = 0;
  virtual Result<uint64_t> FileSize(const std::string& path) = 0;
  // Names (not paths) of the entries of a directory, sorted.
  virtual Result<std::vector<std::string>> ListDir(const std::string& dir) = 0;
  // Creates the directory and its parents; OK if it exists.
  virtual Status CreateDirs(const std::string& dir) = 0;
  virtual Status DeleteFile(const std::string& path) = 0;
  virtual Status DeleteDirRecursively(const std::string& dir) = 0;
  virtual Status RenameFile(const std::string& from, const std::string& to) = 0;
  virtual Status Truncate(const std::string& path, uint64_t size) = 0;
  // fsync(2) of a directory, so that a new or renamed entry in it is durable.
  virtual Status SyncDir(const std::string& dir) = 0;
};

// Reads a whole file.
Result<std::string> ReadFileToString(FileSystem& fs, const std::string& path);

// Writes `data` to path.tmp, fsyncs it, renames it over `path` and fsyncs the directory: after
// OK the new content is durable; after a crash either the old or the new content is there.
Status WriteFileAtomically(FileSystem& fs, const std::string& path, std::string_view data);

// "a/b" + "c" -> "a/b/c".
std::string JoinPath(std::string_view a, std::string_view b);
// "a/b/c" -> "a/b" ("." when there is no slash).
std::string DirName(std::string_view path);

}  // namespace loom
