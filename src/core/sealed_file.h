#pragma once

// Whole files sealed with a BlockCipher (the Parquet files of confidential and restricted
// products), and the anonymous in-memory files (memfd) their plaintext lives in while DuckDB
// reads or writes it, so that plaintext never touches the disk. Not part of core.h.
// Format: docs/internals/security.md ("Encryption in log/ and table/").

#include <memory>
#include <string>
#include <string_view>

#include "core/block_cipher.h"
#include "core/file_system.h"
#include "core/status.h"

namespace loom {

// The AAD of a sealed file: "<context>:<name>", where `context` names the port (its address) and
// `name` the file within the port ("v00000003/part-00000.parquet"), so that a file moved to
// another place or port does not open.
std::string SealedFileAad(std::string_view context, std::string_view name);

// An anonymous file in memory (memfd_create), reachable by a path ("/proc/self/fd/N") that
// DuckDB opens like any file while this object lives. Gone, bytes and all, on destruction.
// Not thread-safe; one owner.
class MemFile {
 public:
  // kInternal when memfd_create fails.
  static Result<std::unique_ptr<MemFile>> Create(std::string_view name);
  ~MemFile();
  MemFile(const MemFile&) = delete;
  MemFile& operator=(const MemFile&) = delete;

  const std::string& path() const { return path_; }
  // Replaces the content.
  Status Write(std::string_view bytes);
  Result<std::string> ReadAll() const;

 private:
  MemFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  int fd_;
  std::string path_;
};

// Reads the sealed file `path` through `fs` and opens it into a new MemFile. kDataLoss (naming
// `name`) when it does not decrypt: wrong key, moved or altered file.
Result<std::unique_ptr<MemFile>> OpenSealedFile(FileSystem& fs, const BlockCipher& cipher,
                                                const std::string& path, std::string_view aad,
                                                std::string_view name);

// Seals `plain`'s content into `path` (created or truncated) through `fs`, without syncing (the
// caller's commit protocol does). Returns the sealed size.
Result<uint64_t> SealFile(FileSystem& fs, const BlockCipher& cipher, const MemFile& plain,
                          const std::string& path, std::string_view aad);

}  // namespace loom
