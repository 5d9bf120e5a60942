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

Result<std::string> RunToScratchParquet(Platform::PreparedQuery& query, const std::string& dir) {
  FileSystem& fs = *FileSystem::Default();
  LOOM_RETURN_IF_ERROR(fs.CreateDirs(dir));
  std::string path = JoinPath(dir, NewUuid() + ".parquet");
  LOOM_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> f,
                        fs.NewWritableFile(path, OpenMode::kTruncate));
  FileOut out(*f);
  Result<engine::EncodeStats> ran = query.Run(out);
  Status closed = f->Close();
  if (!ran.ok() || !closed.ok()) {
    (void)fs.DeleteFile(path);
    return ran.ok() ? closed : ran.status();
  }
  return path;
}

}  // namespace loom::platform
