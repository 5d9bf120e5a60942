#pragma once

// A FileSystem for tests that wraps a real one and injects faults, after LevelDB's
// db/fault_injection_test.cc and SQLite's test VFS: fail the Nth write or sync, tear a write,
// run out of space, and lose every byte not yet synced (a power loss).

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "core/file_system.h"

namespace loom::testing {

// Thread-safe. Files and directories are real (in `base`); the wrapper counts calls and decides
// which fail. Counting of N is 1-based from when the fault is armed. `base` must outlive it.
class FaultFileSystem final : public FileSystem {
 public:
  explicit FaultFileSystem(FileSystem* base = FileSystem::Default());

  // The nth WritableFile::Append from now fails with `st` and writes nothing.
  void FailNthWrite(int64_t n, Status st = Internal("injected write failure"));
  // The nth Append from now writes only its first keep_bytes, then fails (a torn write).
  void TearNthWrite(int64_t n, size_t keep_bytes);
  // The nth WritableFile::Sync from now fails with `st` (and syncs nothing).
  void FailNthSync(int64_t n, Status st = Internal("injected fdatasync failure: EIO"));
  // After `bytes` more bytes, Appends write what fits and fail with kResourceExhausted (ENOSPC).
  void SetSpaceLeft(uint64_t bytes);
  // From now on every Append, Sync and SyncDir fails, so nothing more reaches the disk: the
  // process is "dead" (call DropUnsyncedData next to simulate the power loss).
  void Freeze();
  // Power loss: truncates every file written through this object to its size at its last
  // successful Sync, and deletes files created since their directory was last synced.
  // Limitation: a rename whose directory was not synced is not undone.
  Status DropUnsyncedData();

  int64_t write_count() const;
  int64_t sync_count() const;  // successful WritableFile::Sync calls
  int64_t dir_sync_count() const;
  void ResetCounts();

  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path,
                                                        OpenMode mode) override;
  Result<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(const std::string& path) override;
  bool FileExists(const std::string& path) override;
  Result<uint64_t> FileSize(const std::string& path) override;
  Result<std::vector<std::string>> ListDir(const std::string& dir) override;
  Status CreateDirs(const std::string& dir) override;
  Status DeleteFile(const std::string& path) override;
  Status DeleteDirRecursively(const std::string& dir) override;
  Status RenameFile(const std::string& from, const std::string& to) override;
  Status Truncate(const std::string& path, uint64_t size) override;
  Status SyncDir(const std::string& dir) override;

 private:
  friend class FaultWritableFile;
  struct FileState {
    uint64_t synced_size = 0;
    bool unsynced_entry = false;  // created since its directory was last synced
  };
  // Decides the fate of an Append of n bytes: how many to write, and the error after them.
  Status OnAppend(size_t n, size_t* write);
  Status OnSync(const std::string& path, uint64_t size_after);
  void OnSynced(const std::string& path, uint64_t size);

  FileSystem* base_;
  mutable std::mutex mu_;
  std::map<std::string, FileState> files_;  // guarded by mu_
  int64_t writes_ = 0;                      // guarded by mu_
  int64_t syncs_ = 0;                       // guarded by mu_
  int64_t dir_syncs_ = 0;                   // guarded by mu_
  int64_t fail_write_at_ = -1;              // guarded by mu_; absolute write number
  Status fail_write_status_;                // guarded by mu_
  int64_t tear_write_at_ = -1;              // guarded by mu_
  size_t tear_keep_ = 0;                    // guarded by mu_
  int64_t sync_calls_ = 0;                  // guarded by mu_; Sync calls, failed ones too
  int64_t fail_sync_at_ = -1;               // guarded by mu_
  Status fail_sync_status_;                 // guarded by mu_
  bool space_limited_ = false;              // guarded by mu_
  uint64_t space_left_ = 0;                 // guarded by mu_
  bool frozen_ = false;                     // guarded by mu_
};

}  // namespace loom::testing
