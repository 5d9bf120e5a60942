#pragma once

// The SQL side of publishing (docs/internals/table-format.md, "Validation of sources"): loads a
// source into a temporary table, validates every row against the schema with set-based SQL,
// writes the typed rows to Parquet and computes column statistics. Runs on a connection owned by
// the caller, used by one thread.

#include <string>
#include <vector>

#include "core/core.h"
#include "engine/engine.h"
#include "spec/spec.h"
#include "table/table.h"

namespace loom::table {

// A source loaded into the temporary table `name`, with the columns _loom_line (line or row
// number), _loom_row_error (a whole-row problem or NULL) and the source's own columns.
struct LoadedSource {
  std::string name;
  SourceKind kind = SourceKind::kCsv;
  bool is_line = true;               // _loom_line is a file line (CSV, JSONL)
  std::vector<std::string> columns;  // the source's own column names
};

// Loads a file (CSV, JSONL, Parquet) or the result of a query. kNotFound for a missing file,
// kInvalidArgument for a file DuckDB cannot parse or a column that is not in the schema.
Result<LoadedSource> LoadSource(engine::Connection& conn, const spec::Schema& schema,
                                SourceKind kind, const std::string& path_or_sql);

// Finds every invalid value; fills report with the first 100 and the count.
Status ValidateSource(engine::Connection& conn, const spec::Schema& schema, const LoadedSource& src,
                      ValidationReport* report);

// Writes the typed rows, in source order, to `parquet_path` (zstd; written in place, so it may
// be an existing in-memory file).
Status WriteParquet(engine::Connection& conn, const spec::Schema& schema, const LoadedSource& src,
                    const std::string& parquet_path);

// Row count and per-column statistics of a written Parquet file.
Status ComputeStats(engine::Connection& conn, const spec::Schema& schema,
                    const std::string& parquet_path, Manifest* manifest);

// Drops the temporary tables of a source (best effort).
void DropSource(engine::Connection& conn, const LoadedSource& src);

}  // namespace loom::table
