#pragma once

// The SQLite connections of one catalog (see docs/internals/catalog.md, "Connections"): one
// read-write connection for every write and the small reads of apply, and a pool of read-only
// connections that searches lease, so that searches run in parallel with each other and with an
// apply (WAL: readers see the last committed state and never wait for the writer).
//
// Thread-safety: a Connection is not thread-safe; it is used by one thread at a time (the writer
// under the catalog's mutex, a reader while leased). ReaderPool is thread-safe.

#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "catalog/filter_set.h"
#include "catalog/fts_query.h"
#include "catalog/sqlite_db.h"
#include "core/core.h"

namespace loom::catalog {

// A cached statement, reset (ending its read) when the lease ends. Must not outlive the use of
// its connection by the current thread.
class StmtLease {
 public:
  explicit StmtLease(Stmt* stmt) : stmt_(stmt) {}
  ~StmtLease() {
    if (stmt_ != nullptr) stmt_->Reset();
  }
  StmtLease(StmtLease&& other) noexcept : stmt_(std::exchange(other.stmt_, nullptr)) {}
  StmtLease(const StmtLease&) = delete;
  StmtLease& operator=(const StmtLease&) = delete;
  StmtLease& operator=(StmtLease&&) = delete;
  Stmt* operator->() const { return stmt_; }
  Stmt& operator*() const { return *stmt_; }

 private:
  Stmt* stmt_;
};

// One open connection with its FTS query builder and its prepared statements (prepared on first
// use, kept until the connection closes).
class Connection {
 public:
  enum class Mode : uint8_t { kReadWrite, kReadOnly };

  // Opens and configures (pragmas; read-only connections also get query_only). A read-write
  // connection also migrates the schema. Errors carry the path.
  static Result<std::unique_ptr<Connection>> Open(const std::string& path, Mode mode,
                                                  const Clock& clock);

  Db& db() { return db_; }
  FtsQueryBuilder& fts() { return fts_; }
  // The search filters' id sets built on this connection (filter_set.h).
  FilterCache& filters() { return filters_; }
  // The cached statement for `sql`, prepared on first use.
  Result<StmtLease> Statement(const std::string& sql);

 private:
  Connection(Db db, FtsQueryBuilder fts) : db_(std::move(db)), fts_(std::move(fts)) {}

  Db db_;
  FtsQueryBuilder fts_;  // holds a tokenizer of db_'s FTS5; declared after db_
  std::unordered_map<std::string, std::unique_ptr<Stmt>> statements_;
  FilterCache filters_;
};

// A fixed set of read-only connections. Acquire blocks while all are leased.
class ReaderPool {
 public:
  // Opens `size` (at least 1) read-only connections to `path`, which must exist (in WAL mode).
  static Result<std::unique_ptr<ReaderPool>> Open(const std::string& path, size_t size,
                                                  const Clock& clock);

  // A leased connection, given back when the handle is destroyed. The pool must outlive it.
  class Handle {
   public:
    Handle(ReaderPool* pool, std::unique_ptr<Connection> conn)
        : pool_(pool), conn_(std::move(conn)) {}
    ~Handle();
    Handle(Handle&& other) noexcept = default;
    Handle(const Handle&) = delete;
    Handle& operator=(const Handle&) = delete;
    Handle& operator=(Handle&&) = delete;
    Connection& operator*() const { return *conn_; }
    Connection* operator->() const { return conn_.get(); }

   private:
    ReaderPool* pool_;
    std::unique_ptr<Connection> conn_;
  };

  Handle Acquire();
  size_t size() const { return size_; }

 private:
  ReaderPool() = default;
  void Release(std::unique_ptr<Connection> conn);

  size_t size_ = 0;
  std::mutex mu_;
  std::condition_variable freed_;
  std::vector<std::unique_ptr<Connection>> free_;  // guarded by mu_
};

}  // namespace loom::catalog
