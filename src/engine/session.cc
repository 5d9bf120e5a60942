// Sessions: a private DuckDB database per user, with the user's relations as views, sealed
// settings and the front door (front_door.cc). Design: docs/internals/engine.md.

#include <algorithm>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "engine/engine.h"
#include "engine/front_door.h"
#include "engine/handles.h"
#include "engine/session_impl.h"

namespace loom::engine {

Status Session::Impl::Check(std::string_view sql) {
  // One statement, by DuckDB's own splitter.
  duckdb_extracted_statements extracted = nullptr;
  std::string text(sql);
  idx_t n = duckdb_extract_statements(trusted->handle().con, text.c_str(), &extracted);
  std::string error = n == 0 && extracted ? duckdb_extract_statements_error(extracted) : "";
  duckdb_destroy_extracted(&extracted);
  if (n == 0) {
    return InvalidArgument(error.empty() ? "empty query" : Scrub(error));
  }
  if (n > 1) {
    return PermissionDenied("exactly one statement per query is allowed (got " + std::to_string(n) +
                            ")");
  }
  // DuckDB's parse tree of it, judged by the front door.
  duckdb_prepared_statement stmt = nullptr;
  if (duckdb_prepare(trusted->handle().con, "SELECT json_serialize_sql($1::VARCHAR)", &stmt) ==
      DuckDBError) {
    duckdb_destroy_prepare(&stmt);
    return Internal("cannot prepare the SQL parser call");
  }
  duckdb_bind_varchar_length(stmt, 1, text.data(), text.size());
  duckdb_result result;
  duckdb_state st = duckdb_execute_prepared(stmt, &result);
  duckdb_destroy_prepare(&stmt);
  std::string tree;
  if (st == DuckDBSuccess) {
    char* v = duckdb_value_varchar(&result, 0, 0);
    if (v) tree = v;
    duckdb_free(v);
  }
  duckdb_destroy_result(&result);
  if (tree.empty()) return Internal("the SQL parser returned nothing");
  Status s = CheckParseTree(tree, relation_names);
  if (s.code() == StatusCode::kPermissionDenied &&
      s.message() == "only SELECT queries are allowed") {
    std::string kw = FirstKeyword(sql);
    return PermissionDenied("only SELECT queries are allowed; refused a " +
                            (kw.empty() ? std::string("non-SELECT") : kw) + " statement");
  }
  if (!s.ok()) return Status(s.code(), Scrub(s.message()));
  return s;
}

Result<std::unique_ptr<DuckQueryResult>> Session::Impl::Run(std::string_view sql) {
  cancelled = false;
  timed_out = false;
  watchdog.reset();
  if (options.timeout.count() > 0) {
    watchdog = std::make_unique<Watchdog>(user->handle().con, options.timeout, &timed_out);
  }
  auto r = RunStreaming(user->handle().con, sql,
                        [this](duckdb_error_type t, std::string_view m) { return MapError(t, m); });
  if (!r.ok()) {
    watchdog.reset();
    return r.status();
  }
  (*r)->SetOnFinish([this] { watchdog.reset(); });
  return r;
}

Session::Session(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Session::~Session() = default;

Result<std::unique_ptr<Session>> Session::Open(SessionOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  LOOM_RETURN_IF_ERROR(impl->Build());
  return std::unique_ptr<Session>(new Session(std::move(impl)));
}

Status Session::Check(std::string_view sql) { return impl_->Check(sql); }

Result<std::unique_ptr<QueryResult>> Session::Query(std::string_view sql) {
  LOOM_RETURN_IF_ERROR(impl_->Check(sql));
  LOOM_ASSIGN_OR_RETURN(auto r, impl_->Run(sql));
  return std::unique_ptr<QueryResult>(std::move(r));
}

Result<Rows> Session::QueryRows(std::string_view sql, size_t max_rows) {
  LOOM_ASSIGN_OR_RETURN(auto r, Query(sql));
  return Materialize(*r, max_rows);
}

void Session::Cancel() {
  impl_->cancelled = true;
  duckdb_interrupt(impl_->user->handle().con);
}

Result<EncodeStats> Session::Export(std::string_view sql, Format format, Sink& sink,
                                    const EncodeOptions& options) {
  LOOM_RETURN_IF_ERROR(impl_->Check(sql));
  if (format != Format::kParquet) {
    LOOM_ASSIGN_OR_RETURN(auto r, impl_->Run(sql));
    return Encode(*r, format, sink, options);
  }
  if (impl_->out_dir.empty() && impl_->export_file == nullptr) {
    return FailedPrecondition("Parquet export needs SessionOptions.scratch_dir");
  }
  // The admitted SELECT is wrapped into a COPY to a private file. It was parsed as exactly one
  // statement, so it ends at a token boundary; the newline ends a trailing line comment.
  std::string select(sql);
  while (!select.empty() &&
         (std::isspace(static_cast<unsigned char>(select.back())) || select.back() == ';')) {
    select.pop_back();
  }
  const bool in_memory = impl_->export_file != nullptr;
  std::string file = in_memory ? impl_->export_file->path()
                               : impl_->out_dir + "/export-" + RandomHex() + ".parquet";
  std::string copy = "COPY (\n" + select + "\n) TO " + QuoteString(file) +
                     " (FORMAT parquet, COMPRESSION zstd" +
                     (in_memory ? ", USE_TMP_FILE false" : "") + ")";
  EncodeStats stats;
  {
    LOOM_ASSIGN_OR_RETURN(auto r, impl_->Run(copy));
    LOOM_ASSIGN_OR_RETURN(const Chunk* c, r->Next());
    if (c != nullptr && c->num_rows() > 0) stats.rows = std::stoull(c->Text(0, 0));
    while (c != nullptr) {
      LOOM_ASSIGN_OR_RETURN(c, r->Next());
    }
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) return Internal("Parquet export produced no file");
  std::string buf(1 << 20, '\0');
  Status s;
  while (s.ok() && in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    std::streamsize got = in.gcount();
    if (got <= 0) break;
    stats.bytes += static_cast<uint64_t>(got);
    s = sink.Write(std::string_view(buf.data(), static_cast<size_t>(got)));
  }
  in.close();
  if (in_memory) {
    LOOM_RETURN_IF_ERROR(impl_->export_file->Write(""));  // the plaintext goes now
  } else {
    std::error_code ec;
    std::filesystem::remove(file, ec);
  }
  LOOM_RETURN_IF_ERROR(s);
  return stats;
}

}  // namespace loom::engine
