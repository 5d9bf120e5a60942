#pragma once

// A small RAII layer over the SQLite C API, shared by the modules that keep SQLite files (catalog/,
// security/). Every sqlite3* and sqlite3_stmt* has exactly one owner here; copies are deleted.
// Errors become Status values with the SQLite message (kInternal), except SQLITE_BUSY/LOCKED
// (kUnavailable) and a full disk (kResourceExhausted).
//
// Thread-safety: none. A Db and its statements are used by one thread at a time (their owners
// guard them with a mutex); only the statement cache locks itself (a Stmt may outlive its Db).

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/core.h"

namespace loom::sqlite {

// A status for an SQLite result code, with `what` (what was being done) and the db message.
Status SqliteError(sqlite3* db, int rc, std::string_view what);

class Stmt;

// Finished statements of one connection kept for the next Prepare of the same text (reset, no
// bindings): preparing parsed the SQL again on every call, a few percent of a server's CPU on
// paths that run a handful of small statements per request. Shared by the Db and its Stmts.
struct StmtCache {
  static constexpr size_t kMaxKept = 64;
  std::mutex mu;
  bool closed = false;              // the Db is gone: statements are finalized, not kept
  std::vector<sqlite3_stmt*> kept;  // guarded by mu
  sqlite3_stmt* Take(std::string_view sql);
  // Resets `stmt` and keeps it; false (the caller finalizes) when closed or full.
  bool Keep(sqlite3_stmt* stmt);
  void Close();
};

// One open database connection.
class Db {
 public:
  // Opens (creating if needed) the database at `path` in serialized-free mode (NOMUTEX: callers
  // serialise access).
  static Result<Db> Open(const std::string& path);
  // Opens (creating) a database for durable writes: a 10 s busy timeout, WAL, synchronous=FULL
  // (an acknowledged commit survives a power loss).
  static Result<Db> OpenDurable(const std::string& path);
  // Opens an existing database read-only (NOMUTEX too).
  static Result<Db> OpenReadOnly(const std::string& path);

  Db() = default;
  ~Db();
  Db(Db&& other) noexcept : db_(other.db_), cache_(std::move(other.cache_)) { other.db_ = nullptr; }
  Db& operator=(Db&& other) noexcept;
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  sqlite3* get() const { return db_; }

  // Runs one or more statements without results (DDL, PRAGMA, BEGIN/COMMIT).
  Status Exec(std::string_view sql);
  // Prepares one statement (or reuses a finished one of the same text).
  Result<Stmt> Prepare(std::string_view sql) const;
  // The rowid of the last INSERT on this connection.
  int64_t LastInsertRowid() const { return sqlite3_last_insert_rowid(db_); }

 private:
  explicit Db(sqlite3* db) : db_(db), cache_(std::make_shared<StmtCache>()) {}
  static Result<Db> OpenWithFlags(const std::string& path, int flags);
  sqlite3* db_ = nullptr;
  std::shared_ptr<StmtCache> cache_;
};

// One prepared statement. Bind indexes are 1-based, column indexes 0-based (as in SQLite).
class Stmt {
 public:
  Stmt() = default;
  ~Stmt();
  Stmt(Stmt&& other) noexcept
      : db_(other.db_), stmt_(other.stmt_), cache_(std::move(other.cache_)) {
    other.stmt_ = nullptr;
  }
  Stmt& operator=(Stmt&& other) noexcept;
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  // Binders copy the value (SQLITE_TRANSIENT), so arguments may be temporaries.
  Stmt& Bind(int index, std::string_view text);
  Stmt& Bind(int index, int64_t value);
  Stmt& BindDouble(int index, double value);
  Stmt& BindNull(int index);
  Stmt& BindOptional(int index, const std::optional<std::string>& text);
  // Binds a pointer for sqlite3_bind_pointer (used to get the fts5_api).
  Stmt& BindPointer(int index, void* p, const char* type);

  // Steps once: true if a row is available, false when done.
  Result<bool> Step();
  // Steps to completion, expecting no rows (INSERT/UPDATE/DELETE).
  Status Run();
  // Resets for another execution and clears bindings.
  void Reset();

  int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  double Double(int col) const { return sqlite3_column_double(stmt_, col); }
  bool IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  std::string Text(int col) const;

 private:
  friend class Db;
  Stmt(sqlite3* db, sqlite3_stmt* stmt, std::shared_ptr<StmtCache> cache)
      : db_(db), stmt_(stmt), cache_(std::move(cache)) {}
  Status BindStatus(int rc) const;
  void Release();  // back to the cache, or finalized
  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
  std::shared_ptr<StmtCache> cache_;  // null: finalized when done
  Status bind_error_;                 // the first binding error, reported by Step/Run
};

// A transaction that rolls back on destruction unless committed.
class Transaction {
 public:
  // `immediate`: take the write lock now (BEGIN IMMEDIATE), so that a read-then-write apply
  // cannot fail half way with SQLITE_BUSY on lock upgrade.
  static Result<Transaction> Begin(Db& db, bool immediate);
  ~Transaction();
  Transaction(Transaction&& other) noexcept : db_(other.db_) { other.db_ = nullptr; }
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  Status Commit();
  void Rollback();

 private:
  explicit Transaction(Db* db) : db_(db) {}
  Db* db_ = nullptr;  // not owned; null once committed or rolled back
};

}  // namespace loom::sqlite
