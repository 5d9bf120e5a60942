#include "core/sealed_file.h"

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace loom {

std::string SealedFileAad(std::string_view context, std::string_view name) {
  std::string aad(context);
  aad += ':';
  aad += name;
  return aad;
}

Result<std::unique_ptr<MemFile>> MemFile::Create(std::string_view name) {
  const std::string n(name);
  int fd = ::memfd_create(n.c_str(), MFD_CLOEXEC);
  if (fd < 0) return Internal("memfd_create: " + std::string(std::strerror(errno)));
  return std::unique_ptr<MemFile>(new MemFile(fd, "/proc/self/fd/" + std::to_string(fd)));
}

MemFile::~MemFile() { ::close(fd_); }

Status MemFile::Write(std::string_view bytes) {
  if (::ftruncate(fd_, 0) != 0)
    return Internal("memfd truncate: " + std::string(std::strerror(errno)));
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::pwrite(fd_, bytes.data() + done, bytes.size() - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return ResourceExhausted("memfd write: " + std::string(std::strerror(errno)));
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

Result<std::string> MemFile::ReadAll() const {
  struct stat st;
  if (::fstat(fd_, &st) != 0) return Internal("memfd stat: " + std::string(std::strerror(errno)));
  std::string out(static_cast<size_t>(st.st_size), '\0');
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = ::pread(fd_, out.data() + done, out.size() - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Internal("memfd read: " + std::string(std::strerror(errno)));
    done += static_cast<size_t>(n);
  }
  return out;
}

Result<std::unique_ptr<MemFile>> OpenSealedFile(FileSystem& fs, const BlockCipher& cipher,
                                                const std::string& path, std::string_view aad,
                                                std::string_view name) {
  LOOM_ASSIGN_OR_RETURN(std::string sealed, ReadFileToString(fs, path));
  Result<std::string> plain = cipher.Open(sealed, aad);
  if (!plain.ok()) {
    return plain.status().WithPrefix("encrypted file '" + std::string(name) + "'");
  }
  LOOM_ASSIGN_OR_RETURN(std::unique_ptr<MemFile> mem, MemFile::Create("loom-plain"));
  LOOM_RETURN_IF_ERROR(mem->Write(*plain));
  std::fill(plain->begin(), plain->end(), '\0');
  return mem;
}

Result<uint64_t> SealFile(FileSystem& fs, const BlockCipher& cipher, const MemFile& plain,
                          const std::string& path, std::string_view aad) {
  LOOM_ASSIGN_OR_RETURN(std::string bytes, plain.ReadAll());
  Result<std::string> sealed = cipher.Seal(bytes, aad);
  std::fill(bytes.begin(), bytes.end(), '\0');
  if (!sealed.ok()) return sealed.status();
  LOOM_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> f,
                        fs.NewWritableFile(path, OpenMode::kTruncate));
  LOOM_RETURN_IF_ERROR(f->Append(*sealed));
  LOOM_RETURN_IF_ERROR(f->Close());
  return static_cast<uint64_t>(sealed->size());
}

}  // namespace loom
