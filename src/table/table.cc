#include "table/table.h"

#include <algorithm>
#include <mutex>

#include "core/sealed_file.h"
#include "engine/engine.h"
#include "table/lock_file.h"
#include "table/source_sql.h"
#include "table/store.h"

namespace loom::table {

class Table::Impl {
 public:
  explicit Impl(TableOptions o)
      : options_(std::move(o)),
        fs_(options_.fs != nullptr ? *options_.fs : *FileSystem::Default()),
        clock_(options_.clock != nullptr ? *options_.clock : *Clock::Real()),
        store_(fs_, options_.root) {}

  Status Init() {
    LOOM_RETURN_IF_ERROR(fs_.CreateDirs(options_.root));
    Result<std::unique_ptr<LockFile>> lock = LockFile::TryLock(store_.LockPath());
    if (!lock.ok()) {
      if (lock.status().code() == StatusCode::kAborted) return Status::Ok();  // a publisher runs
      return lock.status();
    }
    return store_.Recover();
  }

  // What a publish reads its rows from.
  struct Source {
    SourceKind load_kind;      // how the rows are loaded
    SourceKind recorded_kind;  // what the manifest says
    std::string path_or_sql;
    engine::Connection* conn = nullptr;  // null: a private in-memory database
    std::vector<InputRef> extra_inputs;
  };

  Result<Manifest> Publish(const Source& source, const PublishOptions& po) {
    if (po.published_by.empty()) return InvalidArgument("publish: published_by is required");
    if (options_.schema.fields.empty()) return FailedPrecondition("table has an empty schema");
    std::lock_guard<std::mutex> guard(mu_);
    if (!poisoned_.ok()) {
      return FailedPrecondition(
          "table '" + options_.name +
          "' refuses publishes after an earlier failure: " + poisoned_.ToString());
    }
    LOOM_ASSIGN_OR_RETURN(std::unique_ptr<LockFile> lock, LockFile::TryLock(store_.LockPath()));
    LOOM_RETURN_IF_ERROR(store_.Recover());
    LOOM_ASSIGN_OR_RETURN(CurrentRecord current, store_.ReadCurrent());
    if (options_.cipher == nullptr && current.version.valid()) {
      LOOM_ASSIGN_OR_RETURN(Snapshot last, store_.ReadSnapshot(current.version, current));
      if (last.manifest.encrypted) {
        return FailedPrecondition("table '" + options_.name +
                                  "' is encrypted at rest and no key was given (is the master key "
                                  "configured?); a plaintext version is not published after it");
      }
    }

    if (source.load_kind != SourceKind::kQuery && !fs_.FileExists(source.path_or_sql)) {
      return NotFound("source file '" + source.path_or_sql + "' does not exist");
    }
    std::unique_ptr<engine::Database> db;
    std::unique_ptr<engine::Connection> own_conn;
    engine::Connection* conn = source.conn;
    if (conn == nullptr) {
      LOOM_ASSIGN_OR_RETURN(db, engine::Database::Open());
      LOOM_ASSIGN_OR_RETURN(own_conn, db->Connect());
      conn = own_conn.get();
    }
    LOOM_ASSIGN_OR_RETURN(LoadedSource src,
                          LoadSource(*conn, options_.schema, source.load_kind, source.path_or_sql));
    Result<Manifest> m = PublishLoaded(*conn, src, source, po, current);
    DropSource(*conn, src);
    return m;
  }

  Result<Manifest> PublishLoaded(engine::Connection& conn, const LoadedSource& src,
                                 const Source& source, const PublishOptions& po,
                                 const CurrentRecord& current) {
    ValidationReport local;
    ValidationReport* report = po.report != nullptr ? po.report : &local;
    LOOM_RETURN_IF_ERROR(ValidateSource(conn, options_.schema, src, report));
    if (report->error_count > 0) {
      std::string msg = "table '" + options_.name + "': " + std::to_string(report->error_count) +
                        " invalid value(s) in the " + std::string(ToString(source.load_kind)) +
                        " source; version not published";
      for (const RowError& e : report->errors) msg += "\n  " + e.ToString();
      if (report->error_count > report->errors.size()) {
        msg +=
            "\n  ... and " + std::to_string(report->error_count - report->errors.size()) + " more";
      }
      return InvalidArgument(std::move(msg));
    }

    Manifest m;
    m.table = options_.name;
    m.version = current.version.Next();
    m.published_by = po.published_by;
    m.source_kind = source.recorded_kind;
    m.source_description = po.source_description;
    m.inputs = source.extra_inputs;
    m.inputs.insert(m.inputs.end(), po.inputs.begin(), po.inputs.end());
    for (const spec::Field& f : options_.schema.fields) {
      m.schema.push_back(Column{f.name, f.type.ToString(), f.type.SqlType(), f.required, f.pii});
    }

    LOOM_ASSIGN_OR_RETURN(std::string staging, store_.NewStagingDir());
    Status s = WriteVersion(conn, src, staging, current, po, &m);
    if (!s.ok()) {
      if (s.code() == StatusCode::kDataLoss) {
        poisoned_ = s;
      } else {
        (void)fs_.DeleteDirRecursively(staging);  // best effort; Recover() retries
      }
      return s;
    }
    const uint32_t keep = options_.settings.retain_versions.value_or(0);
    if (keep > 0) retention_ = store_.ApplyRetention(m.version, keep);
    return m;
  }

  Status WriteVersion(engine::Connection& conn, const LoadedSource& src, const std::string& staging,
                      const CurrentRecord& current, const PublishOptions& po, Manifest* m) {
    const std::string part = "part-00000.parquet";
    const std::string part_path = JoinPath(staging, part);
    if (options_.cipher == nullptr) {
      LOOM_RETURN_IF_ERROR(WriteParquet(conn, options_.schema, src, part_path));
      LOOM_RETURN_IF_ERROR(ComputeStats(conn, options_.schema, part_path, m));
    } else {
      // The plaintext Parquet lives only in memory; the disk gets the sealed bytes.
      LOOM_ASSIGN_OR_RETURN(std::unique_ptr<MemFile> plain, MemFile::Create("loom-table"));
      LOOM_RETURN_IF_ERROR(WriteParquet(conn, options_.schema, src, plain->path()));
      LOOM_RETURN_IF_ERROR(ComputeStats(conn, options_.schema, plain->path(), m));
      for (auto& [name, st] : m->columns) st.min = st.max = nullptr;  // the manifest is plaintext
      m->encrypted = true;
      LOOM_RETURN_IF_ERROR(
          SealFile(fs_, *options_.cipher, *plain, part_path, FileAad(m->version, part)).status());
    }
    LOOM_ASSIGN_OR_RETURN(DataFile file, store_.SealFile(staging, part, m->row_count));
    m->files = {file};
    // AS OF relies on publish times that never go back.
    m->published_at = clock_.NowMicros();
    std::optional<Snapshot> prev;
    if (current.version.valid()) {
      LOOM_ASSIGN_OR_RETURN(prev, store_.ReadSnapshot(current.version, current));
      m->published_at = std::max(m->published_at, prev->manifest.published_at);
    }
    if (po.before_commit) {
      Snapshot staged{*m, staging, {part_path}};
      if (m->encrypted) staged.file_aads.push_back(FileAad(m->version, part));
      LOOM_RETURN_IF_ERROR(po.before_commit(staged, prev ? &*prev : nullptr));
    }
    return store_.Commit(staging, *m);
  }

  // "<name>:v00000003/part-00000.parquet"
  std::string FileAad(Version v, const std::string& file) const {
    const std::string dir = store_.VersionDir(v);
    return SealedFileAad(options_.name, dir.substr(dir.rfind('/') + 1) + "/" + file);
  }

  Result<Snapshot> WithAads(Result<Snapshot> snap) const {
    if (!snap.ok() || !snap->manifest.encrypted) return snap;
    for (const DataFile& f : snap->manifest.files) {
      snap->file_aads.push_back(FileAad(snap->manifest.version, f.path));
    }
    return snap;
  }

  Result<Snapshot> Current() const {
    LOOM_ASSIGN_OR_RETURN(CurrentRecord current, store_.ReadCurrent());
    if (!current.version.valid()) {
      return NotFound("table '" + options_.name + "' has no published version yet");
    }
    return WithAads(store_.ReadSnapshot(current.version, current));
  }

  Result<Version> CurrentVersion() const {
    LOOM_ASSIGN_OR_RETURN(CurrentRecord current, store_.ReadCurrent());
    return current.version;
  }

  Result<Snapshot> At(Version v) const {
    LOOM_ASSIGN_OR_RETURN(CurrentRecord current, store_.ReadCurrent());
    return WithAads(store_.ReadSnapshot(v, current));
  }

  Result<std::vector<Manifest>> Versions() const {
    LOOM_ASSIGN_OR_RETURN(CurrentRecord current, store_.ReadCurrent());
    LOOM_ASSIGN_OR_RETURN(std::vector<Version> dirs, store_.ListVersionDirs());
    std::vector<Manifest> out;
    for (Version v : dirs) {
      if (v > current.version) continue;
      Result<Snapshot> snap = store_.ReadSnapshot(v, current);
      if (!snap.ok()) {
        if (snap.status().code() == StatusCode::kNotFound) continue;  // removed meanwhile
        return snap.status();
      }
      out.push_back(std::move(snap->manifest));
    }
    return out;
  }

  Result<Snapshot> AsOf(TimestampMicros t) const {
    LOOM_ASSIGN_OR_RETURN(CurrentRecord current, store_.ReadCurrent());
    LOOM_ASSIGN_OR_RETURN(std::vector<Manifest> all, Versions());
    const Manifest* best = nullptr;
    for (const Manifest& m : all) {
      if (m.published_at <= t) best = &m;
    }
    if (best == nullptr) {
      return NotFound("table '" + options_.name + "' has no retained version current at " +
                      FormatRfc3339(t));
    }
    return WithAads(store_.ReadSnapshot(best->version, current));
  }

  Status RetentionStatus() const {
    std::lock_guard<std::mutex> guard(mu_);
    return retention_;
  }

  const std::string& root() const { return options_.root; }

 private:
  const TableOptions options_;
  FileSystem& fs_;
  Clock& clock_;
  Store store_;
  mutable std::mutex mu_;  // serializes publishes; guards poisoned_ and retention_
  Status poisoned_;
  Status retention_;
};

Table::Table(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Table::~Table() = default;

Result<std::unique_ptr<Table>> Table::Open(TableOptions options) {
  if (options.root.empty()) return InvalidArgument("table: root directory is required");
  if (options.name.empty()) options.name = options.root;
  auto impl = std::make_unique<Impl>(std::move(options));
  LOOM_RETURN_IF_ERROR(impl->Init());
  return std::unique_ptr<Table>(new Table(std::move(impl)));
}

Result<Manifest> Table::PublishFile(const std::string& path, SourceKind kind,
                                    const PublishOptions& options) {
  if (kind != SourceKind::kCsv && kind != SourceKind::kJsonLines && kind != SourceKind::kParquet) {
    return InvalidArgument("PublishFile takes a csv, jsonl or parquet source");
  }
  return impl_->Publish({kind, kind, path, nullptr, {}}, options);
}

Result<Manifest> Table::PublishQuery(engine::Connection& conn, const std::string& sql,
                                     const PublishOptions& options) {
  return impl_->Publish({SourceKind::kQuery, SourceKind::kQuery, sql, &conn, {}}, options);
}

Result<Manifest> Table::PublishStreamWindow(const StreamWindow& window, engine::Connection* conn,
                                            const std::string& rows_sql,
                                            const std::string& rows_path,
                                            const PublishOptions& options) {
  if (window.end <= window.start) {
    return InvalidArgument("stream window [" + FormatRfc3339(window.start) + ", " +
                           FormatRfc3339(window.end) + ") is empty");
  }
  PublishOptions po = options;
  if (po.source_description.empty()) {
    po.source_description = "window [" + FormatRfc3339(window.start) + ", " +
                            FormatRfc3339(window.end) + ") of " + window.stream_address;
  }
  std::vector<InputRef> inputs = window.offsets;
  if (inputs.empty()) inputs.push_back(InputRef{window.stream_address, {}, {}, {}, {}});
  if (conn != nullptr) {
    return impl_->Publish(
        {SourceKind::kQuery, SourceKind::kStreamWindow, rows_sql, conn, std::move(inputs)}, po);
  }
  return impl_->Publish(
      {SourceKind::kStreamWindow, SourceKind::kStreamWindow, rows_path, nullptr, std::move(inputs)},
      po);
}

Result<Snapshot> Table::Current() const { return impl_->Current(); }
Result<Snapshot> Table::At(Version version) const { return impl_->At(version); }
Result<Snapshot> Table::AsOf(TimestampMicros t) const { return impl_->AsOf(t); }
Result<std::vector<Manifest>> Table::Versions() const { return impl_->Versions(); }
Result<Version> Table::CurrentVersion() const { return impl_->CurrentVersion(); }
Status Table::RetentionStatus() const { return impl_->RetentionStatus(); }
const std::string& Table::root() const { return impl_->root(); }

}  // namespace loom::table
