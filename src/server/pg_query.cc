// The simple query protocol and what both protocols share: sessions, running a query into a
// portal and streaming its rows chunk by chunk (never a whole result in memory).

#include <chrono>

#include "server/pg_connection.h"
#include "server/pg_errors.h"

namespace loom::server {
namespace {

constexpr size_t kFlushBytes = 256 * 1024;
constexpr size_t kMaxColumns = 1664;  // as PostgreSQL

// Marks the connection busy (cancellable) for a scope.
class BusyScope {
 public:
  explicit BusyScope(std::function<void(bool)> set) : set_(std::move(set)) { set_(true); }
  ~BusyScope() { set_(false); }
  BusyScope(const BusyScope&) = delete;
  BusyScope& operator=(const BusyScope&) = delete;

 private:
  std::function<void(bool)> set_;
};

}  // namespace

Status PgConnection::HandleQuery(const std::string& body) {
  LOOM_ASSIGN_OR_RETURN(std::string sql, pg::ParseQuery(body));
  // A Query message ends the implicit transaction of any extended-protocol messages before it.
  portals_.clear();
  statements_.erase("");
  pg::Intercept ic = pg::Classify(sql);
  Status s;
  if (ic.kind != pg::Intercept::Kind::kQuery) {
    s = ExecuteIntercept(ic, /*describe_first=*/true);
  } else {
    Portal portal;
    portal.sql = sql;
    s = StartPortal(portal);
    if (s.ok()) {
      out_.RowDescription(portal.fields);
      s = ExecutePortal(portal, 0);
    }
  }
  if (!s.ok() && !broken_) SendError(pg::ErrorForQuery(s, sql));
  out_.ReadyForQuery();
  (void)Flush();
  return Status::Ok();
}

Status PgConnection::SessionForQuery() {
  // One query at a time per session: results still open in other portals are dropped first.
  for (auto& [name, p] : portals_) {
    if (p->result) {
      p->result.reset();
      p->chunk = nullptr;
      if (!p->done) p->lost = true;
    }
  }
  auto now = std::chrono::steady_clock::now();
  if (session_ && now - session_opened_ < std::chrono::milliseconds(options_.session_reuse_ms)) {
    return Status::Ok();
  }
  session_opened_ = now;
  LOOM_ASSIGN_OR_RETURN(std::unique_ptr<engine::Session> fresh,
                        platform_.OpenQuerySession(caller_));
  std::unique_ptr<engine::Session> old;
  {
    std::lock_guard<std::mutex> lock(mu_);
    old = std::move(session_);
    session_ = std::move(fresh);
  }
  return Status::Ok();
}

Status PgConnection::EnsureSession() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (session_) return Status::Ok();
  }
  return SessionForQuery();
}

Status PgConnection::StartPortal(Portal& portal) {
  if (portal.lost) {
    return FailedPrecondition(
        "this portal was closed because another query ran on the connection (Loom runs one "
        "query at a time per connection)");
  }
  // A recent session, so that the query reads the products' current versions.
  LOOM_RETURN_IF_ERROR(SessionForQuery());
  Result<std::unique_ptr<engine::QueryResult>> r = [&] {
    BusyScope busy([this](bool b) { SetBusy(b); });
    return session_->Query(portal.sql);
  }();
  if (!r.ok()) {
    LOOM_RETURN_IF_ERROR(platform_.AuditQuery(caller_, portal.sql, r.status(), -1));
    return r.status();
  }
  portal.result = std::move(*r);
  portal.started = true;
  const std::vector<engine::Column>& cols = portal.result->columns();
  if (cols.size() > kMaxColumns) {
    portal.result.reset();
    return Status(StatusCode::kInvalidArgument,
                  "Binder Error: the result has " + std::to_string(cols.size()) +
                      " columns; the PostgreSQL protocol carries at most 1664");
  }
  portal.fields.clear();
  portal.writers.clear();
  for (const engine::Column& c : cols) {
    portal.fields.push_back({c.name, c.pg_oid, pg::TypeSize(c.pg_oid)});
    portal.writers.push_back(pg::CellWriterFor(c.pg_oid));
  }
  return Status::Ok();
}

void PgConnection::WriteDataRow(const Portal& portal) {
  const engine::Chunk& chunk = *portal.chunk;
  out_.Begin('D');
  out_.Int16(static_cast<int16_t>(portal.writers.size()));
  for (size_t col = 0; col < portal.writers.size(); ++col) {
    if (chunk.IsNull(col, portal.row)) {
      out_.Int32(-1);
      continue;
    }
    size_t at = out_.size();
    out_.Int32(0);
    portal.writers[col](chunk, col, portal.row, &out_.buffer());
    out_.PatchInt32(at, static_cast<int32_t>(out_.size() - at - 4));
  }
  out_.End();
}

Status PgConnection::ExecutePortal(Portal& portal, int32_t max_rows) {
  if (!portal.started && !portal.done) LOOM_RETURN_IF_ERROR(StartPortal(portal));
  if (portal.lost) {
    return FailedPrecondition(
        "this portal was closed because another query ran on the connection (Loom runs one "
        "query at a time per connection)");
  }
  uint64_t sent = 0;
  {
    BusyScope busy([this](bool b) { SetBusy(b); });
    while (!portal.done && (max_rows <= 0 || sent < static_cast<uint64_t>(max_rows))) {
      if (portal.chunk == nullptr || portal.row >= portal.chunk->num_rows()) {
        Result<const engine::Chunk*> next = portal.result->Next();
        if (!next.ok()) {
          portal.done = true;
          portal.chunk = nullptr;
          portal.result.reset();
          LOOM_RETURN_IF_ERROR(platform_.AuditQuery(caller_, portal.sql, next.status(), -1));
          return next.status();
        }
        portal.chunk = *next;
        portal.row = 0;
        if (portal.chunk == nullptr) portal.done = true;
        continue;
      }
      WriteDataRow(portal);
      ++portal.row;
      ++sent;
      if (out_.size() >= kFlushBytes) {
        LOOM_RETURN_IF_ERROR(Flush());
      }
    }
  }
  portal.rows += sent;
  if (!portal.done) {
    out_.PortalSuspended();
    return Status::Ok();
  }
  portal.chunk = nullptr;
  portal.result.reset();
  // No unaudited read: a failed append fails the statement before it completes.
  LOOM_RETURN_IF_ERROR(
      platform_.AuditQuery(caller_, portal.sql, Status::Ok(), static_cast<int64_t>(portal.rows)));
  out_.CommandComplete("SELECT " + std::to_string(sent));
  return Status::Ok();
}

std::vector<pg::FieldDescription> PgConnection::InterceptFields(const pg::Intercept& ic) const {
  if (ic.kind == pg::Intercept::Kind::kShow) {
    return {{pg::Settings::ShowColumn(ic.name), 25, -1}};
  }
  if (ic.kind == pg::Intercept::Kind::kVersion) return {{"version", 25, -1}};
  return {};
}

Status PgConnection::ExecuteIntercept(const pg::Intercept& ic, bool describe_first) {
  auto one_text_row = [this](std::string_view v) {
    out_.Begin('D');
    out_.Int16(1);
    out_.Int32(static_cast<int32_t>(v.size()));
    out_.Bytes(v);
    out_.End();
  };
  switch (ic.kind) {
    case pg::Intercept::Kind::kQuery:
      return Internal("not an intercepted statement");
    case pg::Intercept::Kind::kEmpty:
      out_.EmptyQueryResponse();
      return Status::Ok();
    case pg::Intercept::Kind::kSet: {
      std::string reported;
      LOOM_RETURN_IF_ERROR(settings_.Set(ic.name, ic.value, &reported));
      if (!reported.empty()) {
        out_.ParameterStatus(pg::Settings::ShowColumn(reported), settings_.Show(reported).value());
      }
      out_.CommandComplete("SET");
      return Status::Ok();
    }
    case pg::Intercept::Kind::kNoopSet:
      out_.CommandComplete("SET");
      return Status::Ok();
    case pg::Intercept::Kind::kShow: {
      LOOM_ASSIGN_OR_RETURN(std::string value, settings_.Show(ic.name));
      if (describe_first) out_.RowDescription(InterceptFields(ic));
      one_text_row(value);
      out_.CommandComplete("SHOW");
      return Status::Ok();
    }
    case pg::Intercept::Kind::kVersion:
      if (describe_first) out_.RowDescription(InterceptFields(ic));
      one_text_row(std::string("PostgreSQL ") + pg::kServerVersion +
                   ", a PostgreSQL wire listener of Loom over DuckDB");
      out_.CommandComplete("SELECT 1");
      return Status::Ok();
  }
  return Internal("unknown intercept");
}

}  // namespace loom::server
