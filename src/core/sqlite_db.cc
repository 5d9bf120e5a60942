#include "core/sqlite_db.h"

#include <string>
#include <utility>

namespace loom::sqlite {

Status SqliteError(sqlite3* db, int rc, std::string_view what) {
  std::string message = "sqlite: " + std::string(what) + ": ";
  message += db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Unavailable(std::move(message));
    case SQLITE_FULL:
      return ResourceExhausted(std::move(message));
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return DataLoss(std::move(message));
    default:
      return Internal(std::move(message));
  }
}

Result<Db> Db::Open(const std::string& path) {
  return OpenWithFlags(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX);
}

Result<Db> Db::OpenDurable(const std::string& path) {
  LOOM_ASSIGN_OR_RETURN(Db db, Open(path));
  if (sqlite3_busy_timeout(db.get(), 10000) != SQLITE_OK) {
    return Internal("sqlite: cannot set busy timeout on '" + path + "'");
  }
  LOOM_RETURN_IF_ERROR(db.Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"));
  return db;
}

Result<Db> Db::OpenReadOnly(const std::string& path) {
  return OpenWithFlags(path, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX);
}

Result<Db> Db::OpenWithFlags(const std::string& path, int flags) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  Db db(raw);  // owns raw even on failure (sqlite3_open_v2 allocates a handle for the message)
  if (rc != SQLITE_OK) return SqliteError(raw, rc, "open '" + path + "'");
  sqlite3_extended_result_codes(raw, 1);
  return db;
}

sqlite3_stmt* StmtCache::Take(std::string_view sql) {
  std::lock_guard<std::mutex> lock(mu);
  for (size_t i = 0; i < kept.size(); ++i) {
    const char* text = sqlite3_sql(kept[i]);
    if (text != nullptr && std::string_view(text) == sql) {
      sqlite3_stmt* s = kept[i];
      kept[i] = kept.back();
      kept.pop_back();
      return s;
    }
  }
  return nullptr;
}

bool StmtCache::Keep(sqlite3_stmt* stmt) {
  sqlite3_reset(stmt);
  sqlite3_clear_bindings(stmt);
  std::lock_guard<std::mutex> lock(mu);
  if (closed || kept.size() >= kMaxKept) return false;
  kept.push_back(stmt);
  return true;
}

void StmtCache::Close() {
  std::lock_guard<std::mutex> lock(mu);
  closed = true;
  for (sqlite3_stmt* s : kept) sqlite3_finalize(s);
  kept.clear();
}

Db::~Db() {
  if (cache_ != nullptr) cache_->Close();
  if (db_ != nullptr) sqlite3_close_v2(db_);
}

Db& Db::operator=(Db&& other) noexcept {
  if (this != &other) {
    if (cache_ != nullptr) cache_->Close();
    if (db_ != nullptr) sqlite3_close_v2(db_);
    db_ = std::exchange(other.db_, nullptr);
    cache_ = std::move(other.cache_);
  }
  return *this;
}

Status Db::Exec(std::string_view sql) {
  std::string text(sql);
  char* err = nullptr;
  int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err);
  if (rc == SQLITE_OK) return Status::Ok();
  std::string message = err != nullptr ? err : sqlite3_errstr(rc);
  sqlite3_free(err);
  Status s = SqliteError(nullptr, rc, "exec");
  return Status(s.code(), "sqlite: " + message + " (in: " + text.substr(0, 80) + ")");
}

Result<Stmt> Db::Prepare(std::string_view sql) const {
  if (cache_ != nullptr) {
    if (sqlite3_stmt* kept = cache_->Take(sql); kept != nullptr) return Stmt(db_, kept, cache_);
  }
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return SqliteError(db_, rc, "prepare '" + std::string(sql.substr(0, 80)) + "'");
  }
  return Stmt(db_, stmt, stmt != nullptr ? cache_ : nullptr);
}

void Stmt::Release() {
  if (stmt_ == nullptr) return;
  if (cache_ == nullptr || !cache_->Keep(stmt_)) sqlite3_finalize(stmt_);
  stmt_ = nullptr;
}

Stmt::~Stmt() { Release(); }

Stmt& Stmt::operator=(Stmt&& other) noexcept {
  if (this != &other) {
    Release();
    db_ = other.db_;
    stmt_ = std::exchange(other.stmt_, nullptr);
    cache_ = std::move(other.cache_);
    bind_error_ = std::move(other.bind_error_);
  }
  return *this;
}

Status Stmt::BindStatus(int rc) const {
  if (rc == SQLITE_OK) return Status::Ok();
  return SqliteError(db_, rc, "bind");
}

Stmt& Stmt::Bind(int index, std::string_view text) {
  int rc =
      sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  if (bind_error_.ok()) bind_error_ = BindStatus(rc);
  return *this;
}

Stmt& Stmt::Bind(int index, int64_t value) {
  int rc = sqlite3_bind_int64(stmt_, index, value);
  if (bind_error_.ok()) bind_error_ = BindStatus(rc);
  return *this;
}

Stmt& Stmt::BindDouble(int index, double value) {
  int rc = sqlite3_bind_double(stmt_, index, value);
  if (bind_error_.ok()) bind_error_ = BindStatus(rc);
  return *this;
}

Stmt& Stmt::BindNull(int index) {
  int rc = sqlite3_bind_null(stmt_, index);
  if (bind_error_.ok()) bind_error_ = BindStatus(rc);
  return *this;
}

Stmt& Stmt::BindOptional(int index, const std::optional<std::string>& text) {
  return text ? Bind(index, std::string_view(*text)) : BindNull(index);
}

Stmt& Stmt::BindPointer(int index, void* p, const char* type) {
  int rc = sqlite3_bind_pointer(stmt_, index, p, type, nullptr);
  if (bind_error_.ok()) bind_error_ = BindStatus(rc);
  return *this;
}

Result<bool> Stmt::Step() {
  if (!bind_error_.ok()) return bind_error_;
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return SqliteError(db_, rc, "step");
}

Status Stmt::Run() {
  LOOM_ASSIGN_OR_RETURN(bool row, Step());
  while (row) {
    LOOM_ASSIGN_OR_RETURN(row, Step());
  }
  return Status::Ok();
}

void Stmt::Reset() {
  if (stmt_ == nullptr) return;
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  bind_error_ = Status::Ok();
}

std::string Stmt::Text(int col) const {
  const unsigned char* p = sqlite3_column_text(stmt_, col);
  if (p == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(p),
                     static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
}

Result<Transaction> Transaction::Begin(Db& db, bool immediate) {
  LOOM_RETURN_IF_ERROR(db.Exec(immediate ? "BEGIN IMMEDIATE" : "BEGIN"));
  return Transaction(&db);
}

Transaction::~Transaction() { Rollback(); }

Status Transaction::Commit() {
  if (db_ == nullptr) return Internal("commit of a finished transaction");
  Status s = db_->Exec("COMMIT");
  if (!s.ok()) {
    Rollback();
    return s;
  }
  db_ = nullptr;
  return Status::Ok();
}

void Transaction::Rollback() {
  if (db_ == nullptr) return;
  // A failed COMMIT or an error inside may already have ended the transaction: only roll back
  // when one is open, so that the destructor never fails.
  if (sqlite3_get_autocommit(db_->get()) == 0) (void)db_->Exec("ROLLBACK");
  db_ = nullptr;
}

}  // namespace loom::sqlite
