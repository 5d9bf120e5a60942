#include "engine/distinct_count.h"
#include "engine/engine.h"
#include "engine/handles.h"
#include "engine/mask_functions.h"

namespace loom::engine {
namespace {

// Whole-statement errors from duckdb_prepare come without a type: read it from the prefix.
duckdb_error_type TypeFromMessage(std::string_view m) {
  if (m.starts_with("Interrupt")) return DUCKDB_ERROR_INTERRUPT;
  if (m.starts_with("Out of Memory")) return DUCKDB_ERROR_OUT_OF_MEMORY;
  if (m.starts_with("INTERNAL") || m.starts_with("FATAL")) return DUCKDB_ERROR_INTERNAL;
  return DUCKDB_ERROR_INVALID_INPUT;
}

Status ConnectionError(const Connection::Handle& h, duckdb_error_type type, std::string_view m) {
  if (h.interrupted.load() && type == DUCKDB_ERROR_INTERRUPT) {
    return Cancelled("query cancelled");
  }
  return FromDuckError(type, m, nullptr);
}

}  // namespace

Status FromDuckError(duckdb_error_type type, std::string_view message, const Scrubber& scrub) {
  std::string m = scrub ? scrub(message) : std::string(message);
  switch (type) {
    case DUCKDB_ERROR_INTERRUPT:
      return Cancelled("query cancelled");
    case DUCKDB_ERROR_OUT_OF_MEMORY:
      return ResourceExhausted(m);
    case DUCKDB_ERROR_INTERNAL:
    case DUCKDB_ERROR_FATAL:
      return Internal(m);
    case DUCKDB_ERROR_PERMISSION:
      return PermissionDenied(m);
    default:
      return InvalidArgument(m);
  }
}

std::string QuoteIdent(std::string_view ident) {
  std::string out = "\"";
  for (char c : ident) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string QuoteString(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

std::string Chunk::Text(size_t col, size_t row) const {
  std::string s;
  AppendText(col, row, &s);
  return s;
}

std::string Chunk::Json(size_t col, size_t row) const {
  std::string s;
  AppendJson(col, row, &s);
  return s;
}

std::string Rows::Get(size_t row, size_t col) const {
  const auto& v = text.at(row).at(col);
  return v ? *v : "NULL";
}

nlohmann::json Rows::ToJson() const {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& row : json) {
    nlohmann::json obj = nlohmann::json::object();
    for (size_t c = 0; c < columns.size(); ++c) {
      obj[columns[c].name] = nlohmann::json::parse(row[c], nullptr, /*allow_exceptions=*/false);
    }
    out.push_back(std::move(obj));
  }
  return out;
}

// --- DuckChunk / DuckQueryResult ---

void DuckChunk::Reset(duckdb_data_chunk chunk) {
  if (chunk_ != nullptr) duckdb_destroy_data_chunk(&chunk_);
  chunk_ = chunk;
  vectors_.clear();
  rows_ = 0;
  if (chunk_ == nullptr) return;
  rows_ = duckdb_data_chunk_get_size(chunk_);
  idx_t n = duckdb_data_chunk_get_column_count(chunk_);
  for (idx_t i = 0; i < n; ++i) vectors_.push_back(duckdb_data_chunk_get_vector(chunk_, i));
}

void DuckChunk::AppendText(size_t col, size_t row, std::string* out) const {
  if (CellIsNull(vectors_[col], row)) {
    out->append("NULL");
    return;
  }
  AppendCellText(vectors_[col], (*types_)[col], row, out);
}

void DuckChunk::AppendJson(size_t col, size_t row, std::string* out) const {
  if (CellIsNull(vectors_[col], row)) {
    out->append("null");
    return;
  }
  const ColumnKind& kind = (*kinds_)[col];
  if (kind.id == DUCKDB_TYPE_VARCHAR) {
    AppendVarcharJson(vectors_[col], row, kind.json_alias, out);
    return;
  }
  AppendCellJson(vectors_[col], (*types_)[col], row, out);
}

std::optional<int64_t> DuckChunk::Int64(size_t col, size_t row) const {
  if (CellIsNull(vectors_[col], row)) return std::nullopt;
  return CellInt64(vectors_[col], (*kinds_)[col].id, row);
}

DuckQueryResult::DuckQueryResult(duckdb_result result, ErrorMapper on_error)
    : result_(result), on_error_(std::move(on_error)), chunk_(&types_, &kinds_) {
  idx_t n = duckdb_column_count(&result_);
  for (idx_t i = 0; i < n; ++i) {
    duckdb_logical_type t = duckdb_column_logical_type(&result_, i);
    types_.push_back(t);
    kinds_.push_back(ColumnKind{duckdb_get_type_id(t), IsJsonAlias(t)});
    columns_.push_back(Column{duckdb_column_name(&result_, i), TypeName(t), PgOid(t)});
  }
}

DuckQueryResult::~DuckQueryResult() {
  chunk_.Reset(nullptr);
  Finish();
  for (auto& t : types_) duckdb_destroy_logical_type(&t);
  duckdb_destroy_result(&result_);
}

void DuckQueryResult::Finish() {
  if (on_finish_) {
    auto f = std::move(on_finish_);
    on_finish_ = nullptr;
    f();
  }
}

Result<const Chunk*> DuckQueryResult::Next() {
  if (done_) return static_cast<const Chunk*>(nullptr);
  duckdb_data_chunk c = duckdb_fetch_chunk(result_);
  if (c == nullptr) {
    chunk_.Reset(nullptr);
    done_ = true;
    const char* err = duckdb_result_error(&result_);
    Status st = err == nullptr ? Status::Ok() : on_error_(duckdb_result_error_type(&result_), err);
    Finish();
    if (!st.ok()) return st;
    return static_cast<const Chunk*>(nullptr);
  }
  chunk_.Reset(c);
  rows_ += chunk_.num_rows();
  return static_cast<const Chunk*>(&chunk_);
}

Result<std::unique_ptr<DuckQueryResult>> RunStreaming(duckdb_connection con, std::string_view sql,
                                                      DuckQueryResult::ErrorMapper on_error) {
  duckdb_prepared_statement stmt = nullptr;
  std::string text(sql);
  if (duckdb_prepare(con, text.c_str(), &stmt) == DuckDBError) {
    const char* e = duckdb_prepare_error(stmt);
    std::string msg = e ? e : "prepare failed";
    duckdb_destroy_prepare(&stmt);
    return on_error(TypeFromMessage(msg), msg);
  }
  duckdb_result result;
  duckdb_state st = duckdb_execute_prepared_streaming(stmt, &result);
  duckdb_destroy_prepare(&stmt);
  if (st == DuckDBError) {
    const char* e = duckdb_result_error(&result);
    Status s = on_error(duckdb_result_error_type(&result), e ? e : "query failed");
    duckdb_destroy_result(&result);
    return s;
  }
  return std::make_unique<DuckQueryResult>(result, std::move(on_error));
}

Status RunAll(duckdb_connection con, std::string_view sql,
              const DuckQueryResult::ErrorMapper& on_error) {
  duckdb_result result;
  std::string text(sql);
  duckdb_state st = duckdb_query(con, text.c_str(), &result);
  Status s;
  if (st == DuckDBError) {
    const char* e = duckdb_result_error(&result);
    s = on_error(duckdb_result_error_type(&result), e ? e : "query failed");
  }
  duckdb_destroy_result(&result);
  return s;
}

Result<Rows> Materialize(QueryResult& result, size_t max_rows) {
  Rows rows;
  rows.columns = result.columns();
  while (true) {
    LOOM_ASSIGN_OR_RETURN(const Chunk* chunk, result.Next());
    if (chunk == nullptr) break;
    if (rows.size() + chunk->num_rows() > max_rows) {
      return ResourceExhausted("result has more than " + std::to_string(max_rows) + " rows");
    }
    for (size_t r = 0; r < chunk->num_rows(); ++r) {
      std::vector<std::optional<std::string>> t;
      std::vector<std::string> j;
      for (size_t c = 0; c < chunk->num_columns(); ++c) {
        if (chunk->IsNull(c, r)) {
          t.emplace_back(std::nullopt);
        } else {
          t.emplace_back(chunk->Text(c, r));
        }
        j.push_back(chunk->Json(c, r));
      }
      rows.text.push_back(std::move(t));
      rows.json.push_back(std::move(j));
    }
  }
  return rows;
}

// --- Database / Connection ---

Database::Database(std::unique_ptr<Handle> h) : h_(std::move(h)) {}
Database::~Database() = default;

Result<std::unique_ptr<Database>> Database::Open(const DatabaseOptions& options) {
  duckdb_config config;
  if (duckdb_create_config(&config) == DuckDBError) return Internal("duckdb_create_config failed");
  std::vector<std::pair<std::string, std::string>> settings = options.config;
  if (options.threads > 0) settings.emplace_back("threads", std::to_string(options.threads));
  if (!options.memory_limit.empty()) settings.emplace_back("memory_limit", options.memory_limit);
  if (!options.temp_directory.empty()) {
    settings.emplace_back("temp_directory", options.temp_directory);
  }
  // Nothing is ever downloaded or loaded at run time: the needed extensions are built in.
  settings.emplace_back("autoinstall_known_extensions", "false");
  settings.emplace_back("autoload_known_extensions", "false");
  for (const auto& [k, v] : settings) {
    if (duckdb_set_config(config, k.c_str(), v.c_str()) == DuckDBError) {
      duckdb_destroy_config(&config);
      return InvalidArgument("bad DuckDB option '" + k + "' = '" + v + "'");
    }
  }
  auto h = std::make_unique<Handle>();
  char* err = nullptr;
  const char* path = options.path.empty() ? nullptr : options.path.c_str();
  duckdb_state st = duckdb_open_ext(path, &h->db, config, &err);
  duckdb_destroy_config(&config);
  if (st == DuckDBError) {
    std::string msg = err ? err : "unknown error";
    if (err) duckdb_free(err);
    h->db = nullptr;
    if (msg.find("onfiguration") != std::string::npos || msg.find("option") != std::string::npos) {
      return InvalidArgument("cannot open DuckDB database: " + msg);
    }
    return Internal("cannot open DuckDB database: " + msg);
  }
  // The functions masks are written with (mask_functions.h), in every database: a session's views,
  // the platform's trusted work and tests all see the same SQL.
  duckdb_connection con = nullptr;
  if (duckdb_connect(h->db, &con) == DuckDBError) return Internal("duckdb_connect failed");
  Status registered = RegisterMaskFunctions(con);
  if (registered.ok()) registered = RegisterDistinctCount(con);  // distinct_count.h
  duckdb_disconnect(&con);
  LOOM_RETURN_IF_ERROR(registered);
  return std::unique_ptr<Database>(new Database(std::move(h)));
}

Result<std::unique_ptr<Connection>> Database::Connect() {
  auto ch = std::make_unique<Connection::Handle>();
  if (duckdb_connect(h_->db, &ch->con) == DuckDBError) {
    ch->con = nullptr;
    return Internal("duckdb_connect failed");
  }
  return std::make_unique<Connection>(std::move(ch));
}

Connection::Connection(std::unique_ptr<Handle> h) : h_(std::move(h)) {}
Connection::~Connection() = default;

Status Connection::Execute(std::string_view sql) {
  h_->interrupted = false;
  Handle* h = h_.get();
  return RunAll(h_->con, sql,
                [h](duckdb_error_type t, std::string_view m) { return ConnectionError(*h, t, m); });
}

Result<std::unique_ptr<QueryResult>> Connection::Query(std::string_view sql) {
  h_->interrupted = false;
  Handle* h = h_.get();
  LOOM_ASSIGN_OR_RETURN(auto r,
                        RunStreaming(h_->con, sql, [h](duckdb_error_type t, std::string_view m) {
                          return ConnectionError(*h, t, m);
                        }));
  return std::unique_ptr<QueryResult>(std::move(r));
}

Result<Rows> Connection::QueryRows(std::string_view sql, size_t max_rows) {
  LOOM_ASSIGN_OR_RETURN(auto r, Query(sql));
  return Materialize(*r, max_rows);
}

void Connection::Interrupt() {
  h_->interrupted = true;
  duckdb_interrupt(h_->con);
}

}  // namespace loom::engine
