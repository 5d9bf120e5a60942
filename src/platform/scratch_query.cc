#include "platform/scratch_query.h"

#include <memory>
#include <span>
#include <string_view>

namespace loom::platform {
namespace {

class FileOut final : public engine::Sink {
 public:
  explicit FileOut(WritableFile& f) : f_(f) {}
  Status Write(std::string_view bytes) override {
    return f_.Append(std::span<const char>(bytes.data(), bytes.size()));
  }

 private:
  WritableFile& f_;
};

}  // namespace

ScratchParquet::~ScratchParquet() {
  if (memory_ == nullptr) (void)FileSystem::Default()->DeleteFile(path_);
}

Result<std::unique_ptr<ScratchParquet>> RunToScratchParquet(Platform::PreparedQuery& query,
                                                            const std::string& dir,
                                                            bool in_memory) {
  FileSystem& fs = *FileSystem::Default();
  std::unique_ptr<MemFile> memory;
  std::string path;
  if (in_memory) {
    // Written through its /proc/self/fd path: the same anonymous file.
    LOOM_ASSIGN_OR_RETURN(memory, MemFile::Create("loom-query-result"));
    path = memory->path();
  } else {
    LOOM_RETURN_IF_ERROR(fs.CreateDirs(dir));
    path = JoinPath(dir, NewUuid() + ".parquet");
  }
  auto out = std::make_unique<ScratchParquet>(path, std::move(memory));
  LOOM_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> f,
                        fs.NewWritableFile(path, OpenMode::kTruncate));
  FileOut sink(*f);
  Result<engine::EncodeStats> ran = query.Run(sink);
  Status closed = f->Close();
  if (!ran.ok()) return ran.status();
  LOOM_RETURN_IF_ERROR(closed);
  return out;
}

}  // namespace loom::platform
