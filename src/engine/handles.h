#pragma once

// engine/-internal: the RAII owners of DuckDB's C handles and the streamed result over them.
// Raw duckdb_ calls live only in src/engine/.

#include <duckdb.h>

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/engine.h"

namespace loom::engine {

struct Database::Handle {
  duckdb_database db = nullptr;
  ~Handle() {
    if (db != nullptr) duckdb_close(&db);
  }
};

struct Connection::Handle {
  duckdb_connection con = nullptr;
  std::atomic<bool> interrupted{false};
  ~Handle() {
    if (con != nullptr) duckdb_disconnect(&con);
  }
};

// Builds the Column of a DuckDB logical type (name, type text, PostgreSQL OID).
std::string TypeName(duckdb_logical_type type);
int32_t PgOid(duckdb_logical_type type);

// Maps a DuckDB error (type + message) to a Status. `scrub` rewrites the message (sessions remove
// paths and mask expressions); it may be empty.
using Scrubber = std::function<std::string(std::string_view)>;
Status FromDuckError(duckdb_error_type type, std::string_view message, const Scrubber& scrub);

// Decodes one vector cell as text or JSON (value_format.cc).
void AppendCellText(duckdb_vector vec, duckdb_logical_type type, uint64_t row, std::string* out);
void AppendCellJson(duckdb_vector vec, duckdb_logical_type type, uint64_t row, std::string* out);
bool CellIsNull(duckdb_vector vec, uint64_t row);
// A non-NULL VARCHAR cell as JSON: a JSON-typed one as it is, any other as a JSON string.
void AppendVarcharJson(duckdb_vector vec, uint64_t row, bool json_alias, std::string* out);
// Chunk::Int64 of a non-NULL cell of type `id`.
std::optional<int64_t> CellInt64(duckdb_vector vec, duckdb_type id, uint64_t row);
bool IsJsonAlias(duckdb_logical_type type);

// What a result's column is, decided once per result rather than per cell (the type's alias is
// a string DuckDB allocates for each call).
struct ColumnKind {
  duckdb_type id = DUCKDB_TYPE_INVALID;
  bool json_alias = false;
};

// The Chunk over one duckdb_data_chunk, which it owns.
class DuckChunk final : public Chunk {
 public:
  DuckChunk(const std::vector<duckdb_logical_type>* types, const std::vector<ColumnKind>* kinds)
      : types_(types), kinds_(kinds) {}
  ~DuckChunk() override { Reset(nullptr); }
  DuckChunk(const DuckChunk&) = delete;
  DuckChunk& operator=(const DuckChunk&) = delete;

  void Reset(duckdb_data_chunk chunk);
  size_t num_rows() const override { return rows_; }
  size_t num_columns() const override { return vectors_.size(); }
  bool IsNull(size_t col, size_t row) const override { return CellIsNull(vectors_[col], row); }
  void AppendText(size_t col, size_t row, std::string* out) const override;
  void AppendJson(size_t col, size_t row, std::string* out) const override;
  std::optional<int64_t> Int64(size_t col, size_t row) const override;

 private:
  const std::vector<duckdb_logical_type>* types_;
  const std::vector<ColumnKind>* kinds_;
  duckdb_data_chunk chunk_ = nullptr;
  std::vector<duckdb_vector> vectors_;
  size_t rows_ = 0;
};

// A streamed duckdb_result. `on_error` maps an error to the Status to return (it knows whether
// the connection was interrupted or timed out and how to scrub).
class DuckQueryResult final : public QueryResult {
 public:
  using ErrorMapper = std::function<Status(duckdb_error_type, std::string_view)>;
  // Takes ownership of `result` (a successful, streaming or materialized result).
  DuckQueryResult(duckdb_result result, ErrorMapper on_error);
  ~DuckQueryResult() override;
  DuckQueryResult(const DuckQueryResult&) = delete;
  DuckQueryResult& operator=(const DuckQueryResult&) = delete;

  const std::vector<Column>& columns() const override { return columns_; }
  Result<const Chunk*> Next() override;
  uint64_t rows() const override { return rows_; }

  // Called after the last chunk or on destruction (sessions stop their timers here).
  void SetOnFinish(std::function<void()> f) { on_finish_ = std::move(f); }

 private:
  void Finish();
  duckdb_result result_;
  ErrorMapper on_error_;
  std::vector<Column> columns_;
  std::vector<duckdb_logical_type> types_;
  std::vector<ColumnKind> kinds_;
  DuckChunk chunk_;
  uint64_t rows_ = 0;
  bool done_ = false;
  std::function<void()> on_finish_;
};

// Runs `sql` (one statement) on `con` as a streaming query. Errors go through `on_error`.
Result<std::unique_ptr<DuckQueryResult>> RunStreaming(duckdb_connection con, std::string_view sql,
                                                      DuckQueryResult::ErrorMapper on_error);
// Runs statements on `con`, discarding results.
Status RunAll(duckdb_connection con, std::string_view sql,
              const DuckQueryResult::ErrorMapper& on_error);
// Materializes a streamed result (kResourceExhausted beyond max_rows).
Result<Rows> Materialize(QueryResult& result, size_t max_rows);

}  // namespace loom::engine
