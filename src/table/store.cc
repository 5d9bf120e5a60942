#include "table/store.h"

#include <openssl/evp.h>

#include <cstdio>
#include <memory>

namespace loom::table {
namespace {

constexpr const char* kCurrent = "CURRENT";
constexpr const char* kCurrentTmp = "CURRENT.tmp";
constexpr const char* kStaging = "_staging";

struct EvpCtxDeleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

std::string Hex(const unsigned char* p, unsigned n) {
  static const char* kDigits = "0123456789abcdef";
  std::string s;
  for (unsigned i = 0; i < n; ++i) {
    s += kDigits[p[i] >> 4];
    s += kDigits[p[i] & 15];
  }
  return s;
}

// SHA-256 and size of a file, read in chunks through the file interface.
Result<std::pair<std::string, uint64_t>> HashFile(FileSystem& fs, const std::string& path) {
  LOOM_ASSIGN_OR_RETURN(std::unique_ptr<RandomAccessFile> f, fs.NewRandomAccessFile(path));
  std::unique_ptr<EVP_MD_CTX, EvpCtxDeleter> ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) {
    return Internal("sha256 init failed");
  }
  std::string buf(1 << 20, '\0');
  uint64_t offset = 0;
  while (true) {
    LOOM_ASSIGN_OR_RETURN(size_t n, f->Read(offset, buf.size(), buf.data()));
    if (n == 0) break;
    EVP_DigestUpdate(ctx.get(), buf.data(), n);
    offset += n;
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_DigestFinal_ex(ctx.get(), md, &len);
  return std::make_pair(Hex(md, len), offset);
}

}  // namespace

Version ParseVersionDirName(const std::string& name) {
  if (name.size() < 2 || name[0] != 'v') return Version();
  uint64_t n = 0;
  for (size_t i = 1; i < name.size(); ++i) {
    if (name[i] < '0' || name[i] > '9' || n > (UINT64_MAX - 9) / 10) return Version();
    n = n * 10 + static_cast<uint64_t>(name[i] - '0');
  }
  return Version(n);
}

std::string Store::VersionDir(Version v) const {
  char buf[32];
  std::snprintf(buf, sizeof buf, "v%08llu", static_cast<unsigned long long>(v.number()));
  return JoinPath(root_, buf);
}

std::string Store::StagingRoot() const { return JoinPath(root_, kStaging); }
std::string Store::LockPath() const { return JoinPath(root_, "LOCK"); }

Result<CurrentRecord> Store::ReadCurrent() const {
  const std::string path = JoinPath(root_, kCurrent);
  Result<std::string> text = ReadFileToString(fs_, path);
  if (!text.ok()) {
    if (text.status().code() == StatusCode::kNotFound) return CurrentRecord{};
    return text.status();
  }
  try {
    nlohmann::json j = nlohmann::json::parse(*text);
    CurrentRecord r{Version(j.at("version").get<uint64_t>()),
                    j.at("manifest_sha256").get<std::string>()};
    if (j.at("format").get<int>() != 1 || !r.version.valid()) throw std::runtime_error("bad");
    return r;
  } catch (const std::exception& e) {
    return DataLoss("table '" + root_ + "': CURRENT is corrupt: " + e.what());
  }
}

Result<Snapshot> Store::ReadSnapshot(Version v, const CurrentRecord& current) const {
  if (!v.valid() || v > current.version) {
    return NotFound("table '" + root_ + "' has no version " + v.ToString() +
                    " (current: " + current.version.ToString() + ")");
  }
  Snapshot snap;
  snap.dir = VersionDir(v);
  Result<std::string> text = ReadFileToString(fs_, JoinPath(snap.dir, kManifestName));
  if (!text.ok()) {
    if (text.status().code() == StatusCode::kNotFound) {
      return NotFound("version " + v.ToString() + " of table '" + root_ +
                      "' is no longer retained");
    }
    return text.status();
  }
  if (v == current.version && Sha256Hex(*text) != current.manifest_sha256) {
    return DataLoss("table '" + root_ + "': manifest of version " + v.ToString() +
                    " does not match the digest in CURRENT");
  }
  LOOM_ASSIGN_OR_RETURN(snap.manifest, ManifestFromJson(*text));
  if (snap.manifest.version != v) {
    return DataLoss("table '" + root_ + "': directory of version " + v.ToString() +
                    " holds the manifest of version " + snap.manifest.version.ToString());
  }
  for (const DataFile& f : snap.manifest.files)
    snap.file_paths.push_back(JoinPath(snap.dir, f.path));
  return snap;
}

Result<std::vector<Version>> Store::ListVersionDirs() const {
  LOOM_ASSIGN_OR_RETURN(std::vector<std::string> names, fs_.ListDir(root_));
  std::vector<Version> out;
  for (const std::string& n : names) {
    Version v = ParseVersionDirName(n);
    if (v.valid()) out.push_back(v);
  }
  std::sort(out.begin(), out.end());
  return out;
}

Status Store::Recover() {
  LOOM_ASSIGN_OR_RETURN(CurrentRecord current, ReadCurrent());
  bool changed = false;
  if (fs_.FileExists(StagingRoot())) {
    LOOM_ASSIGN_OR_RETURN(std::vector<std::string> names, fs_.ListDir(StagingRoot()));
    for (const std::string& n : names) {
      LOOM_RETURN_IF_ERROR(fs_.DeleteDirRecursively(JoinPath(StagingRoot(), n)));
    }
    if (!names.empty()) LOOM_RETURN_IF_ERROR(fs_.SyncDir(StagingRoot()));
  }
  const std::string tmp = JoinPath(root_, kCurrentTmp);
  if (fs_.FileExists(tmp)) {
    LOOM_RETURN_IF_ERROR(fs_.DeleteFile(tmp));
    changed = true;
  }
  LOOM_ASSIGN_OR_RETURN(std::vector<Version> versions, ListVersionDirs());
  for (Version v : versions) {
    if (v > current.version) {
      LOOM_RETURN_IF_ERROR(fs_.DeleteDirRecursively(VersionDir(v)));
      changed = true;
    }
  }
  if (changed) LOOM_RETURN_IF_ERROR(fs_.SyncDir(root_));
  return Status::Ok();
}

Result<std::string> Store::NewStagingDir() {
  const std::string dir = JoinPath(StagingRoot(), NewUuid());
  LOOM_RETURN_IF_ERROR(fs_.CreateDirs(dir));
  return dir;
}

Result<DataFile> Store::SealFile(const std::string& dir, const std::string& name, uint64_t rows) {
  const std::string path = JoinPath(dir, name);
  {
    LOOM_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> f,
                          fs_.NewWritableFile(path, OpenMode::kAppend));
    LOOM_RETURN_IF_ERROR(f->Sync());
    LOOM_RETURN_IF_ERROR(f->Close());
  }
  LOOM_ASSIGN_OR_RETURN(auto digest, HashFile(fs_, path));
  return DataFile{name, digest.second, digest.first, rows};
}

Status Store::Commit(const std::string& staging_dir, const Manifest& manifest) {
  const std::string text = ToJson(manifest).dump(2) + "\n";
  {
    LOOM_ASSIGN_OR_RETURN(
        std::unique_ptr<WritableFile> f,
        fs_.NewWritableFile(JoinPath(staging_dir, kManifestName), OpenMode::kTruncate));
    LOOM_RETURN_IF_ERROR(f->Append(std::span<const char>(text.data(), text.size())));
    LOOM_RETURN_IF_ERROR(f->Sync());
    LOOM_RETURN_IF_ERROR(f->Close());
  }
  LOOM_RETURN_IF_ERROR(fs_.SyncDir(staging_dir));
  const std::string vdir = VersionDir(manifest.version);
  LOOM_RETURN_IF_ERROR(fs_.RenameFile(staging_dir, vdir));
  LOOM_RETURN_IF_ERROR(fs_.SyncDir(root_));
  LOOM_RETURN_IF_ERROR(fs_.SyncDir(StagingRoot()));

  const nlohmann::json cur = {
      {"format", 1}, {"version", manifest.version.number()}, {"manifest_sha256", Sha256Hex(text)}};
  const std::string cur_text = cur.dump() + "\n";
  const std::string tmp = JoinPath(root_, kCurrentTmp);
  {
    LOOM_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> f,
                          fs_.NewWritableFile(tmp, OpenMode::kTruncate));
    LOOM_RETURN_IF_ERROR(f->Append(std::span<const char>(cur_text.data(), cur_text.size())));
    LOOM_RETURN_IF_ERROR(f->Sync());
    LOOM_RETURN_IF_ERROR(f->Close());
  }
  LOOM_RETURN_IF_ERROR(fs_.RenameFile(tmp, JoinPath(root_, kCurrent)));
  // Past the commit point: the version is visible; an error now cannot be undone.
  Status s = fs_.SyncDir(root_);
  if (!s.ok()) {
    return DataLoss("version " + manifest.version.ToString() +
                    " is visible but its publication may not be durable: " + s.ToString());
  }
  return Status::Ok();
}

Status Store::ApplyRetention(Version current, uint32_t keep) {
  if (keep == 0) keep = 1;
  LOOM_ASSIGN_OR_RETURN(std::vector<Version> versions, ListVersionDirs());
  std::vector<Version> committed;
  for (Version v : versions) {
    if (v <= current) committed.push_back(v);
  }
  if (committed.size() <= keep) return Status::Ok();
  const size_t drop = committed.size() - keep;
  for (size_t i = 0; i < drop; ++i) {
    if (committed[i] == current) continue;
    LOOM_RETURN_IF_ERROR(fs_.DeleteDirRecursively(VersionDir(committed[i])));
  }
  return fs_.SyncDir(root_);
}

}  // namespace loom::table
