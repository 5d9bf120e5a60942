// The extended query protocol: Parse, Bind, Describe, Execute, Close, Sync, Flush. After an
// error every message up to Sync is skipped, as the protocol requires.

#include "server/pg_connection.h"
#include "server/pg_errors.h"

namespace loom::server {
namespace {

std::string Quoted(const std::string& name) { return "\"" + name + "\""; }

}  // namespace

Status PgConnection::Refuse(std::string sqlstate, std::string message) {
  refusal_ = pg::MakeError(std::move(sqlstate), message);
  return Aborted(std::move(message));
}

Status PgConnection::HandleExtended(char type, const std::string& body) {
  if (type == 'S') {  // Sync: the implicit transaction ends, and its portals with it
    skip_to_sync_ = false;
    portals_.clear();
    out_.ReadyForQuery();
    (void)Flush();
    return Status::Ok();
  }
  if (type == 'H') {  // Flush
    (void)Flush();
    return Status::Ok();
  }
  if (type == 'd' || type == 'c' || type == 'f') return Status::Ok();  // copy data outside COPY
  if (skip_to_sync_) {
    switch (type) {
      case 'P':
      case 'B':
      case 'D':
      case 'E':
      case 'C':
      case 'F':
        return Status::Ok();
      default:
        return InvalidArgument("invalid frontend message type " +
                               std::to_string(static_cast<unsigned char>(type)));
    }
  }
  // A handler's error is answered here, and messages are skipped up to Sync; a malformed
  // message (a FATAL refusal) ends the connection.
  pg::PgError error;
  bool failed = false;
  current_sql_.clear();
  Status s;
  switch (type) {
    case 'P':
      s = HandleParse(body);
      break;
    case 'B':
      s = HandleBind(body);
      break;
    case 'D':
      s = HandleDescribe(body);
      break;
    case 'E':
      s = HandleExecute(body);
      break;
    case 'C':
      s = HandleClose(body);
      break;
    case 'F':
      error = pg::MakeError("0A000", "function calls (the FunctionCall message) are not supported");
      failed = true;
      break;
    default:
      return InvalidArgument("invalid frontend message type " +
                             std::to_string(static_cast<unsigned char>(type)));
  }
  if (!s.ok()) {
    error = refusal_ ? std::move(*refusal_) : pg::ErrorForQuery(s, current_sql_);
    refusal_.reset();
    if (error.severity == "FATAL") return InvalidArgument(error.message);
    failed = true;
  }
  if (failed && !broken_) {
    SendError(error);
    skip_to_sync_ = true;
  }
  return Status::Ok();
}

std::string PgConnection::NullSubstituted(const Statement& statement) const {
  std::vector<std::optional<std::string>> nulls(statement.param_types.size());
  Result<std::string> sql =
      pg::SubstituteParameters(statement.sql, statement.scanned, statement.param_types, nulls);
  return sql.ok() ? *sql : statement.sql;
}

Status PgConnection::HandleParse(const std::string& body) {
  LOOM_ASSIGN_OR_RETURN(pg::ParseMessage m, Parsed(pg::ParseParse(body)));
  if (!m.name.empty() && statements_.count(m.name) > 0) {
    return Refuse("42P05", "prepared statement " + Quoted(m.name) + " already exists");
  }
  auto st = std::make_shared<Statement>();
  st->sql = std::move(m.query);
  current_sql_ = st->sql;
  LOOM_ASSIGN_OR_RETURN(st->scanned, pg::ScanParameters(st->sql));
  st->param_types = m.param_types;
  if (st->param_types.size() < static_cast<size_t>(st->scanned.max_index)) {
    st->param_types.resize(static_cast<size_t>(st->scanned.max_index), 0);
  }
  st->intercept = pg::Classify(st->sql);
  if (st->intercept.kind == pg::Intercept::Kind::kQuery) {
    // Refuse what the front door refuses now, as PostgreSQL reports errors at Parse.
    LOOM_RETURN_IF_ERROR(EnsureSession());
    LOOM_RETURN_IF_ERROR(session_->Check(NullSubstituted(*st)));
  } else if (st->scanned.max_index > 0) {
    return Refuse("42P02", "parameters are only supported in SELECT statements");
  }
  statements_[m.name] = std::move(st);
  out_.ParseComplete();
  return Status::Ok();
}

Status PgConnection::HandleBind(const std::string& body) {
  LOOM_ASSIGN_OR_RETURN(pg::BindMessage m, Parsed(pg::ParseBind(body)));
  auto it = statements_.find(m.statement);
  if (it == statements_.end()) {
    return Refuse("26000", "prepared statement " + Quoted(m.statement) + " does not exist");
  }
  const std::shared_ptr<Statement>& st = it->second;
  for (int16_t f : m.param_formats) {
    if (f != 0) {
      return Refuse("0A000", "binary format parameters are not supported: send parameters as text");
    }
  }
  for (int16_t f : m.result_formats) {
    if (f != 0) {
      return Refuse("0A000", "binary result format is not supported: request text results");
    }
  }
  if (m.params.size() != st->param_types.size()) {
    return Refuse("08P01", "bind message supplies " + std::to_string(m.params.size()) +
                               " parameters, but prepared statement " + Quoted(m.statement) +
                               " requires " + std::to_string(st->param_types.size()));
  }
  if (!m.portal.empty() && portals_.count(m.portal) > 0) {
    return Refuse("42P03", "portal " + Quoted(m.portal) + " already exists");
  }
  auto portal = std::make_unique<Portal>();
  portal->statement = st;
  if (st->intercept.kind == pg::Intercept::Kind::kQuery) {
    LOOM_ASSIGN_OR_RETURN(
        portal->sql, pg::SubstituteParameters(st->sql, st->scanned, st->param_types, m.params));
  }
  portals_[m.portal] = std::move(portal);
  out_.BindComplete();
  return Status::Ok();
}

Status PgConnection::DescribeStatement(Statement& st) {
  if (st.described) return Status::Ok();
  if (st.intercept.kind != pg::Intercept::Kind::kQuery) {
    st.fields = InterceptFields(st.intercept);
    st.described = true;
    return Status::Ok();
  }
  // The columns without the rows: the statement (parameters as NULL) under LIMIT 0, checked by
  // the front door like any query.
  Portal probe;
  probe.sql = pg::DescribeQuery(pg::TrimStatement(NullSubstituted(st)));
  LOOM_RETURN_IF_ERROR(StartPortal(probe));
  st.fields = probe.fields;
  st.described = true;
  return Status::Ok();
}

Status PgConnection::HandleDescribe(const std::string& body) {
  LOOM_ASSIGN_OR_RETURN(pg::TargetMessage m, Parsed(pg::ParseTarget('D', body)));
  if (m.kind == 'S') {
    auto it = statements_.find(m.name);
    if (it == statements_.end()) {
      return Refuse("26000", "prepared statement " + Quoted(m.name) + " does not exist");
    }
    Statement& st = *it->second;
    LOOM_RETURN_IF_ERROR(DescribeStatement(st));
    std::vector<int32_t> oids = st.param_types;
    for (int32_t& oid : oids) {
      if (oid == 0) oid = 25;  // unspecified: clients send text
    }
    out_.ParameterDescription(oids);
    if (st.fields.empty()) {
      out_.NoData();
    } else {
      out_.RowDescription(st.fields);
    }
    return Status::Ok();
  }
  auto it = portals_.find(m.name);
  if (it == portals_.end()) {
    return Refuse("34000", "portal " + Quoted(m.name) + " does not exist");
  }
  Portal& portal = *it->second;
  if (portal.statement->intercept.kind != pg::Intercept::Kind::kQuery) {
    std::vector<pg::FieldDescription> fields = InterceptFields(portal.statement->intercept);
    if (fields.empty()) {
      out_.NoData();
    } else {
      out_.RowDescription(fields);
    }
    return Status::Ok();
  }
  // Runs the query now (its columns are known once it starts); Execute streams its rows.
  if (!portal.started) LOOM_RETURN_IF_ERROR(StartPortal(portal));
  out_.RowDescription(portal.fields);
  return Status::Ok();
}

Status PgConnection::HandleExecute(const std::string& body) {
  LOOM_ASSIGN_OR_RETURN(pg::ExecuteMessage m, Parsed(pg::ParseExecute(body)));
  auto it = portals_.find(m.portal);
  if (it == portals_.end()) {
    return Refuse("34000", "portal " + Quoted(m.portal) + " does not exist");
  }
  Portal& portal = *it->second;
  if (portal.statement->intercept.kind != pg::Intercept::Kind::kQuery) {
    return ExecuteIntercept(portal.statement->intercept, /*describe_first=*/false);
  }
  return ExecutePortal(portal, m.max_rows);
}

Status PgConnection::HandleClose(const std::string& body) {
  LOOM_ASSIGN_OR_RETURN(pg::TargetMessage m, Parsed(pg::ParseTarget('C', body)));
  if (m.kind == 'S') {
    statements_.erase(m.name);
  } else {
    portals_.erase(m.name);
  }
  out_.CloseComplete();
  return Status::Ok();
}

}  // namespace loom::server
