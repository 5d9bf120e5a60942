#include "catalog/connection.h"

#include "catalog/schema.h"

namespace loom::catalog {
namespace {

Status Configure(Db& db, Connection::Mode mode) {
  if (sqlite3_busy_timeout(db.get(), 10000) != SQLITE_OK) {
    return SqliteError(db.get(), SQLITE_ERROR, "busy_timeout");
  }
  // Searches touch the FTS index all over: keep it in memory rather than reading pages through
  // pread one at a time (page cache and memory map are limits, not allocations; the map is
  // shared by every connection of the process through the page cache of the OS).
  LOOM_RETURN_IF_ERROR(db.Exec("PRAGMA mmap_size=1073741824"));
  LOOM_RETURN_IF_ERROR(db.Exec("PRAGMA temp_store=MEMORY"));
  if (mode == Connection::Mode::kReadOnly) {
    LOOM_RETURN_IF_ERROR(db.Exec("PRAGMA cache_size=-16384"));
    LOOM_RETURN_IF_ERROR(db.Exec("PRAGMA query_only=1"));
    return Status::Ok();
  }
  // WAL: readers (the pool, other processes) do not block the writer. synchronous=FULL: in WAL
  // mode, NORMAL may lose the last commits on power loss; an acknowledged apply must not be lost.
  LOOM_RETURN_IF_ERROR(db.Exec("PRAGMA journal_mode=WAL"));
  LOOM_RETURN_IF_ERROR(db.Exec("PRAGMA synchronous=FULL"));
  LOOM_RETURN_IF_ERROR(db.Exec("PRAGMA foreign_keys=ON"));
  LOOM_RETURN_IF_ERROR(db.Exec("PRAGMA cache_size=-65536"));
  LOOM_ASSIGN_OR_RETURN(Stmt stmt, db.Prepare("PRAGMA journal_mode"));
  LOOM_ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row || stmt.Text(0) != "wal") {
    return Internal("could not be put in WAL mode (journal_mode is " +
                    (row ? stmt.Text(0) : std::string("unknown")) + ")");
  }
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<Connection>> Connection::Open(const std::string& path, Mode mode,
                                                     const Clock& clock) {
  const std::string where = "catalog '" + path + "'";
  Result<Db> db = mode == Mode::kReadOnly ? Db::OpenReadOnly(path) : Db::Open(path);
  if (!db.ok()) return db.status();
  Status s = Configure(*db, mode);
  if (s.ok() && mode == Mode::kReadWrite) s = Migrate(*db, clock);
  if (!s.ok()) return s.WithPrefix(where);
  Result<FtsQueryBuilder> fts = FtsQueryBuilder::Create(*db);
  if (!fts.ok()) return fts.status().WithPrefix(where);
  s = RegisterFilterFunction(*db);
  if (!s.ok()) return s.WithPrefix(where);
  return std::unique_ptr<Connection>(new Connection(std::move(db).value(), std::move(fts).value()));
}

Result<StmtLease> Connection::Statement(const std::string& sql) {
  auto it = statements_.find(sql);
  if (it == statements_.end()) {
    LOOM_ASSIGN_OR_RETURN(Stmt stmt, db_.Prepare(sql));
    it = statements_.emplace(sql, std::make_unique<Stmt>(std::move(stmt))).first;
  }
  return StmtLease(it->second.get());
}

Result<std::unique_ptr<ReaderPool>> ReaderPool::Open(const std::string& path, size_t size,
                                                     const Clock& clock) {
  if (size == 0) return InvalidArgument("catalog: the reader pool needs at least one connection");
  std::unique_ptr<ReaderPool> pool(new ReaderPool());
  pool->size_ = size;
  for (size_t i = 0; i < size; ++i) {
    LOOM_ASSIGN_OR_RETURN(std::unique_ptr<Connection> conn,
                          Connection::Open(path, Connection::Mode::kReadOnly, clock));
    pool->free_.push_back(std::move(conn));
  }
  return pool;
}

ReaderPool::Handle ReaderPool::Acquire() {
  std::unique_lock<std::mutex> lock(mu_);
  freed_.wait(lock, [&] { return !free_.empty(); });
  std::unique_ptr<Connection> conn = std::move(free_.back());
  free_.pop_back();
  return Handle(this, std::move(conn));
}

void ReaderPool::Release(std::unique_ptr<Connection> conn) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    free_.push_back(std::move(conn));
  }
  freed_.notify_one();
}

ReaderPool::Handle::~Handle() {
  if (conn_ != nullptr) pool_->Release(std::move(conn_));
}

}  // namespace loom::catalog
