#include "testing/fault_file_system.h"

#include <algorithm>

namespace loom::testing {

class FaultWritableFile final : public WritableFile {
 public:
  FaultWritableFile(FaultFileSystem* fs, std::unique_ptr<WritableFile> base)
      : fs_(fs), base_(std::move(base)) {}

  Status Append(std::span<const char> data) override {
    size_t n = 0;
    Status fault = fs_->OnAppend(data.size(), &n);
    if (n > 0) LOOM_RETURN_IF_ERROR(base_->Append(data.first(n)));
    return fault;
  }
  Status Sync() override {
    LOOM_RETURN_IF_ERROR(fs_->OnSync(path(), base_->Size()));
    LOOM_RETURN_IF_ERROR(base_->Sync());
    fs_->OnSynced(path(), base_->Size());
    return Status::Ok();
  }
  Status Close() override { return base_->Close(); }
  uint64_t Size() const override { return base_->Size(); }
  const std::string& path() const override { return base_->path(); }

 private:
  FaultFileSystem* fs_;
  std::unique_ptr<WritableFile> base_;
};

FaultFileSystem::FaultFileSystem(FileSystem* base) : base_(base) {}

void FaultFileSystem::FailNthWrite(int64_t n, Status st) {
  std::lock_guard l(mu_);
  fail_write_at_ = writes_ + n;
  fail_write_status_ = std::move(st);
}

void FaultFileSystem::TearNthWrite(int64_t n, size_t keep_bytes) {
  std::lock_guard l(mu_);
  tear_write_at_ = writes_ + n;
  tear_keep_ = keep_bytes;
}

void FaultFileSystem::FailNthSync(int64_t n, Status st) {
  std::lock_guard l(mu_);
  fail_sync_at_ = sync_calls_ + n;
  fail_sync_status_ = std::move(st);
}

void FaultFileSystem::SetSpaceLeft(uint64_t bytes) {
  std::lock_guard l(mu_);
  space_limited_ = true;
  space_left_ = bytes;
}

void FaultFileSystem::Freeze() {
  std::lock_guard l(mu_);
  frozen_ = true;
}

Status FaultFileSystem::OnAppend(size_t n, size_t* write) {
  std::lock_guard l(mu_);
  ++writes_;
  *write = 0;
  if (frozen_) return Internal("injected: the file system is frozen (simulated crash)");
  if (writes_ == fail_write_at_) return fail_write_status_;
  if (writes_ == tear_write_at_) {
    *write = std::min(n, tear_keep_);
    return Internal("injected torn write: " + std::to_string(*write) + " of " + std::to_string(n) +
                    " bytes written");
  }
  if (space_limited_ && n > space_left_) {
    *write = static_cast<size_t>(space_left_);
    space_left_ = 0;
    return ResourceExhausted("injected write failure: No space left on device (ENOSPC)");
  }
  if (space_limited_) space_left_ -= n;
  *write = n;
  return Status::Ok();
}

Status FaultFileSystem::OnSync(const std::string& path, uint64_t /*size_after*/) {
  std::lock_guard l(mu_);
  ++sync_calls_;
  if (frozen_) return Internal("injected: the file system is frozen (simulated crash)");
  if (sync_calls_ == fail_sync_at_) return fail_sync_status_.WithPrefix(path);
  return Status::Ok();
}

void FaultFileSystem::OnSynced(const std::string& path, uint64_t size) {
  std::lock_guard l(mu_);
  ++syncs_;
  files_[path].synced_size = size;
}

Status FaultFileSystem::DropUnsyncedData() {
  std::map<std::string, FileState> files;
  {
    std::lock_guard l(mu_);
    files = files_;
  }
  for (const auto& [path, state] : files) {
    if (!base_->FileExists(path)) continue;
    if (state.unsynced_entry) {
      LOOM_RETURN_IF_ERROR(base_->DeleteFile(path));
      continue;
    }
    LOOM_ASSIGN_OR_RETURN(uint64_t size, base_->FileSize(path));
    if (size > state.synced_size) LOOM_RETURN_IF_ERROR(base_->Truncate(path, state.synced_size));
  }
  std::lock_guard l(mu_);
  files_.clear();
  return Status::Ok();
}

int64_t FaultFileSystem::write_count() const {
  std::lock_guard l(mu_);
  return writes_;
}
int64_t FaultFileSystem::sync_count() const {
  std::lock_guard l(mu_);
  return syncs_;
}
int64_t FaultFileSystem::dir_sync_count() const {
  std::lock_guard l(mu_);
  return dir_syncs_;
}
void FaultFileSystem::ResetCounts() {
  std::lock_guard l(mu_);
  fail_write_at_ -= writes_;
  tear_write_at_ -= writes_;
  fail_sync_at_ -= sync_calls_;
  writes_ = syncs_ = dir_syncs_ = sync_calls_ = 0;
}

Result<std::unique_ptr<WritableFile>> FaultFileSystem::NewWritableFile(const std::string& path,
                                                                       OpenMode mode) {
  bool existed = base_->FileExists(path);
  LOOM_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> f, base_->NewWritableFile(path, mode));
  {
    std::lock_guard l(mu_);
    auto it = files_.find(path);
    if (it == files_.end()) {
      FileState s;
      s.synced_size = mode == OpenMode::kAppend ? f->Size() : 0;
      s.unsynced_entry = !existed;
      files_[path] = s;
    } else if (mode == OpenMode::kTruncate) {
      it->second.synced_size = 0;
    }
  }
  return std::unique_ptr<WritableFile>(std::make_unique<FaultWritableFile>(this, std::move(f)));
}

Result<std::unique_ptr<RandomAccessFile>> FaultFileSystem::NewRandomAccessFile(
    const std::string& path) {
  return base_->NewRandomAccessFile(path);
}
bool FaultFileSystem::FileExists(const std::string& path) { return base_->FileExists(path); }
Result<uint64_t> FaultFileSystem::FileSize(const std::string& path) {
  return base_->FileSize(path);
}
Result<std::vector<std::string>> FaultFileSystem::ListDir(const std::string& dir) {
  return base_->ListDir(dir);
}
Status FaultFileSystem::CreateDirs(const std::string& dir) { return base_->CreateDirs(dir); }

Status FaultFileSystem::DeleteFile(const std::string& path) {
  LOOM_RETURN_IF_ERROR(base_->DeleteFile(path));
  std::lock_guard l(mu_);
  files_.erase(path);
  return Status::Ok();
}

Status FaultFileSystem::DeleteDirRecursively(const std::string& dir) {
  LOOM_RETURN_IF_ERROR(base_->DeleteDirRecursively(dir));
  std::lock_guard l(mu_);
  std::erase_if(files_, [&](const auto& kv) { return kv.first.starts_with(dir + "/"); });
  return Status::Ok();
}

Status FaultFileSystem::RenameFile(const std::string& from, const std::string& to) {
  LOOM_RETURN_IF_ERROR(base_->RenameFile(from, to));
  std::lock_guard l(mu_);
  auto it = files_.find(from);
  if (it != files_.end()) {
    files_[to] = it->second;
    files_.erase(from);
  }
  return Status::Ok();
}

Status FaultFileSystem::Truncate(const std::string& path, uint64_t size) {
  LOOM_RETURN_IF_ERROR(base_->Truncate(path, size));
  std::lock_guard l(mu_);
  auto it = files_.find(path);
  if (it != files_.end()) it->second.synced_size = std::min(it->second.synced_size, size);
  return Status::Ok();
}

Status FaultFileSystem::SyncDir(const std::string& dir) {
  {
    std::lock_guard l(mu_);
    if (frozen_) return Internal("injected: the file system is frozen (simulated crash)");
  }
  LOOM_RETURN_IF_ERROR(base_->SyncDir(dir));
  std::lock_guard l(mu_);
  ++dir_syncs_;
  for (auto& [path, state] : files_) {
    if (DirName(path) == dir) state.unsynced_entry = false;
  }
  return Status::Ok();
}

}  // namespace loom::testing
