#pragma once

// A FileSystem wrapper for the table tests that fails one chosen mutating step (open for write,
// append, sync, close, mkdir, delete, rename, directory sync), either once or from that step on
// (as if the process had died there). Thread-safe.

#include <atomic>
#include <memory>
#include <string>

#include "core/core.h"

namespace loom::table::testing {

class FaultFileSystem final : public FileSystem {
 public:
  explicit FaultFileSystem(FileSystem& base) : base_(base) {}

  // Fails step number `n` (1-based, counted from now); with `sticky`, every step after it too.
  void FailAt(int64_t n, bool sticky) {
    steps_ = 0;
    fail_at_ = n;
    sticky_ = sticky;
    fired_ = false;
  }
  void Disarm() { fail_at_ = 0; }
  int64_t steps() const { return steps_; }
  bool fired() const { return fired_; }
  std::string last_failed() const { return last_failed_; }

  Status Step(const char* what, const std::string& path) {
    const int64_t n = ++steps_;
    if (fail_at_ > 0 && (n == fail_at_ || (sticky_ && n > fail_at_))) {
      fired_ = true;
      if (n == fail_at_) last_failed_ = std::string(what) + " " + path;
      return Internal(std::string("injected fault at step ") + std::to_string(n) + ": " + what +
                      " '" + path + "'");
    }
    return Status::Ok();
  }

  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path,
                                                        OpenMode mode) override {
    LOOM_RETURN_IF_ERROR(Step("open", path));
    LOOM_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> f, base_.NewWritableFile(path, mode));
    return std::unique_ptr<WritableFile>(std::make_unique<File>(*this, std::move(f)));
  }
  Result<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(const std::string& path) override {
    return base_.NewRandomAccessFile(path);
  }
  bool FileExists(const std::string& path) override { return base_.FileExists(path); }
  Result<uint64_t> FileSize(const std::string& path) override { return base_.FileSize(path); }
  Result<std::vector<std::string>> ListDir(const std::string& dir) override {
    return base_.ListDir(dir);
  }
  Status CreateDirs(const std::string& dir) override {
    LOOM_RETURN_IF_ERROR(Step("mkdir", dir));
    return base_.CreateDirs(dir);
  }
  Status DeleteFile(const std::string& path) override {
    LOOM_RETURN_IF_ERROR(Step("delete", path));
    return base_.DeleteFile(path);
  }
  Status DeleteDirRecursively(const std::string& dir) override {
    LOOM_RETURN_IF_ERROR(Step("rmdir", dir));
    return base_.DeleteDirRecursively(dir);
  }
  Status RenameFile(const std::string& from, const std::string& to) override {
    LOOM_RETURN_IF_ERROR(Step("rename", from + " -> " + to));
    return base_.RenameFile(from, to);
  }
  Status Truncate(const std::string& path, uint64_t size) override {
    LOOM_RETURN_IF_ERROR(Step("truncate", path));
    return base_.Truncate(path, size);
  }
  Status SyncDir(const std::string& dir) override {
    LOOM_RETURN_IF_ERROR(Step("syncdir", dir));
    return base_.SyncDir(dir);
  }

 private:
  class File final : public WritableFile {
   public:
    File(FaultFileSystem& fs, std::unique_ptr<WritableFile> f) : fs_(fs), f_(std::move(f)) {}
    Status Append(std::span<const char> data) override {
      LOOM_RETURN_IF_ERROR(fs_.Step("append", path()));
      return f_->Append(data);
    }
    Status Sync() override {
      LOOM_RETURN_IF_ERROR(fs_.Step("sync", path()));
      return f_->Sync();
    }
    Status Close() override {
      LOOM_RETURN_IF_ERROR(fs_.Step("close", path()));
      return f_->Close();
    }
    uint64_t Size() const override { return f_->Size(); }
    const std::string& path() const override { return f_->path(); }

   private:
    FaultFileSystem& fs_;
    std::unique_ptr<WritableFile> f_;
  };

  FileSystem& base_;
  std::atomic<int64_t> steps_{0};
  std::atomic<int64_t> fail_at_{0};
  std::atomic<bool> sticky_{false};
  std::atomic<bool> fired_{false};
  std::string last_failed_;
};

}  // namespace loom::table::testing
