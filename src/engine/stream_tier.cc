// StreamTier: Open, Sync (convert, compact, retention, publish) and the relation for sessions.

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <set>

#include "engine/engine.h"
#include "engine/stream_tier_impl.h"
#include "log/log.h"
#include "spec/spec.h"

namespace loom::engine {

StreamTier::StreamTier(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
StreamTier::~StreamTier() = default;

Result<std::unique_ptr<StreamTier>> StreamTier::Open(const std::string& dir,
                                                     StreamTierOptions options) {
  if (dir.empty()) return InvalidArgument("stream tier: empty directory");
  if (options.fs == nullptr || options.clock == nullptr) {
    return InvalidArgument("stream tier: options need a file system and a clock");
  }
  auto impl = std::make_unique<Impl>();
  impl->dir = std::filesystem::absolute(dir).lexically_normal().string();
  while (impl->dir.size() > 1 && impl->dir.back() == '/') impl->dir.pop_back();
  impl->options = std::move(options);
  impl->crypto = TierCrypto{impl->options.cipher, impl->options.encryption_context};
  LOOM_RETURN_IF_ERROR(impl->options.fs->CreateDirs(impl->dir));
  if (impl->options.database != nullptr) {
    impl->db = impl->options.database;
  } else {
    DatabaseOptions o;
    o.threads = impl->options.threads;
    LOOM_ASSIGN_OR_RETURN(impl->own_db, Database::Open(o));
    impl->db = impl->own_db.get();
  }
  {
    LOOM_ASSIGN_OR_RETURN(std::unique_ptr<TierLock> lock,
                          TierLock::Acquire(impl->Path(kTierLockName)));
    LOOM_ASSIGN_OR_RETURN(impl->manifest, impl->LoadAndClean());
  }
  return std::unique_ptr<StreamTier>(new StreamTier(std::move(impl)));
}

Status StreamTier::Impl::CheckEncryption(const TierManifest& m) const {
  if (m.encrypted && crypto.cipher == nullptr) {
    return FailedPrecondition("stream tier '" + dir +
                              "' is encrypted at rest and no key was given (is the master key "
                              "configured?)");
  }
  if (!m.encrypted && crypto.cipher != nullptr && !m.files.empty()) {
    return FailedPrecondition("stream tier '" + dir +
                              "' holds plaintext files; it cannot continue encrypted");
  }
  return Status::Ok();
}

Result<TierManifest> StreamTier::Impl::LoadAndClean() {
  FileSystem& fs = *options.fs;
  const std::string manifest_path = Path(kTierManifestName);
  TierManifest m;
  if (fs.FileExists(manifest_path)) {
    LOOM_ASSIGN_OR_RETURN(std::string text, ReadFileToString(fs, manifest_path));
    LOOM_ASSIGN_OR_RETURN(m, ParseManifest(text, manifest_path));
  }
  std::set<std::string> keep = {std::string(kTierManifestName), std::string(kTierLockName)};
  for (const TierEntry& f : m.files) keep.insert(f.name);
  for (const ObsoleteEntry& o : m.obsolete) keep.insert(o.name);
  LOOM_ASSIGN_OR_RETURN(std::vector<std::string> names, fs.ListDir(dir));
  // With the lock held nobody else writes here: anything unlisted is left over from a Sync
  // that failed or crashed before it published (tier files, staging files, MANIFEST.tmp).
  for (const std::string& name : names) {
    if (keep.count(name) != 0) continue;
    if (std::filesystem::is_directory(Path(name))) continue;
    LOOM_RETURN_IF_ERROR(fs.DeleteFile(Path(name)));
  }
  return m;
}

Status StreamTier::Impl::Compact(Connection& con, TierManifest& m, int32_t p,
                                 StreamSyncStats& stats) {
  auto begin = std::find_if(m.files.begin(), m.files.end(),
                            [p](const TierEntry& e) { return e.partition == p; });
  auto end =
      std::find_if(begin, m.files.end(), [p](const TierEntry& e) { return e.partition != p; });
  if (static_cast<size_t>(end - begin) <= options.max_files_per_partition) return Status::Ok();
  // The trailing run of small, adjacent files, taking an older file only while it holds at
  // most twice the rows gathered so far: files then grow geometrically, so a record is
  // rewritten O(log(target / increment)) times, and few small files are left.
  auto rows = [](const TierEntry& e) { return e.end - e.first; };
  auto first = end - 1;
  int64_t sum = rows(*first);
  while (first != begin) {
    const TierEntry& older = *(first - 1);
    if (rows(older) >= options.compact_target_rows || older.end != first->first ||
        rows(older) > 2 * sum) {
      break;
    }
    sum += rows(older);
    --first;
  }
  if (end - first < 2) return Status::Ok();
  const int64_t generation = m.generation + 1;
  TierEntry merged{TierFileName(p, first->first, (end - 1)->end, generation), p, first->first,
                   (end - 1)->end, 0};
  std::vector<std::string> in;
  for (auto it = first; it != end; ++it) in.push_back(Path(it->name));
  LOOM_ASSIGN_OR_RETURN(merged.bytes,
                        MergeFiles(con, *options.fs, in, sum, Path(merged.name), crypto));
  const int64_t now = options.clock->NowMicros();
  for (auto it = first; it != end; ++it) m.obsolete.push_back({it->name, now});
  stats.files_merged += static_cast<int32_t>(end - first);
  stats.files_written += 1;
  auto pos = m.files.erase(first, end);
  m.files.insert(pos, std::move(merged));
  return Status::Ok();
}

Result<StreamSyncStats> StreamTier::Impl::SyncLocked(const log::Log& log,
                                                     const std::vector<RelationColumn>& columns) {
  const auto t0 = std::chrono::steady_clock::now();
  FileSystem& fs = *options.fs;
  LOOM_ASSIGN_OR_RETURN(TierManifest m, LoadAndClean());
  const std::string signature = SchemaSignature(columns);
  const int32_t partitions = log.partitions();
  if (m.partitions != 0 && m.partitions != partitions) {
    return FailedPrecondition("stream tier '" + dir + "' has " + std::to_string(m.partitions) +
                              " partitions, the log " + std::to_string(partitions));
  }
  if (!m.files.empty() && m.schema != signature) {
    return FailedPrecondition("stream tier '" + dir +
                              "' was written with another schema; its columns were:\n" + m.schema);
  }
  LOOM_RETURN_IF_ERROR(CheckEncryption(m));
  const TierManifest before = m;
  m.encrypted = crypto.cipher != nullptr;
  m.partitions = partitions;
  m.schema = signature;
  m.ends.resize(partitions, 0);
  const int64_t generation = m.generation + 1;
  const std::vector<RelationColumn> data_columns(columns.begin() + 6, columns.end());
  LOOM_ASSIGN_OR_RETURN(std::unique_ptr<Connection> con, db->Connect());
  StreamSyncStats stats;
  const int64_t now = options.clock->NowMicros();
  const std::string temp_dir = options.temp_dir.empty() ? dir : options.temp_dir;

  for (int32_t p = 0; p < partitions; ++p) {
    LOOM_ASSIGN_OR_RETURN(log::Offset log_start, log.StartOffset(p));
    LOOM_ASSIGN_OR_RETURN(log::Offset log_end, log.EndOffset(p));
    const int64_t start = std::max(m.ends[p], log_start.value);
    if (log_end.value > start) {
      TierEntry e{TierFileName(p, start, log_end.value, generation), p, start, log_end.value, 0};
      const std::string staging = JoinPath(
          temp_dir, "staging-" + e.name.substr(0, e.name.size() - 8) + "-" + NewUuid() + ".ndjson");
      LOOM_ASSIGN_OR_RETURN(e.bytes, ConvertRange(*con, fs, log, p, start, log_end.value,
                                                  data_columns, staging, Path(e.name), crypto));
      auto pos = std::find_if(m.files.begin(), m.files.end(),
                              [p](const TierEntry& x) { return x.partition > p; });
      m.files.insert(pos, std::move(e));
      m.ends[p] = log_end.value;
      stats.records += log_end.value - start;
      stats.files_written += 1;
    }
    LOOM_RETURN_IF_ERROR(Compact(*con, m, p, stats));
    // Retention: a file whose records the log has all deleted goes too.
    for (auto it = m.files.begin(); it != m.files.end();) {
      if (it->partition == p && it->end <= log_start.value) {
        m.obsolete.push_back({it->name, now});
        stats.files_dropped += 1;
        it = m.files.erase(it);
      } else {
        ++it;
      }
    }
  }
  // Files past their grace are unlisted now and deleted once the manifest no longer names them.
  std::vector<std::string> expired;
  const int64_t grace =
      std::chrono::duration_cast<std::chrono::microseconds>(options.obsolete_grace).count();
  std::erase_if(m.obsolete, [&](const ObsoleteEntry& o) {
    if (now - o.since < grace) return false;
    expired.push_back(o.name);
    return true;
  });
  const bool changed = stats.files_written > 0 || stats.files_dropped > 0 || !expired.empty() ||
                       before.partitions != m.partitions || before.schema != m.schema ||
                       before.encrypted != m.encrypted || before.ends != m.ends;
  if (changed) {
    m.generation = generation;
    LOOM_RETURN_IF_ERROR(fs.SyncDir(dir));  // the new files' entries, before the manifest
    LOOM_RETURN_IF_ERROR(WriteFileAtomically(fs, Path(kTierManifestName), ManifestToJson(m)));
    for (const std::string& name : expired) {
      Status s = fs.DeleteFile(Path(name));
      if (!s.ok() && s.code() != StatusCode::kNotFound) return s;
      stats.files_deleted += 1;
    }
  }
  {
    std::lock_guard lock(mu);
    manifest = m;
  }
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return stats;
}

Result<StreamSyncStats> StreamTier::Sync(const log::Log& log, const spec::Schema& schema) {
  LOOM_ASSIGN_OR_RETURN(std::vector<RelationColumn> columns, StreamColumns(schema));
  // One Sync at a time in this object (the manifest it publishes is read by Files()), and one
  // at a time per directory across objects and processes (the flock).
  std::lock_guard sync_lock(impl_->sync_mu);
  LOOM_ASSIGN_OR_RETURN(std::unique_ptr<TierLock> lock,
                        TierLock::Acquire(impl_->Path(kTierLockName)));
  return impl_->SyncLocked(log, columns);
}

Result<engine::Relation> StreamTier::ToRelation(const std::string& sql_name,
                                                const spec::Schema& schema) const {
  LOOM_ASSIGN_OR_RETURN(std::vector<RelationColumn> columns, StreamColumns(schema));
  engine::Relation r;
  r.sql_name = sql_name;
  std::lock_guard lock(impl_->mu);
  if (!impl_->manifest.files.empty() && impl_->manifest.schema != SchemaSignature(columns)) {
    return FailedPrecondition("stream tier '" + impl_->dir +
                              "' holds files of another schema; Sync with this schema first");
  }
  LOOM_RETURN_IF_ERROR(impl_->CheckEncryption(impl_->manifest));
  for (const TierEntry& f : impl_->manifest.files) {
    r.files.push_back(impl_->Path(f.name));
    if (impl_->crypto.cipher != nullptr) r.file_aads.push_back(impl_->crypto.Aad(f.name));
  }
  r.cipher = impl_->crypto.cipher;
  r.columns = std::move(columns);
  return r;
}

std::vector<StreamTierFile> StreamTier::Files() const {
  std::lock_guard lock(impl_->mu);
  std::vector<StreamTierFile> out;
  for (const TierEntry& f : impl_->manifest.files) {
    out.push_back({impl_->Path(f.name), f.partition, f.first, f.end, f.bytes});
  }
  return out;
}

int64_t StreamTier::TieredEnd(int32_t partition) const {
  std::lock_guard lock(impl_->mu);
  if (partition < 0 || static_cast<size_t>(partition) >= impl_->manifest.ends.size()) return 0;
  return impl_->manifest.ends[partition];
}

const std::string& StreamTier::dir() const { return impl_->dir; }

}  // namespace loom::engine
