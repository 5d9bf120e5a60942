// The audit chain: an append-only SQLite table where each entry carries the previous entry's
// hash. Format: docs/internals/security.md ("Audit chain").

#include <condition_variable>
#include <mutex>
#include <tuple>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "security/security.h"
#include "security/sqlite_db.h"

namespace loom::security {
namespace {

const std::string kGenesis(64, '0');

constexpr std::string_view kSchema = R"sql(
CREATE TABLE IF NOT EXISTS audit(
  seq INTEGER PRIMARY KEY,
  time INTEGER NOT NULL,
  principal TEXT NOT NULL,
  operation TEXT NOT NULL,
  address TEXT NOT NULL,
  product_key TEXT NOT NULL,
  domain TEXT NOT NULL,
  allowed INTEGER NOT NULL,
  rows INTEGER NOT NULL,
  query_sha256 TEXT NOT NULL,
  detail TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS audit_principal ON audit(principal, seq);
CREATE INDEX IF NOT EXISTS audit_product ON audit(product_key, seq);
CREATE INDEX IF NOT EXISTS audit_domain ON audit(domain, seq);
CREATE TABLE IF NOT EXISTS audit_head(
  id INTEGER PRIMARY KEY CHECK (id = 1),
  seq INTEGER NOT NULL,
  hash TEXT NOT NULL);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
)sql";

constexpr std::string_view kColumns =
    "seq, time, principal, operation, address, allowed, rows, query_sha256, detail, prev_hash, "
    "hash";

// The canonical form hashed into the chain: a JSON array in a fixed order, invalid UTF-8
// replaced, so one entry has exactly one text.
std::string Canonical(const AuditEntry& e) {
  nlohmann::json j = nlohmann::json::array({e.seq, e.time, e.principal, e.operation, e.address,
                                            e.allowed, e.rows, e.query_sha256, e.detail});
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string ChainHash(const std::string& prev_hash, const AuditEntry& e) {
  return Sha256Hex(prev_hash + Canonical(e));
}

AuditEntry ReadEntry(const Stmt& st) {
  AuditEntry e;
  e.seq = st.Int(0);
  e.time = st.Int(1);
  e.principal = st.Text(2);
  e.operation = st.Text(3);
  e.address = st.Text(4);
  e.allowed = st.Int(5) != 0;
  e.rows = st.Int(6);
  e.query_sha256 = st.Text(7);
  e.detail = st.Text(8);
  e.prev_hash = st.Text(9);
  e.hash = st.Text(10);
  return e;
}

// "domain/product" of an address text, or "" when it names no product.
std::pair<std::string, std::string> ProductKeyOf(std::string_view address) {
  if (address.empty()) return {};
  Result<Address> a = Address::Parse(address);
  if (!a.ok()) return {};
  return {a->ProductKey(), a->domain};
}

}  // namespace

// Group commit: an Append waits while another writes; the next writer takes every entry queued
// meanwhile and commits them in one transaction (one sync), in queue order. Each caller returns
// only once its own entry is committed, or with the error that stopped its group.
struct AuditLog::Impl {
  struct Waiter {
    AuditEntry entry;  // filled in (seq, time, hashes) by the group's writer
    std::string product_key, domain;
    Status status;
    bool done = false;
  };

  // Writes a group in one IMMEDIATE transaction (the write lock is held from reading the last
  // hash to writing the new head, so appends from several processes form one chain).
  Status WriteGroup(const std::vector<Waiter*>& group) {
    std::lock_guard lock(mu);
    LOOM_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(db, /*immediate=*/true));
    LOOM_ASSIGN_OR_RETURN(Stmt last,
                          db.Prepare("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1"));
    LOOM_ASSIGN_OR_RETURN(bool has_last, last.Step());
    int64_t seq = has_last ? last.Int(0) : 0;
    std::string prev_hash = has_last ? last.Text(1) : kGenesis;
    LOOM_ASSIGN_OR_RETURN(Stmt ins,
                          db.Prepare("INSERT INTO audit(seq, time, principal, operation, address, "
                                     "product_key, domain, allowed, rows, query_sha256, detail, "
                                     "prev_hash, hash) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)"));
    for (Waiter* w : group) {
      AuditEntry& e = w->entry;
      e.seq = ++seq;
      e.prev_hash = prev_hash;
      e.time = clock->NowMicros();
      e.hash = ChainHash(e.prev_hash, e);
      prev_hash = e.hash;
      ins.Reset();
      ins.Bind(1, e.seq)
          .Bind(2, int64_t{e.time})
          .Bind(3, e.principal)
          .Bind(4, e.operation)
          .Bind(5, e.address)
          .Bind(6, w->product_key)
          .Bind(7, w->domain)
          .Bind(8, int64_t{e.allowed ? 1 : 0})
          .Bind(9, e.rows)
          .Bind(10, e.query_sha256)
          .Bind(11, e.detail)
          .Bind(12, e.prev_hash)
          .Bind(13, e.hash);
      LOOM_RETURN_IF_ERROR(ins.Run());
    }
    LOOM_ASSIGN_OR_RETURN(
        Stmt head, db.Prepare("INSERT OR REPLACE INTO audit_head(id, seq, hash) VALUES(1, ?, ?)"));
    head.Bind(1, seq).Bind(2, prev_hash);
    LOOM_RETURN_IF_ERROR(head.Run());
    return tx.Commit();
  }

  std::mutex mu;
  Db db;  // guarded by mu
  Clock* clock = nullptr;

  std::mutex queue_mu;
  std::condition_variable queue_cv;
  std::vector<Waiter*> queue;  // guarded by queue_mu
  bool writing = false;        // guarded by queue_mu: a group is being written
};

AuditLog::AuditLog(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
AuditLog::~AuditLog() = default;

Result<std::unique_ptr<AuditLog>> AuditLog::Open(const AuditOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->clock = options.clock != nullptr ? options.clock : Clock::Real();
  LOOM_ASSIGN_OR_RETURN(impl->db, Db::OpenDurable(options.path));
  LOOM_RETURN_IF_ERROR(impl->db.Exec(kSchema));
  return std::unique_ptr<AuditLog>(new AuditLog(std::move(impl)));
}

Result<AuditEntry> AuditLog::Append(const AuditRecord& record) {
  Impl::Waiter w;
  AuditEntry& e = w.entry;
  e.principal = record.principal;
  e.operation = record.operation;
  e.address = record.address;
  e.allowed = record.allowed;
  e.rows = record.rows;
  e.query_sha256 = record.query_text.empty() ? "" : Sha256Hex(record.query_text);
  e.detail = record.detail;
  std::tie(w.product_key, w.domain) = ProductKeyOf(record.address);

  std::unique_lock lock(impl_->queue_mu);
  impl_->queue.push_back(&w);
  impl_->queue_cv.wait(lock, [&] { return w.done || !impl_->writing; });
  if (!w.done) {
    // This caller writes the group: its own entry and every one queued before it is written.
    std::vector<Impl::Waiter*> group;
    group.swap(impl_->queue);
    impl_->writing = true;
    lock.unlock();
    Status st = impl_->WriteGroup(group);
    lock.lock();
    for (Impl::Waiter* g : group) {
      g->status = st;
      g->done = true;
    }
    impl_->writing = false;
    impl_->queue_cv.notify_all();
  }
  if (!w.status.ok()) return w.status;
  return std::move(e);
}

Result<std::vector<AuditEntry>> AuditLog::List(const AuditFilter& filter) {
  std::string sql = "SELECT " + std::string(kColumns) + " FROM audit WHERE seq > ?";
  std::vector<std::string> texts;
  std::vector<int64_t> ints;
  if (filter.principal) {
    sql += " AND principal = ?";
    texts.push_back(*filter.principal);
  }
  if (filter.address) {
    LOOM_ASSIGN_OR_RETURN(Address a, Address::Parse(*filter.address));
    sql += " AND product_key = ?";
    texts.push_back(a.ProductKey());
    if (a.has_port()) {
      // Entries on the port itself, with or without a version suffix.
      Address port{a.domain, a.product, a.port, std::nullopt};
      sql += " AND (address = ? OR address LIKE ? ESCAPE '\\')";
      texts.push_back(port.ToString());
      texts.push_back(port.ToString() + "@%");
    }
  }
  if (filter.operation) {
    sql += " AND operation = ?";
    texts.push_back(*filter.operation);
  }
  if (filter.domains) {
    if (filter.domains->empty()) return std::vector<AuditEntry>{};
    sql += " AND domain IN (";
    for (size_t i = 0; i < filter.domains->size(); ++i) {
      sql += i == 0 ? "?" : ",?";
      texts.push_back((*filter.domains)[i]);
    }
    sql += ")";
  }
  if (filter.allowed) sql += *filter.allowed ? " AND allowed = 1" : " AND allowed = 0";
  if (filter.since) {
    sql += " AND time >= ?";
  }
  if (filter.until) sql += " AND time < ?";
  sql += " ORDER BY seq LIMIT ?";

  std::lock_guard lock(impl_->mu);
  LOOM_ASSIGN_OR_RETURN(Stmt st, impl_->db.Prepare(sql));
  int i = 1;
  st.Bind(i++, filter.after_seq);
  for (const std::string& t : texts) st.Bind(i++, t);
  if (filter.since) st.Bind(i++, int64_t{*filter.since});
  if (filter.until) st.Bind(i++, int64_t{*filter.until});
  st.Bind(i++, filter.limit);
  std::vector<AuditEntry> out;
  while (true) {
    LOOM_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.push_back(ReadEntry(st));
  }
  return out;
}

Result<AuditVerification> AuditLog::Verify() {
  std::lock_guard lock(impl_->mu);
  // One read transaction: a consistent snapshot even while other processes append.
  LOOM_ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(impl_->db, /*immediate=*/false));
  LOOM_ASSIGN_OR_RETURN(
      Stmt st, impl_->db.Prepare("SELECT " + std::string(kColumns) + " FROM audit ORDER BY seq"));
  AuditVerification v;
  std::string prev = kGenesis;
  int64_t expected = 1;
  while (true) {
    LOOM_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    AuditEntry e = ReadEntry(st);
    if (e.seq != expected) {
      return DataLoss("audit chain broken: expected entry " + std::to_string(expected) +
                      ", found " + std::to_string(e.seq) + " (entries deleted or inserted)");
    }
    if (e.prev_hash != prev) {
      return DataLoss("audit chain broken at entry " + std::to_string(e.seq) +
                      ": it does not follow entry " + std::to_string(e.seq - 1) +
                      " (entries deleted, inserted or reordered)");
    }
    if (ChainHash(prev, e) != e.hash) {
      return DataLoss("audit chain broken at entry " + std::to_string(e.seq) +
                      ": its content was altered");
    }
    prev = e.hash;
    ++expected;
    ++v.entries;
  }
  LOOM_ASSIGN_OR_RETURN(Stmt head, impl_->db.Prepare("SELECT seq, hash FROM audit_head"));
  LOOM_ASSIGN_OR_RETURN(bool has_head, head.Step());
  const int64_t head_seq = has_head ? head.Int(0) : 0;
  const std::string head_hash = has_head ? head.Text(1) : kGenesis;
  if (head_seq != v.entries || head_hash != prev) {
    return DataLoss("audit chain broken: the head names entry " + std::to_string(head_seq) +
                    " but the chain ends at entry " + std::to_string(v.entries) +
                    " (the last entries were removed, or the head was altered)");
  }
  v.head_hash = v.entries == 0 ? "" : prev;
  tx.Rollback();
  return v;
}

}  // namespace loom::security
